"""Gradient norms per layer and update norms: checked against hand computations."""

import numpy as np
import pytest

from lstm_lessons import gradients, models
from lstm_lessons._tf import keras, tf


def _data(n=48, lookback=6, scale=1.0):
    rng = np.random.default_rng(1)
    x = (rng.normal(size=(n, lookback, 1)) * scale).astype("float32")
    return x, x[:, -1, :] * 0.5


def test_layer_gradient_norms_match_a_manual_tape():
    x, y = _data()
    model = models.build_lstm_regressor(6, units=4)
    norms = gradients.layer_gradient_norms(model, x, y)
    assert list(norms) == ["lstm", "forecast"]
    with tf.GradientTape() as tape:
        loss = keras.losses.MeanSquaredError()(y, model(x, training=False))
    grads = tape.gradient(loss, model.get_layer("forecast").trainable_weights)
    expected = np.sqrt(sum(float(tf.reduce_sum(g ** 2)) for g in grads))
    assert norms["forecast"] == pytest.approx(expected, rel=1e-5)


def test_uncompiled_model_is_refused():
    inputs = keras.Input(shape=(3, 1))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.LSTM(2)(inputs)))
    with pytest.raises(ValueError, match="not compiled"):
        gradients.layer_gradient_norms(model, np.zeros((2, 3, 1)), np.zeros((2, 1)))


def test_gradient_norm_logger_adds_one_key_per_layer_to_history():
    x, y = _data()
    model = models.build_lstm_regressor(6, units=4)
    logger = gradients.GradientNormLogger(x, y, sample_size=16)
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[logger])
    assert len(history.history["grad_norm/lstm"]) == 3
    assert history.history["grad_norm/forecast"] == logger.history["forecast"]
    assert all(v > 0 for v in logger.history["lstm"])


@pytest.mark.parametrize("bad", [0, -3, 2.5, True])
def test_gradient_norm_logger_rejects_bad_sample_size(bad):
    x, y = _data()
    with pytest.raises(ValueError, match="sample_size"):
        gradients.GradientNormLogger(x, y, sample_size=bad)


def test_gradient_norm_logger_rejects_mismatched_lengths():
    x, y = _data()
    with pytest.raises(ValueError, match="same length"):
        gradients.GradientNormLogger(x, y[:-1])


def _sgd(rate, **clipping):
    model = models.build_lstm_regressor(6, units=4)
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=rate, **clipping), loss="mse")
    return model


def test_update_norm_equals_learning_rate_times_gradient_norm_for_sgd():
    x, y = _data(n=16)
    model = _sgd(0.01)
    norms = gradients.layer_gradient_norms(model, x, y)
    expected = 0.01 * np.sqrt(sum(v ** 2 for v in norms.values()))
    logger = gradients.UpdateNormLogger()
    model.fit(x, y, epochs=1, batch_size=16, shuffle=False, verbose=0, callbacks=[logger])
    assert len(logger.batch_norms) == 1
    assert logger.batch_norms[0] == pytest.approx(expected, rel=1e-3)


def test_global_clipnorm_caps_every_update_and_logs_epoch_summaries():
    x, y = _data(scale=300.0)   # unscaled inputs: huge gradients
    logger = gradients.UpdateNormLogger()
    history = _sgd(0.01, global_clipnorm=0.5).fit(x, y, epochs=2, batch_size=8, verbose=0, callbacks=[logger])
    assert len(logger.batch_norms) == 12
    assert max(logger.batch_norms) <= 0.01 * 0.5 * 1.001
    assert history.history["update_norm_max"][0] == pytest.approx(max(logger.batch_norms[:6]))
    unclipped = gradients.UpdateNormLogger()
    _sgd(0.01).fit(x, y, epochs=1, batch_size=8, verbose=0, callbacks=[unclipped])
    assert max(unclipped.batch_norms) > 0.01 * 0.5


def test_input_gradient_profile_is_the_mean_absolute_gradient_at_each_step():
    lookback = 5
    inputs = keras.Input(shape=(lookback, 1))
    outputs = keras.layers.Dense(1, use_bias=False)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, outputs)
    model.compile(loss="mse")
    weights = np.arange(lookback, dtype="float32") - 2       # -2 .. 2: the step's weight
    model.layers[-1].kernel.assign(weights[:, None])
    x, y = np.zeros((4, lookback, 1)), np.ones((4, 1))
    # loss = mean((w.x - 1)^2): d loss / d x[i, t] = 2 (0 - 1) w[t] / 4 for each of the 4 windows
    profile = gradients.input_gradient_profile(model, x, y)
    np.testing.assert_allclose(profile, np.abs(weights) / 2, rtol=1e-6)
    with pytest.raises(ValueError, match=r"Received x of shape \(4, 5\)"):
        gradients.input_gradient_profile(model, x[..., 0], y)
    with pytest.raises(ValueError, match="not compiled"):
        gradients.input_gradient_profile(keras.Model(inputs, outputs), x, y)


def _lstm_model(units=4, steps=6, features=2):
    inputs = keras.Input(shape=(steps, features))
    hidden = keras.layers.LSTM(units, name="lstm")(inputs)
    return keras.Model(inputs, keras.layers.Dense(1, name="forecast")(hidden))


def test_saturated_share_counts_gates_whose_derivative_is_near_zero():
    from lstm_lessons.gradients import saturated_share

    keras.utils.set_random_seed(0)
    model = _lstm_model()
    x = np.random.default_rng(0).normal(size=(32, 6, 2)).astype("float32")
    # standardised inputs and Glorot weights: almost nothing saturated
    assert saturated_share(model, 0.1 * x) < 0.05
    # inputs in the hundreds, as CO2 in ppm: almost every gate stuck
    assert saturated_share(model, 300 + x) > 0.9


def test_saturated_share_follows_kerass_gate_order_and_recurrence():
    # Rebuild the recurrence with the same pre-activations saturated_share uses: if the gate order
    # (i, f, c, o) or the use of h(t-1) were wrong, the final hidden state would not match Keras's.
    keras.utils.set_random_seed(1)
    model = _lstm_model(units=3)
    x = np.random.default_rng(1).normal(size=(5, 6, 2)).astype("float32")
    lstm = model.get_layer("lstm")
    kernel, recurrent, bias = (np.asarray(w) for w in lstm.get_weights())
    h, c = np.zeros((5, 3)), np.zeros((5, 3))
    for t in range(6):
        i, f, g, o = np.split(x[:, t] @ kernel + h @ recurrent + bias, 4, axis=1)
        sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
        c = sig(f) * c + sig(i) * np.tanh(g)
        h = sig(o) * np.tanh(c)
    np.testing.assert_allclose(h, np.asarray(lstm(x)), atol=1e-5)


def test_saturated_share_names_the_layers_it_can_read():
    from lstm_lessons.gradients import saturated_share

    with pytest.raises(ValueError, match=r"layer must name an LSTM layer.*layer='forecast'.*\['lstm'\]"):
        saturated_share(_lstm_model(), np.zeros((1, 6, 2)), layer="forecast")
    with pytest.raises(ValueError, match=r"x must have shape .* shape \(6, 2\)"):
        saturated_share(_lstm_model(), np.zeros((6, 2)))
