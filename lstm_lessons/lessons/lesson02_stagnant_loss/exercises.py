"""Lesson 02's exercises: prepare the CO2 inputs so the regressor learns, and weight the rare class."""

from __future__ import annotations

from lstm_lessons.claims import at_least, below, is_true
from lstm_lessons.grading.exercise import Exercise, Judgement, first_hint
from lstm_lessons.params import Choice, Rule

SEED, LOOKBACK, EPOCHS = 1, 26, 20
"""The lesson's default settings, used by every check."""

COUNT_LOOKBACK = 52
"""Exercise 1 also asks, for this lookback (a year, twice the lesson's), how many training examples
have a ``nan`` loss before any filling: those with a missing week among their 52 input weeks (466)
*or as their target* (5 more), 471 of 1547. The lesson prints the inputs-only count (333 of 1573 at
its lookback 26; 466 when run with lookback 52), so the answer takes knowing that a missing target
poisons the loss as surely as a missing input. A count needs no training and does not depend on
the CPU."""


PREDICT_SPEAKER, PREDICT_OTHERS, WEIGHT_TOLERANCE = 20, 10, 0.01
"""Exercise 2 also asks what weight scikit-learn's ``class_weight="balanced"`` rule would give
speaker 1 if it kept all 20 of its training utterances and each of the other eight speakers only
10: 100 utterances, so 100 / (2 * 20) = 2.5 (the common class 100 / (2 * 80) = 0.625), to within
1 %. The lesson prints the weights for its own task (0.53 and 8.5, a ratio of 16), and its
``minority_examples`` parameter changes only speaker 1's count, so no run of it prints these:
the answer takes knowing that the rule weights a class by the inverse of its share. It needs no
training and does not depend on the CPU."""


def _nan_loss_examples(lookback: int) -> int:
    """Training examples of the unfilled CO2 series, ``lookback`` input weeks and the next week as
    target, with a ``nan`` among their inputs or their target."""
    import numpy as np

    from lstm_lessons import data

    windows = data.make_forecasting_data(data.load_co2(), lookback)
    return int((np.isnan(windows.x_train).any(axis=(1, 2)) | np.isnan(windows.y_train).any(axis=1)).sum())


def _verify_inputs(answer: dict, seed: int) -> Judgement:
    import numpy as np

    from lstm_lessons import curves, data, models, training

    if answer["fill"] == "time":
        # Decided before training, so the count is not judged here: a quick answer must not be a
        # free oracle for it.
        return Judgement((is_true("the fill uses only past values", False),),
                         "'time' interpolation fills a gap with values that lie after it: the inputs "
                         "see the future, so a good loss here would not be honest",
                         "fill using only the past.", {})
    count = _nan_loss_examples(COUNT_LOOKBACK)
    reported = answer["nan_loss_examples"] == count
    examples = f"lookback-{COUNT_LOOKBACK} training examples have a nan loss before filling"
    reports = (is_true(f"reported count of {examples} is right", reported),)
    # The count is shown only once it is reported right: the feedback gives no answer away.
    said = (f"; {count} {examples}, as you said" if reported else
            f"; you said {answer['nan_loss_examples']} {examples}, which is not the count")
    count_hint = (f"with lookback {COUNT_LOOKBACK}, before filling, count the training examples whose loss "
                  f"term is nan: which parts of an example can hold a missing week?")
    co2 = data.load_co2()
    series = co2 if answer["fill"] == "none" else data.fill_missing(co2, answer["fill"])
    if answer["scaling"] == "standard":
        windows = data.make_forecasting_data(series.to_numpy(), LOOKBACK)
        x, y = windows.x_train, windows.y_train
    else:
        x, y = data.make_windows(data.chronological_split(series.to_numpy())[0], LOOKBACK)
    training.seed_everything(seed)
    model = models.build_lstm_regressor(LOOKBACK, units=32, learning_rate=1e-3)
    loss = model.fit(x, y, epochs=EPOCHS, batch_size=64, verbose=0).history["loss"]
    finite = bool(np.isfinite(loss).all())
    improvement = curves.relative_improvement(loss) if finite else 0.0
    measured = {"finite_loss": finite, "improvement": round(improvement, 3)}
    if not finite:
        return Judgement((is_true("the training loss is finite", False),), "the training loss is nan" + said,
                         "a window with a missing week poisons the batch.", measured, reports)
    # "fell by more than 90 %" as "the best epoch's loss is below 10 % of the first's": the same
    # decision, with a margin that can grow past 0.11 (a fall cannot exceed 100 %).
    checks = (is_true("the training loss is finite", True),
              below("best epoch's training loss / the first epoch's", 1 - improvement, 0.1))
    message = f"the training loss fell by {improvement:.1%} in {EPOCHS} epochs (needed: more than 90 %){said}"
    too_big = ("inputs in the hundreds saturate the LSTM's gates, and targets in the hundreds are "
               "far beyond what 500 Adam steps of 0.001 can reach.")
    hint = first_hint((checks[1].holds, too_big), (reported, count_hint))
    return Judgement(checks, message, hint, measured, reports)


def _balanced_weight(speaker_examples: int, other_examples: int) -> float:
    """scikit-learn's ``class_weight="balanced"`` weight of speaker 1 with ``speaker_examples`` of its
    utterances against ``other_examples`` of each of the other eight speakers:
    ``n_samples / (n_classes * n_speaker_1)``."""
    import numpy as np
    from sklearn.utils.class_weight import compute_class_weight

    y = np.r_[np.ones(speaker_examples), np.zeros(8 * other_examples)]
    return float(compute_class_weight("balanced", classes=np.array([0.0, 1.0]), y=y)[1])


def _verify_class_weight(answer: dict, seed: int) -> Judgement:
    from lstm_lessons import metrics, models, stagnation, training

    weight = _balanced_weight(PREDICT_SPEAKER, PREDICT_OTHERS)
    counts = f"{PREDICT_SPEAKER} utterances of speaker 1 and {PREDICT_OTHERS} of each other speaker"
    close = abs(answer["balanced_weight"] - weight) <= WEIGHT_TOLERANCE * weight
    reports = (is_true(f"reported balanced weight of speaker 1 with {counts} is within "
                       f"{WEIGHT_TOLERANCE:.0%} of scikit-learn's", close),)
    # The weight is shown only once it is reported right: the feedback gives no answer away.
    said = (f"; with {counts} 'balanced' gives speaker 1 {weight:.4g}, as you said" if close else
            f"; you said 'balanced' would give speaker 1 {answer['balanced_weight']:g} with {counts}, which "
            f"is not what it gives")
    task = stagnation.rare_speaker_task(speaker=1, frames=7, minority_examples=10)
    training.seed_everything(seed)
    model = models.build_lstm_classifier(*task.x_train.shape[1:], units=16, learning_rate=1e-3)
    model.fit(task.x_train, task.y_train, epochs=20, batch_size=32, verbose=0,
              class_weight={0: 1.0, 1: answer["positive_weight"]})
    scores = metrics.binary_scores(task.y_val, model.predict(task.x_val, verbose=0))
    recall, balanced = float(scores["recall"]), float(scores["balanced_accuracy"])
    measured = {"recall": round(recall, 3), "balanced_accuracy": round(balanced, 3)}
    checks = (at_least("validation recall of speaker 1", recall, 0.8),
              at_least("validation balanced accuracy", balanced, 0.85))
    found, balanced_enough = (c.holds for c in checks)
    message = (f"validation recall of speaker 1 {recall:.2f} (needed: 0.8), balanced accuracy "
               f"{balanced:.2f} (needed: 0.85){said}")
    hint = first_hint((found, "the rare class still hardly counts in the loss."),
                      (balanced_enough, "speaker 1 is found, but too many others are mistaken for them."),
                      (close, "how does 'balanced' set a class's weight from the class counts? "
                              "(scikit-learn's compute_class_weight documents it)"))
    return Judgement(checks, message, hint, measured, reports)


EXERCISES = (
    Exercise(
        "02-fix-the-inputs", "02_stagnant_loss", 2,
        f"Choose how to fill the missing weeks (fill) and whether to scale (scaling) so that lesson 02's "
        f"CO2 regressor (Adam 1e-3, 20 epochs, seed 1) trains with a finite loss that falls by more than "
        f"90 %, without using any future value. And with lookback {COUNT_LOOKBACK} (a year, twice the "
        f"lesson's), before any filling: how many training examples have a nan loss term?",
        {"fill": Choice(("none", "ffill", "time"), meaning="how missing weeks are filled"),
         "scaling": Choice(("none", "standard"), meaning="how inputs and targets are scaled"),
         "nan_loss_examples": Rule(int, 0, 100_000, meaning=f"training examples of lookback {COUNT_LOOKBACK} "
                                                             f"with a nan loss before filling")},
        _verify_inputs),
    Exercise(
        "02-class-weight", "02_stagnant_loss", 2,
        f"Keep the weight of the common class at 1 and choose the weight of speaker 1 (positive_weight) "
        f"so that the classifier finds speaker 1 (validation recall at least 0.8) with a balanced "
        f"accuracy of at least 0.85. And a prediction: if speaker 1 kept all {PREDICT_SPEAKER} of its "
        f"training utterances and each of the other eight speakers only {PREDICT_OTHERS}, what weight would "
        f"scikit-learn's class_weight='balanced' give speaker 1 (balanced_weight, to within "
        f"{WEIGHT_TOLERANCE:.0%})?",
        {"positive_weight": Rule(float, 0.0, 1000.0, low_inclusive=False,
                                 meaning="class weight of speaker 1"),
         "balanced_weight": Rule(float, 0.0, 1000.0, low_inclusive=False,
                                 meaning=f"'balanced' weight of speaker 1 with {PREDICT_SPEAKER} utterances "
                                         f"and {PREDICT_OTHERS} of each other speaker")},
        _verify_class_weight),
)
