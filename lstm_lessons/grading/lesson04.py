"""Lesson 04's exercises: a checkpoint that keeps the true best epoch, and early stopping that returns it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from lstm_lessons.claims import Check, at_most, is_true
from lstm_lessons.grading.exercise import Exercise, Judgement, first_hint
from lstm_lessons.params import Choice, Rule

SEED, LOOKBACK, LEARNING_RATE = 1, 24, 0.05
"""The lesson's default settings, used by every check."""
TARGET = 0.0105
"""Best validation loss early stopping must reach (30 epochs without stopping reach 0.0104)."""


def _setup(seed: int):
    """Lesson 04's data and a fresh model with an extra ``r2`` metric, seeded with ``seed``."""
    from lstm_lessons import data, metrics, models, training
    from lstm_lessons._tf import keras

    windows = data.make_forecasting_data(data.load_sunspots(smoothing_months=6), lookback=LOOKBACK)
    training.seed_everything(seed)
    model = models.build_lstm_regressor(LOOKBACK, units=16, learning_rate=LEARNING_RATE)
    model.compile(optimizer=keras.optimizers.Adam(LEARNING_RATE), loss="mse", metrics=[metrics.r2])
    return windows, model


def _val_loss(model, windows) -> float:
    from lstm_lessons.training import validation_loss

    return validation_loss(model, windows.x_val, windows.y_val)


def _same_loss(quantity: str, loss: float, best: float) -> Check:
    """``loss`` is ``best`` to within ``np.isclose(loss, best, rtol=1e-5)``'s tolerance."""
    return at_most(quantity, abs(loss - best), 1e-8 + 1e-5 * abs(best))


def _verify_checkpoint(answer: dict, seed: int) -> Judgement:
    import numpy as np

    from lstm_lessons._tf import keras

    ran = "training runs with this monitor and mode"
    windows, model = _setup(seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "best.keras"
        checkpoint = keras.callbacks.ModelCheckpoint(path, monitor=answer["monitor"], mode=answer["mode"],
                                                     save_best_only=True)
        try:
            history = model.fit(windows.x_train, windows.y_train, epochs=20, batch_size=32, verbose=0,
                                validation_data=(windows.x_val, windows.y_val), callbacks=[checkpoint])
        except ValueError as error:
            return Judgement((is_true(ran, False),), f"training stopped with ValueError: {str(error)[:120]}",
                             "mode='auto' cannot tell which way a custom metric improves.", {})
        if not path.exists():
            return Judgement((is_true(ran, True), is_true("a file was saved", False)), "no file was saved",
                             "the monitored value never counted as an improvement.", {})
        saved = _val_loss(_reload(path), windows)
    curve = history.history["val_loss"]
    best, epoch = min(curve), int(np.argmin(curve)) + 1
    checks = (is_true(ran, True), is_true("a file was saved", True),
              _same_loss("|saved file's - best epoch's validation loss|", saved, best))
    measured = {"saved_val_loss": round(saved, 6), "best_val_loss": round(best, 6), "best_epoch": epoch}
    message = (f"the saved file's validation loss is {saved:.5f}; the best epoch ({epoch}) had {best:.5f}")
    hint = first_hint((checks[-1].holds,
                       "which key and which direction mean 'better on data the model has not seen'?"))
    return Judgement(checks, message, hint, measured)


def _reload(path):
    """The saved model, compiled with plain ``mse`` (its custom metric is not registered)."""
    from lstm_lessons._tf import keras

    model = keras.saving.load_model(path, compile=False)
    model.compile(loss="mse")
    return model


def _verify_early_stopping(answer: dict, seed: int) -> Judgement:
    from lstm_lessons._tf import keras

    epochs = 30
    windows, model = _setup(seed)
    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=answer["patience"],
                                          restore_best_weights=answer["restore_best_weights"])
    curve = model.fit(windows.x_train, windows.y_train, epochs=epochs, batch_size=32, verbose=0,
                      validation_data=(windows.x_val, windows.y_val), callbacks=[early]).history["val_loss"]
    final, best = _val_loss(model, windows), min(curve)
    # A count of epochs, not a measurement: "30 is not below 30" is no margin to report.
    checks = (is_true("stopped before the last epoch", len(curve) < epochs),
              at_most("best validation loss", best, TARGET),
              _same_loss("|validation loss after fit - best epoch's|", final, best))
    stopped, good, is_best = (c.holds for c in checks)
    measured = {"epochs_run": len(curve), "final_val_loss": round(final, 6), "best_val_loss": round(best, 6)}
    message = (f"ran {len(curve)} of {epochs} epochs ({'stopped early' if stopped else 'never stopped'}); "
               f"the model after fit has validation loss {final:.5f}, the best epoch {best:.5f} "
               f"(target: at most {TARGET})")
    hint = first_hint((stopped, "the patience outlasts the run."),
                      (good, "it gave up too soon: the validation loss improves again after a long "
                             "flat stretch."),
                      (is_best, "after stopping, the weights are those of the last epoch, not the best."))
    return Judgement(checks, message, hint, measured)


EXERCISES = (
    Exercise(
        "04-checkpoint-monitor", "04_model_saving_failures", 2,
        "Lesson 04's model is compiled with an extra r2 metric and trained with validation data "
        "(20 epochs, seed 1). Choose ModelCheckpoint's monitor and mode (save_best_only=True) so that "
        "the saved file is the epoch with the lowest validation loss.",
        {"monitor": Choice(("loss", "val_loss", "val_r2"), meaning="the logged key to compare"),
         "mode": Choice(("auto", "min", "max"), meaning="which direction is better")},
        _verify_checkpoint),
    Exercise(
        "04-early-stopping", "04_model_saving_failures", 2,
        "Train lesson 04's model for at most 30 epochs with EarlyStopping on val_loss. Choose patience "
        "and restore_best_weights so that training stops before epoch 30, the best validation loss is "
        "at most 0.0105, and the model after fit is the best epoch's.",
        {"patience": Rule(int, 0, 30, meaning="epochs without improvement before stopping"),
         "restore_best_weights": Choice((True, False), meaning="return the best epoch's weights")},
        _verify_early_stopping),
)
