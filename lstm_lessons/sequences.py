"""Sequences of different lengths: padding, the statistics of the real steps, length buckets.

An archive such as UCI Japanese Vowels (``ll.data.load_japanese_vowels``) stores each
utterance's frames followed by ``NaN`` up to the longest one, with the true lengths beside
them. A model needs one array of one length, so the real steps are padded again: before the
sequence (``"pre"``, Keras's default) or after it (``"post"``), with a value a ``Masking``
layer can recognise. These helpers keep the real steps apart from the padding, so that
statistics are fitted on real frames only and results can be broken down by length.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_lessons.params import Rule, require

PADDING_SIDES = ("pre", "post")
"""Where :func:`pad` puts the padding: before the real steps or after them
(``keras.utils.pad_sequences``'s ``padding`` argument; its default is ``"pre"``)."""


def _check(x, lengths) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=float)
    lengths = np.asarray(lengths)
    if x.ndim != 3:
        raise ValueError(f"x must have shape (n_series, n_steps, n_channels). Received shape {x.shape}.")
    if lengths.shape != (len(x),) or not np.issubdtype(lengths.dtype, np.integer):
        raise ValueError(f"lengths must be {len(x)} integers, one per series. "
                         f"Received shape {lengths.shape}, dtype {lengths.dtype}.")
    if len(lengths) and (lengths.min() < 1 or lengths.max() > x.shape[1]):
        raise ValueError(f"lengths must lie in 1..{x.shape[1]} (the steps of x). "
                         f"Received {lengths.min()}..{lengths.max()}.")
    return x, lengths


def real_steps(x, lengths) -> list[np.ndarray]:
    """The real steps of each series: ``x[i, :lengths[i]]``, each ``(length_i, n_channels)``.

    Args:
        x: ``(n_series, n_steps, n_channels)``, each series' real steps first (then padding).
        lengths: ``(n_series,)`` integers, the real steps of each series (1..n_steps).

    Raises:
        ValueError: ``x`` is not 3-D, or ``lengths`` is not one integer in 1..n_steps per series.
    """
    x, lengths = _check(x, lengths)
    return [series[:length] for series, length in zip(x, lengths, strict=True)]


def pad(x, lengths, length: int, side: str = "post", value: float = 0.0) -> np.ndarray:
    """The real steps of each series padded to ``length`` steps with ``value``, by
    ``keras.utils.pad_sequences`` (never truncated).

    Args:
        x: ``(n_series, n_steps, n_channels)``, each series' real steps first.
        lengths: ``(n_series,)`` integers, the real steps of each series.
        length: steps of the result, at least the longest series.
        side: ``"pre"`` (padding before the real steps) or ``"post"`` (after them).
        value: the padding value; a ``Masking(mask_value=value)`` layer skips a step only when
            every channel equals it.

    Returns:
        ``(n_series, length, n_channels)`` float32 array.

    Raises:
        ValueError: ``side`` is not in :data:`PADDING_SIDES`, ``length`` is shorter than the
            longest series, ``value`` is not finite, or ``x``/``lengths`` are malformed.
    """
    if side not in PADDING_SIDES:
        raise ValueError(f"side must be one of {PADDING_SIDES}. Received: side={side!r}")
    steps = real_steps(x, lengths)
    longest = max((len(s) for s in steps), default=0)
    require("length", length, Rule(int, longest, meaning=f"steps every series is padded to; padding never "
                                                      f"truncates, and the longest series has {longest}"))
    if not np.isfinite(value):
        raise ValueError(f"value must be a finite number. Received: value={value!r}")
    from lstm_lessons._tf import keras

    return keras.utils.pad_sequences(steps, maxlen=int(length), dtype="float32", padding=side,
                                     value=float(value))


def channel_statistics(x, lengths, over: str = "real steps",
                       fill: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Mean and standard deviation of each channel, for standardising ``(x - mean) / std``.

    ``over="real steps"`` uses only each series' real steps: the statistics of the data.
    ``over="padded array"`` uses every step of the array with ``NaN`` replaced by ``fill``:
    the statistics a scaler fitted on a padded array would learn. With zeros as padding, the
    mean moves towards 0 and the deviation changes in proportion to the share of padding.

    Args:
        x: ``(n_series, n_steps, n_channels)``, real steps first, padding (``NaN`` or a value) after.
        lengths: ``(n_series,)`` integers, the real steps of each series.
        over: ``"real steps"`` or ``"padded array"``.
        fill: what a ``NaN`` counts as with ``over="padded array"``.

    Returns:
        ``(mean, std)``, each ``(n_channels,)``.

    Raises:
        ValueError: ``over`` is neither choice, or ``x``/``lengths`` are malformed.
    """
    if over not in ("real steps", "padded array"):
        raise ValueError(f"over must be 'real steps' or 'padded array'. Received: over={over!r}")
    x, lengths = _check(x, lengths)
    if over == "real steps":
        values = np.concatenate(real_steps(x, lengths))
    else:
        values = np.nan_to_num(x, nan=fill).reshape(-1, x.shape[-1])
    return values.mean(axis=0), values.std(axis=0)


def collisions(x, lengths, value: float) -> int:
    """How many real steps a ``Masking(mask_value=value)`` layer would skip as padding: those
    whose every channel equals ``value``.

    Raises:
        ValueError: ``x`` or ``lengths`` are malformed.
    """
    steps = np.concatenate(real_steps(x, lengths))
    return int(np.all(steps == value, axis=-1).sum())


def length_buckets(lengths, edges) -> pd.Categorical:
    """The length bucket of each series, as labels such as ``"7-12"``, ``"13-17"``, ``"18-29"``.

    Args:
        lengths: ``(n_series,)`` integers.
        edges: increasing integers; each starts a new bucket (``(13, 18)``: up to 12, 13 to 17,
            18 and more). The first bucket starts at the shortest length, the last ends at the
            longest.

    Returns:
        A ``pd.Categorical`` of ``(n_series,)`` labels, its categories from short to long.

    Raises:
        ValueError: ``edges`` are not increasing integers inside the range of ``lengths``.
    """
    lengths = np.asarray(lengths)
    edges = [int(e) for e in edges]
    if not len(lengths):
        raise ValueError("length_buckets needs at least one length. Received 0.")
    low, high = int(lengths.min()), int(lengths.max())
    if not edges or any(b <= a for a, b in zip(edges, edges[1:], strict=False)) \
            or edges[0] <= low or edges[-1] > high:
        raise ValueError(f"edges must be increasing integers in {low + 1}..{high} (the lengths run from "
                         f"{low} to {high}). Received: edges={edges!r}")
    starts, ends = [low, *edges], [e - 1 for e in edges] + [high]
    labels = [f"{a}-{b}" if a != b else f"{a}" for a, b in zip(starts, ends, strict=True)]
    codes = np.searchsorted(edges, lengths, side="right")
    return pd.Categorical.from_codes(codes, categories=labels, ordered=True)


def bucket_means(values, lengths, edges) -> pd.DataFrame:
    """The mean of ``values`` in each length bucket (:func:`length_buckets`), with the count.

    Args:
        values: ``(n_series,)`` numbers, one per series (1/0 for a correct/wrong prediction
            gives the accuracy of each bucket).
        lengths: ``(n_series,)`` integers, the real steps of each series.
        edges: as for :func:`length_buckets`.

    Returns:
        ``pd.DataFrame`` indexed by bucket label (short to long), columns ``count`` and ``mean``.

    Raises:
        ValueError: ``values`` and ``lengths`` differ in length, or bad ``edges``.
    """
    values = np.asarray(values, dtype=float)
    if values.shape != np.shape(lengths):
        raise ValueError(f"values and lengths must have the same shape. Received {values.shape} "
                         f"and {np.shape(lengths)}.")
    buckets = length_buckets(lengths, edges)
    grouped = pd.Series(values).groupby(buckets, observed=False)
    table = pd.DataFrame({"count": grouped.size(), "mean": grouped.mean()})
    table.index.name = "length"
    return table
