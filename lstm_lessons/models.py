"""Model builders shared by the lessons."""

from __future__ import annotations

from lstm_lessons._tf import keras


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
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate, clipnorm=clipnorm),
                  loss="mse", metrics=["mae"])
    return model


def build_lstm_classifier(n_steps: int, n_features: int, units: int = 16, learning_rate: float = 1e-3,
                          name: str = "lstm_classifier") -> keras.Model:
    """One LSTM layer and a sigmoid read-out for a yes/no question about a sequence.

    Args:
        n_steps: time steps in each sequence.
        n_features: features per step.
        units: size of the LSTM's hidden state.
        learning_rate: Adam's learning rate.
        name: the model's name.

    Returns:
        A compiled ``keras.Model`` mapping ``(batch, n_steps, n_features)`` to the probability
        of class 1, ``(batch, 1)``; loss ``binary_crossentropy``, metric ``accuracy``.
    """
    inputs = keras.Input(shape=(n_steps, n_features), name="frames")
    hidden = keras.layers.LSTM(units, name="lstm")(inputs)
    outputs = keras.layers.Dense(1, activation="sigmoid", name="probability")(hidden)
    model = keras.Model(inputs, outputs, name=name)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=learning_rate), loss="binary_crossentropy",
                  metrics=["accuracy"])
    return model
