"""Lesson 03's own tests: its exercises' pieces that need no training."""

import nbformat
import numpy as np

from lstm_lessons import data
from lstm_lessons.grading.feedback import screen
from lstm_lessons.lessons.lesson03_biased_validation_subsets.exercises import LOOKBACK, SPLIT
from lstm_lessons.runner import NOTEBOOKS_DIR

NOTEBOOK = NOTEBOOKS_DIR / "03_biased_validation_subsets.ipynb"


def test_the_exercises_split_is_not_the_lessons_and_has_windows_in_every_validation_year():
    # The exercises ask about a split the lesson does not print (its own is 2012 / 2013-2016).
    source = "".join(c.source for c in nbformat.read(NOTEBOOK, as_version=4).cells if c.cell_type == "code")
    assert "split_by_year(close.index, last_training_year=2012, validation_years=(2013, 2016))" in source
    assert SPLIT != (2012, (2013, 2016))
    close = data.load_msft()["Close"]
    year, is_train, is_val = data.split_by_year(close.index, *SPLIT).windows(LOOKBACK)
    first, last = SPLIT[1]
    assert sorted(np.unique(year[is_val]).tolist()) == list(range(first, last + 1))
    assert year[is_train].max() <= SPLIT[0]


def test_a_year_outside_the_split_or_an_unknown_representation_earns_0_before_training():
    for exercise, answer, named in (
            ("03-worst-year", {"worst_year": SPLIT[0], "worst_mape": 10.0}, "worst_year"),
            ("03-even-years", {"representation": "log", "disparity": 1.5}, "representation")):
        result = screen(exercise, answer)
        assert result is not None and result.points == 0 and not result.checks
        assert f"{named}=" in result.message and "is not allowed" in result.message
