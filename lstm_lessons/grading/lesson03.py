"""Lesson 03's exercises: find the year the average hides, and choose windows that treat years alike."""

from __future__ import annotations

from lstm_lessons.claims import above, at_most, below, is_true
from lstm_lessons.grading.exercise import Exercise, Judgement, first_hint
from lstm_lessons.params import Choice, Rule

SEED, EPOCHS, LAST_TRAINING_YEAR, VALIDATION_YEARS = 1, 10, 2012, (2013, 2016)
"""The lesson's default settings, used by every check."""


def _per_year_report(representation: str, lookback: int, seed: int):
    """Train lesson 03's model on one representation; its per-year validation report (MAPE in %)."""
    from lstm_lessons import data, models, subsets, training

    close = data.load_msft()["Close"]
    split = data.split_by_year(close.index, LAST_TRAINING_YEAR, VALIDATION_YEARS)
    year, is_train, is_val = split.windows(lookback)
    if representation == "levels":
        _, scaled, scaler = data.scale_splits(close[:split.n_train_steps], close)
        x, y = data.make_windows(scaled, lookback)

        def to_units(values):
            return scaler.inverse_transform(values.reshape(-1, 1)).reshape(values.shape)
    else:
        x, y, last = data.relative_windows(*data.make_windows(close.to_numpy(), lookback))
        reference = last[is_val]

        def to_units(values):
            return (values / 100 + 1) * reference
    training.seed_everything(seed)
    model = models.build_lstm_regressor(lookback, units=32, learning_rate=1e-3)
    model.fit(x[is_train], y[is_train], epochs=EPOCHS, batch_size=64, verbose=0)
    return subsets.evaluate_subsets(model, x[is_val], y[is_val], year[is_val], to_units=to_units)


def _verify_worst_year(answer: dict, seed: int) -> Judgement:
    report = _per_year_report("levels", 20, seed)
    worst = int(report.worst)
    mape = report.table["mape"]
    measured = {"worst_year": worst, "mape_per_year": {int(k): round(float(v), 2) for k, v in mape.items()}}
    reported = answer["worst_year"]
    if reported in mape.index:
        # The reported year is the worst exactly when its MAPE is above every other year's; the
        # ratio says how far: for the right year, how far ahead of the runner-up it is.
        others = mape.drop(reported)
        reports = (above("reported year's MAPE / highest MAPE of the other years",
                         float(mape[reported] / others.max()), 1.0),)
    else:
        reports = (is_true("the reported year is a validation year with windows", False),)
    if reports[0].holds:
        message = f"{worst} it is: MAPE {mape[worst]:.1f} % against {mape.min():.1f} % in the best year"
        return Judgement((), message, "", measured, reports)
    message = f"{answer['worst_year']} is not the worst validation year of the model on price levels"
    hint = "print the per-year table of ll.subsets.evaluate_subsets."
    return Judgement((), message, hint, measured, reports)


def _verify_windows(answer: dict, seed: int) -> Judgement:
    from lstm_lessons.subsets import DISPARITY_THRESHOLD

    report = _per_year_report(answer["representation"], 20, seed)
    disparity = report.disparity()
    measured = {"disparity": round(disparity, 2), "mape": round(float(report.overall["mape"]), 2)}
    checks = (below("worst-year MAPE / best-year MAPE", disparity, DISPARITY_THRESHOLD),)
    reports = (at_most("|reported - measured disparity|", abs(answer["disparity"] - disparity), 0.1),)
    even, reported = checks[0].holds, reports[0].holds
    # The measured disparity is shown only once it is reported right: the feedback gives no answer away.
    said = (f"{disparity:.2f}x the best, as you said" if reported else
            f"you said {answer['disparity']:g}x, not within 0.1 of the measured ratio")
    message = (f"with {answer['representation']} windows the worst year is "
               f"{'less than' if even else 'not less than'} {DISPARITY_THRESHOLD:g}x the best ({said})")
    hint = first_hint((even, "the later years' prices lie outside what the model saw in training."),
                      (reported, "measure it: ll.subsets.evaluate_subsets(...).disparity()."))
    return Judgement(checks, message, hint, measured, reports)


EXERCISES = (
    Exercise(
        "03-worst-year", "03_biased_validation_subsets", 2,
        "Which validation year (2013-2016) has the highest MAPE for lesson 03's model on price levels "
        "(default settings, seed 1)?",
        {"worst_year": Rule(int, VALIDATION_YEARS[0], VALIDATION_YEARS[1], meaning="a validation year")},
        _verify_worst_year),
    Exercise(
        "03-even-years", "03_biased_validation_subsets", 2,
        "Choose the window representation with which lesson 03's model (default settings, seed 1) is "
        "less than twice as bad in its worst validation year as in its best, and report that ratio "
        "(the disparity) to within 0.1.",
        {"representation": Choice(("levels", "relative"), meaning="what the windows hold"),
         "disparity": Rule(float, 1.0, 1000.0, meaning="worst-year MAPE / best-year MAPE")},
        _verify_windows),
)
