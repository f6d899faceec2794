"""SafeModelCheckpoint and friends: every failure of lesson 04, caught before it costs a file."""

import os

import numpy as np
import pytest
from sklearn.preprocessing import StandardScaler

from lstm_lessons import checkpoint, models
from lstm_lessons._tf import keras


def _data(n=64, lookback=5):
    rng = np.random.default_rng(2)
    x = rng.normal(size=(n, lookback, 1)).astype("float32")
    return x, (x[:, -1, :] * 0.5).astype("float32")


def _model(**compile_args):
    model = models.build_lstm_regressor(5, units=4, learning_rate=0.05)
    if compile_args:
        model.compile(optimizer="adam", **compile_args)
    return model


def _classifier():
    inputs = keras.Input(shape=(5, 1))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.LSTM(2)(inputs)))
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_log_keys_follow_keras_naming():
    assert checkpoint.log_keys(_model(), validation=False) == {"loss", "mae"}
    assert checkpoint.log_keys(_classifier(), validation=True) == {
        "loss", "accuracy", "val_loss", "val_accuracy"}

    def r2(y_true, y_pred):
        return y_pred

    rmse = keras.metrics.RootMeanSquaredError(name="rmse")
    keys = checkpoint.log_keys(_model(loss="mse", metrics=[r2, rmse]), validation=False)
    assert keys == {"loss", "r2", "rmse"}


def test_misspelt_key_gets_a_suggestion():
    with pytest.raises(checkpoint.MissingMonitorKeyError, match="Did you mean 'val_accuracy'"):
        checkpoint.check_monitor(_classifier(), "val_acc", validation=True)


def test_val_key_without_validation_data_is_explained():
    with pytest.raises(checkpoint.MissingMonitorKeyError, match="no validation data"):
        checkpoint.check_monitor(_model(), "val_loss", validation=False)
    checkpoint.check_monitor(_model(), "val_loss", validation=True)   # no error


def test_missing_key_stops_fit_before_the_first_batch(tmp_path):
    x, y = _data()
    model = _model()
    safe = checkpoint.SafeModelCheckpoint(tmp_path / "best.keras")
    with pytest.raises(checkpoint.MissingMonitorKeyError, match="val_loss"):
        model.fit(x, y, epochs=3, verbose=0, callbacks=[safe])
    assert int(model.optimizer.iterations.numpy()) == 0
    assert not (tmp_path / "best.keras").exists()


def test_validation_split_counts_as_validation_data(tmp_path):
    x, y = _data()
    safe = checkpoint.SafeModelCheckpoint(tmp_path / "best.keras")
    _model().fit(x, y, epochs=2, verbose=0, validation_split=0.25, callbacks=[safe])
    assert (tmp_path / "best.keras").exists()


def test_undeterminable_direction_fails_at_the_start(tmp_path):
    def score(y_true, y_pred):
        return keras.ops.mean(y_pred)

    x, y = _data()
    model = _model(loss="mse", metrics=[score])
    with pytest.raises(ValueError, match="mode='min' or mode='max'"):
        model.fit(x, y, validation_data=(x, y), epochs=2, verbose=0,
                  callbacks=[checkpoint.SafeModelCheckpoint(tmp_path / "s.keras", monitor="val_score")])
    assert int(model.optimizer.iterations.numpy()) == 0
    safe = checkpoint.SafeModelCheckpoint(tmp_path / "s.keras", monitor="val_score", mode="max")
    model.fit(x, y, validation_data=(x, y), epochs=1, verbose=0, callbacks=[safe])
    assert safe.saved_epochs == [0]


def test_monitor_direction():
    model = _classifier()
    assert checkpoint.monitor_direction(model, "val_loss") == "min"
    assert checkpoint.monitor_direction(model, "val_accuracy") == "max"
    assert checkpoint.monitor_direction(model, "val_mae") == "min"
    assert checkpoint.monitor_direction(model, "val_weirdness") is None


def test_saves_the_best_epoch_not_the_last(tmp_path):
    x, y = _data()
    x_val, y_val = _data(n=32)
    model = _model()
    path = tmp_path / "best.keras"
    safe = checkpoint.SafeModelCheckpoint(path)
    history = model.fit(x, y, validation_data=(x_val, y_val), epochs=8, verbose=0, callbacks=[safe])
    curve = history.history["val_loss"]
    assert safe.best_epoch == int(np.argmin(curve)) and safe.best == pytest.approx(min(curve))
    saved = keras.saving.load_model(path).evaluate(x_val, y_val, verbose=0, return_dict=True)["loss"]
    assert saved == pytest.approx(min(curve), rel=1e-5)
    improving = [e for e in range(len(curve)) if curve[e] < min(curve[:e], default=np.inf)]
    assert safe.saved_epochs == improving


@pytest.mark.parametrize(("bad", "error"), [
    ({"filepath": "best.h5"}, "end in '.keras'"),
    ({"filepath": "best"}, "end in '.keras'"),
    ({"filepath": "b.keras", "mode": "down"}, "mode must be"),
])
def test_bad_arguments_fail_at_construction(bad, error):
    with pytest.raises(ValueError, match=error):
        checkpoint.SafeModelCheckpoint(**bad)


class _FailingSave(Exception):
    pass


def test_interrupted_save_keeps_the_good_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    model = _model()
    path = tmp_path / "best.keras"
    checkpoint.save_atomically(model, path)
    good = path.read_bytes()
    original_save = keras.Model.save

    def save_half_then_fail(self, filepath, *args, **kwargs):
        original_save(self, filepath, *args, **kwargs)
        with open(filepath, "r+b") as handle:      # leave a truncated file behind
            handle.truncate(100)
        raise _FailingSave("interrupted")

    monkeypatch.setattr(keras.Model, "save", save_half_then_fail)
    with pytest.raises(_FailingSave):
        checkpoint.save_atomically(model, path)
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["best.keras"]


def test_keyboard_interrupt_during_save_also_cleans_up(tmp_path, monkeypatch):
    model = _model()
    path = tmp_path / "best.keras"
    checkpoint.save_atomically(model, path)
    good = path.read_bytes()

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(keras.Model, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        checkpoint.save_atomically(model, path)
    assert path.read_bytes() == good and os.listdir(tmp_path) == ["best.keras"]


def test_preprocessing_travels_with_the_model(tmp_path):
    x, y = _data()
    scaler = StandardScaler().fit(y * 100 + 40)
    model = _model()
    path = checkpoint.save_atomically(model, tmp_path / "m.keras", preprocessing=scaler)
    reloaded, stored = checkpoint.load_checkpoint(path)
    np.testing.assert_allclose(stored.mean_, scaler.mean_)
    np.testing.assert_array_equal(reloaded.predict(x, verbose=0), model.predict(x, verbose=0))
    _, nothing = checkpoint.load_checkpoint(checkpoint.save_atomically(model, tmp_path / "n.keras"))
    assert nothing is None


def test_verify_reload_detects_identical_and_different_files(tmp_path):
    x, _ = _data()
    model = _model()
    path = checkpoint.save_atomically(model, tmp_path / "m.keras")
    check = checkpoint.verify_reload(model, path, x)
    assert check.identical and check.max_difference == 0.0
    model.get_layer("forecast").bias.assign([1.0])
    check = checkpoint.verify_reload(model, path, x)
    assert not check.identical and check.max_difference == pytest.approx(1.0, rel=1e-4)
    with pytest.raises(FileNotFoundError, match="missing.keras"):
        checkpoint.verify_reload(model, tmp_path / "missing.keras", x)


def test_unregistered_custom_layer_cannot_be_loaded_but_custom_objects_fix_it(tmp_path):
    class Doubler(keras.layers.Layer):
        def call(self, inputs):
            return inputs * 2.0

    inputs = keras.Input(shape=(5, 1))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.LSTM(2)(Doubler()(inputs))))
    path = checkpoint.save_atomically(model, tmp_path / "c.keras")
    with pytest.raises(TypeError, match="could not be deserialized"):
        checkpoint.load_checkpoint(path)
    reloaded, _ = checkpoint.load_checkpoint(path, custom_objects={"Doubler": Doubler})
    assert isinstance(reloaded.layers[1], Doubler)
