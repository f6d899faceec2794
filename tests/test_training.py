"""Seeding, model building and the learning-rate range test (TensorFlow; small and quick)."""

import os
import subprocess
import sys

import numpy as np
import pytest

from lstm_lessons import models, training


def _tiny_data(n=64, lookback=5):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, lookback, 1)).astype("float32")
    return x, x[:, -1, :] * 0.5


def test_seed_everything_makes_runs_identical():
    x, y = _tiny_data()
    losses = []
    for _ in range(2):
        training.seed_everything(7)
        model = models.build_lstm_regressor(5, units=4)
        losses.append(model.fit(x, y, epochs=2, batch_size=16, verbose=0).history["loss"])
    assert losses[0] == losses[1]
    training.seed_everything(8)
    other = models.build_lstm_regressor(5, units=4).fit(x, y, epochs=2, batch_size=16, verbose=0)
    assert other.history["loss"] != losses[0]


def _regressor(**compile_options):
    from lstm_lessons._tf import keras

    inputs = keras.Input(shape=(5, 1))
    model = keras.Model(inputs, keras.layers.Dense(1)(keras.layers.LSTM(4)(inputs)))
    if compile_options:
        return training.compile_model(model, keras.optimizers.Adam(0.01), loss="mse", **compile_options)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss="mse")
    return model


@pytest.mark.parametrize("options", [{"steps_per_execution": 1}, {"steps_per_execution": 8}])
def test_compile_model_builds_the_optimiser_and_trains_to_the_same_numbers_as_compile(options):
    x, y = _tiny_data()
    training.seed_everything(3)
    plain = _regressor().fit(x, y, epochs=3, batch_size=16, verbose=0).history
    training.seed_everything(3)
    model = _regressor(**options)
    assert model.optimizer.built and int(model.optimizer.iterations) == 0
    moments = [v for v in model.optimizer.variables if v.path.endswith(("_momentum", "_velocity"))]
    assert len(moments) == 2 * len(model.trainable_variables) and not any(np.any(v.numpy()) for v in moments)
    assert model.fit(x, y, epochs=3, batch_size=16, verbose=0).history == plain


@pytest.mark.parametrize("seed", [-1, 1.5, True, 2**32, "0"])
def test_seed_everything_rejects_bad_seeds(seed):
    with pytest.raises(ValueError, match="seed=.* is not allowed: .*integer with 0 <= value <= 4294967295"):
        training.seed_everything(seed)


def test_build_lstm_regressor_shapes_and_compilation():
    model = models.build_lstm_regressor(12, n_features=3, units=8, horizon=2, learning_rate=0.01)
    assert model.input_shape == (None, 12, 3) and model.output_shape == (None, 2)
    assert model.loss == "mse"
    assert float(model.optimizer.learning_rate) == pytest.approx(0.01)


def test_lr_range_test_sweeps_geometrically_and_suggests_a_tenth_of_the_best():
    x, y = _tiny_data(256)
    training.seed_everything(0)
    result = training.lr_range_test(lambda lr: models.build_lstm_regressor(5, units=4, learning_rate=lr),
                                    x, y, min_lr=1e-4, max_lr=10.0, steps=60, batch_size=32, rule="minimum")
    n = len(result.learning_rates)
    assert 10 <= n <= 60 and result.losses.shape == result.curves.shape == (1, n)
    assert len(result.smoothed) == n
    ratios = result.learning_rates[1:] / result.learning_rates[:-1]
    np.testing.assert_allclose(ratios, (10.0 / 1e-4) ** (1 / 59), rtol=1e-6)
    best = result.learning_rates[np.argmin(result.smoothed)]
    assert result.suggestion == pytest.approx(best / 10)
    assert result.suggestions == pytest.approx([result.suggestion]) and result.rule == "minimum"
    # It either ran to max_lr or stopped because the loss diverged.
    stopped_early = n < 60
    assert not stopped_early or result.smoothed[-1] > 4 * result.smoothed.min()


def test_lr_range_test_repeats_average_their_curves():
    x, y = _tiny_data(256)
    training.seed_everything(0)
    result = training.lr_range_test(lambda lr: models.build_lstm_regressor(5, units=4, learning_rate=lr),
                                    x, y, steps=30, batch_size=32, repeats=3)
    n = len(result.learning_rates)
    assert result.curves.shape == result.losses.shape == (3, n) and result.suggestions.shape == (3,)
    # Fresh models and batch orders: the repeats differ; the average is their geometric mean.
    assert not np.allclose(result.curves[0], result.curves[1])
    np.testing.assert_allclose(result.smoothed, np.exp(np.log(result.curves).mean(axis=0)), rtol=1e-6)
    assert result.suggestion == training.suggest_learning_rate(result.learning_rates, result.smoothed)


def test_valley_is_halfway_down_the_longest_fall_and_minimum_a_tenth_of_the_lowest_point():
    rates = np.geomspace(1e-4, 1.0, 100)
    # Flat, then falling from step 30 to step 70 (with one bump that a subsequence skips), then rising.
    loss = np.concatenate([np.full(30, 1.0), np.linspace(1.0, 0.1, 41)[1:], np.linspace(0.1, 2.0, 31)[1:]])
    loss[50] = 0.9
    assert len(loss) == 100
    assert training.suggest_learning_rate(rates, loss) == pytest.approx(rates[29 + 41 // 2], rel=0.2)
    assert training.suggest_learning_rate(rates, loss, "minimum") == pytest.approx(rates[69] / 10)


@pytest.mark.parametrize(("args", "message"), [
    ((np.geomspace(1e-3, 1, 20), np.ones(20), "steepest"), "rule='steepest'"),
    ((np.ones(1), np.ones(1)), "two or more steps"),
    ((np.ones(3), np.ones(4)), "3 learning rates, 4 losses"),
])
def test_suggest_learning_rate_rejects_bad_input(args, message):
    with pytest.raises(ValueError, match=message):
        training.suggest_learning_rate(*args)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"min_lr": 1.0, "max_lr": 0.1}, "min_lr=1.0"),
    ({"steps": 5}, "steps=5"),
    ({"smoothing": 1.0}, "smoothing=1.0"),
    ({"divergence": 1.0}, "divergence=1.0"),
    ({"repeats": 0}, "repeats=0"),
    ({"rule": "steep"}, "rule='steep'"),
])
def test_lr_range_test_rejects_bad_arguments(kwargs, message):
    x, y = _tiny_data()
    with pytest.raises(ValueError, match=message):
        training.lr_range_test(lambda lr: None, x, y, **kwargs)


def test_importing_the_package_prints_no_tensorflow_log_lines():
    result = subprocess.run([sys.executable, "-c", "import lstm_lessons.training"],
                            capture_output=True, text=True, timeout=120,
                            env={"PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr
    assert result.stderr == "" and result.stdout == ""


def test_validation_loss_logger_records_what_evaluate_says_without_touching_the_logs():
    x, y = _tiny_data()
    training.seed_everything(1)
    model = models.build_lstm_regressor(5, units=4)
    truth = training.ValidationLossLogger(x[:16], y[:16])
    history = model.fit(x, y, epochs=3, batch_size=16, verbose=0, callbacks=[truth])
    assert len(truth.losses) == 3 and "val_loss" not in history.history
    assert truth.losses[-1] == pytest.approx(training.validation_loss(model, x[:16], y[:16]))


def test_file_write_logger_names_the_epochs_a_file_was_rewritten(tmp_path):
    from lstm_lessons._tf import keras

    path = tmp_path / "model.keras"
    path.write_text("before training")              # an existing file is not a write

    class WriteOnEvenEpochs(keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            if epoch % 2 == 1:
                path.write_text(f"epoch {epoch + 1}")
                os.utime(path, ns=(0, 0))   # one modification time for every write: the bytes tell them apart

    x, y = _tiny_data()
    writes = training.FileWriteLogger(path)
    models.build_lstm_regressor(5, units=4).fit(x, y, epochs=5, batch_size=32, verbose=0,
                                                callbacks=[WriteOnEvenEpochs(), writes])
    assert writes.epochs == [2, 4]


def test_build_lstm_classifier_regularisation_options():
    plain = models.build_lstm_classifier(24, 1, units=4)
    assert type(plain.optimizer).__name__ == "Adam" and not plain.losses
    regular = models.build_lstm_classifier(24, 1, units=4, dropout=0.3, recurrent_dropout=0.2, l2=1e-3,
                                           weight_decay=0.5)
    lstm = regular.get_layer("lstm")
    assert (lstm.dropout, lstm.recurrent_dropout) == (0.3, 0.2)
    assert type(regular.optimizer).__name__ == "AdamW" and regular.optimizer.weight_decay == 0.5
    assert len(regular.losses) == 3  # one L2 penalty per kernel: input, recurrent, read-out
    with pytest.raises(ValueError, match="recurrent_dropout=1.0"):
        models.build_lstm_classifier(24, 1, recurrent_dropout=1.0)
    with pytest.raises(ValueError, match="l2=-0.1"):
        models.build_lstm_classifier(24, 1, l2=-0.1)


def test_batches_reshuffle_and_augment_afresh_every_epoch_and_leave_validation_alone():
    x = np.arange(8, dtype="float32").reshape(8, 1, 1)
    y = np.arange(8, dtype="float32")

    def plus_noise(batch, rng):
        return batch + rng.normal(0, 0.1, batch.shape)

    train = training.batches(x, y, 4, augment=plus_noise, seed=0)
    epochs = [[(bx.numpy().ravel(), by.numpy()) for bx, by in train] for _ in range(2)]
    orders = [np.concatenate([by for _, by in epoch]) for epoch in epochs]
    assert sorted(orders[0]) == list(range(8)) and not np.array_equal(orders[0], orders[1])
    for epoch in epochs:  # each input still belongs to its own target, moved a little
        for bx, by in epoch:
            assert np.all(np.abs(bx - by) < 0.5) and np.all(bx != by)
    first = {int(t): v for bx, by in epochs[0] for v, t in zip(bx, by, strict=True)}
    second = {int(t): v for bx, by in epochs[1] for v, t in zip(bx, by, strict=True)}
    assert all(first[k] != second[k] for k in first)  # new noise every epoch
    val = training.batches(x, y, shuffle=False)
    (bx, by), = list(val)
    np.testing.assert_array_equal(bx.numpy(), x)
    np.testing.assert_array_equal(by.numpy(), y)


def test_batches_reject_bad_input():
    with pytest.raises(ValueError, match="Received 3 and 2"):
        training.batches(np.zeros((3, 2, 1)), np.zeros(2))
    with pytest.raises(ValueError, match="batch_size=0"):
        training.batches(np.zeros((3, 2, 1)), np.zeros(3), 0)


def test_file_write_logger_sees_the_first_write_and_not_a_rewrite_of_the_same_bytes(tmp_path):
    path = tmp_path / "best.keras"                   # missing when training starts, as in a new folder
    writes = training.FileWriteLogger(path)
    writes.on_train_begin()
    for epoch, content in enumerate((b"a", b"a", b"b", None, b"c")):
        if content is not None:
            path.write_bytes(content)
        writes.on_epoch_end(epoch)
    assert writes.epochs == [1, 3, 5]
