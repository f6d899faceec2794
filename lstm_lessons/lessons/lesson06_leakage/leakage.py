"""Lesson 06's experiment: one forecasting pipeline, leaky or leak-free, measured on the same later
test period.

The series is the monthly sunspot number (``ll.data.load_sunspots()``, 1749-1983). Its last
:data:`TEST_FRACTION` is the *later test period*: no pipeline fits anything on it, and every
pipeline is measured on the same test targets, with inputs built the way they could be built on
the day of each forecast (from the past only). The rest, the *development period*, is split into
training and validation windows, leak-free or in one of the leaky ways of :data:`PIPELINES`.

A pipeline's **optimism** is its test error divided by its validation error: how much worse the
model does on the truly later period than validation promised. Two things raise it: a leak, and
validation windows from an easier stretch of the series than the later period. The second
reaches every forecaster, even one that fits nothing: the persistence forecast
(:func:`persistence`) is the control, and a pipeline's **excess optimism**
(:func:`excess_optimism`: its optimism over persistence's on the same windows) is what the fit
added. A leak shows as an excess optimism clearly above the leak-free pipeline's. The notebook,
its exercise checks and the benchmarks all go through :func:`prepare` and :func:`train`, so a
number in the lesson, a grade and a benchmark row come from the same code.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstm_lessons import data, experiments, live
from lstm_lessons.params import Choice, Rule, require

LOOKBACK = 24
"""Months of history in each input window (two years)."""
HORIZON = 6
"""Months forecast from each window: the next six."""
TEST_FRACTION = 0.1
"""Share of the series (its end: 1960-1983) kept as the later test period."""
VALIDATION_FRACTION = 0.2
"""Share of the development period (its end) used for validation by the leak-free pipeline."""
BLOCK_WINDOWS = 120
"""Windows in one validation block of the random-block pipelines: ten years of forecast days,
about one solar cycle."""
VALIDATION_BLOCKS = 4
"""Blocks the random-block pipelines validate on: 480 windows, as many as the leak-free
pipeline's 479."""
CENTRED_MONTHS = 13
"""Window of the centred mean: the 13-month smoothed sunspot number is the field's standard
(SILSO, Royal Observatory of Belgium), and it needs six months of the future for every value."""

PIPELINES = {
    "leak-free": "chronological split, training and validation windows share no step, scaler "
                 "fitted on the training part",
    "shuffled windows": "all development windows split at random (train_test_split(shuffle=True))",
    "random blocks, no gap": f"{VALIDATION_BLOCKS} blocks of {BLOCK_WINDOWS} consecutive windows drawn "
                             "at random for validation; training keeps the windows next to each block, "
                             "which share months with it (and as many other windows are left out, so "
                             "it trains on as many windows as the purged one)",
    "random blocks, purged": "the same validation blocks, without the training windows that share a month "
                             "with them (lookback + horizon - 1 on each side)",
    "scaler on the whole series": "the leak-free split, but the scaler fitted on every step, the "
                                  "test period included",
    "centred mean feature": "the leak-free split, plus a second input: the centred 13-month mean, "
                            "which averages six months past and six months *future*",
}
"""Every pipeline :func:`prepare` builds, and what it does."""


@dataclass(frozen=True)
class Split(data.WindowParts):
    """One pipeline's windows (``ll.data.WindowParts``: inputs ``(n_windows, lookback, n_features)``,
    targets ``(n_windows, horizon)``), scaled the pipeline's way.

    Attributes:
        label: the pipeline's name, a key of :data:`PIPELINES`.
        scale: the scaler's standard deviation, in sunspot numbers: ``y * scale + mean`` are
            the targets as published.
        mean: the scaler's mean, in sunspot numbers.
        shared: validation windows sharing at least one step with a training window
            (``ll.data.windows_sharing_steps``).
    """

    label: str
    scale: float
    mean: float
    shared: int


def centred_mean(values, months: int = CENTRED_MONTHS) -> np.ndarray:
    """The centred moving mean of ``months`` steps (odd), as pandas computes it on the values given:
    ``Series.rolling(months, center=True, min_periods=months // 2 + 1).mean()``; near the ends the
    window is cut short. Shape ``(n_steps,)``."""
    return pd.Series(np.asarray(values, dtype=float)).rolling(
        months, center=True, min_periods=months // 2 + 1).mean().to_numpy()


def centred_mean_as_known(values, last_steps, lookback: int, months: int = CENTRED_MONTHS) -> np.ndarray:
    """The centred mean over the ``lookback`` steps ending at each of ``last_steps``, computed, as
    on the day, from the values up to that step only (:func:`centred_mean` of ``values[:t + 1]``).

    Its last ``months // 2`` values average fewer and fewer steps: the future half of their window
    does not exist yet. Shape ``(len(last_steps), lookback)``.
    """
    values = np.asarray(values, dtype=float)
    everything = centred_mean(values, months)
    half = months // 2
    rows = []
    for t in last_steps:
        row = everything[t - lookback + 1:t + 1].copy()
        for back in range(min(half, lookback)):          # the last `half` steps: window cut at t
            step = t - back
            row[lookback - 1 - back] = values[max(step - half, 0):t + 1].mean()
        rows.append(row)
    return np.asarray(rows)


def development_months(n_months: int) -> int:
    """Months of the development period in a series of ``n_months``: all but the last
    :data:`TEST_FRACTION` (rounded), which is the later test period."""
    return n_months - int(round(TEST_FRACTION * n_months))


def random_blocks(n_windows: int, seed: int, gap: int, block: int = BLOCK_WINDOWS,
                  blocks: int = VALIDATION_BLOCKS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A random split of ``n_windows`` consecutive windows in blocks, with and without purging.

    The windows are cut into ``n_windows // block`` whole blocks of ``block`` windows (the last
    few windows, if any, belong to no block); ``blocks`` of them, drawn at random
    (``np.random.default_rng(seed)``), are validation. Purging drops the training windows
    within ``gap`` (``ll.data.window_gap(lookback, horizon)``) of a validation block, the ones
    that share a step with it: blocked cross-validation with a gap on each side, as in the
    h-block and hv-block cross-validation of Burman, Chow and Nolan (1994, *Biometrika* 81) and
    Racine (2000, *Journal of Econometrics* 99).

    Returns:
        ``(train, val, purged)``: integer window indices, sorted; ``purged`` is ``train``
        without the validation blocks' neighbours.

    Raises:
        ValueError: fewer than ``blocks`` whole blocks fit in ``n_windows``.
    """
    n_blocks = n_windows // block
    if n_blocks < blocks:
        raise ValueError(f"{n_windows} windows hold {n_blocks} blocks of {block}, fewer than the "
                         f"{blocks} validation blocks asked for. Received: n_windows={n_windows}")
    chosen = np.sort(np.random.default_rng(seed).choice(n_blocks, blocks, replace=False))
    is_val, near = np.zeros(n_windows, dtype=bool), np.zeros(n_windows, dtype=bool)
    for b in chosen:
        is_val[b * block:(b + 1) * block] = True
        near[max(b * block - gap, 0):(b + 1) * block + gap] = True
    return np.flatnonzero(~is_val), np.flatnonzero(is_val), np.flatnonzero(~near)


def _scaler_of(series: np.ndarray, train_windows, lookback: int, horizon: int) -> tuple[float, float]:
    """A standard scaler's mean and standard deviation, fitted on the steps that the training
    windows (indices into ``ll.data.make_windows``' output, stride 1) cover, inputs and targets."""
    covered = np.zeros(len(series), dtype=bool)
    for start in train_windows:
        covered[start:start + lookback + horizon] = True
    return float(series[covered].mean()), float(series[covered].std())


def _check_pipeline(pipeline: str) -> str:
    return require("pipeline", pipeline, Choice(tuple(PIPELINES), meaning="a pipeline of the lesson"))


def prepare(pipeline: str, seed: int = 0, lookback: int = LOOKBACK, horizon: int = HORIZON) -> Split:
    """The training, validation and test windows of one pipeline of :data:`PIPELINES`.

    Steps: the last :data:`TEST_FRACTION` of the monthly sunspot series is the test period, the
    rest the development period; the leak-free training part is the development period's first
    ``1 - VALIDATION_FRACTION``. Windows come from ``ll.data.make_windows`` (stride 1). Test
    windows are those whose ``horizon`` targets all lie in the test period; their inputs are the
    ``lookback`` months before, scaled with the pipeline's scaler, and the centred mean feature is
    recomputed from the values known at each window's last month
    (:func:`centred_mean_as_known`), as it would be on the day of the forecast.

    The random-block pipelines (:func:`random_blocks`) share their validation blocks, their
    scaler (fitted on the months the purged training windows cover) and their number of
    training windows: the unpurged one trains on the windows next to each block in place of as
    many others, drawn at random. They differ only in whether training holds the neighbours.

    Args:
        pipeline: a key of :data:`PIPELINES`.
        seed: seeds the random split of ``"shuffled windows"`` and the draw of the random blocks
            (the others do not use it).
        lookback, horizon: window sizes in months.

    Raises:
        ValueError: an unknown ``pipeline``, or a size that is not an integer >= 1.
    """
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    _check_pipeline(pipeline)
    gap = data.window_gap(lookback, horizon)
    series = data.load_sunspots().to_numpy()
    n = len(series)
    n_dev = development_months(n)
    n_train = int(round((1 - VALIDATION_FRACTION) * n_dev))
    fitted_on = series if pipeline == "scaler on the whole series" else series[:n_train]
    scaler = StandardScaler().fit(fitted_on[:, None])
    mean, scale = float(scaler.mean_[0]), float(scaler.scale_[0])
    inputs = (series - mean) / scale
    if pipeline == "centred mean feature":
        inputs = np.c_[inputs, (centred_mean(series) - mean) / scale]
    x, y = data.make_windows(inputs, lookback, horizon)
    last_dev, first_test = n_dev - lookback - horizon, n_dev - lookback   # window indices
    test = np.arange(first_test, len(x))
    x_test = x[test].copy()
    if pipeline == "centred mean feature":
        x_test[:, :, 1] = (centred_mean_as_known(series, test + lookback - 1, lookback) - mean) / scale
    if pipeline == "shuffled windows":
        n_val = last_dev + 1 - (n_train - lookback - horizon + 1) - gap
        train, val = train_test_split(np.arange(last_dev + 1), test_size=n_val, shuffle=True,
                                      random_state=seed)
    elif pipeline.startswith("random blocks"):
        train, val, purged = random_blocks(last_dev + 1, seed, gap)
        # Both fit the scaler on the months the purged training windows cover, so the two differ
        # only in the neighbours.
        mean, scale = _scaler_of(series, purged, lookback, horizon)
        x, y = data.make_windows((series - mean) / scale, lookback, horizon)
        x_test = x[test]
        if pipeline == "random blocks, no gap":   # the neighbours in place of as many other windows
            neighbours = np.setdiff1d(train, purged)
            draw = np.random.default_rng([seed, 1])
            kept = draw.choice(purged, len(purged) - len(neighbours), replace=False)
            train = np.sort(np.r_[kept, neighbours])
        else:
            train = purged
    else:
        last_train = n_train - lookback - horizon
        train, val = np.arange(last_train + 1), np.arange(last_train + 1 + gap, last_dev + 1)
    return Split(x[train], y[train], x[val], y[val], x_test, y[test], pipeline, scale, mean,
                 data.windows_sharing_steps(train, val, lookback, horizon))


Settings = functools.partial(experiments.Settings, units=16, epochs=15, learning_rate=3e-3, batch_size=128)
"""``ll.experiments.Settings`` with lesson 06's defaults; ``DEFAULT_SETTINGS``, what :func:`train` uses."""
DEFAULT_SETTINGS = Settings()


@dataclass
class Result:
    """One trained pipeline and what was measured, in sunspot numbers (root mean squared error
    over the ``horizon`` months of every window).

    Attributes:
        label: the pipeline's (or fold's) name.
        train_rmse: the trained model's RMSE on the training windows.
        val_rmse: the same on the validation windows.
        test_rmse: the same on the test windows.
        shared: validation windows sharing a step with a training window.
        n_val: validation windows.
        history: ``{"loss", "val_loss"}`` per epoch (MSE in scaled units) when curves were asked for.
    """

    label: str
    train_rmse: float
    val_rmse: float
    test_rmse: float
    shared: int
    n_val: int
    history: dict = field(default_factory=dict)

    @property
    def optimism(self) -> float:
        """Test error / validation error: how much worse the later period is than validation said."""
        return self.test_rmse / self.val_rmse


def train(split: Split, seed: int,
          settings: experiments.Settings = DEFAULT_SETTINGS, *, curves: bool = False) -> Result:
    """Train a new LSTM forecaster on ``split``'s training windows and measure all three parts.

    The model is ``ll.models.build_lstm_regressor``, seeded with ``seed``; models of the same
    shape reuse one compiled model (``ll.training.fresh_model``), with the same numbers.

    Args:
        split: from :func:`prepare` (or a fold of :func:`cross_validate`).
        seed: seeds the weights and the order of the mini-batches.
        settings: model size and training.
        curves: also measure the validation windows after every epoch (``history["val_loss"]``,
            for plots and the doctor); costs about a third more time.
    """
    from lstm_lessons import models, training

    shape = (split.x_train.shape[1], split.x_train.shape[2], split.y_train.shape[1])
    model = training.fresh_model(
        ("leakage", *shape, settings.units, settings.learning_rate),
        lambda: models.build_lstm_regressor(shape[0], shape[1], units=settings.units, horizon=shape[2],
                                            learning_rate=settings.learning_rate), seed)
    fitted = model.fit(training.batches(split.x_train, split.y_train, settings.batch_size, seed=seed),
                       validation_data=(split.x_val, split.y_val) if curves else None,
                       epochs=settings.epochs, shuffle=False, verbose=0, callbacks=live.reporter(split.label))

    def rmse(x, y) -> float:
        error = model.predict(x, batch_size=1024, verbose=0) - y
        return float(np.sqrt(np.mean(error ** 2)) * split.scale)

    history = {key: np.asarray(values, dtype=float) for key, values in fitted.history.items()}
    return Result(split.label, rmse(split.x_train, split.y_train), rmse(split.x_val, split.y_val),
                  rmse(split.x_test, split.y_test), split.shared, len(split.x_val),
                  history if curves else {})


def persistence(split: Split) -> Result:
    """The no-fit control: the persistence forecast of ``split``, measured like :func:`train`'s.

    Every one of the ``horizon`` months is forecast as the window's last input month (the
    series' own value, feature 0; ``x[:, -1, 0]``). It fits nothing, so it cannot learn
    from a leak: an optimism or a validation error that differs between two pipelines for this
    forecaster too comes from *which* windows each pipeline validates on, not from a leak. A
    claim that a pipeline leaks holds only for the excess over this control.

    Returns:
        a :class:`Result` labelled ``"<pipeline>, persistence"``: RMSE in sunspot numbers on the
        training, validation and test windows, with ``split``'s shared and validation windows.
    """
    def rmse(x, y) -> float:
        error = x[:, -1, :1] - y
        return float(np.sqrt(np.mean(error ** 2)) * split.scale)

    return Result(f"{split.label}, persistence", rmse(split.x_train, split.y_train),
                  rmse(split.x_val, split.y_val), rmse(split.x_test, split.y_test), split.shared,
                  len(split.x_val))


def excess_optimism(model: Result, control: Result) -> float:
    """The optimism a fit adds to its validation period's: ``model.optimism / control.optimism``.

    ``control`` is :func:`persistence` on the same split, which fits nothing: its optimism is
    how much harder the later period is than those validation windows, for any forecaster. The
    ratio equals the model's *skill* (its RMSE over persistence's) on the test windows divided by
    its skill on the validation windows: 1 when validation promised the edge over persistence
    that the later period gave, above 1 when it promised more. A leak raises it; a validation
    period that is easier or harder than the later one does not, as long as a period's
    difficulty scales both forecasters' errors by the same factor (the assumption behind the
    control).
    """
    return model.optimism / control.optimism


train_many = functools.partial(experiments.train_many, train, label=lambda call: call["split"].label)
"""``train_many(calls, jobs=None)``: :func:`train` for each call, its keyword arguments
(``{"split": split, "seed": 1}``), in worker processes (``ll.experiments.train_many``), each run
under its split's label in a live view."""


def table(results, controls=None) -> pd.DataFrame:
    """One row a result: train, validation and test RMSE (sunspot numbers), optimism, and the
    validation windows that share a step with a training window.

    Args:
        results: :class:`Result` s.
        controls: :func:`persistence` of each result's split, in the same order (or ``None``):
            adds persistence's validation and test RMSE, its optimism and the
            :func:`excess_optimism`.
    """
    rows = []
    for r, c in zip(results, controls or [None] * len(results), strict=True):
        row = {"train RMSE": r.train_rmse, "validation RMSE": r.val_rmse, "test RMSE": r.test_rmse,
               "optimism": r.optimism}
        if c is not None:
            row.update({"persistence validation RMSE": c.val_rmse, "persistence test RMSE": c.test_rmse,
                        "persistence optimism": c.optimism, "excess optimism": excess_optimism(r, c)})
        rows.append({**row, "shared windows": f"{r.shared} of {r.n_val}"})
    return pd.DataFrame(rows, index=pd.Index([r.label for r in results], name="pipeline"))


SPLITTERS = ("walk-forward", "shuffled k-fold")
"""How :func:`fold_splits` cuts the development windows into folds."""


def fold_splits(splitter: str, folds: int, seed: int = 0, lookback: int = LOOKBACK,
                horizon: int = HORIZON) -> list[Split]:
    """The development windows cut into ``folds`` validation folds, each with its own training windows.

    ``"walk-forward"``: ``ll.data.walk_forward_splits`` (scikit-learn's ``TimeSeriesSplit`` with a
    gap of ``lookback + horizon - 1`` windows): each fold validates on a later block than it trains
    on. ``"shuffled k-fold"``: ``KFold(folds, shuffle=True, random_state=seed)`` over the same
    windows, the way independent examples are cross-validated. In both, each fold's scaler is
    fitted on the steps its training windows cover, and each fold also carries the later test
    period's windows (scaled that fold's way), so each fold's model can be measured there too.

    Raises:
        ValueError: an unknown ``splitter``, ``folds`` not an integer >= 2, or too few windows.
    """
    from sklearn.model_selection import KFold

    if splitter not in SPLITTERS:
        raise ValueError(f"splitter must be one of {SPLITTERS}. Received: splitter={splitter!r}")
    series = data.load_sunspots().to_numpy()
    n_dev = development_months(len(series))
    n_windows = n_dev - lookback - horizon + 1
    if splitter == "walk-forward":
        pairs = data.walk_forward_splits(n_windows, folds, lookback, horizon)
    else:
        folds = require("folds", folds, Rule(int, 2, meaning="cross-validation folds"))
        pairs = list(KFold(int(folds), shuffle=True, random_state=seed).split(np.zeros(n_windows)))
    splits = []
    for k, (train, val) in enumerate(pairs, start=1):
        mean, scale = _scaler_of(series, train, lookback, horizon)
        x, y = data.make_windows((series - mean) / scale, lookback, horizon)
        test = np.arange(n_dev - lookback, len(x))
        splits.append(Split(x[train], y[train], x[val], y[val], x[test], y[test], f"{splitter} {k}", scale,
                            mean, data.windows_sharing_steps(train, val, lookback, horizon)))
    return splits
