"""Seeding and training helpers: reproducible runs, the learning-rate range test, and callbacks
that record what `fit` itself does not log."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstm_lessons._tf import keras, tf


def seed_everything(seed: int) -> None:
    """Make a run repeatable: seed Python, NumPy and TensorFlow, and make ops deterministic.

    Calls ``keras.utils.set_random_seed`` (Python's ``random``, NumPy and the backend) and
    ``tf.config.experimental.enable_op_determinism()``, so the same seed on the same machine
    gives the same weights, batches and losses. Different CPUs may still differ in the last
    digits, which is why lessons state their claims as inequalities.

    Raises:
        ValueError: ``seed`` is not an integer in ``[0, 2**32 - 1]``.
    """
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or not 0 <= seed < 2**32:
        raise ValueError(f"seed must be an integer in [0, 4294967295]. Received: seed={seed!r}")
    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


@dataclass(frozen=True)
class RangeTestResult:
    """Outcome of :func:`lr_range_test`.

    Attributes:
        learning_rates: ``(n_steps,)`` learning rate used at each step.
        losses: ``(n_steps,)`` training loss of each step's batch.
        smoothed: ``(n_steps,)`` bias-corrected exponential moving average of ``losses``.
        suggestion: the suggested learning rate (see :func:`lr_range_test`).
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    suggestion: float


def lr_range_test(build_model: Callable[[float], keras.Model], x, y, *, min_lr: float = 1e-4,
                  max_lr: float = 1.0, steps: int = 100, batch_size: int = 32,
                  smoothing: float = 0.9, divergence: float = 4.0) -> RangeTestResult:
    """Learning-rate range test: train briefly while the learning rate grows exponentially.

    A fresh model from ``build_model(min_lr)`` is trained for at most ``steps`` mini-batches;
    before step ``k`` its learning rate is set to ``min_lr * (max_lr / min_lr) ** (k / (steps-1))``.
    Each batch's loss comes from ``train_on_batch``; the curve is smoothed with a
    bias-corrected exponential moving average (factor ``smoothing``) and the test stops once
    the smoothed loss exceeds ``divergence`` times its minimum. The suggestion is the learning
    rate at the smoothed minimum divided by 10: the loss is still falling fast there, one
    order of magnitude below where training becomes unstable.

    Caveat: the model also learns during the test, so part of the fall of the loss is
    progress, not a verdict on the rate; read the suggestion as an upper bound to try, and
    seed the run (:func:`seed_everything`) to make it repeatable.

    Sources: L. N. Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017,
    section 3.3 (the range test); the divide-by-ten rule and the stop at 4x the minimum are
    the defaults of fastai's ``lr_find``.

    Args:
        build_model: called with a learning rate, returns a compiled model.
        x: inputs ``(n_windows, lookback, n_features)``.
        y: targets ``(n_windows, horizon)``.
        min_lr, max_lr: learning-rate range, ``0 < min_lr < max_lr``.
        steps: number of mini-batches at most (>= 10).
        batch_size: windows per mini-batch.
        smoothing: moving-average factor in [0, 1).
        divergence: stop when smoothed loss > ``divergence`` x its minimum (> 1).

    Raises:
        ValueError: a range or size argument is out of its allowed range.
    """
    if not 0 < min_lr < max_lr:
        raise ValueError(f"Need 0 < min_lr < max_lr. Received: min_lr={min_lr!r}, max_lr={max_lr!r}")
    if steps < 10:
        raise ValueError(f"steps must be >= 10. Received: steps={steps!r}")
    if not 0 <= smoothing < 1 or divergence <= 1:
        raise ValueError(f"Need 0 <= smoothing < 1 and divergence > 1. "
                         f"Received: smoothing={smoothing!r}, divergence={divergence!r}")
    x, y = np.asarray(x), np.asarray(y)
    model = build_model(min_lr)
    rates = min_lr * (max_lr / min_lr) ** (np.arange(steps) / (steps - 1))
    order = np.random.permutation(len(x))
    n_batches = max(1, len(x) // batch_size)
    lrs, losses, smoothed = [], [], []
    average, best = 0.0, np.inf
    for k, rate in enumerate(rates):
        start = (k % n_batches) * batch_size
        batch = order[start:start + batch_size]
        model.optimizer.learning_rate.assign(rate)
        loss = float(np.atleast_1d(model.train_on_batch(x[batch], y[batch]))[0])
        if not np.isfinite(loss):
            break
        average = smoothing * average + (1 - smoothing) * loss
        value = average / (1 - smoothing ** (k + 1))
        lrs.append(rate), losses.append(loss), smoothed.append(value)
        best = min(best, value)
        if value > divergence * best:
            break
    smoothed_arr = np.array(smoothed)
    suggestion = float(lrs[int(np.argmin(smoothed_arr))] / 10) if lrs else float(min_lr)
    return RangeTestResult(np.array(lrs), np.array(losses), smoothed_arr, suggestion)


class ValidationLossLogger(keras.callbacks.Callback):
    """Evaluates the model on fixed validation windows after every epoch, whatever ``fit`` was given.

    ``fit`` logs ``val_loss`` only when it receives validation data. Lesson 04 trains without
    it on purpose (to show what ``ModelCheckpoint`` then saves) and still needs the truth about
    every epoch: this callback measures it on the side, without adding anything to the logs,
    so the other callbacks see exactly what ``fit`` logged.

    Args:
        x: validation inputs ``(n_windows, lookback, n_features)``.
        y: validation targets ``(n_windows, horizon)``.

    Attributes:
        losses: the model's compiled loss on ``(x, y)`` after each epoch, in order (the units of
            the loss, e.g. squared scaled units for ``mse``).

    Example:
        >>> truth = ll.training.ValidationLossLogger(data.x_val, data.y_val)
        >>> model.fit(data.x_train, data.y_train, epochs=10, callbacks=[truth])
        >>> truth.losses
    """

    def __init__(self, x, y):
        super().__init__()
        self.x, self.y = x, y
        self.losses: list[float] = []

    def on_train_begin(self, logs=None):
        self.losses = []

    def on_epoch_end(self, epoch, logs=None):
        self.losses.append(validation_loss(self.model, self.x, self.y))


def validation_loss(model: keras.Model, x, y) -> float:
    """The compiled loss of ``model`` on ``(x, y)``: ``evaluate(..., return_dict=True)["loss"]``.

    ``evaluate`` returns a list when the model has metrics and a float when it has none; the
    dict form is the same whatever the metrics (lesson 04's failure 5).
    """
    return float(model.evaluate(x, y, verbose=0, return_dict=True)["loss"])


class FileWriteLogger(keras.callbacks.Callback):
    """Records the epochs after which a file was (re)written, by its modification time.

    Put it after the callback that writes the file (a ``ModelCheckpoint``): callbacks run in
    list order at the end of each epoch.

    Args:
        path: the file to watch; it need not exist yet.

    Attributes:
        epochs: 1-based epochs after which the file had a new modification time.
    """

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)
        self.epochs: list[int] = []
        self._stamp = None

    def on_train_begin(self, logs=None):
        self.epochs, self._stamp = [], self._modified()

    def _modified(self):
        return self.path.stat().st_mtime_ns if self.path.exists() else None

    def on_epoch_end(self, epoch, logs=None):
        stamp = self._modified()
        if stamp is not None and stamp != self._stamp:
            self.epochs.append(epoch + 1)
        self._stamp = stamp
