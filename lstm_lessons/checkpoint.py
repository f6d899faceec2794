"""Checkpointing that cannot silently go wrong, and proof that a saved model reloads intact.

Keras's ``ModelCheckpoint`` fails quietly in several ways (lesson 04): a monitored key that
is never logged makes Keras 3 warn and then save *every* epoch (``ModelCheckpoint._should_save_model``
returns ``True`` when the key is missing; tf.keras 2 skipped the save); ``mode="auto"`` with a
metric whose direction Keras cannot infer raises only at the end of the first epoch; a save
interrupted halfway can leave a broken file where a good one was; and the scaler the model
was trained with is not part of the file. :class:`SafeModelCheckpoint` closes each gap:

- at the start of training it checks that the monitored key will be logged (and suggests
  the right spelling, e.g. ``val_accuracy`` for ``val_acc``), and that its direction is
  known, raising :class:`MissingMonitorKeyError` or ``ValueError`` before any epoch runs;
- it writes to a temporary file in the same folder and renames it over the target
  (``os.replace`` is atomic on POSIX and Windows), so a failed save never replaces a good file;
- it stores the preprocessing object (e.g. a fitted scaler) inside the same ``.keras``
  archive, so model and preprocessing cannot drift apart.

:func:`load_checkpoint` reads both back; :func:`verify_reload` proves the reloaded model
predicts exactly what the original did.
"""

from __future__ import annotations

import difflib
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstm_lessons._runtime import compile_arguments, fit_has_validation, metric_direction
from lstm_lessons._tf import keras
from lstm_lessons.files import atomic_write

PREPROCESSING_ENTRY = "lstm_lessons/preprocessing.pkl"
"""Name of the archive member that holds the pickled preprocessing object."""

_LOWER_IS_BETTER = ("loss", "mae", "mse", "rmse", "mape", "msle", "error", "crossentropy", "hinge")
_HIGHER_IS_BETTER = ("acc", "accuracy", "auc", "precision", "recall", "r2", "f1", "iou")


class MissingMonitorKeyError(ValueError):
    """The key a callback monitors will not appear in the training logs."""


def log_keys(model: keras.Model, validation: bool) -> set[str] | None:
    """The keys ``model.fit`` will put in each epoch's logs, known from ``compile`` alone.

    Keras 3 names a compiled metric after the string given (``"acc"`` logs ``acc``,
    ``"accuracy"`` logs ``accuracy``), a function after its ``__name__`` and a metric
    object after its ``name``; validation keys add ``val_``.

    Args:
        model: a compiled model.
        validation: whether ``fit`` receives validation data.

    Returns:
        The set of keys, or ``None`` when they cannot be known before training (several
        outputs, or metrics given per output as a dict).
    """
    config = compile_arguments(model)
    if config is None:
        return None
    if len(model.outputs or []) > 1:
        return None
    names = {"loss"}
    for key in ("metrics", "weighted_metrics"):
        metrics = config.get(key) or []
        if isinstance(metrics, dict):
            return None
        for metric in metrics:
            if isinstance(metric, str):
                names.add(metric)
            elif hasattr(metric, "name"):
                names.add(metric.name)
            elif hasattr(metric, "__name__"):
                names.add(metric.__name__)
            else:
                return None
    return names | {f"val_{n}" for n in names} if validation else names


def monitor_direction(model: keras.Model, monitor: str) -> str | None:
    """``"min"`` or ``"max"`` for a monitored key, or ``None`` when it cannot be inferred.

    Uses a compiled metric object's own direction when it declares one (Keras metrics
    such as ``AUC`` do), else the name: losses and errors go down, accuracies, AUC,
    precision and recall go up.
    """
    name = monitor.removeprefix("val_")
    config = compile_arguments(model) or {}
    for metric in config.get("metrics") or []:
        if getattr(metric, "name", None) == name and (direction := metric_direction(metric)) is not None:
            return "max" if direction == "up" else "min"
    lowered = name.lower()
    if any(lowered == k or lowered.endswith(k) for k in _LOWER_IS_BETTER):
        return "min"
    if any(lowered == k or lowered.endswith(k) for k in _HIGHER_IS_BETTER):
        return "max"
    return None


def check_monitor(model: keras.Model, monitor: str, validation: bool) -> None:
    """Raise if ``monitor`` will not be in the logs of ``model.fit``.

    Raises:
        MissingMonitorKeyError: naming the key, the keys that will be logged and, when one
            is close, the likely intended spelling; or explaining that ``val_`` keys need
            validation data.
    """
    keys = log_keys(model, validation)
    if keys is None or monitor in keys:
        return
    if monitor.startswith("val_") and not validation and monitor.removeprefix("val_") in keys:
        raise MissingMonitorKeyError(
            f"monitor={monitor!r} will never be logged: fit() has no validation data, so no "
            f"'val_' keys exist. Pass validation_data= (or validation_split=) to fit(), or "
            f"monitor one of {sorted(keys)}.")
    close = difflib.get_close_matches(monitor, sorted(keys), n=1, cutoff=0.6)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise MissingMonitorKeyError(
        f"monitor={monitor!r} will never be logged; fit() will log {sorted(keys)}.{hint}")


def save_atomically(model: keras.Model, filepath, preprocessing=None) -> Path:
    """Save ``model`` (and optionally its preprocessing) so the file is whole or untouched.

    The model is written to a temporary ``.keras`` file in the target's folder, the pickled
    ``preprocessing`` is added to that archive as :data:`PREPROCESSING_ENTRY`, and only then
    is the temporary file renamed over ``filepath``. If anything fails or is interrupted
    before the rename, the temporary file is removed and an existing ``filepath`` is left
    as it was.

    Args:
        model: the model to save.
        filepath: target path; must end in ``.keras`` (the Keras 3 format).
        preprocessing: any picklable object, e.g. a fitted ``StandardScaler``.

    Returns:
        The path written.

    Raises:
        ValueError: ``filepath`` does not end in ``.keras``.
        Any error of ``model.save`` or pickling, after cleaning up.
    """
    path = Path(filepath)
    if path.suffix != ".keras":
        raise ValueError(f"A full-model checkpoint must end in '.keras'. "
                         f"Received: filepath={str(filepath)!r}")
    with atomic_write(path, suffix=".tmp.keras") as temporary:
        model.save(temporary)
        if preprocessing is not None:
            with zipfile.ZipFile(temporary, "a") as archive:
                archive.writestr(PREPROCESSING_ENTRY, pickle.dumps(preprocessing))
    return path


def load_checkpoint(filepath, custom_objects=None):
    """Load a model saved by :func:`save_atomically` and the preprocessing stored with it.

    Only load files you trust: the preprocessing is unpickled.

    Returns:
        ``(model, preprocessing)``; ``preprocessing`` is ``None`` if none was stored.

    Raises:
        FileNotFoundError: no file at ``filepath``.
    """
    path = Path(filepath)
    if not path.is_file():
        raise FileNotFoundError(f"No checkpoint at filepath={str(filepath)!r}")
    model = keras.saving.load_model(path, custom_objects=custom_objects)
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        stored = archive.read(PREPROCESSING_ENTRY) if PREPROCESSING_ENTRY in names else None
    preprocessing = pickle.loads(stored) if stored is not None else None
    return model, preprocessing


class SafeModelCheckpoint(keras.callbacks.Callback):
    """Save the best model of a run, refusing at the start if "best" cannot be measured.

    At ``on_train_begin`` it checks that ``monitor`` will be logged (see
    :func:`check_monitor`; whether ``fit`` has validation data is read from the running
    ``fit`` call) and that the direction is known (``mode`` or :func:`monitor_direction`).
    At each epoch end it saves with :func:`save_atomically` when the monitored value
    improves on the best so far. If the key is still missing at an epoch end (a setup the
    start check could not see) it raises instead of saving.

    Args:
        filepath: where to save; must end in ``.keras``.
        monitor: key to watch, e.g. ``"val_loss"``.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (inferred, or an error at the start).
        preprocessing: object stored with the model (e.g. the fitted scaler).
        verbose: print a line for each save.

    Attributes:
        best: best monitored value so far; ``best_epoch``: its epoch (0-based);
        saved_epochs: every epoch at which the file was written.

    Raises:
        ValueError: bad ``filepath`` or ``mode`` (at construction), or an undeterminable
            direction (at the start of training).
        MissingMonitorKeyError: the monitored key will not be logged.
    """

    def __init__(self, filepath, monitor: str = "val_loss", mode: str = "auto",
                 preprocessing=None, verbose: bool = False):
        super().__init__()
        if Path(filepath).suffix != ".keras":
            raise ValueError(f"filepath must end in '.keras'. Received: filepath={str(filepath)!r}")
        if mode not in ("auto", "min", "max"):
            raise ValueError(f"mode must be 'auto', 'min' or 'max'. Received: mode={mode!r}")
        self.filepath, self.monitor, self.mode = Path(filepath), monitor, mode
        self.preprocessing, self.verbose = preprocessing, verbose
        self.best: float | None = None
        self.best_epoch: int | None = None
        self.saved_epochs: list[int] = []

    def on_train_begin(self, logs=None):
        validation = fit_has_validation(self.model)
        if validation is not None:
            check_monitor(self.model, self.monitor, validation)
        if self.mode == "auto":
            direction = monitor_direction(self.model, self.monitor)
            if direction is None:
                raise ValueError(f"Cannot tell whether monitor={self.monitor!r} should go up or down; "
                                 f"pass mode='min' or mode='max'.")
            self.mode = direction
        self.best, self.best_epoch, self.saved_epochs = None, None, []

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            raise MissingMonitorKeyError(f"monitor={self.monitor!r} is not in the logs of epoch "
                                         f"{epoch + 1}: {sorted(logs)}. Nothing was saved.")
        value = float(logs[self.monitor])
        better = self.best is None or (value < self.best if self.mode == "min" else value > self.best)
        if np.isfinite(value) and better:
            self.best, self.best_epoch = value, epoch
            save_atomically(self.model, self.filepath, self.preprocessing)
            self.saved_epochs.append(epoch)
            if self.verbose:
                print(f"epoch {epoch + 1}: {self.monitor} improved to {value:.4g}, saved {self.filepath}")


@dataclass(frozen=True)
class ReloadCheck:
    """Outcome of :func:`verify_reload`: ``identical`` and the largest prediction difference."""

    identical: bool
    max_difference: float


def verify_reload(model: keras.Model, filepath, x, atol: float = 0.0, custom_objects=None) -> ReloadCheck:
    """Reload ``filepath`` and compare its predictions on ``x`` with ``model``'s.

    Args:
        model: the model in memory.
        filepath: a ``.keras`` file (saved by :func:`save_atomically` or ``model.save``).
        x: inputs ``(n_samples, ...)`` to predict on.
        atol: largest absolute difference still counted as identical (0: bit-for-bit).

    Raises:
        FileNotFoundError: no file at ``filepath``.
    """
    reloaded, _ = load_checkpoint(filepath, custom_objects=custom_objects)
    before = np.asarray(model.predict(x, verbose=0))
    after = np.asarray(reloaded.predict(x, verbose=0))
    if before.shape != after.shape:
        return ReloadCheck(False, float("inf"))
    difference = float(np.max(np.abs(before - after))) if before.size else 0.0
    return ReloadCheck(difference <= atol, difference)
