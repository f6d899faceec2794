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


def test_rebound_is_the_climb_above_the_earlier_best_of_the_running_median():
    # medians of 3: 0.5, 0.4, 0.4, 0.5, 0.6, 0.6 -> the earlier best is 0.4
    values = [1.0, 0.5, 0.4, 0.3, 0.5, 0.6, 0.6, 0.7]
    curve = curves.rebound_curve(values)
    assert curve.shape == (8,) and np.isnan(curve[[0, 1, 7]]).all()
    np.testing.assert_allclose(curve[2:7], [0.0, 0.0, 0.25, 0.5, 0.5])
    assert curves.loss_rebound(values) == pytest.approx(0.5)


def test_one_odd_epoch_is_not_a_rebound_and_a_falling_curve_scores_zero():
    falling = 0.2 + np.exp(-np.arange(30) / 5)
    assert curves.loss_rebound(falling) == 0
    spiked = falling.copy()
    spiked[15] *= 3     # one bad epoch midway
    spiked[-1] *= 3     # and a bad last epoch
    assert curves.loss_rebound(spiked) == 0
    two_bad = falling.copy()
    two_bad[15:17] *= 1.5
    assert curves.loss_rebound(two_bad) > curves.REBOUND_THRESHOLD


def test_rebound_skips_non_finite_epochs_and_short_curves():
    curve = curves.rebound_curve([1.0, np.nan, 0.5, 0.4, 0.6, 0.6])
    # finite epochs 1.0, 0.5, 0.4, 0.6, 0.6: medians 0.5, 0.5, 0.6 -> 20 % above 0.5
    assert np.isnan(curve[[1, 5]]).all() and curve[4] == pytest.approx(0.2)
    assert curves.loss_rebound([1.0, 2.0, 3.0]) == 0
    assert curves.loss_rebound([1.0]) == 0


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"values": [0.2, -0.1, 0.3, 0.4]}, "<= 0"),
    ({"values": np.ones((4, 2))}, r"shape \(n_epochs,\)"),
    ({"values": [0.3, 0.2, 0.1, 0.2], "window": 2}, "window=2"),
    ({"values": [0.3, 0.2, 0.1, 0.2], "window": 0}, "window=0"),
])
def test_rebound_refuses_bad_input(kwargs, message):
    with pytest.raises(ValueError, match=message):
        curves.rebound_curve(**kwargs)


def test_generalisation_loss_is_prechelts_gl_in_per_cent():
    gl = curves.generalisation_loss([1.0, 0.5, 0.6, 0.4, 0.8])
    np.testing.assert_allclose(gl, [0, 0, 20, 0, 100])


def test_generalisation_loss_ignores_non_finite_epochs_for_the_best():
    gl = curves.generalisation_loss([1.0, np.nan, 1.5])
    assert gl[0] == 0 and np.isnan(gl[1]) and gl[2] == pytest.approx(50)


def test_generalisation_gap_and_its_errors():
    np.testing.assert_allclose(curves.generalisation_gap([0.5, 0.2], [0.6, 0.5]), [0.1, 0.3])
    with pytest.raises(ValueError, match="Received 2 and 3 epochs"):
        curves.generalisation_gap([0.5, 0.2], [0.6, 0.5, 0.4])
    with pytest.raises(ValueError, match="value <= 0"):
        curves.generalisation_loss([0.5, 0.0])


def test_rising_trend_separates_a_climb_from_swings_around_a_level():
    rng = np.random.default_rng(0)
    climb = np.linspace(0.1, 0.3, 30) * np.exp(rng.normal(0, 0.1, 30))
    swings = 0.2 * np.exp(rng.normal(0, 0.3, 30))
    assert curves.rising_trend(climb)
    assert not curves.rising_trend(swings)
    assert not curves.rising_trend([0.1, 0.2, 0.3])  # three epochs are too few to call a trend
    assert not curves.rising_trend(np.linspace(0.3, 0.1, 30))


def test_prechelt_training_progress_is_per_mille_over_a_strip():
    progress = curves.training_progress([1.0, 1.0, 1.0, 2.0, 1.0, 1.0], strip=3)
    assert np.isnan(progress[:2]).all()
    assert progress[2] == pytest.approx(0.0)                     # a flat strip: no progress
    assert progress[3] == pytest.approx(1000 * (4 / 3 - 1))      # sum 4 over 3 x min 1
    with pytest.raises(ValueError, match="strip=0"):
        curves.training_progress([1.0, 2.0], strip=0)


def test_prechelt_stopping_criteria_stop_where_the_paper_says():
    val = [1.0, 0.8, 0.7, 0.75, 0.9, 0.72, 0.8, 0.85, 0.9, 0.95]
    # GL: 0.75 is 7.1 % above the best 0.7, 0.9 is 28.6 %
    assert curves.stopping_epoch("GL", 5, val) == 4
    assert curves.stopping_epoch("GL", 20, val) == 5
    assert curves.stopping_epoch("GL", 50, val) is None
    # UP with strips of 2: the strips end at epochs 2, 4, 6, 8, 10 (0.8, 0.75, 0.72, 0.85, 0.95):
    # the first rise ends at epoch 8, the second in a row at 10
    assert curves.stopping_epoch("UP", 1, val, strip=2) == 8
    assert curves.stopping_epoch("UP", 2, val, strip=2) == 10
    # PQ: the climb counts once the training loss has settled. At epoch 4 GL is 7.1 % but the
    # training loss still moves (P = 250 per mille: quotient 0.03); at epoch 6 GL is 2.9 % and
    # the strip is flat (P = 0): it stops there, though GL_5 had stopped at 4.
    train = [1.0, 0.5, 0.3, 0.2, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1]
    assert curves.training_progress(train, strip=2)[3] == pytest.approx(250)
    assert curves.stopping_epoch("PQ", 1, val, train, strip=2) == 6
    with pytest.raises(ValueError, match="train_losses=None"):
        curves.stopping_epoch("PQ", 1, val)
    with pytest.raises(ValueError, match="alpha=0.5"):
        curves.stopping_epoch("UP", 0.5, val)
    with pytest.raises(ValueError, match="alpha=-1"):
        curves.stopping_epoch("GL", -1, val)
    with pytest.raises(ValueError, match="criterion='XY'"):
        curves.stopping_epoch("XY", 1, val)
