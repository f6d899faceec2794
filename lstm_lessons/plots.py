"""Every figure the lessons draw, in one visual language.

These helpers exist because plotting code is too long to repeat in each notebook. The same
run keeps the same colour in every figure of a session (see :func:`run_color`); training
curves are solid, validation curves dashed; the x axis is "epoch", with ticks on whole epochs
only, and losses use a log scale, so a 20 % rise looks the same size at every level of the loss.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.ticker import MaxNLocator

# Log-scale tick labels (10^-2) are set with mathtext, whose fallback fonts are STIX and Computer
# Modern. When matplotlib's font list lacks them (a font cache built elsewhere, a system
# matplotlib without its bundled fonts), every figure logs "findfont: Font family [...] not
# found. Falling back to DejaVu Sans" at WARNING, up to 21 lines a figure on standard error,
# and a notebook shows them as red output. The fallback draws the same tick labels, so the
# message tells a reader nothing about the lesson: keep only font errors.
logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)

PALETTE = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#7f7f7f")
"""Colours given to runs in order of first appearance (failing runs usually come first: red)."""

_assigned: dict[str, str] = {}


def run_color(label: str) -> str:
    """The colour of the run called ``label``: the same for the whole session."""
    if label not in _assigned:
        _assigned[label] = PALETTE[len(_assigned) % len(PALETTE)]
    return _assigned[label]


def _style_axes(ax, xlabel: str, ylabel: str, title: str | None = None, log: bool = False,
                grid_axis: str = "both", legend_beside: bool = False, whole_x: bool = False):
    """The finishing touches every figure shares: labels, log scale, title, legend, grid. With
    ``legend_beside`` the legend stands right of the axes, where it hides none of the data; with
    ``whole_x`` the x axis counts something whole (epochs, mini-batches, steps) and gets ticks
    on whole numbers only, never "epoch 2.5"."""
    ax.set_xlabel(xlabel)
    if whole_x:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel(ylabel + (" (log scale)" if log else ""))
    if log:
        ax.set_yscale("log")
    if title:
        ax.set_title(title)
    if legend_beside:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    else:
        ax.legend(fontsize="small")
    ax.grid(alpha=0.3, axis=grid_axis)
    return ax


def _history_dict(history) -> Mapping[str, Sequence[float]]:
    return history.history if hasattr(history, "history") else history


def plot_histories(runs: Mapping[str, object], metric: str = "loss", ax=None, log: bool = True,
                   title: str | None = None, ylabel: str | None = None, validation_only: bool = False,
                   legend_beside: bool = False, notes: Mapping[str, str] | None = None):
    """Training (solid) and validation (dashed) curves of one metric for several runs.

    Args:
        runs: ``{label: history}``, each a Keras ``History`` or a dict of per-epoch lists.
        metric: the key to draw (``"loss"``, ``"mae"``...); ``"val_" + metric`` is drawn
            dashed when present.
        ax: the matplotlib axes to draw on; a new figure if ``None``.
        log: draw the y axis on a log scale.
        title: the axes' title.
        ylabel: the y axis's label, with its unit (default: ``metric``).
        validation_only: draw only the validation curves (for a metric whose training value
            is not comparable, such as accuracy weighted by ``class_weight``).
        legend_beside: put the legend right of the axes (for many runs) instead of inside.
        notes: ``{label: text}`` added to the run's first entry in the legend (the live view's
            findings of the doctor, ``ll.live``).

    Returns:
        The matplotlib axes.

    Raises:
        KeyError: a run has no ``metric`` key (with ``validation_only``, no ``"val_" + metric``
            key); the message lists the keys it has.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    for label, history in runs.items():
        logs = _history_dict(history)
        needed = f"val_{metric}" if validation_only else metric
        if needed not in logs:
            raise KeyError(f"Run {label!r} has no {needed!r} curve. Keys: {sorted(logs)}")
        epochs = range(1, len(logs[needed]) + 1)
        color = run_color(label)
        note = f": {notes[label]}" if notes and notes.get(label) else ""
        if not validation_only:
            ax.plot(epochs, logs[metric], color=color, lw=1.8, label=f"{label} (training){note}")
            note = ""
        if f"val_{metric}" in logs:
            ax.plot(epochs, logs[f"val_{metric}"], color=color, lw=1.8, ls="--",
                    label=f"{label} (validation){note}")
    return _style_axes(ax, "epoch", ylabel or metric, title, log, legend_beside=legend_beside, whole_x=True)


def plot_batch_norms(traces: Mapping[str, object], ax=None,
                     title: str | None = "Gradient norm of each mini-batch, epoch 1"):
    """Each run's gradient norm batch by batch (``ll.gradient_flow.batch_trace``), on a log scale,
    with a cross at the top of the axes at the batch whose loss or norm was no longer finite
    (lesson 08).

    Args:
        traces: ``{label: BatchTrace}`` (``norms``, ``first_non_finite``).

    Returns:
        The matplotlib axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    finite_norms = np.concatenate([np.asarray(t.norms)[np.isfinite(t.norms)] for t in traces.values()])
    top = float(finite_norms.max()) * 10 if finite_norms.size else 10.0
    for k, (label, trace) in enumerate(traces.items()):
        norms = np.asarray(trace.norms, dtype=float)
        batches = np.arange(1, len(norms) + 1)
        finite = np.isfinite(norms)
        # Earlier runs get larger markers, so a point another run covers still shows around it.
        ax.plot(batches[finite], norms[finite], "o-", color=run_color(label), lw=1.8, ms=max(4, 11 - 3 * k),
                label=label)
        if trace.first_non_finite is not None:
            ax.plot([trace.first_non_finite], [top], "x", color=run_color(label), ms=10, mew=2.5,
                    label=f"{label}: not finite at batch {trace.first_non_finite}")
    return _style_axes(ax, "mini-batch of epoch 1", "global gradient norm", title, log=True,
                       legend_beside=True, whole_x=True)


def plot_lr_range_test(result, ax=None):
    """Loss against learning rate from :func:`lstm_lessons.training.lr_range_test`.

    Draws each repeat's smoothed loss (faint; the batch losses when there is one repeat), the
    averaged curve the suggestion is read from, a vertical line at the suggestion and, with
    several repeats, a tick at the top for each repeat's own suggestion. The x axis is the
    learning rate on a log scale.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    several = len(result.curves) > 1
    faint = result.curves if several else result.losses
    for k, curve in enumerate(faint):
        ax.plot(result.learning_rates, curve, color="#7f7f7f", alpha=0.4, lw=1,
                label=("smoothed loss of each repeat" if several else "batch loss") if k == 0 else None)
    ax.plot(result.learning_rates, result.smoothed, color="black", lw=1.8,
            label="average of the repeats" if several else "smoothed loss")
    ax.axvline(result.suggestion, color="#2ca02c", ls=":", lw=2,
               label=f"suggested learning rate ({result.suggestion:.1e})")
    if several:
        ax.plot(result.suggestions, np.full(len(result.suggestions), 0.97), "|", color="#2ca02c",
                ms=14, mew=2, transform=ax.get_xaxis_transform(), label="each repeat's suggestion")
    ax.set_xscale("log")
    return _style_axes(ax, "learning rate (log scale)", "training loss", "Learning-rate range test",
                       log=True)


def plot_series(series, splits: Sequence[int] = (), ax=None, title: str | None = None,
                ylabel: str | None = None, names: Sequence[str] = ("validation starts", "test starts")):
    """A time series, with the boundaries between its train, validation and test parts.

    Args:
        series: a ``pd.Series`` with a time index.
        splits: positions (in steps) where a new part starts, e.g. ``(n_train, n_train+n_val)``.
        ax, title: as in :func:`plot_histories`.
        ylabel: label of the y axis; default the series' name.
        names: the label of each boundary in ``splits``.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3))
    ax.plot(series.index, series.to_numpy(), color="#444444", lw=0.8)
    for position, name in zip(splits, names, strict=False):
        ax.axvline(series.index[position], color="black", ls="--", lw=1)
        ax.annotate(name, (series.index[position], ax.get_ylim()[1]), fontsize="small",
                    ha="left", va="top", xytext=(3, -3), textcoords="offset points")
    ax.set_ylabel(ylabel or str(series.name))
    if title:
        ax.set_title(title)
    ax.grid(alpha=0.3)
    return ax


_LAYER_STYLES = ("-", "--", ":", "-.")


def plot_gradient_norms(runs: Mapping[str, object], ax=None, title: str | None = None,
                        prefix: str = "grad_norm/"):
    """Gradient norm of each layer per epoch, for several runs, on a log scale.

    Args:
        runs: ``{label: history}``; each history holds ``prefix + layer`` keys, as logged by
            :class:`lstm_lessons.gradients.GradientNormLogger`.
        ax, title: as in :func:`plot_histories`.
        prefix: prefix of the gradient-norm keys.

    Raises:
        KeyError: a run has no gradient-norm key; the message lists the keys it has.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    for label, history in runs.items():
        logs = _history_dict(history)
        layers = [key for key in logs if key.startswith(prefix)]
        if not layers:
            raise KeyError(f"Run {label!r} has no {prefix!r} keys (add GradientNormLogger). "
                           f"Keys: {sorted(logs)}")
        for style, key in zip(_LAYER_STYLES * 4, layers, strict=False):
            values = logs[key]
            ax.plot(range(1, len(values) + 1), values, color=run_color(label), ls=style, lw=1.8,
                    label=f"{label}: {key.removeprefix(prefix)}")
    return _style_axes(ax, "epoch", "gradient norm", title, log=True, whole_x=True)


def plot_subsets(reports: Mapping[str, object], metric: str | None = None, ax=None,
                 title: str | None = None):
    """Error per group for one or more models, as grouped bars with the overall error dashed.

    Args:
        reports: ``{label: SubsetReport}`` from :func:`lstm_lessons.subsets.evaluate_subsets`.
        metric: the column to draw; default each report's own metric.
        ax, title: as in :func:`plot_histories`.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    width = 0.8 / max(1, len(reports))
    for k, (label, report) in enumerate(reports.items()):
        column = metric or report.metric
        values = report.table[column]
        positions = [i + (k - (len(reports) - 1) / 2) * width for i in range(len(values))]
        color = run_color(label)
        ax.bar(positions, values.to_numpy(), width=width, color=color,
               label=f"{label} (worst/best = {report.disparity(column):.1f}x)")
        ax.axhline(report.overall[column], color=color, ls="--", lw=1.2)
        ax.set_xticks(range(len(values)), [str(g) for g in values.index])
    first = next(iter(reports.values()))
    return _style_axes(ax, str(first.table.index.name or "group"), metric or first.metric, title,
                       grid_axis="y")


def plot_generalisation(runs: Mapping[str, object], threshold: float = 10.0):
    """Two panels for a few runs: their loss curves, and Prechelt's generalisation loss GL(t).

    Left: training (solid) and validation (dashed) loss on a log scale, a dot at each run's
    best validation epoch. Right: ``GL(t)`` in per cent (:func:`lstm_lessons.curves.generalisation_loss`)
    with a line at ``threshold``, the level the doctor's ``overfitting`` rule uses.

    Args:
        runs: ``{label: history}``, each a Keras ``History`` or a dict with ``loss`` and
            ``val_loss`` lists.
        threshold: GL level to mark, in per cent.

    Returns:
        The two matplotlib axes.
    """
    from lstm_lessons.curves import generalisation_loss

    _, (left, right) = plt.subplots(1, 2, figsize=(11, 4.4))
    plot_histories(runs, ax=left, title="Loss")
    for label, history in runs.items():
        val = np.asarray(_history_dict(history)["val_loss"], dtype=float)
        best = int(np.nanargmin(val))
        left.plot(best + 1, val[best], "o", color=run_color(label), ms=6)
        right.plot(range(1, len(val) + 1), generalisation_loss(val), color=run_color(label), lw=1.8,
                   label=label)
    right.axhline(threshold, color="black", ls=":", lw=1, label=f"{threshold:g} %")
    _style_axes(right, "epoch", "GL(t), % above the best so far", "Generalisation loss (Prechelt)",
                whole_x=True)
    # Legends under the panels, where no curve runs.
    for ax in (left, right):
        ax.legend(fontsize="small", loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)
    plt.gcf().tight_layout()
    return left, right


def plot_estimates(table, ax=None,
                   title: str | None = "What validation promised, what the later period gave"):
    """Validation error against the later test error, one pair of bars a pipeline (lesson 06).

    Args:
        table: ``pd.DataFrame`` indexed by pipeline with ``validation RMSE`` and ``test RMSE``
            columns (``ll.leakage.table``); with ``persistence validation RMSE`` (and ``persistence
            test RMSE``) columns, a black mark on each bar shows the persistence forecast's there.

    Returns:
        The matplotlib axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 3.6))
    positions = np.arange(len(table))
    ax.bar(positions - 0.2, table["validation RMSE"], 0.4, color=PALETTE[1], label="validation (promised)")
    ax.bar(positions + 0.2, table["test RMSE"], 0.4, color=PALETTE[0], label="later test period (got)")
    if "persistence validation RMSE" in table:
        levels = [table["persistence validation RMSE"]]
        starts = [positions - 0.4]
        if "persistence test RMSE" in table:
            levels, starts = levels + [table["persistence test RMSE"]], starts + [positions]
        ax.hlines(np.concatenate(levels), np.concatenate(starts), np.concatenate(starts) + 0.4, color="black",
                  lw=2, label="persistence on the same windows")
    ax.set_xticks(positions, [str(label).replace(" ", "\n", 1) for label in table.index], fontsize="small")
    shown = [c for c in table.columns if c in ("validation RMSE", "test RMSE", "persistence validation RMSE",
                                               "persistence test RMSE")]
    highest = float(table[shown].to_numpy().max())
    ax.set_ylim(0, 1.1 * highest)
    return _style_axes(ax, "pipeline", "RMSE, sunspot number", title, grid_axis="y", legend_beside=True)


def plot_length_buckets(table, ax=None, title: str | None = "Accuracy by utterance length",
                        chance: float | None = None):
    """Accuracy in each length bucket, one group of bars a bucket and one bar a pipeline, the
    legend beside the bars (lesson 07).

    Args:
        table: ``pd.DataFrame`` indexed by pipeline whose bucket columns end in ``" frames"``
            (``ll.padding.table``), each an accuracy in [0, 1].
        chance: the accuracy of guessing (``1 / n_classes``), drawn as a dotted line; ``None``
            for none.

    Returns:
        The matplotlib axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 3.8))
    buckets = [column for column in table.columns if str(column).endswith(" frames")]
    width = 0.8 / max(1, len(table))
    for k, (label, row) in enumerate(table.iterrows()):
        positions = np.arange(len(buckets)) + (k - (len(table) - 1) / 2) * width
        ax.bar(positions, row[buckets].to_numpy(dtype=float), width=width, color=run_color(str(label)),
               label=str(label))
    if chance is not None:
        ax.axhline(chance, color="black", ls=":", lw=1.2, label=f"guessing ({chance:.2f})")
    ax.set_xticks(range(len(buckets)), buckets)
    ax.set_ylim(0, 1.02)
    ax.set_yticks(np.linspace(0, 1, 6))
    return _style_axes(ax, "utterance length", "accuracy", title, grid_axis="y", legend_beside=True)


def plot_input_gradients(profiles: Mapping[str, object], ax=None,
                         title: str | None = "How far back the gradient reaches"):
    """Each model's input-gradient profile relative to its last step, against the steps back,
    on a log scale (lesson 08).

    Args:
        profiles: ``{label: (lookback,) array}`` from ``ll.gradients.input_gradient_profile``
            (the last entry is the step read just before the forecast).

    Returns:
        The matplotlib axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(8, 3.8))
    for label, profile in profiles.items():
        profile = np.asarray(profile, dtype=float)
        steps_back = np.arange(len(profile), 0, -1)
        ax.plot(steps_back, profile / profile[-1], color=run_color(label), lw=1.8, label=label)
    ax.set_xlim(1, max(len(np.asarray(p)) for p in profiles.values()))
    return _style_axes(ax, "steps back from the forecast (months)", "input gradient / last step's", title,
                       log=True, whole_x=True)


def plot_layer_gradients(runs: Mapping[str, object], ax=None, prefix: str = "grad_norm/recurrent_",
                         title: str | None = "Gradient norm of each recurrent layer, last epoch"):
    """The last epoch's gradient norm of each recurrent layer against its depth (1 nearest the
    input), one line a run, on a log scale (lesson 08).

    Args:
        runs: ``{label: history}`` whose keys include ``prefix + "<depth>"`` (the doctor's
            ``grad_norm/recurrent_<depth>`` for ``ll.gradient_flow`` models).

    Raises:
        KeyError: a run has no such key; the message lists the keys it has.

    Returns:
        The matplotlib axes.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    for label, history in runs.items():
        logs = _history_dict(history)
        keys = sorted((key for key in logs if key.startswith(prefix)), key=lambda key: int(key[len(prefix):]))
        if not keys:
            raise KeyError(f"Run {label!r} has no {prefix!r} keys. Keys: {sorted(logs)}")
        depths = [int(key[len(prefix):]) for key in keys]
        ax.plot(depths, [float(np.asarray(logs[key])[-1]) for key in keys], "o-", color=run_color(label),
                lw=1.8, label=label)
        ax.set_xticks(depths)
    return _style_axes(ax, "recurrent layer (1 = nearest the input)", "gradient norm", title, log=True)
