import numpy as np
import pandas as pd
import pytest

from lstm_lessons import data


def test_sunspots_loader_shape_index_and_values():
    s = data.load_sunspots()
    assert isinstance(s, pd.Series) and s.name == "sunspot_number"
    assert len(s) == 2820
    assert s.index[0] == pd.Timestamp("1749-01-01") and s.index[-1] == pd.Timestamp("1983-12-01")
    assert s.index.is_monotonic_increasing and not s.isna().any()
    assert s.iloc[0] == pytest.approx(58.0) and s.min() >= 0


def test_co2_loader_keeps_the_59_missing_weeks_as_nan():
    s = data.load_co2()
    assert len(s) == 2284 and s.name == "co2_ppmv"
    assert int(s.isna().sum()) == 59
    assert 300 < s.min() < s.max() < 400


def test_msft_loader():
    msft = data.load_msft()
    assert list(msft.columns) == ["Open", "High", "Low", "Close", "Volume"]
    assert len(msft) == 7983 and msft.index.name == "Date"


@pytest.mark.parametrize(
    ("loader", "shape", "n_train", "labels"),
    [
        (data.load_japanese_vowels, (640, 29, 12), 270, set(range(1, 10))),
        (data.load_italy_power_demand, (1096, 24, 1), 67, {1, 2}),
    ],
)
def test_archive_loaders(loader, shape, n_train, labels):
    c = loader()
    assert c.x.shape == shape
    assert set(c.labels.tolist()) == labels
    assert c.subset("train").x.shape[0] == n_train
    assert c.subset("test").x.shape[0] == shape[0] - n_train
    assert c.lengths.max() == shape[1]
    # Padding is NaN only after a series' last real step.
    for i in range(shape[0]):
        assert not np.isnan(c.x[i, : c.lengths[i]]).any()
        assert np.isnan(c.x[i, c.lengths[i]:]).all()


def test_japanese_vowels_have_variable_lengths():
    c = data.load_japanese_vowels()
    assert c.lengths.min() == 7 and c.lengths.max() == 29


def test_subset_rejects_unknown_split():
    with pytest.raises(ValueError, match="split='validation'"):
        data.load_italy_power_demand().subset("validation")


def test_missing_file_names_file_and_restore(data_dir):
    (data_dir / "sunspots_monthly.csv").unlink()
    with pytest.raises(data.DataFileError, match=r"sunspots_monthly\.csv is missing.*git checkout"):
        data.load_sunspots()


def test_a_missing_file_in_a_folder_of_ones_own_says_where_to_copy_it(data_dir, monkeypatch):
    monkeypatch.setenv("LSTM_LESSONS_DATA", str(data_dir))
    (data_dir / "sunspots_monthly.csv").unlink()
    with pytest.raises(data.DataFileError, match=r"Copy it again into .*data \(LSTM_LESSONS_DATA\)"):
        data.load_sunspots()


def test_altered_file_is_refused(data_dir):
    path = data_dir / "sunspots_monthly.csv"
    path.write_text(path.read_text().replace("58.0", "59.0", 1))
    with pytest.raises(data.DataFileError, match=r"sunspots_monthly\.csv has been altered"):
        data.load_sunspots()


def test_unknown_file_name():
    with pytest.raises(KeyError, match="nope.csv"):
        data.data_path("nope.csv")


def test_make_windows_contents_and_shapes():
    series = np.arange(10.0)
    x, y = data.make_windows(series, lookback=3, horizon=2)
    assert x.shape == (6, 3, 1) and y.shape == (6, 2)
    np.testing.assert_array_equal(x[0, :, 0], [0, 1, 2])
    np.testing.assert_array_equal(y[0], [3, 4])
    np.testing.assert_array_equal(x[-1, :, 0], [5, 6, 7])
    np.testing.assert_array_equal(y[-1], [8, 9])


def test_make_windows_stride_and_multivariate_target():
    values = np.stack([np.arange(12.0), 100 + np.arange(12.0)], axis=1)
    x, y = data.make_windows(values, lookback=4, horizon=1, stride=3, target_index=1)
    assert x.shape == (3, 4, 2) and y.shape == (3, 1)
    np.testing.assert_array_equal(x[1, :, 0], [3, 4, 5, 6])
    np.testing.assert_array_equal(y[:, 0], [104, 107, 110])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"lookback": 0}, "lookback=0"),
        ({"lookback": 2.5}, "lookback=2.5"),
        ({"lookback": 3, "horizon": 0}, "horizon=0"),
        ({"lookback": 3, "stride": -1}, "stride=-1"),
        ({"lookback": 9, "horizon": 2}, "too short for lookback=9"),
        ({"lookback": 3, "target_index": 1}, "target_index=1"),
    ],
)
def test_make_windows_rejects_bad_sizes(kwargs, message):
    with pytest.raises(ValueError, match=message):
        data.make_windows(np.arange(10.0), **kwargs)


def test_chronological_split_keeps_order_and_sizes():
    s = pd.Series(np.arange(100.0))
    train, val, test = data.chronological_split(s, train=0.7, validation=0.2)
    assert (len(train), len(val), len(test)) == (70, 20, 10)
    assert train.iloc[-1] < val.iloc[0] and val.iloc[-1] < test.iloc[0]
    assert isinstance(train, pd.Series)


@pytest.mark.parametrize(("train", "validation"), [(0, 0.1), (1.0, 0.0), (0.8, 0.3), (0.5, -0.1)])
def test_chronological_split_rejects_bad_fractions(train, validation):
    with pytest.raises(ValueError, match="Received"):
        data.chronological_split(np.arange(10.0), train, validation)


def test_scale_splits_fits_on_training_part_only():
    train, val = np.array([0.0, 2.0, 4.0]), np.array([100.0, 102.0])
    train_s, val_s, scaler = data.scale_splits(train, val)
    assert train_s.shape == (3,) and val_s.shape == (2,)
    assert train_s.mean() == pytest.approx(0) and train_s.std() == pytest.approx(1)
    # Validation values are far above the training mean: a leak-free scaler shows it.
    assert val_s.min() > 10
    np.testing.assert_allclose(scaler.inverse_transform(val_s[:, None])[:, 0], val)


def test_make_forecasting_data_on_sunspots():
    d = data.make_forecasting_data(data.load_sunspots(), lookback=24, horizon=1)
    assert d.n_train_steps == 1974
    assert d.x_train.shape == (1974 - 24, 24, 1) and d.y_train.shape == (1950, 1)
    assert d.x_val.shape[1:] == (24, 1) and d.x_test.shape[1:] == (24, 1)
    # Scaled on the training part: its windows' targets are near zero mean and unit spread.
    assert abs(d.y_train.mean()) < 0.1 and 0.9 < d.y_train.std() < 1.1
    # The last input step of window i is the target of window i-1.
    np.testing.assert_allclose(d.x_train[1:, -1, 0], d.y_train[:-1, 0])


def test_fill_missing_uses_only_the_past():
    index = pd.date_range("2000-01-01", periods=6, freq="W")
    series = pd.Series([np.nan, 1.0, np.nan, np.nan, 4.0, np.nan], index=index, name="v")
    filled = data.fill_missing(series)
    assert list(filled) == [1.0, 1.0, 1.0, 4.0, 4.0]          # leading NaN dropped, no look-ahead
    assert filled.index[0] == index[1]
    interpolated = data.fill_missing(series, method="time")
    assert interpolated.iloc[1] == pytest.approx(2.0) and np.isnan(interpolated.iloc[-1])


def test_fill_missing_on_co2_changes_nothing_observed():
    co2 = data.load_co2()
    filled = data.fill_missing(co2)
    assert filled.isna().sum() == 0 and len(filled) == len(co2)
    observed = co2.notna()
    assert (filled[observed] == co2[observed]).all()


def test_fill_missing_rejects_bad_input():
    with pytest.raises(ValueError, match="method='linear'"):
        data.fill_missing(pd.Series([1.0, np.nan]), method="linear")
    with pytest.raises(ValueError, match="no observed value"):
        data.fill_missing(pd.Series([np.nan, np.nan], name="empty"))


def test_relative_windows_are_scale_free_and_invertible():
    x = np.array([[[10.0], [20.0]], [[100.0], [200.0]]])
    y = np.array([[30.0], [300.0]])
    x_rel, y_rel, reference = data.relative_windows(x, y)
    np.testing.assert_allclose(x_rel[0], x_rel[1])                 # same moves, different levels
    np.testing.assert_allclose(x_rel[0, :, 0], [-50.0, 0.0])
    np.testing.assert_allclose(y_rel[:, 0], [50.0, 50.0])
    np.testing.assert_allclose((y_rel / 100 + 1) * reference, y)
    _, fractions, _ = data.relative_windows(x, y, percent=False)
    np.testing.assert_allclose(fractions[:, 0], [0.5, 0.5])


def test_relative_windows_rejects_zero_reference_and_bad_shapes():
    with pytest.raises(ValueError, match="Window 1 ends with feature 0 = 0"):
        data.relative_windows(np.array([[[1.0], [2.0]], [[1.0], [0.0]]]), np.ones((2, 1)))
    with pytest.raises(ValueError, match="shapes"):
        data.relative_windows(np.ones((3, 2)), np.ones((3, 1)))


def test_sunspots_smoothed_is_a_trailing_mean_without_the_incomplete_months():
    from lstm_lessons.data import load_sunspots

    raw, smoothed = load_sunspots(), load_sunspots(smoothing_months=6)
    assert len(smoothed) == len(raw) - 5 and smoothed.index[0] == raw.index[5]
    assert smoothed.iloc[0] == pytest.approx(raw.iloc[:6].mean())      # only its own and earlier months
    assert smoothed.iloc[-1] == pytest.approx(raw.iloc[-6:].mean())
    with pytest.raises(ValueError, match="smoothing_months"):
        load_sunspots(smoothing_months=0)


def test_split_by_year_assigns_windows_by_their_targets_year():
    import pandas as pd

    from lstm_lessons.data import make_windows, split_by_year

    dates = pd.date_range("2011-12-26", "2014-01-05", freq="D")
    split = split_by_year(dates, last_training_year=2012, validation_years=(2013, 2013))
    assert split.n_train_steps == int((dates.year <= 2012).sum())
    target_year, is_train, is_val = split.windows(lookback=3)
    x, _ = make_windows(np.arange(len(dates), dtype=float), 3)
    assert len(target_year) == len(x) == len(dates) - 3
    assert (target_year == dates.year[3:]).all()
    assert not (is_train & is_val).any() and is_val.sum() == 365
    assert (target_year[~(is_train | is_val)] == 2014).all()
    with pytest.raises(ValueError, match="last_training_year < validation_years"):
        split_by_year(dates, last_training_year=2013, validation_years=(2013, 2014))


def steps_of(window: int, lookback: int, horizon: int) -> set:
    return set(range(window, window + lookback + horizon))


@pytest.mark.parametrize(("lookback", "horizon"), [(4, 1), (4, 3), (1, 1)])
def test_window_gap_is_the_fewest_windows_left_out_so_that_no_step_is_shared(lookback, horizon):
    gap = data.window_gap(lookback, horizon)
    last_train = 10
    assert not steps_of(last_train, lookback, horizon) & steps_of(last_train + gap + 1, lookback, horizon)
    assert steps_of(last_train, lookback, horizon) & steps_of(last_train + gap, lookback, horizon)


def test_windows_sharing_steps_counts_like_a_brute_force_check():
    rng = np.random.default_rng(0)
    lookback, horizon = 5, 2
    for _ in range(20):
        windows = rng.permutation(80)
        train, val = windows[:60], windows[60:]
        brute = sum(any(steps_of(v, lookback, horizon) & steps_of(t, lookback, horizon) for t in train)
                    for v in val)
        assert data.windows_sharing_steps(train, val, lookback, horizon) == brute
    # chronological: without a gap every window within reach shares; with the gap none does
    assert data.windows_sharing_steps(np.arange(50), np.arange(50, 80), lookback, horizon) == 6
    assert data.windows_sharing_steps(np.arange(50), np.arange(56, 80), lookback, horizon) == 0
    assert data.windows_sharing_steps([], np.arange(5), lookback, horizon) == 0


def test_walk_forward_splits_validate_later_windows_after_the_gap():
    splits = data.walk_forward_splits(500, 4, lookback=24, horizon=6)
    assert len(splits) == 4
    for train, val in splits:
        assert train.min() == 0 and val.min() - train.max() == data.window_gap(24, 6) + 1
        assert data.windows_sharing_steps(train, val, 24, 6) == 0
    assert [len(t) for t, _ in splits] == sorted(len(t) for t, _ in splits)   # more history each fold
    with pytest.raises(ValueError, match="folds=1"):
        data.walk_forward_splits(500, 1, 24, 6)
    with pytest.raises(ValueError, match="40 windows are too few for folds=4 with a gap of 29"):
        data.walk_forward_splits(40, 4, 24, 6)


def test_the_checksum_list_names_every_shipped_file_and_nothing_else():
    from pathlib import Path

    shipped = {p.name for p in Path(data.CHECKSUMS).parent.iterdir()} - {"README.md", "SHA256SUMS"}
    assert set(data.SHA256) == shipped
    assert all(len(digest) == 64 for digest in data.SHA256.values())
