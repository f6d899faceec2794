"""Lesson 06's exercises: size the gap that removes the shared months, and measure a leak's optimism."""

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
windows, and is larger than needed."""

OPTIMISM_TOLERANCE = 0.03
"""Exercise 2: a reported optimism may differ by this much from the grader's (another CPU's last
digits, a rounding)."""


def _shared(gap: int) -> int:
    """Validation windows sharing a month with a training window when exercise 1's chronological
    split (the lesson's development period and validation share; a window is training when its
    last month lies in the training share) leaves ``gap`` windows out."""
    from lstm_lessons import data, leakage

    n_dev = leakage.development_months(len(data.load_sunspots()))
    length = GAP_LOOKBACK + GAP_HORIZON
    starts = np.arange(0, n_dev - length + 1, GAP_STRIDE)
    last_training_start = int(round((1 - leakage.VALIDATION_FRACTION) * n_dev)) - length
    train, rest = starts[starts <= last_training_start], starts[starts > last_training_start]
    # ``windows_sharing_steps`` takes stride-1 window indices: a window's index is its first month.
    return data.windows_sharing_steps(train, rest[gap:], GAP_LOOKBACK, GAP_HORIZON)


def _verify_gap(answer: dict, seed: int) -> Judgement:
    # Counting, no training: ``seed`` is not used, and a count has no margin (facts, not bounds).
    gap, without = answer["gap"], answer["shared_without_gap"]
    shared, shared_one_less, shared_none = _shared(gap), _shared(max(gap - 1, 0)), _shared(0)
    checks = (is_true("no validation window shares a month with training", shared == 0),
              is_true("one window less would share a month", gap == 0 or shared_one_less > 0))
    reports = (is_true("reported count without a gap is right", without == shared_none),)
    enough, smallest = (c.holds for c in checks)
    counted = reports[0].holds
    measured = {"shared_with_gap": shared, "shared_with_one_window_less": shared_one_less,
                "shared_without_gap": shared_none}
    # The counts stay out of the message: each is a reported value, or leads straight to one.
    if not enough:
        outcome = "still leaves validation windows sharing a month with training"
    elif smallest:
        outcome = "leaves no validation window sharing a month with training, and is the smallest that does"
    else:
        outcome = "leaves no validation window sharing a month with training, but a smaller gap does too"
    message = (f"a gap of {gap} windows {outcome}; your count without a gap is "
               f"{'right' if counted else 'not right'}")
    hint = first_hint((enough, "a validation window still reaches back into a training window: count the "
                               "months one window covers, inputs and targets, and how far apart two "
                               "windows start."),
                      (smallest, "that gap is larger than needed: a smaller one already shares no month."),
                      (counted, "without a gap, count the validation windows that start within one window's "
                                "length of the last training window."))
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
        f"A forecaster reads {GAP_LOOKBACK} months and predicts the next {GAP_HORIZON}; a window starts "
        f"every {GAP_STRIDE} months (stride {GAP_STRIDE}), and the windows are split in time order as in "
        "lesson 06. Give the smallest number of windows to leave "
        "out between the last training window and the first validation window so that no validation "
        "window shares a month with a training window, and how many validation windows share a month when "
        "none is left out.",
        {"gap": Rule(int, 0, 1000, meaning="windows left out between training and validation"),
         "shared_without_gap": Rule(int, 0, 10_000,
                                    meaning="validation windows sharing a month without a gap")},
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
