"""Lesson 06's exercises: size the gap that removes the shared months and count what it costs, and
measure a leak's optimism."""

from __future__ import annotations

import numpy as np

from lstm_lessons.claims import at_most, is_true
from lstm_lessons.grading.exercise import Exercise, Judgement, first_hint
from lstm_lessons.params import Rule

SEED = 1
"""The seed the tasks name. Every check trains with the lesson's default settings and the seed it
is given: ``Exercise.seed`` (1, this one) when grading, others in ``benchmarks/exercise_margins.py``."""

GAP_LOOKBACK, GAP_HORIZON, GAP_STRIDE = 24, 12, 3
"""Exercise 1's forecaster: two years of months in, the next twelve out, a window starting every
third month. The lesson's windows start every month, where the gap is
``ll.data.window_gap(lookback, horizon)`` windows; with a stride that formula counts months, not
windows, and is larger than needed. The smallest gap is 11 windows and leaves 159 of the split's 170
validation windows; the lesson windows with stride 1 at every setting, so no run of it prints
either count."""

TRAINING_SHARE = 0.8
"""``1 - ll.leakage.VALIDATION_FRACTION``, the lesson's training share of the development months
(``tests/test_grading.py`` checks they match), written out for exercise 1's task so that importing
the exercises does not import ``ll.leakage`` and with it pandas and scikit-learn."""

OPTIMISM_TOLERANCE = 0.03
"""Exercise 2: a reported optimism may differ by this much from the grader's (another CPU's last
digits, a rounding)."""


def _validation_windows(gap: int) -> tuple[int, int]:
    """Exercise 1's chronological split (the lesson's development period and validation share; a
    window is training when its last month lies in the training share) with ``gap`` windows left
    out: the validation windows that share a month with a training window, and how many validation
    windows there are."""
    from lstm_lessons import data, leakage

    n_dev = leakage.development_months(len(data.load_sunspots()))
    length = GAP_LOOKBACK + GAP_HORIZON
    starts = np.arange(0, n_dev - length + 1, GAP_STRIDE)
    last_training_start = int(round((1 - leakage.VALIDATION_FRACTION) * n_dev)) - length
    train, validation = starts[starts <= last_training_start], starts[starts > last_training_start][gap:]
    # ``windows_sharing_steps`` takes stride-1 window indices: a window's index is its first month.
    return data.windows_sharing_steps(train, validation, GAP_LOOKBACK, GAP_HORIZON), len(validation)


def _verify_gap(answer: dict, seed: int) -> Judgement:
    # Counting, no training: ``seed`` is not used, and a count has no margin (facts, not bounds).
    gap, reported = answer["gap"], answer["validation_windows"]
    (shared, left), (shared_one_less, _) = _validation_windows(gap), _validation_windows(max(gap - 1, 0))
    # One check, not "enough" and "no more than enough" apart, and one verdict for the pair: which
    # part fails, or which way, would let a few instant checks find the answer without understanding.
    smallest = shared == 0 and (gap == 0 or shared_one_less > 0)
    checks = (is_true("the smallest gap with no validation window sharing a month with training", smallest),)
    reports = (is_true("reported validation windows left with that gap", reported == left),)
    both = smallest and reports[0].holds
    measured = {"shared_with_gap": shared, "shared_with_one_window_less": shared_one_less,
                "validation_windows": left}
    # The counts stay out of the message: each is a reported value, or leads straight to one.
    verdict = "both right: no validation window shares a month with training" if both else "not both right"
    message = f"a gap of {gap} windows, leaving {reported} validation windows: {verdict}"
    hint = first_hint((both, "count the months one window covers, inputs and targets, and how far apart two "
                             "windows start: the gap leaves out exactly the validation windows that still "
                             "reach back into a training window. Then count the split's validation windows "
                             "and take the gap away."))
    return Judgement(checks, message, hint, measured, reports)


def _verify_optimism(answer: dict, seed: int) -> Judgement:
    from lstm_lessons import leakage

    measured, reports = {}, []
    for key, pipeline in (("leak_free", "leak-free"), ("centred_mean", "centred mean feature")):
        result = leakage.train(leakage.prepare(pipeline, seed=seed, horizon=1), seed)
        measured[key] = round(result.optimism, 3)
        reports.append(at_most(f"|reported - measured {pipeline} optimism|", abs(answer[key] - measured[key]),
                               OPTIMISM_TOLERANCE))
    # Every value of the answer is reported: no ``checks``, only ``reports``.
    close = {key: c.holds for key, c in zip(measured, reports, strict=True)}
    # A measured value is shown only once it is reported right: the feedback gives no answer away.
    message = f"optimism at horizon 1, seed {seed}: " + ", ".join(
        f"{pipeline} {measured[key]:.2f}, you said {answer[key]:g}" if close[key] else
        f"{pipeline}: you said {answer[key]:g}, not within {OPTIMISM_TOLERANCE} of the measured value"
        for key, pipeline in (("leak_free", "leak-free"), ("centred_mean", "centred mean")))
    hint = first_hint((close["leak_free"], "measure the leak-free pipeline as the lesson measures it at "
                                           "horizon 6, with horizon 1 and seed 1."),
                      (close["centred_mean"], "the same for the centred mean feature pipeline."))
    return Judgement((), message, hint, measured, tuple(reports))


EXERCISES = (
    Exercise(
        "06-gap", "06_leakage", 2,
        f"A forecaster reads {GAP_LOOKBACK} months and predicts the next {GAP_HORIZON}. Its windows start "
        f"at the first month of lesson 06's development period and every {GAP_STRIDE} months after (stride "
        f"{GAP_STRIDE}), and lie wholly in that period; a window is a training window when its last month "
        f"lies in the lesson's training share (the first {TRAINING_SHARE:.0%} of the development "
        "months, rounded), and every later window is a validation window. Give the smallest number of "
        "validation windows to leave out, from the first, so that no validation window left shares a "
        "month with a training window, and how many validation windows are then left to validate on.",
        {"gap": Rule(int, 0, 1000, meaning="windows left out between training and validation"),
         "validation_windows": Rule(int, 0, 10_000, meaning="validation windows left after the gap")},
        _verify_gap),
    Exercise(
        "06-optimism", "06_leakage", 2,
        "Measure the leak of the centred mean one month ahead instead of six: measure the leak-free and "
        "the centred mean feature pipelines as lesson 06 does, with horizon 1 and seed 1 (default "
        f"settings), and report each one's optimism (test RMSE / validation RMSE), to within "
        f"{OPTIMISM_TOLERANCE}.",
        {"leak_free": Rule(float, 0.0, 100.0, low_inclusive=False,
                           meaning="the leak-free pipeline's optimism"),
         "centred_mean": Rule(float, 0.0, 100.0, low_inclusive=False,
                              meaning="the centred mean feature pipeline's optimism")},
        _verify_optimism),
)
