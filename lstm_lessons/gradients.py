"""Gradient norms per layer and the size of each weight update, measured during training.

Keras callbacks never see gradients: ``fit`` computes and applies them inside its compiled
train step. :func:`layer_gradient_norms` therefore recomputes them with a ``GradientTape``
on a fixed sample of training windows, and :class:`GradientNormLogger` does so at the end
of every epoch, adding one ``grad_norm/<layer>`` entry per layer to the epoch's logs (so
they appear in ``History.history`` and in a ``CSVLogger`` file). :class:`UpdateNormLogger`
measures what the optimizer actually did: the L2 norm of the change of all trainable
weights made by each batch. :func:`saturated_share` measures why a layer passes no gradient
back: how many of an LSTM's gate activations sit where their derivative is almost zero.
"""

from __future__ import annotations

import weakref

import numpy as np

from lstm_lessons._runtime import compile_loss
from lstm_lessons._tf import keras, tf
from lstm_lessons.curves import GRAD_PREFIX
from lstm_lessons.params import Rule, require

_PROBES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _probe(model: keras.Model):
    """A compiled function (x, y) -> (squared gradient norm of each weight, predictions).

    Traced once per model and kept while the model lives, so measuring every epoch costs one
    graph execution, not a slow eager pass through the LSTM's time steps. A model compiled
    again (new loss) gets a new probe.
    """
    key = (id(compile_loss(model)), len(model.trainable_weights))
    cached = _PROBES.get(model)
    if cached is not None and cached[0] == key:
        return cached[1]
    variables = list(model.trainable_weights)

    @tf.function(reduce_retracing=True)
    def probe(x, y):
        with tf.GradientTape() as tape:
            y_pred = model(x, training=False)
            loss = model.compute_loss(x=x, y=y, y_pred=y_pred)
        grads = tape.gradient(loss, variables)
        squares = [tf.reduce_sum(tf.square(g)) if g is not None else tf.constant(0.0) for g in grads]
        return squares, y_pred

    _PROBES[model] = (key, probe)
    return probe


def probe_model(model: keras.Model, x, y) -> tuple[dict[str, float], np.ndarray]:
    """Gradient norm of each layer and the predictions, from one compiled pass over ``x``.

    See :func:`layer_gradient_norms` for the definition; the predictions are the model's
    outputs for ``x`` in inference mode.

    Raises:
        ValueError: the model is not compiled (no loss to differentiate).
    """
    if compile_loss(model) is None:
        raise ValueError(f"Model {model.name!r} is not compiled: call model.compile(loss=...) first.")
    squares, y_pred = _probe(model)(tf.convert_to_tensor(np.asarray(x, dtype="float32")),
                                    tf.convert_to_tensor(np.asarray(y, dtype="float32")))
    squares = [float(v) for v in squares]
    norms, start = {}, 0
    for layer in model.layers:
        count = len(layer.trainable_weights)
        if count:
            norms[layer.name] = float(np.sqrt(sum(squares[start:start + count])))
            start += count
    return norms, np.asarray(y_pred)


def layer_gradient_norms(model: keras.Model, x, y) -> dict[str, float]:
    """L2 norm of the loss gradient with respect to each layer's trainable weights.

    One forward and backward pass over all of ``x`` with the model's compiled loss (plus any
    regularisation losses), in inference mode: dropout is off and no layer updates its
    statistics (BatchNormalization would in training mode), so measuring never changes the
    model being trained. The norm of a layer is the norm of all its weight gradients taken
    together: ``sqrt(sum_w ||dL/dw||^2)``. The pass is a compiled TensorFlow function, traced
    on the first call for each model.

    Args:
        model: a compiled model.
        x: inputs, e.g. ``(n_windows, lookback, n_features)``.
        y: the matching targets.

    Returns:
        ``{layer_name: norm}`` for every layer with trainable weights, in layer order.

    Raises:
        ValueError: the model is not compiled (no loss to differentiate).
    """
    return probe_model(model, x, y)[0]


def input_gradient_profile(model: keras.Model, x, y) -> np.ndarray:
    """How strongly the loss depends on each time step of the input: the mean absolute gradient
    of the loss with respect to the input at step ``t``, averaged over the windows and features.

    Step ``-1`` (the last) is the one the model read just before it answered; a plain RNN's
    profile typically decays about geometrically towards the first steps (the vanishing gradient
    through time: Bengio, Simard and Frasconi, "Learning long-term dependencies with gradient
    descent is difficult", IEEE Trans. Neural Networks 1994), an LSTM's much more slowly
    (Hochreiter and Schmidhuber, "Long Short-Term Memory", Neural Computation 1997). One
    backward pass over all of ``x`` with the model's compiled loss, in inference mode.

    Args:
        model: a compiled model reading ``(n_windows, lookback, n_features)``.
        x: inputs ``(n_windows, lookback, n_features)``.
        y: the matching targets.

    Returns:
        ``(lookback,)`` float array, in units of loss per unit of input.

    Raises:
        ValueError: the model is not compiled, or ``x`` is not 3-D or differs from ``y`` in length.
    """
    if compile_loss(model) is None:
        raise ValueError(f"Model {model.name!r} is not compiled: call model.compile(loss=...) first.")
    x, y = np.asarray(x, dtype="float32"), np.asarray(y, dtype="float32")
    if x.ndim != 3 or len(x) != len(y) or not len(x):
        raise ValueError(f"x must be (n_windows, lookback, n_features) with one target each. "
                         f"Received x of shape {x.shape} and {len(y)} targets.")
    inputs = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(inputs)
        loss = model.compute_loss(x=inputs, y=tf.convert_to_tensor(y), y_pred=model(inputs, training=False))
    gradient = np.abs(np.asarray(tape.gradient(loss, inputs)))
    return gradient.mean(axis=(0, 2))


def check_sample_size(sample_size) -> int:
    """Return ``sample_size`` if it is a positive integer.

    Raises:
        ValueError: otherwise, naming the value received.
    """
    return require("sample_size", sample_size, Rule(int, 1, meaning="training windows measured"))


def fixed_sample(x, y, sample_size: int, shuffle: bool = False, seed: int = 0):
    """The windows a gradient measurement uses every epoch: ``sample_size`` of ``(x, y)``.

    The first ``sample_size`` windows, or a seeded random choice (kept in time order) if
    ``shuffle``; all of them if there are fewer.

    Raises:
        ValueError: ``sample_size`` is not a positive integer, or ``x`` and ``y`` differ in length.
    """
    check_sample_size(sample_size)
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"x and y must have the same length. Received: len(x)={len(x)}, len(y)={len(y)}")
    order = np.random.default_rng(seed).permutation(len(x)) if shuffle else np.arange(len(x))
    keep = np.sort(order[:sample_size])
    return x[keep], y[keep]


class GradientNormLogger(keras.callbacks.Callback):
    """Log the gradient norm of each layer at the end of every epoch.

    The gradients are computed on the same fixed sample of training windows each epoch
    (the first ``sample_size``, or a seeded random choice if ``shuffle``), so changes from
    epoch to epoch come from the weights, not from the sample. Cost: one extra forward and
    backward pass over ``sample_size`` windows per epoch.

    Each epoch adds ``grad_norm/<layer name>`` to the logs (kept by ``History`` and
    ``CSVLogger``, which run after user callbacks) and to :attr:`history`.

    Args:
        x: training inputs ``(n_windows, lookback, n_features)``.
        y: training targets.
        sample_size: windows used for the measurement (>= 1).
        shuffle: pick the sample at random (seeded by ``seed``) instead of the first windows.
        seed: seed of that choice.

    Raises:
        ValueError: ``sample_size`` is not a positive integer, or ``x`` and ``y`` differ in length.
    """

    def __init__(self, x, y, sample_size: int = 256, shuffle: bool = True, seed: int = 0):
        super().__init__()
        self.x, self.y = fixed_sample(x, y, sample_size, shuffle, seed)
        self.history: dict[str, list[float]] = {}

    def on_epoch_end(self, epoch, logs=None):
        for layer, norm in layer_gradient_norms(self.model, self.x, self.y).items():
            self.history.setdefault(layer, []).append(norm)
            if logs is not None:
                logs[GRAD_PREFIX + layer] = norm


class UpdateNormLogger(keras.callbacks.Callback):
    """Record the L2 norm of the weight change that each training batch makes.

    Before each batch the trainable weights are copied; after it, the norm of
    ``w_after - w_before`` over all of them is stored in :attr:`batch_norms`. Each epoch
    adds ``update_norm_mean`` and ``update_norm_max`` to the logs. With plain SGD the
    update is ``learning_rate * gradient``; with ``global_clipnorm=c`` it is at most
    ``learning_rate * c``. Adam divides by the gradient's running root-mean-square, so its
    steps are about ``learning_rate`` per weight whatever the gradient's size.

    Cost: two copies of the weights per batch; meant for lessons, not for long runs.
    """

    def __init__(self):
        super().__init__()
        self.batch_norms: list[float] = []
        self._before: list[np.ndarray] | None = None
        self._epoch_start = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = len(self.batch_norms)

    def on_train_batch_begin(self, batch, logs=None):
        self._before = [np.array(w.numpy()) for w in self.model.trainable_weights]

    def on_train_batch_end(self, batch, logs=None):
        after = [np.array(w.numpy()) for w in self.model.trainable_weights]
        squares = sum(float(np.sum((a - b) ** 2)) for a, b in zip(after, self._before, strict=True))
        self.batch_norms.append(float(np.sqrt(squares)))

    def on_epoch_end(self, epoch, logs=None):
        epoch_norms = np.array(self.batch_norms[self._epoch_start:])
        if logs is not None and epoch_norms.size:
            with np.errstate(invalid="ignore"):
                logs["update_norm_mean"] = float(np.mean(epoch_norms))
                logs["update_norm_max"] = float(np.max(epoch_norms))


SATURATED_DERIVATIVE = 0.01
"""A gate activation counts as saturated when its derivative is below this share of the
largest derivative its function has (sigmoid: 0.25 at 0; tanh: 1 at 0): ``|z|`` above about
6.9 for a sigmoid gate and 3.0 for the tanh cell input. Little gradient passes such a unit
(Hochreiter and Schmidhuber 1997, section 4; Glorot and Bengio 2010 on saturated units); the
1 % share is this course's own choice."""


def saturated_share(model: keras.Model, x, layer: str = "lstm") -> float:
    """The share of an LSTM layer's gate activations that are saturated on the inputs ``x``.

    Runs the layer over ``x`` ``(n_windows, lookback, n_features)`` with its trained weights and
    computes, at every step, the pre-activation ``z = x_t W + h_(t-1) U + b`` of its four gates
    (input, forget and output gates: sigmoid; cell input: tanh). An activation is saturated
    when its derivative is below :data:`SATURATED_DERIVATIVE` of its function's largest.

    Returns:
        The share in [0, 1] over windows, steps, units and the four gates.

    Raises:
        ValueError: ``layer`` is not an ``LSTM`` layer of ``model`` (the message names the
            model's layers), or ``x`` is not 3-dimensional.
    """
    found = {lay.name: lay for lay in model.layers}
    if not isinstance(found.get(layer), keras.layers.LSTM):
        lstm_layers = [n for n, lay in found.items() if isinstance(lay, keras.layers.LSTM)]
        raise ValueError(f"layer must name an LSTM layer of the model. Received: layer={layer!r}; "
                         f"LSTM layers: {lstm_layers}")
    x = np.asarray(x, dtype="float32")
    if x.ndim != 3:
        raise ValueError(f"x must have shape (n_windows, lookback, n_features). Received: shape {x.shape}")
    lstm = found[layer]
    kernel, recurrent, bias = (np.asarray(w) for w in lstm.get_weights())
    units = lstm.units
    sequence = keras.layers.LSTM(units, return_sequences=True)
    sequence.build(x.shape)
    sequence.set_weights([kernel, recurrent, bias])
    hidden = np.asarray(sequence(x))                                       # (n, steps, units)
    previous = np.concatenate([np.zeros_like(hidden[:, :1]), hidden[:, :-1]], axis=1)
    z = x @ kernel + previous @ recurrent + bias                           # (n, steps, 4 * units)
    gates = z.reshape(*z.shape[:2], 4, units)                              # Keras's order: i, f, c, o
    sigmoid = 1 / (1 + np.exp(-np.clip(gates, -60, 60)))
    derivative = sigmoid * (1 - sigmoid) / 0.25                            # as a share of the largest
    derivative[:, :, 2] = 1 - np.tanh(gates[:, :, 2]) ** 2
    return float(np.mean(derivative < SATURATED_DERIVATIVE))
