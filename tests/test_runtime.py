"""The private internals the package relies on are still there, and each fallback holds.

Every trick of ``lstm_lessons/_runtime.py`` reads or sets something another library keeps
private; these tests fail when a new version (see ``constraints.txt``) removes it."""

import numpy as np

from lstm_lessons import _runtime


def test_a_callback_reads_the_running_fit_validation_data_and_callbacks():
    from lstm_lessons._tf import keras

    seen = {}

    class Look(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            seen["validation"] = _runtime.fit_has_validation(self.model)
            seen["callbacks"] = _runtime.sibling_callbacks(self.model)

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    model.compile(loss="mse")
    x, y = np.zeros((8, 3)), np.zeros((8, 1))
    early = keras.callbacks.EarlyStopping()
    model.fit(x, y, validation_data=(x, y), epochs=1, verbose=0, callbacks=[early, Look()])
    assert seen["validation"] is True and early in seen["callbacks"]     # Keras 3's fit locals
    model.fit(x, y, epochs=1, verbose=0, callbacks=[Look()])
    assert seen["validation"] is False
    assert _runtime.fit_has_validation(model) is None                    # outside fit: not known


def test_fit_locals_of_another_shape_are_not_known_rather_than_wrong():
    class Model:
        def fit(self):   # a fit whose locals hold neither validation_data nor callbacks
            return _runtime.fit_has_validation(self), _runtime.sibling_callbacks(self)

    assert Model().fit() == (None, [])


def test_loky_keeps_its_memory_limit_where_the_workers_set_it(monkeypatch):
    from joblib.externals.loky import process_executor

    assert isinstance(process_executor._MAX_MEMORY_LEAK_SIZE, int)      # still there
    monkeypatch.setattr(process_executor, "_MAX_MEMORY_LEAK_SIZE", 300 * 2**20)
    assert _runtime.keep_loky_workers(2**30) and process_executor._MAX_MEMORY_LEAK_SIZE == 2**30
    monkeypatch.delattr(process_executor, "_MAX_MEMORY_LEAK_SIZE")
    assert _runtime.keep_loky_workers(2**30) is False                    # gone: loky's own limit


def test_the_compiled_loss_metrics_and_directions_are_read_and_each_fallback_holds(monkeypatch):
    from lstm_lessons._tf import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1)])
    assert _runtime.compile_loss(model) is None and _runtime.compile_arguments(model) is None
    auc = keras.metrics.AUC()
    model.compile(loss="mse", metrics=["mae", auc])
    # Each internal is still there.
    assert model._compile_loss is not None and _runtime.compile_loss(model) is model._compile_loss
    assert _runtime.compile_arguments(model)["metrics"] == ["mae", auc]
    assert auc._direction == "up" and _runtime.metric_direction(auc) == "up"
    assert _runtime.metric_direction("mae") is None          # a name says nothing here
    # Without the internals: the public loss, "not known", and no direction.
    monkeypatch.setattr(model, "_compile_loss", None)
    assert _runtime.compile_loss(model) == "mse"
    monkeypatch.setattr(model, "_compile_config", None)
    assert _runtime.compile_arguments(model) is None
    monkeypatch.delattr(auc, "_direction")
    assert _runtime.metric_direction(auc) is None
