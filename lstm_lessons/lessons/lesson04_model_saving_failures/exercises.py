"""Lesson 04's exercises: a checkpoint that keeps the true best epoch, and early stopping that returns it."""

from __future__ import annotations

import tempfile
from pathlib import Path

from lstm_lessons.claims import Check, at_most, is_true
from lstm_lessons.grading.exercise import Exercise, Judgement, first_hint
from lstm_lessons.params import Choice, Rule

SEED, LOOKBACK, LEARNING_RATE = 1, 24, 0.05
"""The lesson's default settings, used by every check (``SEED`` is the one the tasks name)."""

CHECKPOINT_EPOCHS = 20
"""Exercise 1 trains once, the task's seed for this many epochs, and looks at the file after
every epoch: a checkpoint is there for a run that stops early (a crash, a time limit, a person
who interrupts it), so after each epoch it must hold the epoch with the lowest validation loss
so far. One run, seen at its end only, is not enough: when its training and validation losses
both happen to be lowest at its last epoch, monitoring the training loss saves the right file
by luck (seed 3 over 20 epochs). Seen after every epoch, the training loss holds another epoch
after 5 of seed 1's 20 epochs (its file's validation loss up to 2.6 % above the best so far),
and ``val_r2``, the mean of the validation batches' R^2, with mode ``max`` after 15 (up to 7.1 %
above): far from any tie another CPU could swap. Over 20 epochs, each of seeds 1-12 showed both
wrong monitors holding another epoch at least once.

The exercise also asks which epoch the file holds at the end. The lesson prints its own runs'
epochs (10 epochs under a decaying schedule), not this one's; the answer must be measured. On
seed 1 the best epoch's validation loss is 2.6 % below the next best epoch's, and the same epoch
is best with oneDNN on and off."""

STOPPING_EPOCHS, STOPPING_PATIENCE = 30, 5
"""Exercise 2: at most this many epochs, with ``EarlyStopping(monitor="val_loss", patience=5)``.
The patience is given, not asked for: at this learning rate the validation loss is noisy, and
how long a patience pays off changes from seed to seed (patience 3 and 10 restore the same early
epoch on seeds 3 and 6 and different ones on seeds 1 and 2), so no patience is right on every
seed. What holds on every seed is what the exercise asks: which weights ``fit`` leaves, and
which epoch they are. (Patience 5 stopped training by epoch 24 on each of seeds 1-6.)"""


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


RELATIVE_TOLERANCE = 1e-5
"""Two validation losses count as the same when they differ by at most this share of the lower
(the ``rtol`` of ``np.isclose``): a reloaded or restored model is evaluated again, which can change
the last digits, and two epochs closer than this are a tie, whichever of them the file holds."""


def _same_loss(quantity: str, loss: float, best: float) -> Check:
    """``loss`` is ``best`` to within ``np.isclose(loss, best, rtol=RELATIVE_TOLERANCE)``'s tolerance."""
    return at_most(quantity, abs(loss - best), 1e-8 + RELATIVE_TOLERANCE * abs(best))


def _file_after_each_epoch(writes: list[int], epochs: int) -> list[int | None]:
    """After each epoch ``1..epochs``, the 1-based epoch whose weights the file holds: the last
    write up to then (``writes`` as :class:`ll.training.FileWriteLogger` records them), ``None``
    before the first."""
    return [max((w for w in writes if w <= epoch), default=None) for epoch in range(1, epochs + 1)]


def _verify_checkpoint(answer: dict, seed: int) -> Judgement:
    from lstm_lessons._tf import keras
    from lstm_lessons.training import FileWriteLogger

    ran = "training runs with this monitor and mode"
    windows, model = _setup(seed)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "best.keras"
        checkpoint = keras.callbacks.ModelCheckpoint(path, monitor=answer["monitor"], mode=answer["mode"],
                                                     save_best_only=True)
        writes = FileWriteLogger(path)
        try:
            curve = model.fit(windows.x_train, windows.y_train, epochs=CHECKPOINT_EPOCHS, batch_size=32,
                              verbose=0, validation_data=(windows.x_val, windows.y_val),
                              callbacks=[checkpoint, writes]).history["val_loss"]
        except ValueError as error:
            return Judgement((is_true(ran, False),), f"training stopped with ValueError: {str(error)[:120]}",
                             "mode='auto' cannot tell which way a custom metric improves.", {})
        saved = _val_loss(_reload(path), windows) if path.exists() else None
    if saved is None:
        return Judgement((is_true(ran, True), is_true("a file was saved", False)), "no file was saved",
                         "ModelCheckpoint wrote nothing: is the monitored key among those fit logs?", {})
    held = _file_after_each_epoch(writes.epochs, CHECKPOINT_EPOCHS)
    lowest = [min(curve[:epoch]) for epoch in range(1, CHECKPOINT_EPOCHS + 1)]
    # The file written after epoch e holds the weights validated at its end, curve[e - 1].
    shortfall = [float("inf") if h is None else (curve[h - 1] - low) / low
                 for h, low in zip(held, lowest)]  # noqa: B905
    kept = sum(s <= RELATIVE_TOLERANCE for s in shortfall)
    best, saved_epoch, largest = min(curve), held[-1], max(shortfall)
    checks = (is_true(ran, True),
              at_most(f"largest (file's - lowest so far) / lowest validation loss after any of the "
                      f"{CHECKPOINT_EPOCHS} epochs", largest, RELATIVE_TOLERANCE),
              _same_loss("|saved file's - best epoch's validation loss| at the end", saved, best))
    reported = answer["saved_epoch"] == saved_epoch
    reports = (is_true(f"reported epoch is the one the file holds after epoch {CHECKPOINT_EPOCHS}",
                       reported),)
    measured = {"file_epoch_after_each_epoch": held, "writes": writes.epochs,
                "saved_val_loss": round(saved, 6), "best_val_loss": round(best, 6),
                "largest_shortfall": round(largest, 6) if largest < float("inf") else None,
                "saved_epoch": saved_epoch}
    # No epoch numbers and no shortfall by epoch: the epoch is shown only once it is reported right,
    # so the feedback gives no answer away.
    message = (f"after {kept} of {CHECKPOINT_EPOCHS} epochs the file held the epoch with the lowest "
               f"validation loss so far (largest shortfall {largest * 100:.2g} %); at the end the file's "
               f"validation loss is {saved:.5f}, the best epoch's {best:.5f}" +
               (f"; the file holds epoch {saved_epoch}, as you said" if reported else
                f"; you said the file holds epoch {answer['saved_epoch']}, which it does not"))
    if (answer["monitor"], answer["mode"]) == ("val_r2", "max"):
        hint = ("val_r2 is the mean of the validation batches' R^2, which does not rank the epochs as the "
                "validation loss does: monitor the loss itself.")
    else:
        hint = "which key and which direction mean 'better on data the model has not seen'?"
    hint = first_hint((all(c.holds for c in checks), hint),
                      (reported, f"train the seed-{seed} run with your checkpoint and see after which epochs "
                                 f"it writes the file (ll.training.FileWriteLogger), or read its history."))
    return Judgement(checks, message, hint, measured, reports)


def _reload(path):
    """The saved model, compiled with plain ``mse`` (its custom metric is not registered)."""
    from lstm_lessons._tf import keras

    model = keras.saving.load_model(path, compile=False)
    model.compile(loss="mse")
    return model


def _verify_early_stopping(answer: dict, seed: int) -> Judgement:
    from lstm_lessons._tf import keras

    windows, model = _setup(seed)
    early = keras.callbacks.EarlyStopping(monitor="val_loss", patience=STOPPING_PATIENCE,
                                          restore_best_weights=answer["restore_best_weights"])
    curve = model.fit(windows.x_train, windows.y_train, epochs=STOPPING_EPOCHS, batch_size=32, verbose=0,
                      validation_data=(windows.x_val, windows.y_val), callbacks=[early]).history["val_loss"]
    final, best = _val_loss(model, windows), min(curve)
    best_epoch = curve.index(best) + 1
    checks = (_same_loss("|validation loss after fit - best epoch's|", final, best),)
    reports = (is_true("reported epoch is the best of those trained", answer["best_epoch"] == best_epoch),)
    is_best, reported = checks[0].holds, reports[0].holds
    measured = {"epochs_run": len(curve), "final_val_loss": round(final, 6), "best_val_loss": round(best, 6),
                "best_epoch": best_epoch}
    # No epoch numbers: the stopping epoch minus the patience is the best one, the reported value.
    message = (f"the model after fit has validation loss {final:.5f}, the best epoch's {best:.5f} "
               f"({'the same weights' if is_best else 'other weights'}); the epoch you reported is "
               f"{'right' if reported else 'not right'}")
    hint = first_hint((is_best, "after stopping, the weights are those of the last epoch, not the best."),
                      (reported, "which epoch had the lowest validation loss among those trained? "
                                 "(1 is the first; the stopping epoch is patience epochs later)"))
    return Judgement(checks, message, hint, measured, reports)


EXERCISES = (
    Exercise(
        "04-checkpoint-monitor", "04_model_saving_failures", 2,
        f"Lesson 04's model (Adam at a constant {LEARNING_RATE}, batches of 32) is compiled with an extra "
        f"r2 metric and trained with validation data for {CHECKPOINT_EPOCHS} epochs (seed {SEED}). A "
        f"checkpoint is there for a run that stops early, so after every epoch the file must hold the "
        f"epoch with the lowest validation loss so far. Choose ModelCheckpoint's monitor and mode "
        f"(save_best_only=True) that do so, and report which epoch the file holds after the last epoch "
        f"(1 is the first). (r2 is computed for each batch and averaged, so it does not rank the epochs "
        f"exactly as the loss does.)",
        {"monitor": Choice(("loss", "val_loss", "val_r2"), meaning="the logged key to compare"),
         "mode": Choice(("auto", "min", "max"), meaning="which direction is better"),
         "saved_epoch": Rule(int, 1, CHECKPOINT_EPOCHS,
                             meaning="1-based epoch the file holds at the end")},
        _verify_checkpoint, seed=SEED),
    Exercise(
        "04-early-stopping", "04_model_saving_failures", 2,
        f"Train lesson 04's model (Adam at a constant {LEARNING_RATE}, batches of 32, seed {SEED}) for at "
        f"most {STOPPING_EPOCHS} epochs with EarlyStopping(monitor='val_loss', "
        f"patience={STOPPING_PATIENCE}). Choose restore_best_weights so that the model left after fit "
        f"is the one of the epoch with the lowest validation loss among those trained, and report "
        f"that epoch (1 is the first).",
        {"restore_best_weights": Choice((True, False), meaning="return the best epoch's weights"),
         "best_epoch": Rule(int, 1, STOPPING_EPOCHS, meaning="1-based epoch of the lowest validation loss")},
        _verify_early_stopping, seed=SEED),
)
