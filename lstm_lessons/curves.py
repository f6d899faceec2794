"""Numbers that describe the shape of a training curve (one value per epoch)."""

from __future__ import annotations

import numpy as np
import pandas as pd

GRAD_PREFIX = "grad_norm/"
"""Prefix of a history's per-layer gradient-norm curves, ``grad_norm/<layer>`` (logged by
:class:`lstm_lessons.gradients.GradientNormLogger` and :class:`lstm_lessons.doctor.TrainingDoctor`)."""

UPDATE_PREFIX = "update_ratio/"
"""Prefix of a history's per-weight update-ratio curves, ``update_ratio/<weight>`` (logged by
:class:`lstm_lessons.doctor.TrainingDoctor`)."""

OSCILLATION_MIN_SWING = 0.05
"""Smallest reversal counted by :func:`oscillation_index`, in natural-log units of the loss
(0.05 is a rise and fall of about 5 %)."""

OSCILLATION_THRESHOLD = 0.2
"""A curve whose :func:`oscillation_index` is at or above this value oscillates."""


def _finite_log(values) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1:
        raise ValueError(f"A curve must be one value per epoch, shape (n_epochs,). "
                         f"Received shape {array.shape}.")
    array = array[np.isfinite(array)]
    if np.any(array <= 0):
        raise ValueError("oscillation_index works on positive losses (it compares them on a "
                         f"log scale). Received a value <= 0: {array[array <= 0][0]!r}")
    return np.log(array)


def reversal_amplitudes(values) -> np.ndarray:
    """Size of each reversal (turn from rising to falling or back) of a loss curve.

    The curve is taken on a natural-log scale, so sizes are relative changes whatever the
    loss's units. Runs of equal values are merged. At each turning point the two legs that
    meet there are measured (the move into the turn and the move out of it, each running to
    the neighbouring turning point or end of the curve) and the smaller leg is the reversal's
    size: a curve that keeps falling with small bumps has small reversals however steep the
    fall, while a curve that jumps up and back down has large ones.

    Args:
        values: ``(n_epochs,)`` positive losses; NaN and infinite values are dropped.

    Returns:
        ``(n_turning_points,)`` amplitudes in log units, in epoch order.

    Raises:
        ValueError: ``values`` is not one-dimensional or holds a value <= 0.
    """
    log = _finite_log(values)
    if log.size < 3:
        return np.zeros(0)
    steps = np.diff(log)
    steps = steps[steps != 0]
    if steps.size < 2:
        return np.zeros(0)
    # Consecutive steps of the same sign form one leg; legs alternate in sign.
    signs = np.sign(steps)
    leg_ids = np.concatenate([[0], np.cumsum(signs[1:] != signs[:-1])])
    legs = np.abs(np.bincount(leg_ids, weights=steps))
    return np.minimum(legs[:-1], legs[1:])


def oscillation_index(values, min_swing: float = OSCILLATION_MIN_SWING) -> float:
    """Fraction of epochs that turn a large reversal of the loss: 0 = smooth, 1 = zig-zag.

    Definition: the number of reversals (see :func:`reversal_amplitudes`) of at least
    ``min_swing`` log units, divided by the number of epoch-to-epoch steps, ``n_epochs - 1``.
    A curve that rises and falls by more than 5 % every other epoch scores close to 1; a
    falling curve with small noise scores 0; one isolated spike scores ``2 / (n_epochs - 1)``.

    Threshold and source: :data:`OSCILLATION_THRESHOLD` = 0.2, with
    :data:`OSCILLATION_MIN_SWING` = 0.05. This follows the "oscillating loss" symptom of
    AUTOTRAINER (Zhang et al., ICSE 2021, function ``ol_judge``), which counts peak-to-trough
    swings of the accuracy larger than ``zeta`` and flags the run when they number at least
    ``eta`` = 0.2 times the epochs. We keep their rate, but measure swings of the log-loss
    instead of the accuracy (regression losses have no fixed scale, logs make swings relative)
    and take the smaller leg of each reversal, so a steep but bumpy descent is not counted.
    AUTOTRAINER's ``zeta`` is 0.03 of accuracy; our 0.05 of log-loss (5 %) was set from the
    lessons' own runs: the validation loss of healthy runs moves by 1-2 % between epochs once
    it settles, while too-high learning rates make it jump by 5-50 %.

    Args:
        values: ``(n_epochs,)`` positive losses, e.g. ``history.history["val_loss"]``.
        min_swing: smallest reversal counted, in natural-log units (> 0).

    Returns:
        A float in [0, 1]; 0 for curves of fewer than 3 finite values.

    Raises:
        ValueError: ``values`` is not one-dimensional or holds a value <= 0, or
            ``min_swing`` <= 0.
    """
    if not min_swing > 0:
        raise ValueError(f"min_swing must be > 0. Received: min_swing={min_swing!r}")
    n_steps = np.isfinite(np.asarray(values, dtype=float)).sum() - 1
    if n_steps < 2:
        return 0.0
    amplitudes = reversal_amplitudes(values)
    return float(np.sum(amplitudes >= min_swing) / n_steps)


def is_oscillating(values, threshold: float = OSCILLATION_THRESHOLD) -> bool:
    """True when :func:`oscillation_index` of ``values`` is at least ``threshold``."""
    return oscillation_index(values) >= threshold


REBOUND_WINDOW = 3
"""Epochs in the running median that :func:`rebound_curve` compares: one odd epoch changes nothing."""

REBOUND_THRESHOLD = 0.1
"""A training loss whose :func:`loss_rebound` is at least this (10 % above its best) is unstable."""


def rebound_curve(values, window: int = REBOUND_WINDOW) -> np.ndarray:
    """How far the loss of each epoch sits above the best it had reached before, as a fraction.

    Definition: the curve is smoothed by a centred running median over ``window`` epochs (full
    windows only, so a single odd epoch, such as the first or the last, changes nothing); each
    smoothed value is compared with the lowest smoothed value of the epochs before it. The
    result is ``smoothed / earlier best - 1``, clipped at 0: ``0.25`` means the loss climbed back
    25 % above the best it had already reached, ``0`` that it did not rise.

    Args:
        values: ``(n_epochs,)`` positive losses; NaN and infinite values are dropped first.
        window: epochs in the running median, an odd number >= 1.

    Returns:
        ``(n_epochs,)`` fractions >= 0 for the finite epochs, NaN where no comparison is
        possible (the edges of the median, the first smoothed epoch, non-finite epochs).

    Raises:
        ValueError: ``values`` is not one-dimensional or holds a value <= 0, or ``window`` is
            not a positive odd integer.
    """
    if not (isinstance(window, int) and window >= 1 and window % 2 == 1):
        raise ValueError(f"window must be a positive odd number of epochs. Received: window={window!r}")
    array = np.asarray(values, dtype=float)
    log = _finite_log(array)   # validates the shape and the sign
    smoothed = pd.Series(log).rolling(window, center=True).median().to_numpy()
    earlier_best = pd.Series(smoothed).cummin().shift(1).to_numpy()
    rise = np.expm1(np.clip(smoothed - earlier_best, 0, None))
    result = np.full(array.shape, np.nan)
    result[np.isfinite(array)] = rise
    return result


def loss_rebound(values, window: int = REBOUND_WINDOW) -> float:
    """The largest climb of a loss back above the best it had reached, as a fraction.

    The maximum of :func:`rebound_curve`: ``0.3`` means that at some point the loss (median of
    ``window`` epochs) stood 30 % above the lowest value it had already reached. A healthy run
    keeps what it found: its training loss, averaged over each epoch, falls or levels off.

    Threshold and source: :data:`REBOUND_THRESHOLD` = 0.1 on the training loss. The Google deep
    learning tuning playbook (Godbole et al., 2023, "How can optimization failures be debugged
    and mitigated?") names training instability by this sign, "loss goes up not down during
    periods of training", and notes that any workload becomes unstable when the learning rate is
    too large. The 10 % line and the 3-epoch median are ours, set from lesson 01's runs: over 30
    healthy runs on the sunspot data (constant learning rates 0.003 and 0.01, and the fixed runs
    of seeds 1-10) the training loss rebounded by at most 2 % (checked later on seeds 11-20 at
    0.01: at most 7.6 %, on a run whose training loss alternated by 9 % from epoch to epoch near
    its floor, the mildest form of the same thing), over the synthetic histories of
    ``benchmarks/synthetic_histories.py`` (noise up to 5 % per epoch) by at most 4.2 %, while
    Adam at learning rate 0.3 rebounded by 20 % or more on every seed from 1 to 10. It is not
    the only face of a too-high rate: over seeds 1-30 the rebound reached 10 % on 27 and, on
    the other 3, the validation loss oscillated instead (see :func:`oscillation_index`).

    Returns:
        A float >= 0; 0 for curves too short to compare (fewer than ``window + 1`` finite
        epochs).

    Raises:
        ValueError: as :func:`rebound_curve`.
    """
    curve = rebound_curve(values, window)
    return float(np.nanmax(curve)) if np.isfinite(curve).any() else 0.0


STAGNATION_THRESHOLD = 0.1
"""A run whose loss improves by less than this fraction of its first epoch's value is stagnant."""


def relative_improvement(values) -> float:
    """How much of the first epoch's loss the run removed: ``(first - best) / first``.

    ``0`` means no epoch beat the first, ``0.99`` means the best epoch's loss is 1 % of the
    first's. Non-finite epochs are ignored; if the first epoch is not finite the curve
    never started and the result is ``0``.

    Args:
        values: positive losses, shape ``(n_epochs,)``.

    Raises:
        ValueError: ``values`` is not one-dimensional, is empty, or holds a value <= 0.
    """
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"A curve must be one value per epoch, shape (n_epochs,) with n_epochs >= 1. "
                         f"Received shape {array.shape}.")
    finite = array[np.isfinite(array)]
    if np.any(finite <= 0):
        raise ValueError(f"relative_improvement works on positive losses. "
                         f"Received a value <= 0: {finite[finite <= 0][0]!r}")
    if not np.isfinite(array[0]):
        return 0.0
    return float((array[0] - finite.min()) / array[0])


def is_stagnant(values, threshold: float = STAGNATION_THRESHOLD) -> bool:
    """True when the loss improved by less than ``threshold`` of its first value.

    A healthy run on scaled data removes most of its first epoch's loss within a few epochs
    (lesson 02's scaled CO2 model removes over 99 % in 20 epochs); the stagnant runs there
    remove 1-5 %. The 10 % line sits between the two and is deliberately coarse: it flags a
    run that never got going, not one that has converged after learning. SageMaker
    Debugger's ``LossNotDecreasing`` rule asks the same question over sliding windows of
    steps; here one whole run is judged, so one number is enough.
    """
    return relative_improvement(values) < threshold
