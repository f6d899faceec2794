"""The metrics module: r2 as a Keras metric and the scores of a yes/no classifier."""

import numpy as np
import pytest

from lstm_lessons import metrics


def test_binary_scores_of_a_model_that_always_says_no():
    y = np.array([0, 0, 0, 1])
    scores = metrics.binary_scores(y, np.full((4, 1), 0.1))
    assert scores == {"accuracy": 0.75, "recall": 0.0, "balanced_accuracy": 0.5, "spread": 0.0}


def test_binary_scores_of_a_perfect_model_and_bad_lengths():
    y = np.array([0, 1, 0, 1])
    scores = metrics.binary_scores(y, [0.2, 0.9, 0.4, 0.6])
    assert scores["accuracy"] == scores["recall"] == scores["balanced_accuracy"] == 1.0
    assert scores["spread"] == pytest.approx(np.std([0.2, 0.9, 0.4, 0.6]))
    with pytest.raises(ValueError, match="same length. Received: 4 and 3"):
        metrics.binary_scores(y, [0.1, 0.2, 0.3])


def test_r2_is_one_for_a_perfect_forecast_and_zero_for_the_mean():
    y = np.array([[1.0], [2.0], [3.0], [6.0]], dtype="float32")
    assert float(metrics.r2(y, y)) == pytest.approx(1.0)
    assert float(metrics.r2(y, np.full_like(y, y.mean()))) == pytest.approx(0.0, abs=1e-6)
