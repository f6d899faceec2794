"""Model builders shared by the lessons."""

from __future__ import annotations

import numpy as np

from lstm_lessons._tf import keras
from lstm_lessons.training import compile_model


def build_lstm_regressor(lookback: int, n_features: int = 1, units: int = 32, horizon: int = 1,
                         learning_rate=1e-3, clipnorm: float | None = None,
                         name: str = "lstm_regressor") -> keras.Model:
    """One LSTM layer and a linear read-out, compiled with Adam and mean squared error.

    Args:
        lookback: steps in each input window.
        n_features: features per step.
        units: size of the LSTM's hidden state.
        horizon: number of future steps predicted.
        learning_rate: Adam's learning rate: a number, or a schedule
            (``keras.optimizers.schedules.LearningRateSchedule``, as in lesson 04).
        clipnorm: if given, Adam clips each gradient tensor to this L2 norm.
        name: the model's name.

    Returns:
        A compiled ``keras.Model`` mapping ``(batch, lookback, n_features)`` to
        ``(batch, horizon)``; loss ``mse``, metric ``mae``.
    """
    inputs = keras.Input(shape=(lookback, n_features), name="window")
    hidden = keras.layers.LSTM(units, name="lstm")(inputs)
    outputs = keras.layers.Dense(horizon, name="forecast")(hidden)
    model = keras.Model(inputs, outputs, name=name)
    return compile_model(model, keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm),
                         loss="mse", metrics=["mae"])


def build_lstm_classifier(n_steps: int, n_features: int, units: int = 16, learning_rate=1e-3,
                          name: str = "lstm_classifier", *, dropout: float = 0.0,
                          recurrent_dropout: float = 0.0, l2: float = 0.0,
                          weight_decay: float | None = None) -> keras.Model:
    """One LSTM layer and a sigmoid read-out for a yes/no question about a sequence.

    The Keras 3 form: ``keras.Input(shape=(n_steps, n_features))`` first, then the layers
    (Keras 2's ``LSTM(..., input_shape=...)`` inside ``Sequential`` is gone).

    Args:
        n_steps: time steps in each sequence.
        n_features: features per step.
        units: size of the LSTM's hidden state.
        learning_rate: Adam's (or AdamW's) learning rate: a number, or a
            ``keras.optimizers.schedules.LearningRateSchedule``.
        name: the model's name.
        dropout: fraction of the LSTM's *inputs* dropped at each step during training, in [0, 1).
        recurrent_dropout: fraction of the LSTM's *recurrent state* dropped during training
            (the same mask at every step, Gal and Ghahramani 2016), in [0, 1).
        l2: L2 penalty factor added to the loss for every kernel (the LSTM's input and recurrent
            kernels, the read-out's kernel): ``l2 * sum(w ** 2)`` each; biases are not penalised.
        weight_decay: if given, train with ``keras.optimizers.AdamW`` and this decoupled weight
            decay: each step shrinks every weight by ``learning_rate * weight_decay`` of itself,
            outside the gradient (Loshchilov and Hutter, "Decoupled Weight Decay
            Regularization", ICLR 2019). An L2 penalty instead goes through the gradient, and
            Adam divides it by the gradient's running scale, so its pull differs from weight to
            weight; that is why the two are not the same with Adam.

    Returns:
        A compiled ``keras.Model`` mapping ``(batch, n_steps, n_features)`` to the probability
        of class 1, ``(batch, 1)``; loss ``binary_crossentropy`` (nats per example, averaged),
        metric ``accuracy``.

    Raises:
        ValueError: a dropout fraction outside [0, 1), a negative ``l2`` or ``weight_decay``.
    """
    for label, value in (("dropout", dropout), ("recurrent_dropout", recurrent_dropout)):
        if not 0 <= value < 1:
            raise ValueError(f"{label} must be a fraction in [0, 1). Received: {label}={value!r}")
    for label, value in (("l2", l2), ("weight_decay", weight_decay)):
        if value is not None and not value >= 0:
            raise ValueError(f"{label} must be >= 0. Received: {label}={value!r}")
    penalty = keras.regularizers.L2(l2) if l2 else None
    inputs = keras.Input(shape=(n_steps, n_features), name="frames")
    hidden = keras.layers.LSTM(units, dropout=dropout, recurrent_dropout=recurrent_dropout,
                               kernel_regularizer=penalty, recurrent_regularizer=penalty, name="lstm")(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid", kernel_regularizer=penalty,
                                 name="probability")(hidden)
    model = keras.Model(inputs, outputs, name=name)
    optimizer = (keras.optimizers.Adam(learning_rate=learning_rate) if weight_decay is None
                 else keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=weight_decay))
    return compile_model(model, optimizer, loss="binary_crossentropy", metrics=["accuracy"])


def build_speaker_classifier(n_features: int, n_classes: int, units: int = 32, learning_rate=3e-3,
                             mask_value: float | None = None,
                             name: str = "speaker_classifier") -> keras.Model:
    """One LSTM layer and a softmax read-out over ``n_classes``, for sequences of any length.

    The input has no fixed number of steps (``keras.Input(shape=(None, n_features))``), so one
    model reads an utterance padded to any length, which is how lesson 07 measures what padding
    does to the same utterance.

    Args:
        n_features: features per step.
        n_classes: number of classes (labels ``0 .. n_classes - 1``).
        units: size of the LSTM's hidden state.
        learning_rate: Adam's learning rate.
        mask_value: if given, a ``keras.layers.Masking(mask_value)`` layer first: a step whose every
            feature equals it is skipped by the LSTM, which carries its state over it unchanged.
            ``None``: no mask, every step is read.
        name: the model's name.

    Returns:
        A compiled ``keras.Model`` mapping ``(batch, n_steps, n_features)`` to class probabilities
        ``(batch, n_classes)``; loss ``sparse_categorical_crossentropy`` (nats per example),
        metric ``accuracy``.

    Raises:
        ValueError: ``mask_value`` is given but not a finite number.
    """
    if mask_value is not None and not np.isfinite(mask_value):
        raise ValueError(f"mask_value must be a finite number or None. Received: mask_value={mask_value!r}")
    inputs = keras.Input(shape=(None, n_features), name="frames")
    hidden = inputs if mask_value is None else keras.layers.Masking(float(mask_value), name="mask")(inputs)
    hidden = keras.layers.LSTM(units, name="lstm")(hidden)
    outputs = keras.layers.Dense(n_classes, activation="softmax", name="probabilities")(hidden)
    model = keras.Model(inputs, outputs, name=name)
    return compile_model(model, keras.optimizers.Adam(learning_rate=learning_rate),
                         loss="sparse_categorical_crossentropy", metrics=["accuracy"])
