"""Lesson 07's exercises: a padding value that cannot collide with real frames, and a pipeline without a
mask whose shortest utterances are recognised."""

from __future__ import annotations

from lstm_lessons.claims import above, any_of, at_least, at_most, below, is_true
from lstm_lessons.grading.exercise import Exercise, Judgement, first_hint
from lstm_lessons.params import Choice, Rule

SEED = 2
"""The seed exercise 2 names, one the lesson does not print (it trains with seed 1): the accuracy
to report must be measured. Every check trains with the lesson's default settings and the seed it
is given: ``Exercise.seed`` (this one) when grading, others in ``benchmarks/exercise_margins.py``."""

PADDED_LENGTH = 100
"""Exercise 1's padded length, one the lesson does not print (it pads to 60 frames): the count of
masked steps must be measured or worked out."""

SHORT_TARGET = 0.8
"""Exercise 2: the test accuracy the 7-12 frame utterances must reach. Pre-padded without a mask
they reach 0.95 to 0.99 on seeds 1-3 (the real frames come last, right before the state is read),
post-padded without a mask 0.05 on seed 1 and 0.06 on seed 2; 81 utterances make a step of 0.012."""

PIPELINE_NAMES = ("post, no mask", "pre, no mask", "post, masked", "padded-array statistics, masked",
                  "scaled after padding, masked")
"""The keys of ``ll.padding.PIPELINES`` (``tests/test_grading.py`` checks they match), written out
so that importing the exercises does not import ``ll.padding`` and with it pandas and
scikit-learn, in every kernel that calls ``ll.grading.check``."""

UNMASKED = PIPELINE_NAMES[:2]
"""The pipelines without a ``Masking`` layer: exercise 2's choice."""

ACCURACY_TOLERANCE = 0.02
"""Exercise 2: a reported accuracy may differ by this much from the grader's (another CPU's last
digits, a rounding)."""


def _standardised_range() -> tuple[float, float]:
    """The lowest and highest value of any channel of any real frame (training, validation and
    test utterances), standardised as the lesson's fix does."""
    import numpy as np

    from lstm_lessons import padding, sequences

    p = padding.prepare("post, masked")   # padded after the real frames, which come first
    values = np.concatenate([frames for x, lengths in ((p.x_train, p.lengths_train), (p.x_val, p.lengths_val),
                                                       (p.x_test, p.lengths_test))
                             for frames in sequences.real_steps(x, lengths)])
    return float(values.min()), float(values.max())


def _verify_value(answer: dict, seed: int) -> Judgement:
    # No training: ``seed`` is not used.
    from lstm_lessons import padding

    value, reported = answer["value"], answer["masked_steps"]
    low, high = _standardised_range()
    prepared = padding.prepare("post, masked", padded_length=PADDED_LENGTH, value=value)
    checks = (any_of(below("padding value under the real frames", value, low),
                     above("padding value over the real frames", value, high)),)
    reports = (is_true("reported masked steps are the mask's", reported == prepared.masked_steps),)
    outside, counted = checks[0].holds, reports[0].holds
    measured = {"lowest_real": round(low, 3), "highest_real": round(high, 3),
                "masked_steps": prepared.masked_steps, "padding_steps": prepared.padding_steps}
    # The count is shown only once it is reported right: the feedback gives no answer away.
    count = (f"the mask skips {prepared.masked_steps} of the {prepared.padding_steps} padding steps, as you "
             "said" if counted else f"you said the mask skips {reported} steps, which is not what it skips")
    message = (f"padding value {value:g}: the standardised real frames run from {low:.2f} to {high:.2f}; "
               f"padded to {PADDED_LENGTH} frames, {count}")
    hint = first_hint((outside, "that value lies inside the range of the standardised data: a real frame "
                                "could one day equal it in every channel."),
                      (counted, f"count the padding steps of the training array padded to {PADDED_LENGTH} "
                                "frames, or prepare it and ask it."))
    return Judgement(checks, message, hint, measured, reports)


def _verify_short(answer: dict, seed: int) -> Judgement:
    from lstm_lessons import padding

    result = padding.train(padding.prepare(answer["pipeline"]), seed, curves=False)
    short = float(result.by_length().iloc[0])
    measured = {"short_accuracy": round(short, 3), "accuracy": round(result.accuracy, 3)}
    checks = (at_least("accuracy on the 7-12 frame utterances", short, SHORT_TARGET),)
    reports = (at_most("|reported - measured 7-12 frame accuracy|", abs(answer["short_accuracy"] - short),
                       ACCURACY_TOLERANCE),)
    reached, close = checks[0].holds, reports[0].holds
    # The measured accuracy is shown only once it is reported right: the feedback gives no answer away.
    said = (f"{short:.3f}, as you said" if close else f"you said {answer['short_accuracy']:g}, not within "
            f"{ACCURACY_TOLERANCE} of the measured accuracy")
    message = (f"{answer['pipeline']!r}, seed {seed}: the 7-12 frame test utterances "
               f"{'reach' if reached else 'do not reach'} {SHORT_TARGET} ({said})")
    hint = first_hint((reached, "after the last real frame that pipeline's LSTM still reads dozens of "
                                "padding frames before its state is used."),
                      (close, f"train that pipeline as the lesson does, with seed {seed}, and read its "
                              "accuracy on the 7-12 frame utterances."))
    return Judgement(checks, message, hint, measured, reports)


EXERCISES = (
    Exercise(
        "07-padding-value", "07_padding_and_masking", 2,
        "Choose a padding value outside the range of the standardised Japanese Vowels frames (training, "
        "validation and test utterances), so that no real frame can equal it even on data with exact "
        f"zeros, pad with it as the 'post, masked' pipeline does but to {PADDED_LENGTH} frames, and report "
        "how many steps of the training array the Masking layer then skips.",
        {"value": Rule(float, -1e6, 1e6, meaning="the padding value and mask_value"),
         "masked_steps": Rule(int, 0, 10**7, meaning="steps of the training array the mask skips")},
        _verify_value),
    Exercise(
        "07-short-utterances", "07_padding_and_masking", 2,
        f"Choose the pipeline without a Masking layer (padded to 60 frames, default settings, seed {SEED}) "
        f"whose 7-12 frame test utterances reach an accuracy of at least {SHORT_TARGET}, and report that "
        f"accuracy to within {ACCURACY_TOLERANCE}.",
        {"pipeline": Choice(UNMASKED, meaning="a pipeline of ll.padding.PIPELINES without a mask"),
         "short_accuracy": Rule(float, 0.0, 1.0, meaning="test accuracy of the 7-12 frame utterances")},
        _verify_short, seed=SEED),
)
