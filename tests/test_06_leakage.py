"""Lesson 06's own tests: the pipelines, leaky and leak-free, and the gap exercise's counts."""

import numpy as np
import pytest

from lstm_lessons import data, leakage, training


def test_centred_mean_as_known_uses_no_value_after_the_forecast_day():
    values = np.arange(100.0) ** 1.5
    last = np.array([40, 70])
    known = leakage.centred_mean_as_known(values, last, lookback=24)
    for row, t in zip(known, last, strict=True):
        np.testing.assert_allclose(row, leakage.centred_mean(values[:t + 1])[t - 23:t + 1])
        # only the last six values differ from the centred mean of the whole series
        whole = leakage.centred_mean(values)[t - 23:t + 1]
        np.testing.assert_allclose(row[:-6], whole[:-6])
        assert np.all(row[-6:] < whole[-6:])          # a rising series: the future half is missing


SERIES = data.load_sunspots().to_numpy()
N_DEV = len(SERIES) - int(round(leakage.TEST_FRACTION * len(SERIES)))


@pytest.mark.parametrize("pipeline", list(leakage.PIPELINES))
def test_every_pipeline_is_measured_on_the_same_later_test_targets(pipeline):
    split = leakage.prepare(pipeline, seed=3)
    # the targets of the test period, in sunspot numbers, whatever the scaler
    _, targets = data.make_windows(SERIES[N_DEV - leakage.LOOKBACK:], leakage.LOOKBACK, leakage.HORIZON)
    np.testing.assert_allclose(split.y_test * split.scale + split.mean, targets)
    assert split.x_train.shape[1:] == (leakage.LOOKBACK, 2 if pipeline == "centred mean feature" else 1)
    n_val = leakage.BLOCK_WINDOWS * leakage.VALIDATION_BLOCKS if pipeline.startswith("random blocks") \
        else len(leakage.prepare("leak-free").x_val)
    assert len(split.x_val) == n_val


def test_the_leaks_are_where_the_pipelines_say():
    splits = {p: leakage.prepare(p, seed=1) for p in leakage.PIPELINES}
    assert splits["leak-free"].shared == 0
    assert splits["shuffled windows"].shared == len(splits["shuffled windows"].x_val)
    gap = data.window_gap(leakage.LOOKBACK, leakage.HORIZON)
    # The random blocks: the same validation windows and scaler; purging drops exactly the training
    # windows that share a month with a block, and no more.
    blocks, purged = splits["random blocks, no gap"], splits["random blocks, purged"]
    np.testing.assert_array_equal(blocks.x_val, purged.x_val)
    assert (blocks.mean, blocks.scale) == (purged.mean, purged.scale)
    most = 2 * gap * leakage.VALIDATION_BLOCKS
    assert 0 < blocks.shared <= most and purged.shared == 0
    # as many training windows: the neighbours replace as many others
    assert len(blocks.x_train) == len(purged.x_train)
    leak_free, whole = splits["leak-free"], splits["scaler on the whole series"]
    assert (whole.mean, whole.scale) != (leak_free.mean, leak_free.scale)
    assert (whole.mean, whole.scale) == pytest.approx((SERIES.mean(), SERIES.std()))
    # The centred mean: the whole series' in training (it holds six months of each window's
    # future), and in the test windows only what was known on the day.
    centred = splits["centred mean feature"]
    np.testing.assert_array_equal(centred.x_train[..., 0], leak_free.x_train[..., 0])
    everywhere = (leakage.centred_mean(SERIES) - centred.mean) / centred.scale
    np.testing.assert_allclose(centred.x_train[:, :, 1], np.lib.stride_tricks.sliding_window_view(
        everywhere, leakage.LOOKBACK)[:len(centred.x_train)])
    last_days = N_DEV - 1 + np.arange(len(centred.x_test))
    known = leakage.centred_mean_as_known(SERIES, last_days, leakage.LOOKBACK)
    known = (known - centred.mean) / centred.scale
    np.testing.assert_allclose(centred.x_test[:, :, 1], known)
    with pytest.raises(ValueError, match="pipeline='random'"):
        leakage.prepare("random")


def test_random_blocks_purge_exactly_the_windows_that_share_a_step():
    train, val, purged = leakage.random_blocks(1000, seed=4, gap=29, block=100, blocks=3)
    assert len(val) == 300 and len(np.intersect1d(train, val)) == 0
    assert sorted(np.r_[train, val]) == list(range(1000))
    assert data.windows_sharing_steps(purged, val, 24, 6) == 0
    dropped = np.setdiff1d(train, purged)
    # every dropped window shares a step with some validation window (it was needed to drop it)
    assert all(data.windows_sharing_steps(val, [w], 24, 6) == 1 for w in dropped)
    with pytest.raises(ValueError, match="n_windows=250"):
        leakage.random_blocks(250, seed=0, gap=29, block=100, blocks=3)


def test_folds_walk_forward_without_shared_steps_and_shuffled_with_all_shared():
    walk = leakage.fold_splits("walk-forward", 3)
    shuffled = leakage.fold_splits("shuffled k-fold", 3, seed=0)
    assert [s.shared for s in walk] == [0, 0, 0]
    assert all(s.shared == len(s.x_val) for s in shuffled)
    with pytest.raises(ValueError, match="splitter='random'"):
        leakage.fold_splits("random", 3)


@pytest.mark.slow
def test_training_in_the_workers_gives_the_numbers_of_training_here():
    quick = leakage.Settings(units=4, epochs=1)
    splits = [leakage.prepare("leak-free"), leakage.prepare("centred mean feature")]
    here = [leakage.train(split, 2, quick) for split in splits]
    there = leakage.train_many([dict(split=split, seed=2, settings=quick) for split in splits], jobs=2)
    assert [r.label for r in there] == ["leak-free", "centred mean feature"]
    for a, b in zip(here, there, strict=True):
        assert (a.train_rmse, a.val_rmse, a.test_rmse) == (b.train_rmse, b.val_rmse, b.test_rmse)
    assert there[0].optimism == there[0].test_rmse / there[0].val_rmse
    # A reused compiled model (the second call here) gives the numbers of a new one.
    training._COMPILED.clear()
    leakage.train(splits[0], 5, quick)
    again = leakage.train(splits[0], 2, quick)
    assert (again.train_rmse, again.val_rmse, again.test_rmse) == (here[0].train_rmse, here[0].val_rmse,
                                                                 here[0].test_rmse)
    curves = leakage.train(splits[0], 2, quick, curves=True)
    assert set(curves.history) == {"loss", "val_loss", "mae", "val_mae"}
    table = leakage.table(there)
    assert list(table.index) == ["leak-free", "centred mean feature"]
    controls = [leakage.persistence(split) for split in splits]
    with_controls = leakage.table(there, controls)
    assert with_controls.loc["leak-free", "excess optimism"] == pytest.approx(
        there[0].optimism / controls[0].optimism)
    # the excess optimism is the test skill over the validation skill (skill: RMSE / persistence's)
    assert leakage.excess_optimism(there[1], controls[1]) == pytest.approx(
        (there[1].test_rmse / controls[1].test_rmse) / (there[1].val_rmse / controls[1].val_rmse))
    assert table.loc["leak-free", "shared windows"] == f"0 of {len(splits[0].x_val)}"


def test_the_persistence_control_forecasts_the_last_input_month_and_fits_nothing():
    split = leakage.prepare("leak-free")
    control = leakage.persistence(split)
    last = split.x_val[:, -1, 0] * split.scale + split.mean
    targets = split.y_val * split.scale + split.mean
    assert control.val_rmse == pytest.approx(np.sqrt(np.mean((targets - last[:, None]) ** 2)))
    assert control.label == "leak-free, persistence" and control.n_val == len(split.x_val)
    # The scaler cannot change a forecast that is a copy of an input: the same errors.
    assert leakage.persistence(leakage.prepare("scaler on the whole series")).test_rmse == \
        pytest.approx(control.test_rmse)


def test_the_shuffled_split_validates_even_a_forecaster_that_cannot_leak_better():
    """The shuffled windows' better validation is partly *where* they validate (all of
    1749-1960 instead of 1920-1960, cycle 19 the highest on record): persistence fits nothing and
    still validates better there. A leak is only what exceeds this control."""
    leak_free = leakage.persistence(leakage.prepare("leak-free"))
    shuffled = leakage.persistence(leakage.prepare("shuffled windows", seed=1))
    assert shuffled.val_rmse < 0.9 * leak_free.val_rmse
    assert shuffled.test_rmse == pytest.approx(leak_free.test_rmse)


def test_the_gap_exercise_wants_the_smallest_gap_and_the_validation_windows_it_leaves():
    # Windows of 36 months starting every 3 months: a validation window shares a month with the
    # last training window while it starts at most 35 months, 11 windows, after it; the split has
    # 170 validation windows, 159 after the gap.
    from lstm_lessons import leakage
    from lstm_lessons.grading.registry import EXERCISES
    from lstm_lessons.lessons.lesson06_leakage import exercises as lesson06

    assert lesson06.TRAINING_SHARE == 1 - leakage.VALIDATION_FRACTION   # the share the task names
    gap = EXERCISES["06-gap"]
    judged = gap.verify({"gap": 11, "validation_windows": 159}, 1)
    assert judged.passed and judged.hint == "" and judged.measurements["validation_windows"] == 159
    too_small = gap.verify({"gap": 10, "validation_windows": 160}, 1)
    assert not too_small.passed and too_small.measurements["shared_with_gap"] == 1
    too_large = gap.verify({"gap": 35, "validation_windows": 135}, 1)   # the stride-1 formula's gap
    assert not too_large.passed and too_large.measurements["shared_with_gap"] == 0
    miscounted = gap.verify({"gap": 11, "validation_windows": 170}, 1)
    assert not miscounted.passed and [c.holds for c in miscounted.checks] == [True]
    assert not miscounted.reports[0].holds
    # The feedback says neither which way the gap is off nor which of the two is wrong.
    assert too_small.hint == too_large.hint == miscounted.hint != ""
    assert too_small.message.endswith("not both right") and miscounted.message.endswith("not both right")
    judged = gap.verify({"gap": 0, "validation_windows": 0}, 1)
    assert not {"11", "159", "170"} & set(judged.message.replace(",", " ").split())   # nothing given away
