"""TrainingDoctor on small real fits: records, warns once, stops on NaN, checks monitors."""

import numpy as np
import pytest

from lstm_lessons import models
from lstm_lessons._tf import keras
from lstm_lessons.doctor import TrainingDoctor


def _data(n=64, lookback=5, nan=False):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(n, lookback, 1)).astype("float32")
    y = (x[:, -1, :] * 0.5).astype("float32")
    if nan:
        x[5, 2, 0] = np.nan
    return x, y


def test_records_measurements_into_its_history_and_the_keras_history(capsys):
    x, y = _data()
    doctor = TrainingDoctor(x, y, sample_size=32)
    history = models.build_lstm_regressor(5, units=4, learning_rate=0.01).fit(
        x, y, validation_data=(x, y), epochs=4, batch_size=16, verbose=0, callbacks=[doctor])
    for key in ("loss", "val_loss", "learning_rate", "grad_norm/lstm", "grad_norm/forecast",
                "update_ratio/lstm", "prediction_spread"):
        assert len(doctor.history[key]) == 4, key
    assert history.history["grad_norm/lstm"] == doctor.history["grad_norm/lstm"]
    assert doctor.history["learning_rate"] == pytest.approx([0.01] * 4)
    assert all(0 < r < 1 for r in doctor.history["update_ratio/lstm"])
    assert doctor.diagnosis is not None and doctor.diagnosis.n_epochs == 4
    assert str(doctor.diagnosis) in capsys.readouterr().out


def test_warns_once_per_symptom_and_reports_it_at_the_end(capsys):
    x, y = _data()
    doctor = TrainingDoctor(x, y)
    models.build_lstm_regressor(5, units=4, learning_rate=1e-7).fit(
        x, y, epochs=6, batch_size=16, verbose=0, callbacks=[doctor])
    out = capsys.readouterr().out
    assert out.count("TrainingDoctor warning") == 1 and "stagnant_loss" in out
    assert doctor.diagnosis.names == ["stagnant_loss"]


def test_stops_training_when_the_loss_turns_nan():
    x, y = _data(nan=True)
    doctor = TrainingDoctor(verbose=False)
    history = models.build_lstm_regressor(5, units=4).fit(
        x, y, epochs=20, batch_size=16, verbose=0, callbacks=[doctor])
    assert len(history.history["loss"]) == 1
    assert "non_finite_loss" in doctor.diagnosis


def test_keeps_training_on_nan_when_told_to():
    x, y = _data(nan=True)
    history = models.build_lstm_regressor(5, units=4).fit(
        x, y, epochs=3, batch_size=16, verbose=0,
        callbacks=[TrainingDoctor(stop_on_non_finite=False, verbose=False)])
    assert len(history.history["loss"]) == 3


def test_checks_other_callbacks_monitors_at_the_start(capsys):
    x, y = _data()
    doctor = TrainingDoctor(verbose=True)
    callbacks = [doctor, keras.callbacks.EarlyStopping(monitor="val_loss", patience=50),
                 keras.callbacks.ReduceLROnPlateau(monitor="loss")]
    models.build_lstm_regressor(5, units=4).fit(x, y, epochs=2, batch_size=16, verbose=0, callbacks=callbacks)
    out = capsys.readouterr().out
    first_line = out.splitlines()[0]
    assert first_line.startswith("TrainingDoctor warning: missing_monitor_key") and "'val_loss'" in first_line
    assert doctor.monitors == ["loss", "val_loss"]
    assert "missing_monitor_key" in doctor.diagnosis


def test_classifier_stuck_on_one_class_is_constant():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(80, 4, 2)).astype("float32")
    y = np.zeros((80, 1), dtype="float32")
    y[:3] = 1
    inputs = keras.Input(shape=(4, 2))
    model = keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid")(keras.layers.LSTM(3)(inputs)))
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    doctor = TrainingDoctor(x, y, verbose=False)
    model.fit(x, y, epochs=5, batch_size=16, verbose=0, callbacks=[doctor])
    assert doctor.history["majority_prediction_share"][-1] == 1.0
    assert "constant_predictions" in doctor.diagnosis


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"sample_size": 0}, "sample_size"),
    ({"x": np.zeros((3, 2, 1))}, "both x and y"),
    ({"x": np.zeros((3, 2, 1)), "y": np.zeros((2, 1))}, "len\\(x\\)=3, len\\(y\\)=2"),
])
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainingDoctor(**kwargs)
