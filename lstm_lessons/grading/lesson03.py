"""Lesson 03's exercises: find the year the average hides, and choose windows that treat years alike."""

from __future__ import annotations

from lstm_lessons.claims import above, at_most, below, is_true
from lstm_lessons.grading.exercise import Exercise, Judgement, first_hint
from lstm_lessons.params import Choice, Rule

SEED, EPOCHS, LOOKBACK = 1, 10, 20
"""The lesson's default settings, used by every check."""

WORST_YEAR_SPLIT = (2008, (2009, 2012))
"""Exercise 1's split (last training year, validation years), not the lesson's 2012 / 2013-2016: the
lesson prints its worst year, this split's is measured. Its validation prices lie inside the
training range, and yet one year stands out: on price levels 2009 had 1.24 to 1.44 times the
MAPE of the next worst year (seeds 1-3)."""

EVEN_YEARS_SPLIT = (1995, (1996, 1999))
"""Exercise 2's split: the climb of the late 1990s, far beyond the prices trained on (levels: worst
year 5.6 to 5.9 times the best, seeds 1-2). Relative windows bring the disparity to 1.37, which
the lesson does not print (its own split's is 1.2)."""


def _per_year_report(representation: str, split_years: tuple, seed: int, lookback: int = LOOKBACK):
    """Train lesson 03's model on one representation, with ``split_years`` = (last training year,
    validation years); its per-year validation report (MAPE in %)."""
    from lstm_lessons import data, models, subsets, training

    close = data.load_msft()["Close"]
    split = data.split_by_year(close.index, *split_years)
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
    report = _per_year_report("levels", WORST_YEAR_SPLIT, seed)
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

    report = _per_year_report(answer["representation"], EVEN_YEARS_SPLIT, seed)
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


def _split_words(split_years) -> str:
    last, (first, final) = split_years
    return f"targets up to {last} train, {first}-{final} validate"


EXERCISES = (
    Exercise(
        "03-worst-year", "03_biased_validation_subsets", 2,
        f"Split Microsoft's close differently from the lesson ({_split_words(WORST_YEAR_SPLIT)}: "
        f"ll.data.split_by_year(close.index, {WORST_YEAR_SPLIT[0]}, {WORST_YEAR_SPLIT[1]})) and train "
        f"lesson 03's model on price levels (lookback {LOOKBACK}, {EPOCHS} epochs, seed {SEED}). Which "
        f"validation year has the highest MAPE?",
        {"worst_year": Rule(int, *WORST_YEAR_SPLIT[1], meaning="a validation year of this split")},
        _verify_worst_year),
    Exercise(
        "03-even-years", "03_biased_validation_subsets", 2,
        f"Split Microsoft's close at the climb of the late 1990s ({_split_words(EVEN_YEARS_SPLIT)}: "
        f"ll.data.split_by_year(close.index, {EVEN_YEARS_SPLIT[0]}, {EVEN_YEARS_SPLIT[1]})). Choose the "
        f"window representation with which lesson 03's model (lookback {LOOKBACK}, {EPOCHS} epochs, seed "
        f"{SEED}) is less than twice as bad in its worst validation year as in its best, and report that "
        f"ratio (the disparity) to within 0.1.",
        {"representation": Choice(("levels", "relative"), meaning="what the windows hold"),
         "disparity": Rule(float, 1.0, 1000.0, meaning="worst-year MAPE / best-year MAPE")},
        _verify_windows),
)
