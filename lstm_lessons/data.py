"""Real data sets, sliding windows, chronological splits and leakage-free scaling.

Every loader reads a file from the package's data folder (:data:`DATA_DIR`: ``data/`` in a
checkout, inside the installed package from a wheel) after checking its SHA-256 against the
value recorded in its ``SHA256SUMS`` (copied from the data sets' provenance records), so a lesson
never trains on a silently edited or truncated copy.

Shapes used throughout the lessons:

- a series: ``(n_steps,)`` or ``(n_steps, n_features)``;
- windows: inputs ``(n_windows, lookback, n_features)``, targets ``(n_windows, horizon)``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from lstm_lessons.files import course_folder
from lstm_lessons.params import Rule, require

DATA_DIR = Path(os.environ.get("LSTM_LESSONS_DATA", course_folder("data")))
"""Folder holding the data files: the package's own (``data/`` in a checkout, inside the installed
package from a wheel); override with the ``LSTM_LESSONS_DATA`` environment variable."""

CHECKSUMS = course_folder("data") / "SHA256SUMS"
"""The course's list of data files and their SHA-256, in ``sha256sum``'s format.

``sha256sum -c SHA256SUMS`` in the data folder checks them; the values are those of the data
sets' provenance record. Always the package's own list, not one in ``LSTM_LESSONS_DATA``: a copy elsewhere is
checked against the shipped list, not its own."""


def _read_checksums(path: Path) -> dict[str, str]:
    sums = {}
    for line in path.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.lstrip("*")] = digest
    return sums


SHA256 = _read_checksums(CHECKSUMS)
"""Expected SHA-256 of each data file, ``{file name: hex digest}``, read from :data:`CHECKSUMS`."""


class DataFileError(OSError):
    """A data file is missing or its contents differ from the published checksum."""


def data_path(filename: str) -> Path:
    """Return the verified path of one of the shipped data files.

    Args:
        filename: a key of :data:`SHA256`, e.g. ``"sunspots_monthly.csv"``.

    Raises:
        KeyError: ``filename`` is not one of the shipped files.
        DataFileError: the file is missing, or its SHA-256 differs from :data:`SHA256`;
            the message names the file and how to restore it.
    """
    if filename not in SHA256:
        raise KeyError(f"Unknown data file: filename={filename!r}. Expected one of {sorted(SHA256)}.")
    path = DATA_DIR / filename
    if "LSTM_LESSONS_DATA" in os.environ:
        restore = f"Copy it again into {DATA_DIR} (LSTM_LESSONS_DATA), or unset LSTM_LESSONS_DATA."
    else:
        restore = (
            f"Restore it: in a clone of the course, `git checkout -- data/{filename}`; in a hand-out, "
            f"extract `data/{filename}` from the hand-out's archive again; from a wheel, install it "
            f"again (`pip install --force-reinstall --no-deps <the wheel>`)."
        )
    if not path.is_file():
        raise DataFileError(f"Data file {filename} is missing (looked for {path}). {restore}")
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    if digest != SHA256[filename]:
        raise DataFileError(
            f"Data file {filename} has been altered: its SHA-256 is {digest}, expected "
            f"{SHA256[filename]}. {restore}"
        )
    return path


def load_sunspots(smoothing_months: int = 1) -> pd.Series:
    """Monthly mean relative sunspot number, January 1749 to December 1983.

    Args:
        smoothing_months: length of a *trailing* mean, in months (1: the raw series). Lessons 01
            and 04 use 6: it keeps the 11-year cycle and removes most of the month-to-month
            noise, and each value uses only its own and earlier months (no look-ahead). The
            first ``smoothing_months - 1`` months, which have no full window, are dropped.

    Returns:
        ``pd.Series`` of ``2821 - smoothing_months`` floats named ``sunspot_number`` (a
        dimensionless index), indexed by a monthly ``DatetimeIndex`` (first day of each month).

    Raises:
        ValueError: ``smoothing_months`` is not a positive integer.
    """
    smoothing_months = _check_positive_int("smoothing_months", smoothing_months)
    frame = pd.read_csv(data_path("sunspots_monthly.csv"))
    index = pd.DatetimeIndex(pd.to_datetime(frame["month"], format="%Y-%m"), name="month")
    series = pd.Series(frame["sunspot_number"].to_numpy(float), index=index, name="sunspot_number")
    return series if smoothing_months == 1 else series.rolling(smoothing_months).mean().dropna()


def load_co2() -> pd.Series:
    """Weekly mean atmospheric CO2 at Mauna Loa, 1958-03-29 to 2001-12-29.

    Returns:
        ``pd.Series`` of 2284 floats named ``co2_ppmv`` (parts per million by volume),
        indexed by a weekly ``DatetimeIndex``. 59 weeks are missing and hold ``NaN``.
    """
    frame = pd.read_csv(data_path("co2_mauna_loa_weekly.csv"), parse_dates=["date"])
    return pd.Series(frame["co2_ppmv"].to_numpy(float), index=pd.DatetimeIndex(frame["date"]),
                     name="co2_ppmv")


def load_msft() -> pd.DataFrame:
    """Microsoft daily prices, 1986-03-13 to 2017-11-10 (7983 trading days).

    Returns:
        ``pd.DataFrame`` indexed by ``Date`` with columns ``Open``, ``High``, ``Low``,
        ``Close`` (USD, split-adjusted) and ``Volume`` (shares traded).
    """
    return pd.read_csv(data_path("msft_daily.csv"), parse_dates=["Date"], index_col="Date")


@dataclass(frozen=True)
class SeriesCollection:
    """A labelled collection of multichannel series from a classification archive.

    Attributes:
        x: ``(n_series, n_steps, n_channels)`` float array; series shorter than ``n_steps``
            are padded with ``NaN`` after their last step.
        labels: ``(n_series,)`` array of class labels as published (strings or integers).
        split: ``(n_series,)`` array of ``"train"`` / ``"test"``, the archive's own split.
        lengths: ``(n_series,)`` integer array, the true number of steps of each series.
        channels: names of the channels, in the order of the last axis of ``x``.
    """

    x: np.ndarray
    labels: np.ndarray
    split: np.ndarray
    lengths: np.ndarray
    channels: tuple[str, ...]

    def subset(self, split: str) -> SeriesCollection:
        """Return only the series of one archive split (``"train"`` or ``"test"``).

        Raises:
            ValueError: ``split`` is neither ``"train"`` nor ``"test"``.
        """
        if split not in ("train", "test"):
            raise ValueError(f"split must be 'train' or 'test'. Received: split={split!r}")
        keep = self.split == split
        return SeriesCollection(self.x[keep], self.labels[keep], self.split[keep],
                                self.lengths[keep], self.channels)


def _load_archive(filename: str) -> SeriesCollection:
    frame = pd.read_csv(data_path(filename)).sort_values(["series_id", "t"])
    channels = tuple(c for c in frame.columns if c.startswith("dim_"))
    meta = frame.groupby("series_id", sort=True).agg(label=("label", "first"),
                                                     split=("split", "first"),
                                                     length=("t", "size"))
    x = np.full((len(meta), int(meta["length"].max()), len(channels)), np.nan)
    rows = meta.index.get_indexer(frame["series_id"])
    x[rows, frame["t"].to_numpy()] = frame[list(channels)].to_numpy(float)
    return SeriesCollection(x, meta["label"].to_numpy(), meta["split"].to_numpy(),
                            meta["length"].to_numpy(), channels)


def load_japanese_vowels() -> SeriesCollection:
    """UCI Japanese Vowels: 640 utterances of 7 to 29 frames, 12 LPC cepstrum coefficients.

    Labels are the speaker, 1 to 9; 270 train and 370 test utterances. ``x`` is padded with
    ``NaN`` to 29 frames; ``lengths`` gives each utterance's real number of frames.
    """
    return _load_archive("japanesevowels.csv.gz")


def load_italy_power_demand() -> SeriesCollection:
    """UCR ItalyPowerDemand: 1096 days of 24 hourly, z-normalised power-demand values.

    Labels: 1 = October to March, 2 = April to September; 67 train and 1029 test days.
    """
    return _load_archive("italypowerdemand.csv.gz")


def _as_2d(values) -> tuple[np.ndarray, bool]:
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        return array[:, None], True
    if array.ndim == 2:
        return array, False
    raise ValueError(
        f"A series must have shape (n_steps,) or (n_steps, n_features). Received shape {array.shape}."
    )


def _check_positive_int(name: str, value) -> int:
    return require(name, value, Rule(int, 1))


def make_windows(values, lookback: int, horizon: int = 1, stride: int = 1,
                 target_index: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Cut a series into overlapping (input window, future target) pairs.

    Window ``i`` starts at step ``s = i * stride``: its inputs are steps ``s .. s+lookback-1``
    (all features) and its targets are the next ``horizon`` steps of feature ``target_index``.

    Args:
        values: series of shape ``(n_steps,)`` or ``(n_steps, n_features)``.
        lookback: number of past steps the model sees (>= 1).
        horizon: number of future steps to predict (>= 1).
        stride: steps between the starts of consecutive windows (>= 1).
        target_index: which feature is the target (0 for a univariate series).

    Returns:
        ``(x, y)``: ``x`` of shape ``(n_windows, lookback, n_features)`` and ``y`` of shape
        ``(n_windows, horizon)``, with ``n_windows = (n_steps - lookback - horizon) // stride + 1``.

    Raises:
        ValueError: a size argument is not an integer >= 1, ``target_index`` is out of range,
            or the series is shorter than ``lookback + horizon`` steps.
    """
    lookback = _check_positive_int("lookback", lookback)
    horizon = _check_positive_int("horizon", horizon)
    stride = _check_positive_int("stride", stride)
    array, _ = _as_2d(values)
    n_steps, n_features = array.shape
    if not 0 <= target_index < n_features:
        raise ValueError(f"target_index must be in [0, {n_features - 1}]. "
                         f"Received: target_index={target_index!r}")
    if n_steps < lookback + horizon:
        raise ValueError(
            f"The series has {n_steps} steps, too short for lookback={lookback} plus "
            f"horizon={horizon}: it needs at least {lookback + horizon} steps."
        )
    # sliding_window_view gives (n_steps - size + 1, n_features, size): one view per start.
    views = np.lib.stride_tricks.sliding_window_view(array, lookback + horizon, axis=0)[::stride]
    x = np.ascontiguousarray(views[:, :, :lookback].transpose(0, 2, 1))
    y = np.ascontiguousarray(views[:, target_index, lookback:])
    return x, y


def chronological_split(values, train: float = 0.7, validation: float = 0.15):
    """Split a series into consecutive train, validation and test parts, in time order.

    No shuffling: the validation part follows the training part and the test part follows the
    validation part, so no future value can inform a model about the past.

    Args:
        values: a ``(n_steps, ...)`` array, ``pd.Series`` or ``pd.DataFrame``.
        train: fraction of steps in the training part, in (0, 1).
        validation: fraction of steps in the validation part, in [0, 1); the test part gets
            the remaining ``1 - train - validation`` (may be 0).

    Returns:
        ``(train_part, validation_part, test_part)``, of the same type as ``values``.

    Raises:
        ValueError: a fraction is out of range, their sum exceeds 1, or a non-empty part would
            receive no step.
    """
    if not 0 < train < 1:
        raise ValueError(f"train must be a fraction in (0, 1). Received: train={train!r}")
    if not 0 <= validation < 1 or train + validation > 1:
        raise ValueError(f"validation must be in [0, 1) with train + validation <= 1. "
                         f"Received: train={train!r}, validation={validation!r}")
    n = len(values)
    n_train = int(round(n * train))
    n_val = int(round(n * validation))
    if n_train == 0 or (validation > 0 and n_val == 0):
        raise ValueError(f"{n} steps are too few for train={train}, validation={validation}.")
    take = values.iloc if isinstance(values, (pd.Series, pd.DataFrame)) else values
    return take[:n_train], take[n_train:n_train + n_val], take[n_train + n_val:]


def scale_splits(train, *others, scaler=None):
    """Fit a scaler on the training part only and apply it to every part.

    Fitting on the training part alone keeps validation and test statistics (their mean,
    their range) out of the model's inputs: fitting on the whole series is a leak.

    Args:
        train: training part, ``(n_steps,)`` or ``(n_steps, n_features)``.
        *others: further parts (validation, test) with the same number of features.
        scaler: an unfitted scikit-learn transformer; default ``StandardScaler()``.

    Returns:
        ``(scaled_train, *scaled_others, fitted_scaler)`` as float arrays of the input shapes.
    """
    scaler = StandardScaler() if scaler is None else scaler
    train_2d, flat = _as_2d(train)
    scaler.fit(train_2d)

    def transform(part):
        part_2d, _ = _as_2d(part)
        out = scaler.transform(part_2d)
        return out[:, 0] if flat else out

    return (transform(train), *(transform(p) for p in others), scaler)


@dataclass(frozen=True)
class WindowParts:
    """Training, validation and test windows.

    Attributes:
        x_train: training inputs, ``(n_windows, lookback, n_features)``.
        x_val: validation inputs, the same shape.
        x_test: test inputs, the same shape.
        y_train: training targets, ``(n_windows, horizon)``.
        y_val: validation targets, the same shape.
        y_test: test targets, the same shape.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


@dataclass(frozen=True)
class ForecastingData(WindowParts):
    """Windows of a series, split in time order and scaled on the training part (the windows of
    :class:`WindowParts`, scaled).

    Attributes:
        scaler: the scaler fitted on the training part (undo with ``inverse_transform``).
        n_train_steps: number of steps in the training part of the series.
        lookback: the windows' length, in steps.
        horizon: the steps each window forecasts.
    """

    scaler: object
    n_train_steps: int
    lookback: int
    horizon: int


def make_forecasting_data(series, lookback: int, horizon: int = 1, train: float = 0.7,
                          validation: float = 0.15) -> ForecastingData:
    """Split a series chronologically, scale it on the training part, then window each part.

    Each part is windowed on its own, so no window straddles two parts.

    Args:
        series: ``(n_steps,)`` or ``(n_steps, n_features)``; the target is feature 0.
        lookback, horizon: window sizes in steps (see :func:`make_windows`).
        train, validation: fractions of steps (see :func:`chronological_split`).

    Raises:
        ValueError: from :func:`chronological_split` or :func:`make_windows`, e.g. when a part
            is shorter than ``lookback + horizon``.
    """
    parts = chronological_split(np.asarray(series, dtype=float), train, validation)
    *scaled, scaler = scale_splits(*parts)
    windows = [make_windows(p, lookback, horizon) for p in scaled]
    (x_tr, y_tr), (x_va, y_va), (x_te, y_te) = windows
    return ForecastingData(x_tr, y_tr, x_va, y_va, x_te, y_te, scaler, len(parts[0]),
                           lookback, horizon)


def fill_missing(series: pd.Series, method: str = "ffill") -> pd.Series:
    """Fill missing values of a series using only the past, so no future value leaks in.

    ``"ffill"`` carries the last observed value forward; ``"time"`` interpolates linearly
    in time between the last and the next observation, which looks *ahead* by as many steps
    as the gap is long; use it only on a training part, never across a split boundary.
    Leading missing values (before the first observation) have no past and are dropped.

    Args:
        series: ``pd.Series`` with a ``DatetimeIndex``, e.g. :func:`load_co2`.
        method: ``"ffill"`` (default, causal) or ``"time"``.

    Returns:
        A new ``pd.Series`` without ``NaN``.

    Raises:
        ValueError: ``method`` is not one of the two above, or the series has no observed value.
    """
    if method not in ("ffill", "time"):
        raise ValueError(f"method must be 'ffill' or 'time'. Received: method={method!r}")
    if series.notna().sum() == 0:
        raise ValueError(f"Series {series.name!r} has no observed value to fill from.")
    filled = series.ffill() if method == "ffill" else series.interpolate(method="time", limit_area="inside")
    return filled.loc[series.first_valid_index():]


def relative_windows(x, y, feature: int = 0, percent: bool = True):
    """Per-window normalisation: express each window relative to its own last value.

    Every input and target is divided by the window's last input value of ``feature`` and
    1 is subtracted, so a window reads "how far each step is from where the window ends".
    The result has no price level left in it: a window in 1990 and one in 2016 look alike
    if the moves were alike. Multiply back with ``(values / 100 + 1) * reference`` (or
    ``(values + 1) * reference`` without ``percent``).

    Args:
        x: inputs ``(n_windows, lookback, n_features)``; all features should be in the units
            of ``feature`` (e.g. prices), which must be non-zero at the last step.
        y: targets ``(n_windows, horizon)`` in the same units.
        feature: the feature whose last value is the reference.
        percent: return changes in percent (scaled by 100) rather than fractions.

    Returns:
        ``(x_relative, y_relative, reference)``; ``reference`` is ``(n_windows, 1)``.

    Raises:
        ValueError: ``x`` is not 3-D, lengths differ, or a reference value is zero.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.ndim != 3 or len(x) != len(y):
        raise ValueError(f"Need x of shape (n_windows, lookback, n_features) and y with as many rows. "
                         f"Received shapes {x.shape} and {y.shape}.")
    reference = x[:, -1, feature][:, None]
    if np.any(reference == 0):
        first = int(np.flatnonzero(reference[:, 0] == 0)[0])
        raise ValueError(f"Window {first} ends with feature {feature} = 0: relative changes are "
                         f"undefined there. Drop such windows or use differences instead.")
    factor = 100.0 if percent else 1.0
    return (x / reference[:, :, None] - 1) * factor, (y / reference - 1) * factor, reference


@dataclass(frozen=True)
class YearSplit:
    """A daily series split by calendar year: training years, then validation years.

    Attributes:
        years: ``(n_steps,)`` calendar year of each step of the series.
        last_training_year: the last year whose targets are used for training.
        validation_years: first and last validation year (inclusive); later years are left
            out of both.
    """

    years: np.ndarray
    last_training_year: int
    validation_years: tuple[int, int]

    @property
    def n_train_steps(self) -> int:
        """Steps of the series in the training years (fit scalers on ``series[:n_train_steps]``)."""
        return int((self.years <= self.last_training_year).sum())

    def windows(self, lookback: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Assign the windows of :func:`make_windows` (horizon 1, stride 1) by their target's year.

        Window ``i`` holds steps ``i .. i + lookback - 1`` and targets step ``i + lookback``.

        Returns:
            ``(target_year, is_train, is_val)``, each ``(n_steps - lookback,)``: the year of
            each window's target, and whether it is a training or a validation window.

        Raises:
            ValueError: ``lookback`` is not a positive integer.
        """
        lookback = _check_positive_int("lookback", lookback)
        target_year = self.years[lookback:]
        first, last = self.validation_years
        return (target_year, target_year <= self.last_training_year,
                (target_year >= first) & (target_year <= last))


def split_by_year(dates, last_training_year: int, validation_years: tuple[int, int]) -> YearSplit:
    """Split a daily series by calendar year: targets up to ``last_training_year`` train, those in
    ``validation_years`` (first and last, inclusive) validate, the rest is left out (lesson 03
    trains on Microsoft's close up to 2012 and validates on 2013-2016).

    Args:
        dates: ``DatetimeIndex`` of the series, ``(n_steps,)``, in order.
        last_training_year, validation_years: the split, in calendar years.

    Raises:
        ValueError: the validation years do not come after the training years.
    """
    first, last = validation_years
    if not last_training_year < first <= last:
        raise ValueError(f"Need last_training_year < validation_years[0] <= validation_years[1]. "
                         f"Received: last_training_year={last_training_year!r}, "
                         f"validation_years={validation_years!r}")
    return YearSplit(pd.DatetimeIndex(dates).year.to_numpy(), last_training_year, (first, last))


@dataclass(frozen=True)
class ClassificationTask:
    """Inputs ``(n, n_steps, n_features)`` and 0/1 targets ``(n,)`` for training and validation,
    and optionally for a test split kept for the final verdict."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None


def window_gap(lookback: int, horizon: int = 1) -> int:
    """Windows to leave out between the last training window and the first validation window
    so that the two share no step: ``lookback + horizon - 1``.

    Window ``i`` of :func:`make_windows` (stride 1) covers steps ``i .. i + lookback + horizon - 1``
    (inputs, then targets). Window ``j >= i + lookback + horizon`` starts after window ``i`` ends;
    every window in between shares at least one step with it: its inputs include window ``i``'s
    targets, or its targets fall inside window ``i``'s inputs. (scikit-learn's ``TimeSeriesSplit``
    takes this number as ``gap``.) The strict minimum is ``horizon - 1``: with fewer, a training
    target lies after a validation window's last input, in the future of its forecast; the rest of
    this gap keeps validation inputs out of training too (lesson 06).

    Raises:
        ValueError: ``lookback`` or ``horizon`` is not an integer >= 1.
    """
    return _check_positive_int("lookback", lookback) + _check_positive_int("horizon", horizon) - 1


def windows_sharing_steps(train_windows, val_windows, lookback: int, horizon: int = 1) -> int:
    """How many validation windows share at least one step with some training window.

    A shared step means the model trained on a value that the validation window asks about
    (as an input or a target): the validation loss is then measured partly on training data.
    Windows are indices into the output of :func:`make_windows` (stride 1); window ``i`` covers
    steps ``i .. i + lookback + horizon - 1``.

    Args:
        train_windows, val_windows: ``(n,)`` integer window indices.
        lookback, horizon: the window sizes, in steps.

    Returns:
        The number of validation windows within ``lookback + horizon - 1`` windows of a
        training window (0 for a chronological split with :func:`window_gap`).

    Raises:
        ValueError: a size is not an integer >= 1.
    """
    reach = window_gap(lookback, horizon)
    train_windows = np.sort(np.asarray(train_windows, dtype=int))
    val_windows = np.asarray(val_windows, dtype=int)
    if train_windows.size == 0 or val_windows.size == 0:
        return 0
    # Distance of each validation window to its nearest training window.
    position = np.searchsorted(train_windows, val_windows)
    before = train_windows[np.clip(position - 1, 0, train_windows.size - 1)]
    after = train_windows[np.clip(position, 0, train_windows.size - 1)]
    nearest = np.minimum(np.abs(val_windows - before), np.abs(after - val_windows))
    return int(np.sum(nearest <= reach))


def walk_forward_splits(n_windows: int, folds: int, lookback: int, horizon: int = 1):
    """Walk-forward validation folds over ``n_windows`` consecutive windows, without leaks.

    scikit-learn's ``TimeSeriesSplit(n_splits=folds, gap=window_gap(lookback, horizon))``: fold
    ``k`` trains on the windows up to a point and validates on the next block of windows after a
    gap of ``lookback + horizon - 1`` windows, so no validation window shares a step with a
    training window and every validation window lies in the training windows' future (the
    situation the model will be used in). Later folds train on more history.

    Returns:
        A list of ``folds`` ``(train_windows, val_windows)`` pairs of integer index arrays.

    Raises:
        ValueError: ``folds`` is not an integer >= 2, a size is not an integer >= 1, or there
            are too few windows for ``folds`` folds and the gap.
    """
    from sklearn.model_selection import TimeSeriesSplit

    gap = window_gap(lookback, horizon)
    folds = require("folds", folds, Rule(int, 2, meaning="cross-validation folds"))
    n_windows = _check_positive_int("n_windows", n_windows)
    splitter = TimeSeriesSplit(n_splits=int(folds), gap=gap)
    try:
        return list(splitter.split(np.zeros(n_windows)))
    except ValueError as error:
        raise ValueError(f"{n_windows} windows are too few for folds={folds} with a gap of {gap} "
                         f"windows (lookback={lookback}, horizon={horizon}): {error}") from None
