"""Per-subset evaluation: the validation error of each group, and the gap between groups.

An average over a validation set can hide a group on which the model fails: a year whose
prices lie outside the training range, one speaker, one sensor. :func:`evaluate_subsets`
breaks a model's validation error down by group, with the number of samples in each, and
:class:`SubsetReport` gives the disparity between the worst and the best group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

DISPARITY_THRESHOLD = 2.0
"""A worst group whose error is at least this many times the best group's is flagged.

Why 2: on lesson 03's validation years a model that generalises (the persistence forecast,
or the per-window normalised LSTM) has year-to-year error ratios of 1.1-1.3, because the
market's volatility changes from year to year; a ratio of 2 is well outside that spread.
"""


@dataclass(frozen=True)
class SubsetReport:
    """The error of a model on each group of a validation set.

    Attributes:
        table: ``pd.DataFrame`` indexed by group, columns ``count`` (samples), ``loss`` (the
            model's compiled loss, in its own target units) and ``mae``; plus ``mape`` (mean
            absolute percentage error, %) when the report was made with ``to_units``.
        overall: the same columns over all samples (a ``pd.Series``).
        metric: the column :meth:`disparity` compares by default.
    """

    table: pd.DataFrame
    overall: pd.Series
    metric: str

    def disparity(self, metric: str | None = None) -> float:
        """Worst group's error divided by the best group's (1.0 means all groups are equal).

        Raises:
            KeyError: ``metric`` is not a column of :attr:`table`.
        """
        metric = metric or self.metric
        if metric not in self.table or metric == "count":
            raise KeyError(f"metric={metric!r} is not an error column. "
                           f"Columns: {list(self.table.columns[1:])}")
        values = self.table[metric]
        best = values.min()
        return float("inf") if best == 0 else float(values.max() / best)

    @property
    def worst(self):
        """The group with the largest error (by :attr:`metric`)."""
        return self.table[self.metric].idxmax()

    @property
    def best(self):
        """The group with the smallest error (by :attr:`metric`)."""
        return self.table[self.metric].idxmin()

    def is_disparate(self, threshold: float = DISPARITY_THRESHOLD) -> bool:
        """True when :meth:`disparity` is at least ``threshold`` (see :data:`DISPARITY_THRESHOLD`)."""
        return self.disparity() >= threshold


def _errors(y, y_pred, losses, y_units, p_units) -> dict[str, float]:
    row = {"count": len(y), "loss": float(np.mean(losses)), "mae": float(np.mean(np.abs(y_pred - y)))}
    if y_units is not None:
        row["mape"] = float(np.mean(np.abs(p_units - y_units) / np.abs(y_units)) * 100)
    return row


def evaluate_subsets(model, x, y, groups, *,
                     to_units: Callable[[np.ndarray], np.ndarray] | None = None,
                     batch_size: int = 256) -> SubsetReport:
    """Evaluate ``model`` on each group of ``(x, y)`` separately.

    The model predicts all of ``x`` once; the per-sample loss is the model's compiled loss
    (e.g. ``mse``), averaged within each group. If ``to_units`` is given it maps targets and
    predictions (arrays shaped like ``y``, aligned with ``x``) back to the data's own units,
    e.g. dollars, and the report adds the mean absolute percentage error in those units,
    a scale-free number that compares models trained on different targets.

    Args:
        model: a compiled ``keras.Model``.
        x: inputs ``(n_samples, lookback, n_features)``.
        y: targets ``(n_samples, horizon)``.
        groups: ``(n_samples,)`` group label of each sample (a year, a speaker...).
        to_units: optional ``f(values) -> values`` to the data's units.
        batch_size: samples per prediction batch.

    Returns:
        A :class:`SubsetReport`; its default metric is ``mape`` with ``to_units``, else ``loss``.

    Raises:
        ValueError: ``x``, ``y`` and ``groups`` differ in length, or there are no samples.
    """
    y = np.asarray(y, dtype=float)
    groups = np.asarray(groups)
    if not len(x) == len(y) == len(groups):
        raise ValueError(f"x, y and groups must have the same length. Received: len(x)={len(x)}, "
                         f"len(y)={len(y)}, len(groups)={len(groups)}")
    if len(y) == 0:
        raise ValueError("evaluate_subsets needs at least one sample. Received 0.")
    y_pred = np.asarray(model.predict(x, batch_size=batch_size, verbose=0), dtype=float).reshape(y.shape)
    from lstm_lessons._tf import keras  # here, so that reading a SubsetReport needs no TensorFlow

    loss_fn = keras.losses.get(model.loss)
    if isinstance(loss_fn, keras.losses.Loss):
        loss_fn = loss_fn.call
    losses = np.asarray(loss_fn(y, y_pred), dtype=float).reshape(len(y), -1).mean(axis=1)
    y_units = p_units = None
    if to_units is not None:
        y_units = np.asarray(to_units(y), dtype=float)
        p_units = np.asarray(to_units(y_pred), dtype=float)
    rows = {}
    for group in pd.unique(groups):
        keep = groups == group
        rows[group] = _errors(y[keep], y_pred[keep], losses[keep],
                              None if y_units is None else y_units[keep],
                              None if p_units is None else p_units[keep])
    table = pd.DataFrame.from_dict(rows, orient="index").sort_index()
    table.index.name = "group"
    table["count"] = table["count"].astype(int)
    overall = pd.Series(_errors(y, y_pred, losses, y_units, p_units), name="overall")
    return SubsetReport(table, overall, "mape" if to_units is not None else "loss")
