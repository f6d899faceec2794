"""Seeding and training helpers: reproducible runs, the learning-rate range test, and callbacks
that record what `fit` itself does not log."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lstm_lessons._tf import keras, tf
from lstm_lessons.params import RULES, Rule, require


def seed_everything(seed: int) -> None:
    """Make a run repeatable: seed Python, NumPy and TensorFlow, and make ops deterministic.

    Calls ``keras.utils.set_random_seed`` (Python's ``random``, NumPy and the backend) and
    ``tf.config.experimental.enable_op_determinism()``, so the same seed on the same machine
    gives the same weights, batches and losses. Different CPUs may still differ in the last
    digits, which is why lessons state their claims as inequalities.

    Raises:
        ValueError: ``seed`` is not an integer in ``[0, 2**32 - 1]``.
    """
    require("seed", seed, RULES["seed"])
    keras.utils.set_random_seed(int(seed))
    tf.config.experimental.enable_op_determinism()


def compile_model(model: keras.Model, optimizer, loss, metrics=None,
                  steps_per_execution: int = 1) -> keras.Model:
    """``model.compile(optimizer, loss, metrics, steps_per_execution)``, then the optimiser's
    variables built at once.

    Keras 3's TensorFlow trainer leaves the optimiser unbuilt until the first training step is
    traced (``_maybe_symbolic_build`` in ``keras/src/backend/tensorflow/trainer.py``: "defer
    building to when the train/test/predict function gets traced"), and a ``tf.function`` whose
    first call creates variables is traced a second time once they exist (``_initialize`` in
    ``tensorflow/python/eager/polymorphic_function/polymorphic_function.py``; a profile of
    lesson 08's stack shows its training step traced twice). Built here, the first ``fit``
    traces its step once, which took a sixth to a fifth off the training time of lesson 08's
    models (``benchmarks/results/lesson-times.md``). The numbers are the same: the variables start at
    zero either way.

    ``steps_per_execution`` > 1 runs that many mini-batches in one call of the compiled step
    (Keras's ``Model.compile``): the same numbers with less Python between batches, but
    ``on_train_batch_end`` callbacks then see only every ``steps_per_execution``-th batch, so it
    suits training watched per epoch only (lesson 08's models: 15 to 20 % faster).

    Returns:
        ``model``, compiled.
    """
    model.compile(optimizer=optimizer, loss=loss, metrics=metrics, steps_per_execution=steps_per_execution)
    model.optimizer.build(model.trainable_variables)
    return model


_COMPILED: dict = {}
"""Compiled models by key (see :func:`fresh_model`), each with its optimiser's starting state."""


def fresh_model(key: tuple, build: Callable[[], keras.Model], seed: int) -> keras.Model:
    """A compiled model in exactly the state ``build()`` gives after ``seed_everything(seed)``,
    reusing the model of an earlier call with the same ``key`` instead of a new one.

    TensorFlow traces a new model's training step the first time it trains: about 2.5 s on 2
    cores, most of a short run on a small data set (lessons 05 and 06 train a dozen). A reused
    model gets the weights and the dropout seed state of the new build, and its optimiser's
    starting state (zero moments, step 0), so the numbers are those of the new model
    (``tests/test_generalisation.py`` and ``tests/test_leakage.py`` check it).

    Args:
        key: everything the compiled model depends on (architecture, optimiser and its settings,
            input shape); models with equal keys must differ only in their starting weights.
        build: returns a new compiled model.
        seed: as for :func:`seed_everything`.
    """
    seed_everything(seed)
    fresh = build()
    if key not in _COMPILED:
        if not fresh.optimizer.built:
            fresh.optimizer.build(fresh.trainable_variables)
        _COMPILED[key] = (fresh, [variable.numpy() for variable in fresh.optimizer.variables])
        return fresh
    model, optimizer_start = _COMPILED[key]
    for target, source in zip(model.variables, fresh.variables, strict=True):
        target.assign(source)
    for variable, start in zip(model.optimizer.variables, optimizer_start, strict=True):
        variable.assign(start)
    return model


@dataclass(frozen=True)
class RangeTestResult:
    """Outcome of :func:`lr_range_test`.

    Attributes:
        learning_rates: ``(n_steps,)`` learning rate used at each step.
        losses: ``(repeats, n_steps)`` training loss of each step's batch, per repeat.
        curves: ``(repeats, n_steps)`` each repeat's loss, smoothed by a bias-corrected
            exponential moving average.
        smoothed: ``(n_steps,)`` the repeats' smoothed curves averaged (geometric mean): the
            curve the suggestion is read from.
        suggestions: ``(repeats,)`` the rate each repeat alone would suggest (their spread is
            the test's own noise).
        suggestion: the suggested learning rate, read from ``smoothed`` (see :func:`lr_range_test`).
        rule: the rule that made the suggestions, ``"valley"`` or ``"minimum"``.
    """

    learning_rates: np.ndarray
    losses: np.ndarray
    curves: np.ndarray
    smoothed: np.ndarray
    suggestions: np.ndarray
    suggestion: float
    rule: str


RANGE_TEST_RULES = ("valley", "minimum")
"""Ways :func:`lr_range_test` reads a suggestion from a smoothed loss curve."""


def suggest_learning_rate(learning_rates, smoothed, rule: str = "valley") -> float:
    """Read a learning rate off a range test's smoothed loss curve.

    ``"valley"``: the longest stretch over which the loss keeps falling (the longest strictly
    decreasing subsequence of the curve, taken as running from its first to its last step),
    and the rate halfway along it; the first tenth of the steps, where the moving average is
    still warming up and a fresh model learns fastest at any rate, and the last five are left
    out. This is the rule of fastai's ``lr_find`` default suggestion, ``valley``.
    ``"minimum"``: the rate at the lowest loss divided by ten, fastai's older default
    (``minimum``). On a flat-bottomed curve the minimum wanders far between runs; the valley
    lies on the falling slope, where the curve is steep and its position well defined.

    Args:
        learning_rates: ``(n_steps,)`` increasing rates.
        smoothed: ``(n_steps,)`` smoothed losses at those rates.
        rule: ``"valley"`` or ``"minimum"``.

    Raises:
        ValueError: ``rule`` is not one of :data:`RANGE_TEST_RULES`; fewer than 2 steps.
    """
    if rule not in RANGE_TEST_RULES:
        raise ValueError(f"rule must be one of {RANGE_TEST_RULES}. Received: rule={rule!r}")
    rates, loss = np.asarray(learning_rates, dtype=float), np.asarray(smoothed, dtype=float)
    if len(rates) < 2 or len(rates) != len(loss):
        raise ValueError(f"Need two or more steps with one loss each. Received: "
                         f"{len(rates)} learning rates, {len(loss)} losses")
    if rule == "minimum":
        return float(rates[int(np.argmin(loss))] / 10)
    first, last = len(loss) // 10, len(loss) - 5 if len(loss) - 5 > len(loss) // 10 + 1 else len(loss)
    rates, loss = rates[first:last], loss[first:last]
    longest = np.ones(len(loss), dtype=int)   # longest decreasing subsequence ending at each step
    for i in range(1, len(loss)):
        earlier = longest[:i][loss[:i] > loss[i]]
        if earlier.size:
            longest[i] = earlier.max() + 1
    end = int(np.argmax(longest))
    start = end - int(longest[end]) + 1
    return float(rates[start + (end - start) // 2])


def lr_range_test(build_model: Callable[[float], keras.Model], x, y, *, min_lr: float = 1e-4,
                  max_lr: float = 1.0, steps: int = 100, batch_size: int = 32,
                  smoothing: float = 0.9, divergence: float = 4.0, repeats: int = 1,
                  rule: str = "valley") -> RangeTestResult:
    """Learning-rate range test: train briefly while the learning rate grows exponentially.

    A fresh model from ``build_model(min_lr)`` is trained for at most ``steps`` mini-batches;
    before step ``k`` its learning rate is set to ``min_lr * (max_lr / min_lr) ** (k / (steps-1))``.
    Each batch's loss comes from ``train_on_batch``; the curve is smoothed with a
    bias-corrected exponential moving average (factor ``smoothing``) and the test stops once
    the smoothed loss exceeds ``divergence`` times its minimum. With ``repeats`` > 1 the test
    runs that many times, each with a fresh model and batch order, and the smoothed curves are
    averaged (geometric mean, up to the step the shortest reached) before a suggestion is read
    from them by ``rule`` (see :func:`suggest_learning_rate`). One test's curve is noisy (the
    batches and the starting weights), and so is its suggestion: on lesson 01's data one test
    suggests 0.0087 to 0.032 over seeds 1-10, the average of three 0.011 to 0.015
    (``benchmarks/claims_margin.py`` runs).

    Caveat: the model also learns during the test, so part of the fall of the loss is
    progress, not a verdict on the rate; read the suggestion as a starting rate to verify,
    and seed the run (:func:`seed_everything`) to make it repeatable.

    Sources: L. N. Smith, "Cyclical Learning Rates for Training Neural Networks", WACV 2017,
    section 3.3 (the range test); the stop at 4x the minimum, the smoothing and both rules
    are those of fastai's ``lr_find``.

    Args:
        build_model: called with a learning rate, returns a compiled model.
        x: inputs ``(n_windows, lookback, n_features)``.
        y: targets ``(n_windows, horizon)``.
        min_lr, max_lr: learning-rate range, ``0 < min_lr < max_lr``.
        steps: number of mini-batches at most in each repeat (>= 10).
        batch_size: windows per mini-batch.
        smoothing: moving-average factor in [0, 1).
        divergence: stop when smoothed loss > ``divergence`` x its minimum (> 1).
        repeats: independent tests to average (>= 1).
        rule: ``"valley"`` (default) or ``"minimum"``.

    Raises:
        ValueError: a range, size or rule argument is out of its allowed range.
    """
    if not 0 < min_lr < max_lr:
        raise ValueError(f"Need 0 < min_lr < max_lr. Received: min_lr={min_lr!r}, max_lr={max_lr!r}")
    if steps < 10:
        raise ValueError(f"steps must be >= 10. Received: steps={steps!r}")
    if not 0 <= smoothing < 1 or divergence <= 1:
        raise ValueError(f"Need 0 <= smoothing < 1 and divergence > 1. "
                         f"Received: smoothing={smoothing!r}, divergence={divergence!r}")
    require("repeats", repeats, Rule(int, 1, meaning="runs of the range test averaged"))
    if rule not in RANGE_TEST_RULES:
        raise ValueError(f"rule must be one of {RANGE_TEST_RULES}. Received: rule={rule!r}")
    x, y = np.asarray(x), np.asarray(y)
    rates = min_lr * (max_lr / min_lr) ** (np.arange(steps) / (steps - 1))
    runs = [_range_test_once(build_model, x, y, rates, batch_size, smoothing, divergence)
            for _ in range(repeats)]
    n = min(len(losses) for losses, _ in runs)
    if n < 2:
        raise ValueError(f"The range test stopped after {n} step(s): the loss was not finite or "
                         f"diverged at once. Lower min_lr (received {min_lr!r}).")
    losses = np.array([run[:n] for run, _ in runs])
    curves = np.array([curve[:n] for _, curve in runs])
    smoothed = np.exp(np.log(curves).mean(axis=0))
    rates = rates[:n]
    suggestions = np.array([suggest_learning_rate(rates, curve, rule) for curve in curves])
    return RangeTestResult(rates, losses, curves, smoothed, suggestions,
                           suggest_learning_rate(rates, smoothed, rule), rule)


def _range_test_once(build_model, x, y, rates, batch_size, smoothing, divergence):
    """One range test: the batch losses and their smoothed curve, up to a stop."""
    model = build_model(float(rates[0]))
    order = np.random.permutation(len(x))
    n_batches = max(1, len(x) // batch_size)
    losses, smoothed = [], []
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
        losses.append(loss), smoothed.append(value)
        best = min(best, value)
        if value > divergence * best:
            break
    return np.array(losses), np.array(smoothed)


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
    """Records the epochs after which a file was (re)written, by a digest of its bytes.

    Put it after the callback that writes the file (a ``ModelCheckpoint``): callbacks run in
    list order at the end of each epoch. The bytes are compared, not the modification time,
    which some file systems keep to the second: an epoch can take less. A rewrite with the very
    same bytes is not seen; the file then holds what it held.

    Args:
        path: the file to watch; it need not exist yet.

    Attributes:
        epochs: 1-based epochs after which the file had new bytes.
    """

    def __init__(self, path):
        super().__init__()
        self.path = Path(path)
        self.epochs: list[int] = []
        self._digest = None

    def on_train_begin(self, logs=None):
        self.epochs, self._digest = [], self._bytes_digest()

    def _bytes_digest(self):
        return hashlib.sha256(self.path.read_bytes()).digest() if self.path.exists() else None

    def on_epoch_end(self, epoch, logs=None):
        digest = self._bytes_digest()
        if digest is not None and digest != self._digest:
            self.epochs.append(epoch + 1)
        self._digest = digest


def batches(x, y, batch_size: int | None = None, *, shuffle: bool = True, augment=None,
            seed: int = 0) -> tf.data.Dataset:
    """A ``tf.data`` pipeline of ``(x, y)`` mini-batches for ``fit``, built once and reused every epoch.

    With ``shuffle`` the order is drawn afresh each epoch (``reshuffle_each_iteration``); with
    ``augment`` each batch is transformed on its way to the model, freshly each epoch, so the
    model never sees the same augmented example twice; validation and test batches get neither.
    Pass the result to ``fit`` with ``shuffle=False`` (the pipeline already shuffles; Keras
    warns otherwise).

    Why not plain arrays: ``fit`` turns arrays into a new ``tf.data`` pipeline every epoch;
    on a data set of a few dozen sequences that setup costs more than the training step
    (lesson 05: 44 ms against 118 ms an epoch, both with validation, on 2 cores).

    Args:
        x: inputs ``(n, n_steps, n_features)``.
        y: targets ``(n,)`` or ``(n, k)``.
        batch_size: examples per batch; ``None``: all of them in one batch.
        shuffle: reshuffle the examples every epoch.
        augment: ``f(x_batch, rng) -> x_batch`` on NumPy arrays (see :mod:`lstm_lessons.augment`).
        seed: seeds the shuffling and the augmentation's ``numpy.random.Generator``.

    Raises:
        ValueError: ``x`` and ``y`` differ in length, ``batch_size`` is not an integer >= 1.
    """
    x, y = np.asarray(x, dtype="float32"), np.asarray(y, dtype="float32")
    if len(x) != len(y) or len(x) == 0:
        raise ValueError(f"x and y must hold the same number (>= 1) of examples. "
                         f"Received {len(x)} and {len(y)}.")
    batch_size = len(x) if batch_size is None else batch_size
    require("batch_size", batch_size, Rule(int, 1, meaning="examples per batch; None: all in one"))
    dataset = tf.data.Dataset.from_tensor_slices((x, y))
    if shuffle:
        dataset = dataset.shuffle(len(x), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(int(batch_size))
    if augment is not None:
        rng = np.random.default_rng(seed)

        def transform(batch):
            return np.asarray(augment(batch, rng), dtype="float32")

        def on_batch(batch_x, batch_y):
            changed = tf.numpy_function(transform, [batch_x], tf.float32, stateful=True)
            changed.set_shape(batch_x.shape)
            return changed, batch_y

        dataset = dataset.map(on_batch)
    return dataset.prefetch(2)
