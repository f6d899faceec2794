"""Per-subset evaluation: counts, per-group errors and the disparity between groups."""

import numpy as np
import pytest

from lstm_lessons import subsets
from lstm_lessons._tf import keras


def _identity_model():
    # Predicts the last input step: its errors are known exactly.
    inputs = keras.Input(shape=(2, 1))
    outputs = keras.layers.Lambda(lambda t: t[:, -1, :])(inputs)
    model = keras.Model(inputs, outputs)
    model.compile(loss="mse")
    return model


def test_errors_and_counts_per_group():
    x = np.array([[[0], [1.0]], [[0], [2.0]], [[0], [4.0]]])
    y = np.array([[1.0], [3.0], [7.0]])          # errors 0, 1, 3
    report = subsets.evaluate_subsets(_identity_model(), x, y, np.array(["a", "b", "b"]))
    assert report.table.loc["a", "count"] == 1 and report.table.loc["b", "count"] == 2
    assert report.table.loc["a", "loss"] == 0.0
    assert report.table.loc["b", "loss"] == pytest.approx((1 + 9) / 2)
    assert report.table.loc["b", "mae"] == pytest.approx(2.0)
    assert report.overall["count"] == 3 and report.overall["loss"] == pytest.approx(10 / 3)
    assert report.metric == "loss" and report.worst == "b" and report.best == "a"
    assert report.disparity() == float("inf")


def test_to_units_adds_a_percentage_error_and_becomes_the_metric():
    x = np.array([[[0], [1.0]], [[0], [1.0]], [[0], [1.0]], [[0], [1.0]]])
    y = np.array([[1.0], [1.0], [2.0], [2.0]])
    report = subsets.evaluate_subsets(_identity_model(), x, y, [2015, 2015, 2016, 2016],
                                      to_units=lambda v: v * 100)
    assert report.metric == "mape"
    assert report.table.loc[2015, "mape"] == pytest.approx(0.0)
    assert report.table.loc[2016, "mape"] == pytest.approx(50.0)
    assert list(report.table.index) == [2015, 2016]


def test_disparity_and_threshold():
    x = np.ones((4, 2, 1))
    y = np.array([[2.0], [2.0], [3.0], [3.0]])    # absolute errors 1 and 2
    report = subsets.evaluate_subsets(_identity_model(), x, y, ["p", "p", "q", "q"])
    assert report.disparity("mae") == pytest.approx(2.0)
    assert report.disparity() == pytest.approx(4.0)      # loss is squared
    assert report.is_disparate(threshold=4.0) and not report.is_disparate(threshold=4.5)
    with pytest.raises(KeyError, match="count"):
        report.disparity("count")


def test_mismatched_lengths_and_empty_input_are_refused():
    with pytest.raises(ValueError, match="len\\(groups\\)=2"):
        subsets.evaluate_subsets(_identity_model(), np.ones((3, 2, 1)), np.ones((3, 1)), [1, 2])
    with pytest.raises(ValueError, match="at least one"):
        subsets.evaluate_subsets(_identity_model(), np.ones((0, 2, 1)), np.ones((0, 1)), [])
