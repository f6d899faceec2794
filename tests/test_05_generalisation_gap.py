"""Lesson 05's experiment code: recipes are checked before training; runs are measured alike."""

import numpy as np
import pytest

from lstm_lessons import data, generalisation

Recipe = generalisation.Recipe


@pytest.mark.parametrize("changes, named", [
    ({"units": 0}, "units=0"), ({"dropout": 1.0}, "dropout=1.0"), ({"l2": -1.0}, "l2=-1.0"),
    ({"augmentation": "mixup"}, "augmentation='mixup'"),
    ({"augmentation_sigma": 2.0}, "augmentation_sigma=2.0"),
    ({"patience": -1}, "patience=-1"), ({"learning_rate": 0.0}, "learning_rate=0.0"),
    ({"epochs": 2.5}, "epochs=2.5"), ({"weight_decay": -0.1}, "weight_decay=-0.1"),
])
def test_a_bad_recipe_is_refused_naming_the_field(changes, named):
    with pytest.raises(ValueError, match=named):
        generalisation.check_recipe(Recipe().replace(**changes))


def test_cross_validation_refuses_impossible_folds_before_training():
    task = generalisation.italy_power_task()
    with pytest.raises(ValueError, match=r"folds=40 is not allowed: .*integer with 2 <= value <= 33"):
        generalisation.cross_validate({"baseline": Recipe()}, task, folds=40)


@pytest.mark.slow
def test_train_measures_a_run_and_early_stopping_returns_the_best_epoch():
    task = generalisation.italy_power_task()
    plain = generalisation.train(Recipe(epochs=12, units=8), task, seed=1, label="plain")
    # the too-large baseline: its validation loss turns up within 50 epochs
    stopped = generalisation.train(Recipe(epochs=50, patience=0), task, seed=1, label="stopped")
    assert len(plain.history["val_loss"]) == 12
    assert plain.val_loss == pytest.approx(plain.history["val_loss"][-1], rel=1e-4)
    assert 0 <= plain.test_accuracy <= 1 and np.isfinite(plain.test_loss)
    # patience 0 stops at the first epoch that does not improve and restores the best weights
    assert len(stopped.history["val_loss"]) < 50
    assert stopped.val_loss == pytest.approx(stopped.best_val_loss, rel=1e-4)
    frame = generalisation.table([plain, stopped])
    assert list(frame.index) == ["plain", "stopped"] and frame.loc["plain", "epochs"] == 12
    assert frame.loc["plain", "gap"] == pytest.approx(plain.val_loss - plain.train_loss)
    # restored against restored: the stopped run's gap is its best epoch's, not its last epoch's
    assert stopped.final_gap == pytest.approx(stopped.val_loss - stopped.train_loss)


@pytest.mark.slow
def test_losses_are_the_data_term_with_dropout_off():
    """Like with like: L2's penalty is not in the losses a run reports, and the
    training loss behind the gap is measured with dropout off, on the days as they are."""
    task = generalisation.italy_power_task()
    recipe = Recipe(epochs=10, units=8, dropout=0.5, recurrent_dropout=0.5, l2=1e-2)
    run = generalisation.train(recipe, task, seed=2)
    # Keras's val_loss = data term + the L2 penalty (> 0), measured on the same weights
    penalty = run.history["val_loss"] - run.history["val_data_loss"]
    assert np.all(penalty > 1e-3)
    assert run.val_loss == pytest.approx(run.history["val_data_loss"][-1], rel=1e-4)
    assert run.best_val_loss == pytest.approx(run.history["val_data_loss"].min())
    # dropout off: the training loss of the same weights, predicted twice, is the same number,
    # and it is not Keras's (dropout on, penalty included)
    from lstm_lessons import generalisation as g
    model = g._fresh_model(recipe, 24, 1, seed=2)
    assert g.data_loss(model, task.x_train, task.y_train) == g.data_loss(model, task.x_train, task.y_train)
    assert run.train_loss != pytest.approx(run.history["loss"][-1], rel=1e-3)


@pytest.mark.slow
def test_validation_measured_in_the_training_step_equals_keras_own_validation():
    from lstm_lessons import models, training

    task = generalisation.italy_power_task()
    # dropout (off when measuring) and L2 (its penalty is part of the validation loss)
    recipe = Recipe(epochs=8, units=8, dropout=0.3, recurrent_dropout=0.3, l2=1e-3)
    training._COMPILED.clear()
    run = generalisation.train(recipe, task, seed=4)
    training.seed_everything(4)
    keras_model = models.build_lstm_classifier(24, 1, units=8, learning_rate=recipe.learning_rate,
                                               dropout=0.3, recurrent_dropout=0.3, l2=1e-3)
    validation = training.batches(task.x_val, task.y_val, shuffle=False)
    fitted = keras_model.fit(training.batches(task.x_train, task.y_train, seed=4), epochs=8, shuffle=False,
                             validation_data=validation, verbose=0)
    assert set(run.history) == set(fitted.history) | {"val_data_loss"}
    for key in fitted.history:
        np.testing.assert_allclose(run.history[key], fitted.history[key], rtol=1e-6, err_msg=key)


@pytest.mark.slow
def test_a_reused_compiled_model_gives_the_numbers_of_a_new_one():
    from lstm_lessons import training

    task = generalisation.italy_power_task()
    recipe = Recipe(epochs=6, units=8, dropout=0.3, recurrent_dropout=0.3, augmentation="jitter",
                    augmentation_sigma=0.1)
    training._COMPILED.clear()
    first = generalisation.train(recipe, task, seed=3)
    generalisation.train(recipe, task, seed=5)  # moves the shared model's weights, optimiser, dropout seed
    again = generalisation.train(recipe, task, seed=3)
    training._COMPILED.clear()
    new = generalisation.train(recipe, task, seed=3)
    for run in (again, new):
        np.testing.assert_array_equal(run.history["loss"], first.history["loss"])
        np.testing.assert_array_equal(run.history["val_loss"], first.history["val_loss"])
        assert run.test_loss == first.test_loss


@pytest.mark.slow
def test_train_many_in_worker_processes_gives_the_numbers_of_training_here():
    task = generalisation.italy_power_task()
    # one architecture: its two runs are split between the two workers, started beforehand
    work = [dict(recipe=Recipe(epochs=5, units=3), task=task, seed=seed, label=f"seed {seed}")
            for seed in (2, 3)]
    here = generalisation.train_many(work, jobs=1)
    generalisation.start_workers(jobs=2)
    there = generalisation.train_many(work, jobs=2)
    assert [r.label for r in there] == ["seed 2", "seed 3"]
    assert not np.array_equal(here[0].history["loss"], here[1].history["loss"])
    for a, b in zip(here, there, strict=True):
        np.testing.assert_array_equal(a.history["val_loss"], b.history["val_loss"])
        assert a.test_loss == b.test_loss
    for call in (generalisation.train_many, generalisation.start_workers):
        with pytest.raises(ValueError, match="jobs=0"):
            call(*([work] if call is generalisation.train_many else []), jobs=0)
    with pytest.raises(ValueError, match="units=0"):
        generalisation.train_many([dict(recipe=Recipe(units=0), task=task, seed=1, label="bad")])
    with pytest.raises(ValueError, match=r"calls\[0\] does not fit train.*'recipes'"):
        generalisation.train_many([dict(recipes=Recipe(), task=task, seed=1)])


def test_italy_power_task_holds_out_a_stratified_validation_part_and_keeps_the_test_split():
    task = generalisation.italy_power_task()
    assert task.x_train.shape == (46, 24, 1) and task.x_val.shape == (21, 24, 1)
    assert task.x_test.shape == (1029, 24, 1) and task.y_test.shape == (1029,)
    assert task.y_train.mean() == pytest.approx(23 / 46) and task.y_val.mean() == pytest.approx(10 / 21)
    archive = data.load_italy_power_demand()
    train_days = archive.subset("train").x
    together = np.concatenate([task.x_train, task.x_val])
    assert sorted(map(bytes, together.round(6))) == sorted(map(bytes, train_days.round(6)))
    np.testing.assert_array_equal(task.x_test, archive.subset("test").x)
    other = generalisation.italy_power_task(split_seed=1)
    assert not np.array_equal(other.x_val, task.x_val)


@pytest.mark.parametrize("validation", [0, 1, 1.5, True, 0.999])
def test_italy_power_task_rejects_bad_fractions(validation):
    with pytest.raises(ValueError, match=f"validation={validation!r}"):
        generalisation.italy_power_task(validation)
