"""Lesson 01's exercises: a stable learning rate, and a plateau schedule that rescues a high one."""

from __future__ import annotations

from lstm_lessons.claims import at_most, below
from lstm_lessons.grading.exercise import Exercise, Judgement, first_hint
from lstm_lessons.params import Rule


def _sunspot_run(learning_rate: float, callbacks=(), seed: int = 1, epochs: int = 30) -> dict:
    """Lesson 01's model and data, trained once; returns the history dict."""
    from lstm_lessons import data, models, training

    windows = data.make_forecasting_data(data.load_sunspots(smoothing_months=6), lookback=24)
    training.seed_everything(seed)
    model = models.build_lstm_regressor(24, units=32, learning_rate=learning_rate)
    return model.fit(windows.x_train, windows.y_train, validation_data=(windows.x_val, windows.y_val),
                     epochs=epochs, batch_size=32, verbose=0, callbacks=list(callbacks)).history


def _judge_sunspot_run(history: dict, target: float) -> Judgement:
    from lstm_lessons import curves

    index = curves.oscillation_index(history["val_loss"])
    best = min(history["val_loss"])
    checks = (below("oscillation index of the validation loss", index, curves.OSCILLATION_THRESHOLD),
              at_most("best validation loss", best, target))
    smooth, good = (c.holds for c in checks)
    measured = {"oscillation_index": round(index, 3), "best_val_loss": round(best, 5)}
    message = (f"oscillation index {index:.2f} ({'below' if smooth else 'not below'} 0.2), best validation "
               f"loss {best:.4f} ({'at or below' if good else 'above'} the target {target})")
    hint = first_hint((smooth, "the validation loss still jumps: the step is too large."),
                      (good, "smooth but not good enough: the step may be too small to get far "
                             "in 30 epochs."))
    return Judgement(checks, message, hint, measured)


def _verify_stable_rate(answer: dict, seed: int) -> Judgement:
    return _judge_sunspot_run(_sunspot_run(answer["learning_rate"], seed=seed), target=0.010)


def _verify_plateau(answer: dict, seed: int) -> Judgement:
    from lstm_lessons._tf import keras

    schedule = keras.callbacks.ReduceLROnPlateau(monitor="val_loss", factor=answer["factor"],
                                                 patience=answer["patience"], min_lr=1e-5)
    return _judge_sunspot_run(_sunspot_run(0.1, [schedule], seed=seed), target=0.0105)


EXERCISES = (
    Exercise(
        "01-stable-learning-rate", "01_learning_rate_oscillation", 2,
        "Choose one constant Adam learning rate for lesson 01's model (30 epochs, seed 1) so that the "
        "validation loss does not oscillate (index below 0.2) and its best value is at most 0.010.",
        {"learning_rate": Rule(float, 0.0, 1.0, low_inclusive=False, meaning="Adam's step size")},
        _verify_stable_rate),
    Exercise(
        "01-plateau-schedule", "01_learning_rate_oscillation", 2,
        "Start from the too-high learning rate 0.1 and choose ReduceLROnPlateau's factor and patience "
        "so that the validation loss does not oscillate and its best value is at most 0.0105.",
        # Keras's ReduceLROnPlateau refuses a factor of 1 or more (it would never cut).
        {"factor": Rule(float, 0.0, 1.0, low_inclusive=False, high_inclusive=False,
                        meaning="multiplier of the learning rate"),
         "patience": Rule(int, 0, 30, meaning="epochs without improvement before a cut")},
        _verify_plateau),
)
