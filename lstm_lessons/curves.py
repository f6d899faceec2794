"""Numbers that describe the shape of a training curve (one value per epoch)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_lessons.params import Rule, require

GRAD_PREFIX = "grad_norm/"
"""Prefix of a history's per-layer gradient-norm curves, ``grad_norm/<layer>`` (logged by
:class:`lstm_lessons.gradients.GradientNormLogger` and
:class:`lstm_lessons.doctor.callback.TrainingDoctor`)."""

UPDATE_PREFIX = "update_ratio/"
"""Prefix of a history's per-weight update-ratio curves, ``update_ratio/<weight>`` (logged by
:class:`lstm_lessons.doctor.callback.TrainingDoctor`)."""

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
    of seeds 1-10) the training loss rebounded by at most 2 % (on seeds 11-20 at 0.01: at most
    7.6 %, on a run whose training loss alternated by 9 % from epoch to epoch near its floor, the
    mildest form of the same thing), over the synthetic histories of
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


def _curve(values, name: str = "values") -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be one value per epoch, shape (n_epochs,) with n_epochs >= 1. "
                         f"Received shape {array.shape}.")
    return array


def generalisation_loss(val_losses) -> np.ndarray:
    """Prechelt's generalisation loss per epoch, in per cent.

    ``GL(t) = 100 * (E_va(t) / min_{t' <= t} E_va(t') - 1)``: how far the validation loss at
    epoch ``t`` stands above the best it had reached so far. It is 0 at every new best and
    grows while the validation loss climbs away from its minimum. Prechelt's stopping rule
    GL_alpha stops training at the first epoch with ``GL(t) > alpha`` (he compares alpha from 1
    to 5; the doctor's ``overfitting`` rule uses 10 % held for three epochs, on smoothed curves).

    Source: L. Prechelt, "Early Stopping - But When?", in Neural Networks: Tricks of the Trade,
    Springer 1998, section 2.2.

    Args:
        val_losses: validation losses, shape ``(n_epochs,)``, positive.

    Returns:
        ``(n_epochs,)`` float array; NaN where the loss, or every earlier one, is not finite.

    Raises:
        ValueError: not one value per epoch, or a finite value <= 0.
    """
    array = _curve(val_losses, "val_losses")
    if np.any(array[np.isfinite(array)] <= 0):
        raise ValueError("generalisation_loss works on positive losses. "
                         f"Received a value <= 0: {array[np.isfinite(array) & (array <= 0)][0]!r}")
    best = pd.Series(np.where(np.isfinite(array), array, np.nan)).cummin().to_numpy()
    return 100 * (array / best - 1)


PRECHELT_STRIP = 5
"""Prechelt's training strip: ``k = 5`` epochs (1998, section 2.2)."""

_STRIP = Rule(int, 1, 10_000, meaning="epochs in one of Prechelt's strips")
_ALPHA = {"GL": Rule(float, 0.0, 1e6, low_inclusive=False, meaning="GL_alpha's threshold, per cent"),
          "PQ": Rule(float, 0.0, 1e6, low_inclusive=False, meaning="PQ_alpha's threshold"),
          "UP": Rule(int, 1, 10_000, meaning="UP_s's number of strips in a row")}


def training_progress(train_losses, strip: int = PRECHELT_STRIP) -> np.ndarray:
    """Prechelt's training progress per epoch, in per mille: how much the training loss still moves.

    ``P_k(t) = 1000 * (sum of E_tr over the strip ending at t / (k * min of E_tr over that
    strip) - 1)``, for the strip of ``k`` epochs ``t - k + 1 .. t``: large while the training
    loss falls or jumps about, near 0 once it has settled. Defined at every epoch from the
    ``k``-th on; Prechelt reads it at the end of each strip (``t`` a multiple of ``k``).

    Source: L. Prechelt, "Early Stopping - But When?", in Neural Networks: Tricks of the Trade,
    Springer 1998, section 2.2.

    Args:
        train_losses: training losses, shape ``(n_epochs,)``, positive.
        strip: ``k``, an integer >= 1.

    Returns:
        ``(n_epochs,)`` float array; NaN for the first ``k - 1`` epochs.

    Raises:
        ValueError: ``strip`` is not an integer >= 1, or a finite loss <= 0.
    """
    array = _curve(train_losses, "train_losses")
    require("strip", strip, _STRIP)
    if np.any(array[np.isfinite(array)] <= 0):
        raise ValueError("training_progress works on positive losses. "
                         f"Received a value <= 0: {array[np.isfinite(array) & (array <= 0)][0]!r}")
    rolling = pd.Series(array).rolling(strip)
    return (1000 * (rolling.sum() / (strip * rolling.min()) - 1)).to_numpy()


STOPPING_CRITERIA = ("GL", "PQ", "UP")
"""Prechelt's three classes of stopping criteria (:func:`stopping_epoch`)."""


def stopping_epoch(criterion: str, alpha: float, val_losses, train_losses=None,
                   strip: int = PRECHELT_STRIP) -> int | None:
    """The epoch after which one of Prechelt's stopping criteria stops training (1-based).

    - ``"GL"``: GL_alpha, the first epoch with :func:`generalisation_loss` ``> alpha`` (%).
    - ``"PQ"``: PQ_alpha, the first end of a strip (an epoch that is a multiple of ``strip``)
      where ``GL(t) / P_k(t) > alpha`` (:func:`training_progress`): a climb of the validation
      loss counts for more once the training loss has stopped moving.
    - ``"UP"``: UP_s with ``s = alpha``, the end of the ``s``-th strip in a row whose validation
      loss is higher than at the end of the strip before.

    GL's best-so-far is taken over every epoch, while PQ and UP decide at the ends of strips
    only; Prechelt measures the validation error at the ends of strips throughout, so on a curve
    measured every epoch GL here can see a lower best than his would. Early stopping then keeps
    the epoch with the lowest validation loss up to that one. Source:
    L. Prechelt, "Early Stopping - But When?", in Neural Networks: Tricks of the Trade, Springer
    1998, section 2.2.

    Args:
        criterion: one of :data:`STOPPING_CRITERIA`.
        alpha: the threshold (GL and PQ), or the number of strips ``s`` (UP, an integer >= 1).
        val_losses: shape ``(n_epochs,)``, positive.
        train_losses: shape ``(n_epochs,)``, positive; needed for ``"PQ"`` only.
        strip: ``k``, epochs a strip.

    Returns:
        The 1-based epoch, or ``None`` if the criterion never fires within the curve.

    Raises:
        ValueError: an unknown ``criterion``, ``alpha`` not > 0 (or, for UP, not an integer
            >= 1), a bad ``strip``, or ``"PQ"`` without ``train_losses``.
    """
    if criterion not in STOPPING_CRITERIA:
        raise ValueError(f"criterion must be one of {STOPPING_CRITERIA}. Received: criterion={criterion!r}")
    require("alpha", alpha, _ALPHA[criterion])
    if criterion == "PQ" and train_losses is None:
        raise ValueError("PQ needs train_losses as well (its training progress). Received: train_losses=None")
    require("strip", strip, _STRIP)
    gl = generalisation_loss(val_losses)
    if criterion == "GL":
        fired = np.flatnonzero(gl > alpha)
        return int(fired[0]) + 1 if len(fired) else None
    ends = np.arange(strip - 1, len(gl), strip)              # 0-based ends of the strips
    if criterion == "PQ":
        progress = training_progress(train_losses, strip)
        with np.errstate(divide="ignore", invalid="ignore"):
            quotient = gl[ends] / progress[ends]
        fired = ends[quotient > alpha]
        return int(fired[0]) + 1 if len(fired) else None
    val = _curve(val_losses, "val_losses")
    rising = 0
    for before, end in zip(ends[:-1], ends[1:], strict=True):
        rising = rising + 1 if val[end] > val[before] else 0
        if rising >= alpha:
            return int(end) + 1
    return None


def generalisation_gap(train_losses, val_losses) -> np.ndarray:
    """Validation loss minus training loss, per epoch: ``E_va(t) - E_tr(t)``.

    In the loss's own units (for binary cross-entropy, nats per example). A gap that widens
    while the training loss falls is the signature of overfitting; a small gap with both losses
    high is underfitting. Note that Keras's training loss is the mean over the epoch's batches
    *with* dropout and regularisation penalties, while the validation loss is measured after
    the epoch without dropout: a regularised model can show a negative gap.

    Args:
        train_losses, val_losses: shape ``(n_epochs,)`` each (``history.history["loss"]`` and
            ``["val_loss"]``).

    Raises:
        ValueError: not one value per epoch each, or different lengths.
    """
    train, val = _curve(train_losses, "train_losses"), _curve(val_losses, "val_losses")
    if train.size != val.size:
        raise ValueError(f"train_losses and val_losses must have one value per epoch each. "
                         f"Received {train.size} and {val.size} epochs.")
    return val - train


TREND_P_VALUE = 0.001
"""Significance level of :func:`rising_trend`. Where it comes from: the rising validation losses
of lesson 05's overfitting baseline, seeds 1-10, have p <= 5e-5, the U-shaped curves of
``benchmarks/synthetic_histories.py`` p <= 1e-17, while its curves that only swing around a level
reach p = 8e-3 at the lowest (seeds 0-9): 0.001 sits between, with a factor of about 10 on either
side."""


def rising_trend(values, p_value: float = TREND_P_VALUE) -> bool:
    """True when the curve rises with epochs more consistently than noise would explain.

    The Mann-Kendall test: Kendall's tau between epoch and value, one-sided, at ``p_value``
    (H. B. Mann, "Nonparametric tests against trend", Econometrica 1945; scipy's
    ``kendalltau``). It looks only at the order of the values, so one huge spike weighs as
    much as a small step, and a curve swinging around a level has no trend whatever the size
    of its swings. Non-finite epochs are ignored; fewer than 4 finite epochs never show a trend.

    Args:
        values: shape ``(n_epochs,)``, e.g. the validation loss after its best epoch.
        p_value: the significance level, in (0, 1).

    Raises:
        ValueError: not one value per epoch, or ``p_value`` outside (0, 1).
    """
    from scipy.stats import kendalltau

    array = _curve(values)
    if not 0 < p_value < 1:
        raise ValueError(f"p_value must be in (0, 1). Received: p_value={p_value!r}")
    epochs = np.flatnonzero(np.isfinite(array))
    if epochs.size < 4:
        return False
    result = kendalltau(epochs, array[epochs], alternative="greater")
    return bool(result.pvalue < p_value)
