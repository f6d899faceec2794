"""Lesson 05's experiment: one recipe (model size, regularisation, augmentation, early stopping)
trained on a small real training set and measured the same way as every other recipe.

The notebook, its exercise checks and the benchmarks all train through :func:`train` and
:func:`cross_validate`, so a number in the lesson's table, a grade and a benchmark row come
from the same code.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from lstm_lessons import augment as augment_module
from lstm_lessons import data, experiments, live, workers
from lstm_lessons.params import RULES, Choice, Rule, check_fields, require

UNITS_TOO_LARGE = 64
"""The baseline's hidden units: about 17,000 weights for 46 training days of 24 values."""


def italy_power_task(validation: float = 0.3, split_seed: int = 0) -> data.ClassificationTask:
    """ItalyPowerDemand as lesson 05 uses it: is this day in April to September (class 2)?

    The archive's 67 training days are split, stratified by class, into training and validation
    days (``train_test_split(..., stratify=labels, random_state=split_seed)``); the archive's
    1029 test days are the test split, to be measured once, at the end. Each day is 24 hourly
    values, already z-normalised per day by the archive, so no scaler is fitted here.

    Args:
        validation: fraction of the 67 training days held out for validation, in (0, 1);
            the default 0.3 holds out 21 days and trains on 46.
        split_seed: fixes which days are held out, the same for every model of the lesson.

    Returns:
        ``ll.data.ClassificationTask`` with ``x_*`` of shape ``(n_days, 24, 1)`` and 0/1 targets
        ``(n_days,)`` (1: April to September).

    Raises:
        ValueError: ``validation`` outside (0, 1) or leaving a split without both classes.
    """
    from sklearn.model_selection import train_test_split

    require("validation", validation, Rule(float, 0.0, 1.0, low_inclusive=False, high_inclusive=False,
                                           meaning="the share of training days that validate"))
    days = data.load_italy_power_demand()
    train_days, test_days = days.subset("train"), days.subset("test")
    y_all = (train_days.labels == 2).astype("float32")
    try:
        x_train, x_val, y_train, y_val = train_test_split(
            train_days.x, y_all, test_size=validation, stratify=y_all, random_state=split_seed)
    except ValueError as error:
        raise ValueError(f"validation={validation!r} leaves a split without both classes of the "
                         f"{len(y_all)} training days: {error}") from None
    return data.ClassificationTask(x_train, y_train, x_val, y_val, test_days.x,
                              (test_days.labels == 2).astype("float32"))


@dataclass(frozen=True)
class Recipe:
    """How one model is built and trained.

    Attributes:
        units: size of the LSTM's hidden state.
        dropout, recurrent_dropout: fractions in [0, 1) (see ``ll.models.build_lstm_classifier``).
        l2: L2 penalty factor on every kernel (0: none).
        weight_decay: AdamW's decoupled weight decay (``None``: plain Adam).
        augmentation: ``"none"`` or one of :data:`lstm_lessons.augment.AUGMENTATIONS`.
        augmentation_sigma: its strength, in [0, 1].
        patience: ``EarlyStopping(monitor="val_loss", patience=..., restore_best_weights=True)``;
            ``None``: train all ``epochs``.
        learning_rate: Adam's constant learning rate.
        epochs: passes over the training set (one full batch each).
    """

    units: int = UNITS_TOO_LARGE
    dropout: float = 0.0
    recurrent_dropout: float = 0.0
    l2: float = 0.0
    weight_decay: float | None = None
    augmentation: str = "none"
    augmentation_sigma: float = 0.0
    patience: int | None = None
    learning_rate: float = 5e-3
    epochs: int = 70

    def replace(self, **changes) -> Recipe:
        """A copy with ``changes`` (``dataclasses.replace``), checked: ``baseline.replace(dropout=0.3)``."""
        return check_recipe(replace(self, **changes))


@dataclass
class Run:
    """One trained recipe and what was measured.

    Every loss here is the *data term*, the binary cross-entropy in nats per example, without
    any regularisation penalty, so recipes with and without L2 compare like with like; Keras's
    ``loss`` and ``val_loss`` include the penalty. Measured on the model ``train`` returns: the
    last epoch's, or the best epoch's when early stopping restored it.

    Attributes:
        label: the name shown in tables.
        recipe: the :class:`Recipe` trained.
        history: per epoch, arrays ``(n_epochs,)``: Keras's ``loss`` and ``accuracy`` (training
            days as trained on: dropout on, augmented, the penalty included), ``val_loss`` and
            ``val_accuracy`` (penalty included), and ``val_data_loss`` (the data term).
        val_loss: the returned model's loss on the validation days.
        val_accuracy: its accuracy on the validation days.
        train_loss: the returned model on the training days as they are (not augmented), with
            dropout off, as it predicts.
        test_loss: the returned model's loss on the published test split (``nan`` if none
            given).
        test_accuracy: its accuracy there (``nan`` if none given).
    """

    label: str
    recipe: Recipe
    history: dict
    val_loss: float
    val_accuracy: float
    train_loss: float = float("nan")
    test_loss: float = float("nan")
    test_accuracy: float = float("nan")

    @property
    def _val_curve(self) -> np.ndarray:
        return self.history.get("val_data_loss", self.history["val_loss"])

    @property
    def best_epoch(self) -> int:
        """1-based epoch of the lowest validation data loss."""
        return int(np.nanargmin(self._val_curve)) + 1

    @property
    def best_val_loss(self) -> float:
        """The lowest validation data loss of any epoch (nats)."""
        return float(np.nanmin(self._val_curve))

    @property
    def final_gap(self) -> float:
        """The generalisation gap of the returned model: validation minus training data loss,
        both with dropout off (nats). Keras's training loss is measured with dropout on, so a
        gap read from the history makes a dropout model look as if it did better on new days
        than on its own."""
        return self.val_loss - self.train_loss


def build(recipe: Recipe, n_steps: int, n_features: int):
    """The compiled model of ``recipe`` (``ll.models.build_lstm_classifier``), whose training
    step also measures the validation days when they come with the batch (see :func:`train`)."""
    from lstm_lessons import models

    plain = models.build_lstm_classifier(n_steps, n_features, units=recipe.units,
                                         learning_rate=recipe.learning_rate, dropout=recipe.dropout,
                                         recurrent_dropout=recipe.recurrent_dropout, l2=recipe.l2,
                                         weight_decay=recipe.weight_decay)
    model = _validating_class()(inputs=plain.inputs, outputs=plain.outputs, name=plain.name)
    model.compile_from_config(plain.get_compile_config())
    return model


@functools.cache
def _validating_class():
    """A ``keras.Model`` whose ``train_step`` accepts ``((x, y), (x_val, y_val))`` and returns
    ``val_loss``, ``val_accuracy`` and ``val_data_loss`` (the binary cross-entropy without the
    regularisation penalty) measured right after the update, beside the usual logs.

    Why: ``fit(validation_data=...)`` calls ``evaluate`` after every epoch, and on 21 days that
    call's own bookkeeping costs more than the forward pass (lesson 05: 3.3 s against 2.2 s for
    70 epochs on 2 cores). Measured in the training step, after the weights were updated and
    with ``training=False`` (no dropout), the numbers are those ``evaluate`` gives: the loss
    with the same regularisation terms, binary accuracy at 0.5. With one batch an epoch, as
    here, that is once an epoch, exactly where Keras measures; with several batches the last
    batch's measurement would be logged. Plain ``(x, y)`` batches train as usual.
    """
    from lstm_lessons._tf import keras

    class ValidatingModel(keras.Model):
        def train_step(self, data):
            if not (len(data) == 2 and isinstance(data[0], tuple)):
                return super().train_step(data)
            train_part, (x_val, y_val) = data
            logs = super().train_step(train_part)
            y_pred = self(x_val, training=False)
            val_loss = self.compute_loss(x=x_val, y=y_val, y_pred=y_pred, training=False)
            truth = keras.ops.reshape(y_val, (-1, 1))
            hits = keras.metrics.binary_accuracy(truth, y_pred)
            data_loss = keras.ops.mean(keras.losses.binary_crossentropy(truth, y_pred))
            return {**logs, "val_loss": val_loss, "val_accuracy": keras.ops.mean(hits),
                    "val_data_loss": data_loss}

    return ValidatingModel


def _architecture(recipe: Recipe, n_steps: int, n_features: int) -> tuple:
    """What a compiled model depends on: recipes with the same tuple can share one."""
    return ("generalisation", recipe.units, recipe.dropout, recipe.recurrent_dropout, recipe.l2,
            recipe.weight_decay, recipe.learning_rate, n_steps, n_features)


def _fresh_model(recipe: Recipe, n_steps: int, n_features: int, seed: int):
    """A compiled model of ``recipe`` in exactly the state a new seeded build would have
    (``ll.training.fresh_model``): recipes that differ only in data (augmentation), callbacks
    (early stopping) or the folds they train on share one compiled model, traced once."""
    from lstm_lessons import training

    return training.fresh_model(_architecture(recipe, n_steps, n_features),
                                lambda: build(recipe, n_steps, n_features), seed)


_RECIPE_RULES = {
    "units": RULES["units"], "epochs": RULES["epochs"], "learning_rate": RULES["learning_rate"],
    "dropout": Rule(float, 0.0, 0.95, meaning="fraction of the LSTM's inputs dropped"),
    "recurrent_dropout": Rule(float, 0.0, 0.95, meaning="fraction of the recurrent state dropped"),
    "l2": Rule(float, 0.0, 1.0, meaning="L2 penalty factor"),
    "weight_decay": Rule(float, 0.0, 10.0, meaning="AdamW's decoupled weight decay"),
    "augmentation": Choice(("none", *augment_module.AUGMENTATIONS), meaning="the augmentation"),
    "augmentation_sigma": Rule(float, 0.0, 1.0, meaning="the augmentation's strength"),
    "patience": Rule(int, 0, 1000, meaning="epochs without improvement before stopping"),
}
"""The allowed value of each :class:`Recipe` field (``ll.params`` rules; ``None`` passes for
``weight_decay`` and ``patience``)."""


def check_recipe(recipe: Recipe) -> Recipe:
    """Raise ``ValueError`` naming every field, its value and what is allowed if ``recipe``
    cannot be trained (:data:`_RECIPE_RULES`); checked before anything trains."""
    return check_fields(recipe, _RECIPE_RULES, optional=("weight_decay", "patience"))


def train(recipe: Recipe, task, seed: int, label: str = "", *, curves_of_validation: bool = True) -> Run:
    """Train ``recipe`` on ``task`` with one full batch an epoch, validating after every epoch.

    Args:
        recipe: what to build and how to train it (checked first, see :func:`check_recipe`).
        task: a ``ll.data.ClassificationTask``: training ``(n, n_steps, n_features)`` and 0/1
            targets ``(n,)``, validation likewise, test split optional.
        seed: seeds the weights, the dropout masks and the augmentation.
        label: the run's name in tables.
        curves_of_validation: measure the validation days after every epoch (``val_loss`` in the
            history; about half of each epoch's time here). ``False`` measures them once, after
            training, and is only allowed without early stopping, which needs every epoch's value.

    Raises:
        ValueError: the recipe is not allowed, or early stopping without per-epoch validation
            (before anything trains).
    """
    from lstm_lessons import training
    from lstm_lessons._tf import keras

    check_recipe(recipe)
    if recipe.patience is not None and not curves_of_validation:
        raise ValueError(f"Early stopping (patience={recipe.patience}) needs the validation loss of every "
                         f"epoch: curves_of_validation must be True.")
    model = _fresh_model(recipe, *task.x_train.shape[1:], seed)
    augment = augment_module.augmentation(recipe.augmentation, recipe.augmentation_sigma)
    train_batches = training.batches(task.x_train, task.y_train, augment=augment, seed=seed)
    val_batches = training.batches(task.x_val, task.y_val, shuffle=False)
    callbacks = ([] if recipe.patience is None else
                 [keras.callbacks.EarlyStopping(monitor="val_loss", patience=recipe.patience,
                                                restore_best_weights=True)])
    if curves_of_validation:   # the validation days ride along with each batch (see _validating_class)
        from lstm_lessons._tf import tf

        train_batches = tf.data.Dataset.zip(train_batches, val_batches.repeat())
    fitted = model.fit(train_batches, epochs=recipe.epochs, shuffle=False, verbose=0,
                       callbacks=[*callbacks, *live.reporter(_run_label({"label": label}))])
    history = {key: np.asarray(values, dtype=float) for key, values in fitted.history.items()}
    run = Run(label, recipe, history, *data_loss(model, task.x_val, task.y_val),
              train_loss=data_loss(model, task.x_train, task.y_train)[0])
    if getattr(task, "x_test", None) is not None:
        run.test_loss, run.test_accuracy = data_loss(model, task.x_test, task.y_test)
    return run


def data_loss(model, x, y) -> tuple[float, float]:
    """A classifier's data term and accuracy on ``x`` ``(n, n_steps, n_features)``, ``y`` ``(n,)``
    (0/1), as it predicts (dropout off): the mean binary cross-entropy in nats per example,
    without any regularisation penalty, and the share of examples on the right side of 0.5."""
    from lstm_lessons._tf import keras

    p = model.predict(x, batch_size=2048, verbose=0).reshape(-1)
    truth = np.asarray(y, dtype="float32").reshape(-1)
    loss = float(keras.ops.convert_to_numpy(keras.ops.mean(keras.losses.binary_crossentropy(
        truth[:, None], p[:, None]))))
    return loss, float(np.mean((p > 0.5) == (truth > 0.5)))


start_workers = workers.start
"""Start :func:`train_many`'s workers in the background (see ``ll.workers.start``)."""


def train_many(calls: list[dict], jobs: int | None = None) -> list[Run]:
    """Several independent :func:`train` calls, ``jobs`` at a time, in worker processes.

    Each call is :func:`train`'s keyword arguments (``{"recipe": recipe, "task": task, "seed": 1,
    "label": "baseline"}``, with ``"curves_of_validation"`` when wanted). Each run seeds itself,
    so its numbers are the same whichever worker runs it and in whatever order
    (``tests/test_05_generalisation_gap.py`` checks it). Runs that can share a compiled model
    (same architecture and optimiser, see :func:`_fresh_model`) go to the same worker, so each
    model is traced once per worker (``ll.experiments.train_many``'s ``group``). Worker
    processes come from joblib's ``loky`` backend and are kept for the next call, so TensorFlow
    is imported once per worker (``ll.workers``). With ``jobs=1`` everything runs here, one
    after the other.

    Args:
        calls: :func:`train`'s keyword arguments, one dict a run.
        jobs: worker processes (>= 1); ``None`` (default): ``ll.workers.default_jobs()``, one a
            core this process's TensorFlow may use (2 on the course's machines).

    Returns:
        The :class:`Run` of each call, in order.

    Raises:
        ValueError: ``jobs`` is not ``None`` or an integer >= 1, a call does not fit
            :func:`train`, or a recipe is not allowed (before anything trains).
    """
    calls = experiments.checked_calls(train, calls)
    for call in calls:
        check_recipe(call["recipe"])
    return experiments.train_many(train, calls, jobs, group=_shared_model, label=_run_label)


def _run_label(call: dict) -> str:
    """The name a call's run reports to the live view under (see :func:`train`)."""
    return call.get("label") or "run"


def _shared_model(call: dict) -> tuple:
    """The compiled model a call's run can share (:func:`_architecture`)."""
    return _architecture(call["recipe"], *np.shape(call["task"].x_train)[1:])


def table(runs) -> pd.DataFrame:
    """One row a run: best validation loss and its epoch, epochs trained, and the returned
    model's training loss (dropout off), validation loss, gap (validation - training), test loss
    and accuracy. Every loss is the data term (:class:`Run`)."""
    rows = [{"best val loss": r.best_val_loss, "best epoch": r.best_epoch,
             "epochs": len(r.history["loss"]), "train loss": r.train_loss, "val loss": r.val_loss,
             "gap": r.final_gap, "test loss": r.test_loss, "test accuracy": r.test_accuracy}
            for r in runs]
    return pd.DataFrame(rows, index=pd.Index([r.label for r in runs], name="recipe"))


def cross_validate(recipes: dict, task, folds: int = 5, seed: int = 0, validation: float = 0.3,
                   jobs: int | None = None) -> pd.DataFrame:
    """Stratified k-fold cross-validation of each recipe on the same folds.

    The task's training and validation days together are cut into ``folds`` held-out parts of
    equal class balance. For each part, the other days are split once more, stratified, into
    training days and ``validation`` days (the same proportions as the lesson's own split);
    every recipe trains on them (early stopping, if it has it, watches those validation days)
    and is measured once on the held-out part, which took no part in any decision. Shuffling
    the days into folds is fine here because the days are separate examples; for windows of one
    series it leaks the future (lesson 06).

    Args:
        recipes: ``{label: Recipe}``.
        task: a ``ll.data.ClassificationTask`` (``(n, n_steps, n_features)`` inputs, 0/1 targets
            ``(n,)``); its test split is not used.
        folds: k, an integer >= 2 and at most the smaller class's count.
        seed: seeds the fold assignment (``StratifiedKFold(shuffle=True, random_state=seed)``),
            the inner split and each fold's training.
        validation: fraction of each fold's training days held out for per-epoch validation.
        jobs: trainings run at a time (see :func:`train_many`).

    Returns:
        ``DataFrame`` with one row a (recipe, fold): ``held-out loss`` and ``held-out accuracy``.

    Raises:
        ValueError: ``folds`` is not an integer in [2, smaller class's count], or a recipe is not
            allowed (before anything trains).
    """
    from sklearn.model_selection import StratifiedKFold, train_test_split

    from lstm_lessons.data import ClassificationTask

    x, y = np.concatenate([task.x_train, task.x_val]), np.concatenate([task.y_train, task.y_val])
    smallest = int(np.bincount(y.astype(int)).min())
    require("folds", folds, Rule(int, 2, smallest, meaning=f"cross-validation folds; the smaller class has "
                                                        f"{smallest} examples"))
    for recipe in recipes.values():
        check_recipe(recipe)
    splitter = StratifiedKFold(n_splits=int(folds), shuffle=True, random_state=seed)
    work, keys = [], []
    for fold, (rest, held_out) in enumerate(splitter.split(x, y), start=1):
        fit_rows, val_rows = train_test_split(rest, test_size=validation, stratify=y[rest], random_state=seed)
        fold_task = ClassificationTask(x[fit_rows], y[fit_rows], x[val_rows], y[val_rows],
                                       x[held_out], y[held_out])
        for label, recipe in recipes.items():
            work.append({"recipe": recipe, "task": fold_task, "seed": seed, "label": f"{label}, fold {fold}",
                         "curves_of_validation": recipe.patience is not None})
            keys.append((label, fold))
    runs = train_many(work, jobs)
    return pd.DataFrame([{"recipe": label, "fold": fold, "held-out loss": run.test_loss,
                          "held-out accuracy": run.test_accuracy}
                         for (label, fold), run in zip(keys, runs, strict=True)])
