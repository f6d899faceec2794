"""Lesson 08's own tests: the recipes, their gradients, and the exercises' pieces."""

import numpy as np
import pytest

from lstm_lessons import gradient_flow as gf


def test_every_recipe_of_the_lesson_is_valid_and_the_windows_have_the_documented_shapes():
    for recipe in gf.RECIPES.values():
        assert gf.check_recipe(recipe) is recipe
    windows = gf.prepare(gf.LOOKBACK)
    assert windows.x_train.shape[1:] == (gf.LOOKBACK, 1) and windows.y_train.shape[1] == gf.HORIZON
    every = gf.data.make_forecasting_data(gf.data.load_sunspots(smoothing_months=gf.SMOOTHING_MONTHS),
                                          lookback=gf.LOOKBACK, horizon=gf.HORIZON)
    np.testing.assert_array_equal(windows.x_train, every.x_train[::gf.TRAIN_STRIDE])
    np.testing.assert_array_equal(windows.x_val, every.x_val)       # validation keeps every window


@pytest.mark.parametrize(("changes", "message"), [
    ({"cell": "Transformer"}, "cell='Transformer'"),
    ({"depth": 0}, "depth=0"),
    ({"learning_rate": -1.0}, "learning_rate=-1.0"),
    ({"global_clipnorm": float("nan")}, "global_clipnorm=nan"),
    ({"momentum": 1.0}, "momentum=1.0"),
    ({"between": "dropout"}, "between='dropout'"),
    ({"recurrent_initializer": "zeros"}, "recurrent_initializer='zeros'"),
])
def test_a_bad_recipe_is_refused_naming_the_field_and_the_value(changes, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        gf.RECIPES["LSTM"].replace(**changes)


def test_unknown_names_are_refused_before_any_training():
    with pytest.raises(ValueError, match="name='Transformer'"):
        gf.train_many([dict(name="Transformer", seed=1)], jobs=1)


def test_global_norms_and_first_to_last_read_the_doctors_keys_in_layer_order():
    history = {"loss": [1.0, 0.5], "grad_norm/recurrent_1": [3.0, 1e-6],
               "grad_norm/recurrent_10": [4.0, 1e-2],
               "grad_norm/recurrent_2": [0.0, 1.0], "grad_norm/forecast": [0.0, 0.0]}
    np.testing.assert_allclose(gf.global_norms(history), [5.0, np.sqrt(1e-12 + 1e-4 + 1.0)])
    np.testing.assert_allclose(gf.first_to_last(history), [0.75, 1e-4])   # recurrent_10 is the last
    with pytest.raises(ValueError, match="two recurrent layers"):
        gf.first_to_last({"grad_norm/recurrent_1": [1.0]})
    with pytest.raises(ValueError, match="grad_norm"):
        gf.global_norms({"loss": [1.0]})


def test_build_follows_the_recipe():
    deep = gf.build(gf.RECIPES["6 sigmoid layers, residual"], seed=1)
    names = [layer.name for layer in deep.layers]
    assert [n for n in names if n.startswith("recurrent_")] == [f"recurrent_{i}" for i in range(1, 7)]
    assert [n for n in names if n.startswith("residual_")] == [f"residual_{i}" for i in range(2, 6)]
    assert deep.get_layer("recurrent_1").activation.__name__ == "sigmoid"
    assert tuple(deep.inputs[0].shape[1:]) == (gf.DEPTH_LOOKBACK, 1)
    normed = gf.build(gf.RECIPES["6 sigmoid layers, layer norm"], seed=1)
    assert sum(layer.name.startswith("layer_norm_") for layer in normed.layers) == 5
    irnn = gf.build(gf.RECIPES["IRNN, SGD"].replace(global_clipnorm=2.0), seed=1)
    recurrent = irnn.get_layer("recurrent_1")
    np.testing.assert_array_equal(recurrent.cell.recurrent_kernel.numpy(), np.eye(32))
    assert irnn.optimizer.global_clipnorm == 2.0 and float(irnn.optimizer.momentum) == pytest.approx(0.9)
    lstm = gf.build(gf.RECIPES["LSTM"], seed=1)
    kernel = lstm.get_layer("recurrent_1").cell.recurrent_kernel.numpy()   # (16, 64), orthogonal rows
    np.testing.assert_allclose(kernel @ kernel.T, np.eye(16), atol=1e-5)
    assert lstm.optimizer.global_clipnorm is None and tuple(lstm.outputs[0].shape[1:]) == (gf.HORIZON,)
    assert lstm.optimizer.built and lstm.steps_per_execution == gf.STEPS_PER_EXECUTION
    for recipe in gf.RECIPES.values():   # one compiled call an epoch
        assert gf.STEPS_PER_EXECUTION >= -(-len(gf.prepare(recipe.lookback).x_train) // recipe.batch_size)


def test_far_change_is_zero_for_a_model_that_reads_only_the_last_steps():
    from lstm_lessons._tf import keras

    inputs = keras.Input(shape=(10, 1))
    last = keras.layers.Lambda(lambda t: t[:, -3:, 0])(inputs)
    model = keras.Model(inputs, keras.layers.Dense(2)(last))
    x = np.random.default_rng(0).normal(size=(8, 10, 1)).astype("float32")
    assert gf.far_change(model, x, far=3) == 0.0
    assert gf.far_change(model, x, far=2) > 0.0
    with pytest.raises(ValueError, match="far=10"):
        gf.far_change(model, x, far=10)


def test_far_share_counts_every_step_beyond_far():
    profile = np.array([1.0, 1.0, 2.0, 4.0])
    assert gf.far_share(profile, far=2) == pytest.approx(2 / 8)
    assert gf.far_share(profile, far=3) == pytest.approx(1 / 8)
    with pytest.raises(ValueError, match="far=4"):
        gf.far_share(profile, far=4)


def test_the_batches_show_an_explosion_growing_and_a_nan_input_arriving_unannounced():
    # Two batches of the IRNN, six of the control: seconds, no epoch trained.
    explosion = gf.batch_trace(gf.RECIPES["IRNN, SGD"], 1)
    assert explosion.first_non_finite == 2 and explosion.nan_batch is None
    assert explosion.last_finite_norm > 1e3 and explosion.losses[0] > 10     # huge before any nan
    control = gf.batch_trace(gf.RECIPES["Keras defaults, SGD"], 1, nan_batch=gf.NAN_BATCH)
    assert control.first_non_finite == gf.NAN_BATCH == len(control.norms)
    assert np.all(control.norms[:-1] < 2) and not np.isfinite(control.norms[-1])
    with pytest.raises(ValueError, match="nan_batch=99"):
        gf.batch_trace(gf.RECIPES["Keras defaults, SGD"], 1, nan_batch=99)


@pytest.mark.slow
def test_the_irnn_explodes_in_its_first_epoch_and_the_doctor_says_so_from_there():
    exploded, = gf.train_many([dict(name="IRNN, SGD", seed=1)], jobs=1)
    assert not exploded.finite and exploded.epochs_run == 1          # the doctor stopped it
    # Its norms are NaN because its weights are: one symptom, not two (the batches tell why).
    assert exploded.symptoms == {"non_finite_loss": 1}
    assert exploded.profile is None and exploded.far_change is None
    table = gf.table([exploded])
    assert table.loc["IRNN, SGD", "largest gradient norm"] == np.inf


def test_loss_fall_and_a_sigmoid_stack_squeezing_its_output_spread_layer_after_layer():
    assert gf.loss_fall({"loss": [2.0, 1.5, 0.5]}) == pytest.approx(0.75)
    x = gf.prepare(gf.DEPTH_LOOKBACK).x_train[:gf.SPREAD_SAMPLE]
    sigmoid = gf.output_spread(gf.build(gf.RECIPES["6 sigmoid layers"], seed=1), x)
    tanh = gf.output_spread(gf.build(gf.RECIPES["6 tanh layers"], seed=1), x)
    assert sigmoid.shape == tanh.shape == (6,)
    assert np.all(np.diff(sigmoid) < 0)                  # untrained: each sigmoid layer squeezes more
    assert sigmoid[-1] < tanh[-1] / 100 and tanh[-1] > 0.1


def test_lesson08_names_what_goes_between_the_layers():
    from lstm_lessons import gradient_flow
    from lstm_lessons.lessons.lesson08_vanishing_exploding_gradients import exercises as lesson08

    assert lesson08.BETWEEN == gradient_flow.BETWEEN


@pytest.mark.slow
def test_a_clipping_norm_too_large_to_matter_leaves_the_irnn_exploding_and_says_so():
    from lstm_lessons.grading.registry import EXERCISES

    judged = EXERCISES["08-clipnorm"].verify({"clipnorm": 1e5, "val_loss": 0.9}, 1)
    assert not judged.passed and judged.measurements == {"finite": False, "epochs_run": 1, "val_loss": None}
    assert "non-finite in epoch 1" in judged.message and judged.hint.startswith("the steps are still large")
    assert not any(c.holds for c in (*judged.checks, *judged.reports)) and judged.margin is None
