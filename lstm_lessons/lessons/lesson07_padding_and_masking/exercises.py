"""Lesson 07's exercises: a padding value that cannot collide with real frames, and a pipeline without a
mask whose shortest utterances are recognised."""

from __future__ import annotations

from lstm_lessons.claims import above, any_of, at_least, below, is_true
from lstm_lessons.grading.exercise import Exercise, Judgement, first_hint
from lstm_lessons.params import Choice, Rule

SEED = 2
"""The seed exercise 2 names (the lesson trains with seed 1). Every check trains with the lesson's
default settings and the seed it is given: ``Exercise.seed`` (this one) when grading, others in
``benchmarks/exercise_margins.py``."""

PADDED_LENGTH = 100
"""Exercise 1's padded length (the lesson pads to 60 frames). The count asked for is that of the
*validation* array, which the lesson prints at no padded length (it prints the training array's,
also when run with ``-p padded_length 100``): 185 utterances x 100 frames - 2895 real frames =
15605 steps; it must be measured or worked out."""

SHORT_TARGET = 0.8
"""Exercise 2: the validation accuracy the utterances of at most 12 frames must reach. Pre-padded
without a mask they reach 0.95 to 1 on seeds 1-3 (the real frames come last, right before the
state is read), post-padded without a mask 0.08, 0.03 and 0 (39 utterances, 9 to 12 frames)."""

MORE_PADDING, PRE_VALUE, CHANGE_TOLERANCE = 71, -10.0, 0.05
"""Exercise 2 also asks how far ``MORE_PADDING`` more frames of padding *before* the utterances
move the output of an untrained model built with the exercise's seed when the padding value is
``PRE_VALUE`` instead of 0 (the validation utterances pre-padded to 29 frames, then to 100;
``ll.padding.output_change``), to within 5 %. With zeros the change is exactly 0 (a zero frame
keeps an untrained LSTM's zero state, as the lesson prints); with -10 it is 0.032 on seed 2, the
same with oneDNN on and off. No parameter of the lesson changes its padding value, so no run of
it prints this; the changes it prints on seed 2 at padded lengths 60 and 100 (post-padding 0.040,
a plain mean 0.029 and 0.041, Bidirectional 0.056) are at least 9 % off (other padded lengths
print other quantities, not this one). No training: it does not depend on the training's
last digits."""

PIPELINE_NAMES = ("post, no mask", "pre, no mask", "post, masked", "padded-array statistics, masked",
                  "scaled after padding, masked")
"""The keys of ``ll.padding.PIPELINES`` (``tests/test_grading.py`` checks they match), written out
so that importing the exercises does not import ``ll.padding`` and with it pandas and
scikit-learn, in every kernel that calls ``ll.grading.check``."""

UNMASKED = PIPELINE_NAMES[:2]
"""The pipelines without a ``Masking`` layer: exercise 2's choice."""

def _standardised_range() -> tuple[float, float]:
    """The lowest and highest value of any channel of any real frame of the training and validation
    utterances, standardised as the lesson's fix does (the test utterances decide nothing)."""
    import numpy as np

    from lstm_lessons import padding, sequences

    p = padding.prepare("post, masked")   # padded after the real frames, which come first
    values = np.concatenate([frames for x, lengths in ((p.x_train, p.lengths_train), (p.x_val, p.lengths_val))
                             for frames in sequences.real_steps(x, lengths)])
    return float(values.min()), float(values.max())


def _verify_value(answer: dict, seed: int) -> Judgement:
    # No training: ``seed`` is not used.
    import numpy as np

    from lstm_lessons import padding

    value, reported = answer["value"], answer["masked_steps"]
    low, high = _standardised_range()
    prepared = padding.prepare("post, masked", padded_length=PADDED_LENGTH, value=value)
    masked = int(np.all(prepared.x_val == value, axis=-1).sum())
    padding_steps = int(prepared.x_val.shape[0] * prepared.x_val.shape[1] - prepared.lengths_val.sum())
    checks = (any_of(below("padding value under the real frames", value, low),
                     above("padding value over the real frames", value, high)),)
    reports = (is_true("reported masked steps are the mask's", reported == masked),)
    outside, counted = checks[0].holds, reports[0].holds
    measured = {"lowest_real": round(low, 3), "highest_real": round(high, 3),
                "masked_steps": masked, "padding_steps": padding_steps}
    # The count is shown only once it is reported right: the feedback gives no answer away.
    count = (f"the mask skips {masked} of the {padding_steps} padding steps of the validation array, as you "
             "said" if counted else
             f"you said the mask skips {reported} steps of the validation array, which is not what it skips")
    # The range is shown only once the value is outside it: the feedback gives no bound away.
    where = (f"outside the standardised real frames ({low:.2f} to {high:.2f})" if outside else
             "within the range of the standardised real frames")
    message = f"padding value {value:g} lies {where}; padded to {PADDED_LENGTH} frames, {count}"
    hint = first_hint((outside, "that value lies inside the range of the standardised data: a real frame "
                                "could one day equal it in every channel."),
                      (counted, f"count the padding steps of the validation array padded to {PADDED_LENGTH} "
                                "frames, or prepare it and ask it."))
    return Judgement(checks, message, hint, measured, reports)


def _pre_padding_change(seed: int) -> float:
    """How far :data:`MORE_PADDING` more frames of :data:`PRE_VALUE` before the validation
    utterances (pre-padded to 29 frames with it) move an untrained model's output
    (``ll.padding.output_change``)."""
    from lstm_lessons import models, padding, training

    x = padding.prepare("pre, no mask", padded_length=29, value=PRE_VALUE).x_val
    training.seed_everything(seed)
    model = models.build_speaker_classifier(12, 9, padding.Settings().units)
    return padding.output_change(model, x, MORE_PADDING, "pre", value=PRE_VALUE)


def _verify_short(answer: dict, seed: int) -> Judgement:
    from lstm_lessons import padding

    change = _pre_padding_change(seed)
    close = abs(answer["output_change"] - change) <= CHANGE_TOLERANCE * change
    reports = (is_true(f"reported output change within {CHANGE_TOLERANCE:.0%} of the measured one", close),)
    result = padding.train(padding.prepare(answer["pipeline"]), seed, curves=False)
    short = float(result.by_length().iloc[0])
    measured = {"short_accuracy": round(short, 3), "accuracy": round(result.accuracy, 3),
                "output_change": round(change, 4)}
    checks = (at_least("accuracy on the validation utterances of at most 12 frames", short, SHORT_TARGET),)
    reached = checks[0].holds
    # The output change is shown only once it is reported right: the feedback gives no answer away.
    frames = f"{MORE_PADDING} more frames of {PRE_VALUE:g} before the utterances"
    said = (f"{frames} move the untrained model's output by {change:.3g}, as you said" if close else
            f"you said {frames} move the untrained model's output by {answer['output_change']:g}, which is "
            f"not within {CHANGE_TOLERANCE:.0%} of what they do")
    message = (f"{answer['pipeline']!r}, seed {seed}: the validation utterances of at most 12 frames "
               f"{'reach' if reached else 'do not reach'} {SHORT_TARGET} (accuracy {short:.2f}); {said}")
    hint = first_hint((reached, "after the last real frame that pipeline's LSTM still reads dozens of "
                                "padding frames before its state is used."),
                      (close, f"build the untrained model with seed {seed} as the lesson does, pre-pad the "
                              f"validation utterances to 29 frames with {PRE_VALUE:g} and measure with "
                              f"ll.padding.output_change (side 'pre', value {PRE_VALUE:g})."))
    return Judgement(checks, message, hint, measured, reports)


EXERCISES = (
    Exercise(
        "07-padding-value", "07_padding_and_masking", 2,
        "Choose a padding value outside the range of the standardised Japanese Vowels frames (training "
        "and validation utterances), so that no real frame can equal it even on data with exact zeros, "
        f"pad with it as the 'post, masked' pipeline does but to {PADDED_LENGTH} frames, and report how "
        "many steps of the validation array the Masking layer then skips.",
        {"value": Rule(float, -1e6, 1e6, meaning="the padding value and mask_value"),
         "masked_steps": Rule(int, 0, 10**7, meaning="steps of the validation array the mask skips")},
        _verify_value),
    Exercise(
        "07-short-utterances", "07_padding_and_masking", 2,
        f"Choose the pipeline without a Masking layer (padded to 60 frames, default settings, seed {SEED}) "
        f"whose validation utterances of at most 12 frames reach an accuracy of at least {SHORT_TARGET}. "
        f"And with the padding value {PRE_VALUE:g} instead of 0: report how far {MORE_PADDING} more frames "
        f"of it before the utterances move the output of an untrained model built with seed {SEED} (the "
        f"validation utterances pre-padded to 29 frames, then to 100; ll.padding.output_change), to within "
        f"{CHANGE_TOLERANCE:.0%}.",
        {"pipeline": Choice(UNMASKED, meaning="a pipeline of ll.padding.PIPELINES without a mask"),
         "output_change": Rule(float, 0.0, 1e6, meaning=f"largest output change from {MORE_PADDING} more "
                                                         f"frames of {PRE_VALUE:g} before the utterances")},
        _verify_short, seed=SEED),
)
