import numpy as np
import pytest

from lstm_lessons import curves


def test_smooth_decay_does_not_oscillate():
    values = 0.2 + np.exp(-np.arange(40) / 5)
    assert curves.oscillation_index(values) == 0
    assert not curves.is_oscillating(values)


def test_steep_but_bumpy_descent_does_not_count():
    # Falls by a factor 100 with a 4 % bump every few epochs: reversals are small.
    values = np.geomspace(1, 0.01, 30) * (1 + 0.04 * (np.arange(30) % 3 == 0))
    assert curves.oscillation_index(values) == 0


def test_zig_zag_scores_close_to_one():
    values = np.where(np.arange(31) % 2 == 0, 0.2, 0.25)
    assert curves.oscillation_index(values) > 0.9
    assert curves.is_oscillating(values)


def test_one_spike_is_not_oscillation():
    values = np.full(30, 0.2)
    values[15] = 0.8
    assert curves.oscillation_index(values) == pytest.approx(1 / 29)
    assert not curves.is_oscillating(values)


def test_amplitude_below_min_swing_is_ignored():
    values = np.where(np.arange(30) % 2 == 0, 0.200, 0.206)  # 3 % swings
    assert curves.oscillation_index(values) == 0
    assert curves.oscillation_index(values, min_swing=0.02) > 0.9


def test_reversal_amplitudes_are_the_smaller_leg_in_log_units():
    amplitudes = curves.reversal_amplitudes([1.0, np.e, np.e ** 0.5, np.e ** 2])
    np.testing.assert_allclose(amplitudes, [0.5, 0.5])


def test_non_finite_values_are_dropped_and_short_curves_score_zero():
    assert curves.oscillation_index([0.3, np.nan, 0.2]) == 0
    assert curves.oscillation_index([1.0]) == 0


@pytest.mark.parametrize(("values", "message"), [
    ([0.2, -0.1, 0.3], "<= 0"),
    (np.ones((3, 2)), r"shape \(n_epochs,\)"),
])
def test_bad_curves_are_refused(values, message):
    with pytest.raises(ValueError, match=message):
        curves.oscillation_index(values)


def test_min_swing_must_be_positive():
    with pytest.raises(ValueError, match="min_swing=0"):
        curves.oscillation_index([0.1, 0.2, 0.1], min_swing=0)


def test_relative_improvement_and_stagnation():
    assert curves.relative_improvement([4.0, 2.0, 1.0, 3.0]) == 0.75
    assert curves.relative_improvement([1.0, 1.2, 1.1]) == 0.0
    assert curves.relative_improvement([float("nan"), 1.0]) == 0.0
    assert curves.relative_improvement([2.0, float("nan"), 1.0]) == 0.5
    assert curves.is_stagnant([100.0, 99.0, 98.0, 97.0]) and not curves.is_stagnant([1.0, 0.5, 0.1])
    assert curves.is_stagnant([1.0, 1 - curves.STAGNATION_THRESHOLD + 1e-9])
    assert not curves.is_stagnant([1.0, 1 - curves.STAGNATION_THRESHOLD - 1e-9])


@pytest.mark.parametrize(("values", "message"), [([], "n_epochs >= 1"), ([[1.0, 2.0]], "shape"),
                                                  ([1.0, -2.0], "<= 0")])
def test_relative_improvement_rejects_bad_curves(values, message):
    with pytest.raises(ValueError, match=message):
        curves.relative_improvement(values)
