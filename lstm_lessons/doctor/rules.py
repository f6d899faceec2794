"""The doctor's rules: one function a symptom, each with its definition, thresholds and sources.

Every rule reads a history (``{key: float array (n_epochs,)}``, see
:func:`~lstm_lessons.doctor.history.load_history`) and returns the evidence of its symptom,
or ``None``. Rules judge the shape of whole curves rather than single epochs, so that one
uptick or one noisy epoch is not a diagnosis.

Sources of the thresholds (and where ours differ):

- AUTOTRAINER: X. Zhang et al., "AUTOTRAINER: An Automatic DNN Training Problem Detection
  and Repair System", ICSE 2021; thresholds from its ``monitor.py`` (oscillation amplitude
  0.03 at a rate 0.2, vanishing when the first/last layer gradient ratio < 1e-3 and the first
  layer's norm < 1e-4, NaN loss).
- SageMaker Debugger built-in rules (AWS documentation): ``LossNotDecreasing``,
  ``VanishingGradient`` (mean absolute gradient below 1e-7), ``ExplodingTensor`` (NaN or
  infinite values), ``Overfit`` (validation loss pulling away from training loss).
- UMLAUT: E. Schoop et al., "UMLAUT: Debugging Deep Learning Programs using Program Structure,
  Model Behavior, and Electronic Textbooks", CHI 2021 (heuristic checks of model behaviour,
  e.g. validation accuracy suspiciously higher than training accuracy).
- The Google deep learning tuning playbook (Godbole et al., 2023): read the training and
  validation curves together; overfitting is validation loss rising while training loss falls.
- L. Prechelt, "Early Stopping - But When?", Neural Networks: Tricks of the Trade, 1998: the
  generalisation loss GL(t) = 100 x (E_val(t) / min_{t' <= t} E_val(t') - 1).
"""

from __future__ import annotations

import warnings

import numpy as np

from lstm_lessons import curves
from lstm_lessons.curves import GRAD_PREFIX, UPDATE_PREFIX

STAGNATION_MIN_EPOCHS = 3
"""Fewer epochs than this are too short to call a run stagnant."""

OSCILLATION_MIN_EPOCHS = 6
"""The oscillation index needs a few reversals to mean anything."""

UNSTABLE_MIN_EPOCHS = 5
"""A rebound needs a few epochs before it and the 3-epoch median around it."""

OVERFIT_GENERALISATION_LOSS = 0.10
"""Prechelt's generalisation loss (as a fraction) that must hold at the end of the run."""

OVERFIT_PATIENCE = 3
"""...for this many final epochs in a row, so a single uptick is not overfitting."""

OVERFIT_TRAIN_TOLERANCE = 0.02
"""The training loss may sit this much above its value at the best epoch (it has converged)."""

EXPLODING_SPIKE = 100.0
"""A layer's gradient norm this many times its median over the earlier epochs is a spike."""

VANISHING_RATIO = 1e-3
"""Smallest / largest layer gradient norm (AUTOTRAINER's beta_1)..."""

VANISHING_NORM = 1e-4
"""...together with the smallest layer's norm below this (AUTOTRAINER's beta_2)."""

VANISHING_ABSOLUTE = 1e-7
"""A layer norm below this vanishes outright (SageMaker ``VanishingGradient`` default)."""

CONSTANT_SPREAD = 0.01
"""Prediction spread (std of predictions / std of targets) below this is constant."""

CONSTANT_SHARE = 0.999
"""Share of a sample predicted as one class at or above this is constant."""

LEAKAGE_RATIO = 0.2
"""Validation loss below this fraction of the training loss is suspicious."""


def _finite(values: np.ndarray) -> np.ndarray:
    return values[np.isfinite(values)]


def _nice(value: float) -> float | str:
    return float(f"{value:.4g}") if np.isfinite(value) else str(value)


def non_finite_loss(history, options) -> dict | None:
    """A loss (training or validation) is NaN or infinite.

    Definition: the first epoch at which any key ending in ``loss`` is not finite. One such
    epoch suffices: after a non-finite update every weight is NaN. AUTOTRAINER and
    SageMaker's ``ExplodingTensor`` use the same test.
    """
    first = None
    for key in sorted(k for k in history if k.endswith("loss")):
        bad = np.flatnonzero(~np.isfinite(history[key]))
        if bad.size and (first is None or bad[0] < first[1]):
            first = (key, int(bad[0]))
    if first is None:
        return None
    key, epoch = first
    return {"epoch": epoch + 1, "evidence": {"key": key, "value": str(history[key][epoch])},
            "explanation": f"{key} became {history[key][epoch]} at epoch {epoch + 1}; after that every "
                           f"weight is NaN. Look for NaN in the inputs or a step that blew up."}


def stagnant_loss(history, options) -> dict | None:
    """The training loss barely moved from its first epoch.

    Definition: at least :data:`STAGNATION_MIN_EPOCHS` finite epochs, a finite first epoch,
    and :func:`lstm_lessons.curves.relative_improvement` of the training loss below
    :data:`lstm_lessons.curves.STAGNATION_THRESHOLD` (10 %). SageMaker's ``LossNotDecreasing``
    compares the loss between windows of steps with a minimum percentage decrease; judging the
    whole run against its first epoch instead flags runs that never got going and leaves alone
    runs that learned and then converged.
    """
    loss = history["loss"]
    if not np.isfinite(loss[0]) or _finite(loss).size < STAGNATION_MIN_EPOCHS or np.any(_finite(loss) <= 0):
        return None
    improvement = curves.relative_improvement(loss)
    if improvement >= curves.STAGNATION_THRESHOLD:
        return None
    return {"epoch": 1, "evidence": {"first_loss": _nice(loss[0]), "best_loss": _nice(_finite(loss).min()),
                                     "improvement": _nice(improvement),
                                     "threshold": curves.STAGNATION_THRESHOLD},
            "explanation": f"the training loss improved by only {improvement:.1%} of its first value in "
                           f"{loss.size} epochs: unscaled data, a learning rate far too small, "
                           f"saturated units, or nothing to learn beyond the mean (compare with a "
                           f"naive forecast)."}


def _running_median(values: np.ndarray, width: int = 5) -> np.ndarray:
    half = width // 2
    return np.array([np.median(values[max(0, i - half):i + half + 1]) for i in range(values.size)])


def oscillating_loss(history, options) -> dict | None:
    """The loss keeps reversing direction by large steps instead of settling.

    Definition: the validation loss (the training loss if there is none) has at least
    :data:`OSCILLATION_MIN_EPOCHS` finite positive epochs and an
    :func:`lstm_lessons.curves.oscillation_index` of at least
    :data:`lstm_lessons.curves.OSCILLATION_THRESHOLD` (reversals of 5 % or more in at least a
    fifth of the epochs; AUTOTRAINER's rule uses amplitude 0.03 on accuracy at rate 0.2); and
    the curve is not settling: the median of its last quarter is not below the best value
    reached before that quarter by at least the median reversal (both on a log scale). The
    second condition is ours: a curve that is noisy but still falling keeps beating its
    earlier best by more than its noise, and is not called oscillating; a curve that spikes
    and recovers (a jump out of the valley, typical of a too-high learning rate) does not
    get back below its earlier best. A validation curve that climbs through its swings while
    the training loss falls is overfitting instead (:func:`overfitting` is asked first). The
    symptom starts at the first epoch whose loss rises by 5 % or more over the previous one.
    """
    has_val = "val_loss" in history and _finite(history["val_loss"]).size >= OSCILLATION_MIN_EPOCHS
    key = "val_loss" if has_val else "loss"
    epochs = np.flatnonzero(np.isfinite(history[key]))
    values = history[key][epochs]
    if values.size < OSCILLATION_MIN_EPOCHS or np.any(values <= 0):
        return None
    index = curves.oscillation_index(values)
    if index < curves.OSCILLATION_THRESHOLD or (has_val and overfitting(history, options) is not None):
        return None
    amplitudes = curves.reversal_amplitudes(values)
    swing = float(np.median(amplitudes[amplitudes >= curves.OSCILLATION_MIN_SWING]))
    quarter = max(2, values.size // 4)
    progress = float(np.log(values[:-quarter].min() / np.median(values[-quarter:])))
    if progress >= swing:
        return None
    first_jump = int(epochs[1:][np.diff(np.log(values)) >= curves.OSCILLATION_MIN_SWING][0])
    return {"epoch": first_jump + 1, "evidence": {"key": key, "oscillation_index": _nice(index),
                                     "threshold": curves.OSCILLATION_THRESHOLD,
                                     "median_swing": _nice(swing), "last_quarter_progress": _nice(progress)},
            "explanation": f"{key} turns up or down by 5% or more in {index:.0%} of the epochs "
                           f"(median swing {np.expm1(swing):.0%}) and is not settling: the learning rate "
                           f"is too high, at the start or for this late stage of training; lower it or "
                           f"let it decay."}


def unstable_training(history, options) -> dict | None:
    """The training loss climbs back well above the best it had already reached.

    Definition: the training loss has at least :data:`UNSTABLE_MIN_EPOCHS` finite positive
    epochs and a :func:`lstm_lessons.curves.loss_rebound` of at least
    :data:`lstm_lessons.curves.REBOUND_THRESHOLD`: its running median over 3 epochs stands 10 %
    or more above the lowest median it had reached before. The symptom starts at the first
    such epoch. This is the sign the Google tuning playbook (Godbole et al., 2023) gives for
    training instability, "loss goes up not down during periods of training"; the threshold
    and its evidence are in ``loss_rebound``'s docstring. The training loss is averaged over
    each epoch's batches, so it is much calmer than the validation loss: a healthy run keeps
    what it found, while steps too large for the minimum throw the weights out of it again.
    It complements :func:`oscillating_loss`: a run thrown out of the minimum once, which then
    recovers slowly, never zig-zags, but its training loss rebounds.
    """
    loss = history["loss"]
    finite = _finite(loss)
    if finite.size < UNSTABLE_MIN_EPOCHS or np.any(finite <= 0):
        return None
    curve = curves.rebound_curve(loss)
    over = np.flatnonzero(curve >= curves.REBOUND_THRESHOLD)
    if over.size == 0:
        return None
    start, rebound = int(over[0]), float(np.nanmax(curve))
    return {"epoch": start + 1, "evidence": {"key": "loss", "rebound": _nice(rebound),
                                             "threshold": curves.REBOUND_THRESHOLD},
            "explanation": f"the training loss climbed back {rebound:.0%} above the best it had "
                           f"reached (median of 3 epochs): the steps are too large to stay in the "
                           f"minimum. Lower the learning rate or let it decay; if the climbs are "
                           f"sudden jumps, look at the gradient norms too."}


def overfitting(history, options) -> dict | None:
    """Validation loss rising for good while the training loss keeps falling.

    Definition (Prechelt's generalisation loss, the playbook's reading of the two curves), on
    running medians over 5 epochs of both curves: with ``best`` the epoch of the lowest
    smoothed validation loss, GL(t) = val(t) / val(best) - 1 is at least
    :data:`OVERFIT_GENERALISATION_LOSS` in each of the last :data:`OVERFIT_PATIENCE` epochs,
    and the smoothed training loss at the end is not above its value at ``best`` (by more than
    :data:`OVERFIT_TRAIN_TOLERANCE`), and the raw validation loss from ``best`` on rises more
    consistently than noise explains (:func:`lstm_lessons.curves.rising_trend`, a Mann-Kendall
    test at :data:`lstm_lessons.curves.TREND_P_VALUE`). The running median makes one uptick
    leave the smoothed curve where it was; a run whose training loss rises too is unstable, not
    overfitting. The trend test separates a climb from swings: a curve that only jumps around a
    level (oscillation) can sit above a lucky trough for three epochs, but it does not climb,
    while a small validation set (lesson 05: 21 days) makes a real climb zig-zag by 10-20 %. So
    :func:`oscillating_loss` gives way to this rule when both fit. SageMaker's ``Overfit`` rule
    instead compares validation with training loss, which flags a validation set that is merely
    harder.
    """
    if "val_loss" not in history:
        return None
    val, train = history["val_loss"], history["loss"]
    if val.size < OVERFIT_PATIENCE + 3 or not (np.isfinite(val).all() and np.isfinite(train).all()):
        return None
    smooth_val, smooth_train = _running_median(val), _running_median(train)
    best = int(np.argmin(smooth_val))
    gl = curves.generalisation_loss(smooth_val) / 100
    if best >= val.size - OVERFIT_PATIENCE or np.any(gl[-OVERFIT_PATIENCE:] < OVERFIT_GENERALISATION_LOSS):
        return None
    if smooth_train[-1] > smooth_train[best] * (1 + OVERFIT_TRAIN_TOLERANCE):
        return None
    if not curves.rising_trend(val[best:]):
        return None
    start = val.size - OVERFIT_PATIENCE
    while start - 1 > best and gl[start - 1] >= OVERFIT_GENERALISATION_LOSS:
        start -= 1
    return {"epoch": start + 1,
            "evidence": {"best_epoch": best + 1, "best_val_loss": _nice(smooth_val[best]),
                         "final_val_loss": _nice(smooth_val[-1]), "generalisation_loss": _nice(gl[-1]),
                         "threshold": OVERFIT_GENERALISATION_LOSS},
            "explanation": f"validation loss is {gl[-1]:.0%} above its best (epoch {best + 1}) while the "
                           f"training loss does not rise: the model is memorising the training set."}


def _layer_series(history, prefix) -> dict[str, np.ndarray]:
    return {key.removeprefix(prefix): history[key] for key in history if key.startswith(prefix)}


def exploding_gradients(history, options) -> dict | None:
    """A layer's gradient norm spikes or turns non-finite while the loss is still finite.

    Definition: for a layer's ``grad_norm/<layer>`` series, a non-finite value, or a value at
    least :data:`EXPLODING_SPIKE` times the median of its earlier epochs (two at least); or a
    non-finite ``update_ratio/<layer>`` (the weights themselves blew up); each only in an epoch
    before the first non-finite loss (:func:`non_finite_loss`). From that epoch on every weight
    is NaN, so a NaN norm is a consequence, not evidence: a run that blew up within one epoch and
    a run fed a NaN look the same in an epoch record, and only ``non_finite_loss`` is named
    (lesson 08 tells them apart from the norms of single batches). Spikes are judged
    against the layer's own history because a "large" norm depends on the loss's scale;
    AUTOTRAINER compares first and last layers (ratio > 70), which confuses a large read-out
    gradient with an explosion. The size of the update ratio is recorded but not judged: over
    a whole epoch, and above all the first, weights legitimately move by a large fraction of
    their initial size (lesson 04's Adam at 0.05 moves the LSTM by 1.6x its size in epoch 1);
    the CS231n rule of thumb (updates about 1e-3 of the weights) is per step.
    """
    found = []
    blown = non_finite_loss(history, options)
    before = blown["epoch"] - 1 if blown else None      # epochs judged: those before it
    for layer, norms in _layer_series(history, GRAD_PREFIX).items():
        for t, value in enumerate(norms[:before]):
            if not np.isfinite(value):
                found.append((t, layer, "gradient norm", str(value)))
                break
            if t >= 2 and value >= EXPLODING_SPIKE * np.median(norms[:t]) > 0:
                spike = _nice(value / np.median(norms[:t]))
                found.append((t, layer, "gradient norm / earlier median", spike))
                break
    for layer, ratios in _layer_series(history, UPDATE_PREFIX).items():
        bad = np.flatnonzero(~np.isfinite(ratios[:before]))
        if bad.size:
            found.append((int(bad[0]), layer, "update ratio", str(ratios[bad[0]])))
    if not found:
        return None
    t, layer, what, value = min(found, key=lambda item: item[0])
    return {"epoch": t + 1, "evidence": {"layer": layer, "measure": what, "value": value},
            "explanation": f"the {what} of layer {layer!r} reached {value} at epoch {t + 1}: clip the "
                           f"gradients (clipnorm / global_clipnorm) or lower the learning rate."}


def vanishing_gradients(history, options) -> dict | None:
    """One layer's gradient is a vanishing fraction of another's, in most epochs.

    Definition: in at least half of the epochs (and two at least), either the smallest layer
    gradient norm is below :data:`VANISHING_RATIO` of the largest *and* below
    :data:`VANISHING_NORM` (AUTOTRAINER's two conditions), or below :data:`VANISHING_ABSOLUTE`
    outright (SageMaker's default, there on the mean absolute gradient). Requiring most epochs
    keeps one quiet epoch from counting.
    """
    layers = _layer_series(history, GRAD_PREFIX)
    if len(layers) < 1:
        return None
    norms = np.vstack(list(layers.values()))             # (n_layers, n_epochs)
    names = list(layers)
    # An epoch whose every norm is NaN (a run that blew up) has no smallest layer: it stays NaN and
    # counts as not vanishing, without numpy's "All-NaN slice" warning in the notebook.
    with np.errstate(divide="ignore", invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        smallest, largest = np.nanmin(norms, axis=0), np.nanmax(norms, axis=0)
        ratio = smallest / largest
    vanishing = ((ratio < VANISHING_RATIO) & (smallest < VANISHING_NORM)) | (smallest < VANISHING_ABSOLUTE)
    if vanishing.sum() < max(2, np.ceil(norms.shape[1] / 2)):
        return None
    t = int(np.flatnonzero(vanishing)[0])
    layer = names[int(np.nanargmin(norms[:, t]))]
    return {"epoch": t + 1, "evidence": {"layer": layer, "gradient_norm": _nice(smallest[t]),
                                         "ratio_to_largest": _nice(ratio[t]),
                                         "epochs_vanishing": int(vanishing.sum())},
            "explanation": f"layer {layer!r} receives almost no gradient ({smallest[t]:.1e}) in "
                           f"{int(vanishing.sum())} of {norms.shape[1]} epochs: scale the inputs, "
                           f"shorten the sequences or check the activations."}


def constant_predictions(history, options) -> dict | None:
    """The model gives (almost) the same output whatever the input.

    Definition: in each of the last three epochs (all, if fewer), the recorded
    ``prediction_spread`` (std of predictions / std of targets on a fixed sample, logged by
    :class:`~lstm_lessons.doctor.callback.TrainingDoctor`) is below :data:`CONSTANT_SPREAD`, or the
    ``majority_prediction_share`` (share of the sample given the most frequent class) is at
    least :data:`CONSTANT_SHARE`. Without those keys: an accuracy-like metric that is exactly
    constant over the second half of a run of at least 6 epochs, below 0.999; the training
    accuracy when the history has one, since a validation accuracy on a few examples (20 of 21
    right, epoch after epoch) stays put for a model that learns, too. A model that predicts the
    prior sits at the majority-class rate in both (lesson 02). The thresholds
    are ours: no source above defines this symptom; 0.01 and 0.999 mean "no variation at all"
    so that a model that merely predicts cautiously is not flagged.
    """
    n = history["loss"].size
    tail = slice(max(0, n - 3), n)
    if "prediction_spread" in history and np.all(history["prediction_spread"][tail] < CONSTANT_SPREAD):
        spread = _nice(history["prediction_spread"][-1])
        return {"epoch": tail.start + 1,
                "evidence": {"prediction_spread": spread, "threshold": CONSTANT_SPREAD},
                "explanation": "the predictions hardly vary across inputs: the model outputs the mean."}
    share = history.get("majority_prediction_share")
    if share is not None and np.all(share[tail] >= CONSTANT_SHARE):
        return {"epoch": tail.start + 1,
                "evidence": {"majority_prediction_share": _nice(share[-1])},
                "explanation": "every input gets the same class: the model predicts the prior; weight the "
                               "classes and compare accuracy with the majority rate."}
    if n >= 6:
        keys = sorted(k for k in history if k.endswith("acc") or k.endswith("accuracy"))
        training_keys = [k for k in keys if not k.startswith("val_")]
        for key in training_keys or keys:
            second_half = history[key][n // 2:]
            if np.all(np.isfinite(second_half)) and np.ptp(second_half) == 0 and second_half[0] < 0.999:
                return {"epoch": n // 2 + 1, "evidence": {"key": key, "value": _nice(second_half[0]),
                                                          "epochs_unchanged": int(second_half.size)},
                        "explanation": f"{key} is exactly {second_half[0]:.4g} for the last "
                                       f"{second_half.size} epochs: the predicted classes do not change, "
                                       f"typically the majority class."}
    return None


def suspected_leakage(history, options) -> dict | None:
    """Validation far better than training: the validation data may be leaking into training.

    Definition: the median over epochs 2 onward of ``val_loss / loss`` is below
    :data:`LEAKAGE_RATIO` (validation five times better). A validation period that is merely
    calmer can be 2 to 3 times better (lesson 03's validation years are), hence the low line;
    UMLAUT's heuristics likewise treat validation accuracy above training accuracy as a
    warning sign.
    """
    if "val_loss" not in history or history["loss"].size < 3:
        return None
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = history["val_loss"][1:] / history["loss"][1:]
    ratio = ratio[np.isfinite(ratio)]
    if ratio.size < 2 or np.median(ratio) >= LEAKAGE_RATIO:
        return None
    return {"epoch": 2, "evidence": {"median_val_to_train_loss": _nice(np.median(ratio)),
                                     "threshold": LEAKAGE_RATIO},
            "explanation": f"the validation loss is {1 / np.median(ratio):.0f} times lower than the training "
                           f"loss: check for windows or scaling shared between training and validation."}


def missing_monitor_key(history, options) -> dict | None:
    """A key that a callback monitors was never logged.

    Definition: a name in ``monitors`` (an option of :func:`~lstm_lessons.doctor.diagnose`, or
    collected from ModelCheckpoint, EarlyStopping and ReduceLROnPlateau by the
    ``TrainingDoctor``) is not a key of the history. Keras >= 3.10's ModelCheckpoint then
    saves every epoch and EarlyStopping never stops (lesson 04).
    """
    missing = [m for m in options.get("monitors", ()) if m not in history]
    return missing_monitor_finding(missing, sorted(history)) if missing else None


def missing_monitor_finding(missing, logged) -> dict:
    """The finding of :func:`missing_monitor_key` for keys known to be ``missing`` from ``logged``."""
    return {"epoch": 1, "evidence": {"missing": list(missing), "logged": list(logged)},
            "explanation": f"{', '.join(repr(m) for m in missing)} never appears in the logs, so the "
                           f"callbacks watching it cannot work; pass validation data or fix the name."}


def subset_disparity(history, options) -> dict | None:
    """One validation group is much worse than another.

    Definition: the ``subsets`` option (a :class:`~lstm_lessons.subsets.SubsetReport`) has a
    worst/best error ratio of at least
    :data:`lstm_lessons.subsets.DISPARITY_THRESHOLD` (see there for why 2).
    """
    report = options.get("subsets")
    if report is None:
        return None
    from lstm_lessons.subsets import DISPARITY_THRESHOLD

    disparity = report.disparity()
    if disparity < DISPARITY_THRESHOLD:
        return None
    return {"epoch": None, "evidence": {"metric": report.metric, "disparity": _nice(disparity),
                                        "worst": str(report.worst), "best": str(report.best),
                                        "threshold": DISPARITY_THRESHOLD},
            "explanation": f"the {report.metric} of group {report.worst} is {disparity:.1f} times that of "
                           f"group {report.best}: the average hides it."}


RULES = {
    "non_finite_loss": non_finite_loss,
    "stagnant_loss": stagnant_loss,
    "oscillating_loss": oscillating_loss,
    "unstable_training": unstable_training,
    "overfitting": overfitting,
    "exploding_gradients": exploding_gradients,
    "vanishing_gradients": vanishing_gradients,
    "constant_predictions": constant_predictions,
    "suspected_leakage": suspected_leakage,
    "missing_monitor_key": missing_monitor_key,
    "subset_disparity": subset_disparity,
}
"""Every symptom the doctor knows, in the order they are checked and reported."""
