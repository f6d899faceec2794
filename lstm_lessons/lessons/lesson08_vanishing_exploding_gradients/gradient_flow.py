"""Lesson 08's experiments: how far back through time and how far down through depth the gradient
reaches, and what happens when it explodes.

The data is the monthly sunspot number smoothed over 6 months (``ll.data.load_sunspots``), split
in time order and scaled on the training part (``ll.data.make_forecasting_data``). Every model
forecasts the next :data:`HORIZON` months from the last ``lookback`` months. Five years ahead is
about half a solar cycle (about 11 years), so the phase of the cycle, which shows over years
rather than months, matters; :data:`LOOKBACK` gives the model ten years.

Each model is a :class:`Recipe` (recurrent cell, depth, activation, recurrent initialiser, what
sits between the layers, optimiser, clipping), trained with the training doctor
(``ll.doctor.TrainingDoctor``, which logs each layer's gradient norm every epoch) by
:func:`train`; :data:`RECIPES` names those of the lesson. The notebook, its exercise checks and
the benchmarks all go through :func:`train`, so a number in the lesson, a grade and a benchmark
row come from the same code.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstm_lessons import data, experiments, live, params
from lstm_lessons.params import Rule, require

LOOKBACK = 120
"""Months each forecaster reads: ten years, about one solar cycle."""
HORIZON = 60
"""Months each forecaster predicts: the next five years."""
SMOOTHING_MONTHS = 6
"""The sunspot series is a trailing 6-month mean (``ll.data.load_sunspots``)."""
TRAIN_STRIDE = 2
"""Every second training window is used: neighbouring windows share all but one month, and half
of them train as well in half the time."""
FAR = 48
"""Steps back (months, four years) at which the reach of the models is compared."""
DEPTH_LOOKBACK = 24
"""Months the deep stacks read: depth, not time, is what their section is about."""
STEPS_PER_EXECUTION = 64
"""Mini-batches a compiled call of the training step runs (``Model.compile``'s
``steps_per_execution``): more than an epoch has, so each epoch is one call. The doctor
watches epochs, not batches, so its record is the same, and training takes 15 to 20 % less."""
CELLS = ("SimpleRNN", "LSTM", "GRU")
"""Recurrent layers of ``keras.layers`` a :class:`Recipe` may use."""
OPTIMIZERS = ("adam", "sgd")
"""The optimisers a recipe may train with: Adam, or SGD with momentum (the IRNN's, after Le et
al. 2015)."""
BETWEEN = ("nothing", "residual", "layer_norm")
"""What may sit between stacked recurrent layers: nothing, a residual connection (the layer's
input added to its output, He et al., "Deep residual learning for image recognition", CVPR 2016)
or ``keras.layers.LayerNormalization`` (Ba, Kiros and Hinton, "Layer normalization", 2016)."""
CLIP_SWEEP = (1.0, 4.0, 10.0, 100.0)
"""``global_clipnorm`` values the lesson tries on the IRNN besides the median gradient norm of a
healthy run: the result depends on the threshold, so the lesson shows the sweep."""
NAN_BATCH = 6
"""The mini-batch (1-based) of the first epoch that gets a NaN in :func:`batch_trace`'s control."""
INITIALISERS = ("orthogonal", "identity")
"""Recurrent initialisers a :class:`Recipe` may use: Keras's default, or the identity matrix of
the IRNN (Le, Jaitly and Hinton, "A simple way to initialize recurrent networks of rectified
linear units", 2015)."""


@dataclass(frozen=True)
class Recipe:
    """One model and how it is trained.

    Attributes:
        cell: a name of :data:`CELLS`.
        depth: stacked recurrent layers (>= 1); all but the last return their sequences.
        units: size of each layer's hidden state.
        activation: the recurrent layers' ``activation`` (``"tanh"`` is Keras's default).
        recurrent_initializer: a name of :data:`INITIALISERS`.
        between: a name of :data:`BETWEEN`; used between stacked layers only.
        optimizer: ``"adam"`` or ``"sgd"``.
        learning_rate: the optimiser's step size.
        momentum: SGD's momentum (ignored by Adam).
        global_clipnorm: the optimiser's ``global_clipnorm`` (the norm of all gradients together
            is scaled down to this when larger), or ``None`` for no clipping.
        lookback: months each window reads.
        epochs: passes over the training windows.
        batch_size: windows per mini-batch.
    """

    cell: str = "LSTM"
    depth: int = 1
    units: int = 16
    activation: str = "tanh"
    recurrent_initializer: str = "orthogonal"
    between: str = "nothing"
    optimizer: str = "adam"
    learning_rate: float = 3e-3
    momentum: float = 0.0
    global_clipnorm: float | None = None
    lookback: int = LOOKBACK
    epochs: int = 8
    batch_size: int = 64

    def replace(self, **changes) -> Recipe:
        """A copy with ``changes`` (``dataclasses.replace``), checked."""
        return check_recipe(dataclasses.replace(self, **changes))


_IRNN = Recipe("SimpleRNN", units=32, activation="relu", recurrent_initializer="identity", optimizer="sgd",
               learning_rate=0.01, momentum=0.9)
_DEEP = Recipe("SimpleRNN", depth=6, activation="sigmoid", lookback=DEPTH_LOOKBACK, epochs=6)
RECIPES = {
    "SimpleRNN": Recipe("SimpleRNN"),
    "LSTM": Recipe("LSTM"),
    "GRU": Recipe("GRU"),
    "IRNN, SGD": _IRNN,
    "Keras defaults, SGD": dataclasses.replace(_IRNN, activation="tanh", recurrent_initializer="orthogonal"),
    "6 sigmoid layers": _DEEP,
    "6 sigmoid layers, residual": dataclasses.replace(_DEEP, between="residual"),
    "6 sigmoid layers, layer norm": dataclasses.replace(_DEEP, between="layer_norm"),
    "6 tanh layers": dataclasses.replace(_DEEP, activation="tanh"),
}
"""The recipes of the lesson. The first three compare how far back the gradient reaches; the IRNN
(ReLU with an identity recurrent kernel, trained by SGD with momentum) explodes, next to Keras's
defaults (tanh, orthogonal) with the same optimiser; the stack of six sigmoid layers loses its
gradient in depth, the next two are its fixes (a deeper stack with a fix is exercise 2's), and the same stack
with tanh is the control that shows the sigmoid's part. The IRNN and its
Keras-defaults twin have 32 units: with 16, on some seeds the loss stayed near that of forecasting
the mean, neither learning nor exploding (seeds 2, 6 and 9 of 1-10); with 32 it exploded in its first
epoch on all of seeds 1-15."""


_RECIPE_RULES = {
    "cell": params.Choice(CELLS, meaning="a recurrent layer of keras.layers"),
    "depth": params.Rule(int, 1, 16, meaning="stacked recurrent layers"),
    "units": params.RULES["units"],
    "activation": params.Choice(("tanh", "sigmoid", "relu", "linear"), meaning="the recurrent activation"),
    "recurrent_initializer": params.Choice(INITIALISERS, meaning="the recurrent kernel's initialiser"),
    "between": params.Choice(BETWEEN, meaning="what sits between stacked layers"),
    "optimizer": params.Choice(OPTIMIZERS, meaning="the optimiser"),
    "learning_rate": params.RULES["learning_rate"],
    "momentum": params.Rule(float, 0.0, 0.999, meaning="SGD's momentum"),
    "global_clipnorm": params.Rule(float, 0.0, 1e6, low_inclusive=False,
                                   meaning="the clipping norm, or None"),
    "lookback": params.RULES["lookback"],
    "epochs": params.RULES["epochs"],
    "batch_size": params.RULES["batch_size"],
}
"""What each field of a :class:`Recipe` may be (``ll.params`` rules: the same messages as a lesson's
parameters)."""


def lesson_recipes(epochs: int = 8) -> dict[str, Recipe]:
    """:data:`RECIPES` with the lesson's ``epochs`` for the one-layer models (the deep stacks train
    their own 6: their loss barely moves, or moves at once).

    Raises:
        ValueError: ``epochs`` is not an integer >= 1.
    """
    params.require("epochs", epochs, params.RULES["epochs"])
    return {name: r.replace(epochs=epochs) if r.depth == 1 else r for name, r in RECIPES.items()}


def check_recipe(recipe: Recipe) -> Recipe:
    """Return ``recipe`` if every field is allowed.

    Raises:
        ValueError: naming every field out of range, its value and what is allowed.
    """
    if not isinstance(recipe, Recipe):
        raise ValueError(f"recipe must be an ll.gradient_flow.Recipe. Received: {recipe!r}")
    return params.check_fields(recipe, _RECIPE_RULES, optional=("global_clipnorm",))


def named_recipe(name: str) -> Recipe:
    """The recipe called ``name`` in :data:`RECIPES`.

    Raises:
        ValueError: an unknown name, naming the ones there are.
    """
    params.require("name", name, params.Choice(tuple(RECIPES), meaning="a recipe of the lesson"))
    return RECIPES[name]


@functools.lru_cache(maxsize=4)
def prepare(lookback: int = LOOKBACK) -> data.ForecastingData:
    """The scaled windows of every model reading ``lookback`` months.

    Inputs ``(n_windows, lookback, 1)`` and targets ``(n_windows, HORIZON)``, in standard
    deviations of the training part. The training windows are every :data:`TRAIN_STRIDE`-th one.

    Raises:
        ValueError: ``lookback`` is not an integer >= 1 (``ll.data.make_windows``).
    """
    series = data.load_sunspots(smoothing_months=SMOOTHING_MONTHS)
    prepared = data.make_forecasting_data(series, lookback=lookback, horizon=HORIZON)
    return dataclasses.replace(prepared, x_train=prepared.x_train[::TRAIN_STRIDE],
                               y_train=prepared.y_train[::TRAIN_STRIDE])


def build(recipe: Recipe, seed: int):
    """A compiled model of ``recipe`` (mean squared error, :data:`STEPS_PER_EXECUTION`), its weights
    seeded by ``seed``.

    Layers are named ``recurrent_1`` (nearest the input) to ``recurrent_<depth>``, then
    ``forecast`` (a ``Dense(HORIZON)``), so the doctor's ``grad_norm/<layer>`` keys read in order.

    Raises:
        ValueError: from :func:`check_recipe`.
    """
    from lstm_lessons import training
    from lstm_lessons._tf import keras

    check_recipe(recipe)
    training.seed_everything(seed)
    layer_type = getattr(keras.layers, recipe.cell)
    inputs = keras.Input(shape=(recipe.lookback, 1))
    h = inputs
    for i in range(1, recipe.depth + 1):
        last = i == recipe.depth
        options = {"activation": recipe.activation}
        if recipe.recurrent_initializer != "orthogonal":
            options["recurrent_initializer"] = recipe.recurrent_initializer
        out = layer_type(recipe.units, return_sequences=not last, name=f"recurrent_{i}", **options)(h)
        if not last and recipe.between == "residual" and i > 1:
            out = keras.layers.Add(name=f"residual_{i}")([h, out])
        if not last and recipe.between == "layer_norm":
            out = keras.layers.LayerNormalization(name=f"layer_norm_{i}")(out)
        h = out
    model = keras.Model(inputs, keras.layers.Dense(HORIZON, name="forecast")(h))
    clip = {} if recipe.global_clipnorm is None else {"global_clipnorm": float(recipe.global_clipnorm)}
    optimizer = keras.optimizers.Adam(recipe.learning_rate, **clip) if recipe.optimizer == "adam" else \
        keras.optimizers.SGD(recipe.learning_rate, momentum=recipe.momentum, **clip)
    return training.compile_model(model, optimizer, loss="mse", steps_per_execution=STEPS_PER_EXECUTION)


def global_norms(history: dict) -> np.ndarray:
    """``(n_epochs,)`` the norm of all gradients together, epoch by epoch, from a history's
    ``grad_norm/<layer>`` entries (``ll.doctor.TrainingDoctor``): ``sqrt(sum of squares)`` of the
    layers' norms. This is the norm ``global_clipnorm`` compares with its threshold (measured
    on the doctor's fixed sample, at the end of each epoch).

    Raises:
        ValueError: the history has no ``grad_norm/<layer>`` entries.
    """
    from lstm_lessons.curves import GRAD_PREFIX

    layers = [np.asarray(values, dtype=float) for key, values in history.items()
              if key.startswith(GRAD_PREFIX)]
    if not layers:
        raise ValueError("history has no grad_norm/<layer> entries: train with "
                         "ll.doctor.TrainingDoctor(x, y).")
    return np.sqrt(np.sum(np.square(np.vstack(layers)), axis=0))


def first_to_last(history: dict, prefix: str = "grad_norm/") -> np.ndarray:
    """``(n_epochs,)`` the first recurrent layer's gradient norm over the last one's, from a history
    of a model of :func:`build` (``grad_norm/recurrent_1`` and ``grad_norm/recurrent_<depth>``):
    1 when depth loses nothing, orders of magnitude below 1 when the gradient vanishes in depth.
    With ``prefix="update_ratio/"``, the same for the doctor's update ratios (how far each layer's
    weights moved in an epoch, relative to their size).

    Raises:
        ValueError: the history has fewer than two recurrent layers' entries.
    """
    keys = sorted((k for k in history if k.startswith(f"{prefix}recurrent_")),
                  key=lambda k: int(k.rsplit("_", 1)[1]))
    if len(keys) < 2:
        raise ValueError(f"first_to_last needs two recurrent layers' {prefix} entries. Received: {keys}")
    return np.asarray(history[keys[0]], dtype=float) / np.asarray(history[keys[-1]], dtype=float)


def _check_far(far, lookback: int) -> None:
    """Refuse a ``far`` that is not an integer in ``[1, lookback)``, naming it."""
    require("far", far, Rule(int, 1, lookback, high_inclusive=False,
                             meaning="steps back from the last input"))


def far_share(profile, far: int = FAR) -> float:
    """The share of a whole input-gradient profile (``(lookback,)``, from
    ``ll.gradients.input_gradient_profile``) that lies more than ``far`` steps back: the sum over
    those steps over the sum over all steps. Unlike the reach at one step it counts every older
    step, so a model whose gradient is small at ``far`` but spread over many steps is credited.

    Raises:
        ValueError: ``far`` is not an integer in ``[1, lookback)``.
    """
    profile = np.asarray(profile, dtype=float)
    _check_far(far, len(profile))
    return float(profile[:-far].sum() / profile.sum())


@dataclass(frozen=True)
class BatchTrace:
    """The first epoch of a recipe, one mini-batch at a time (:func:`batch_trace`).

    Attributes:
        losses: ``(n_batches,)`` each batch's mean squared error (training variances), before
            its step.
        norms: ``(n_batches,)`` the global norm of each batch's gradient, before clipping.
        nan_batch: the batch (1-based) given a NaN input, or ``None``.
    """

    losses: np.ndarray
    norms: np.ndarray
    nan_batch: int | None = None

    @property
    def first_non_finite(self) -> int | None:
        """The first batch (1-based) whose loss or gradient norm is not finite, or ``None``."""
        bad = np.flatnonzero(~(np.isfinite(self.losses) & np.isfinite(self.norms)))
        return int(bad[0]) + 1 if bad.size else None

    @property
    def last_finite_norm(self) -> float:
        """The gradient norm of the last batch before the first non-finite one (of the last
        batch when all are finite)."""
        end = self.first_non_finite
        finite = self.norms[: end - 1] if end else self.norms
        return float(finite[-1]) if finite.size else float("nan")


def batch_trace(recipe: Recipe, seed: int, nan_batch: int | None = None) -> BatchTrace:
    """Train the first epoch of ``recipe`` one mini-batch at a time, as :func:`train` would (the
    same weights, optimiser and batch order for ``seed``), recording each batch's loss and the
    global norm of its gradient before clipping, until the first non-finite one.

    An epoch record (the doctor's) sees a run that blew up within its first epoch only after
    the weights are NaN; so does a run fed a NaN. The batches tell them apart: an explosion's
    gradient norm is already huge in the batches before the first NaN; a NaN input's is not.
    With ``nan_batch``, the first window of that batch gets a NaN in one month (the control).

    Raises:
        ValueError: a bad recipe (:func:`check_recipe`), or ``nan_batch`` not ``None`` or an
            integer in ``[1, n_batches]``.
    """
    from lstm_lessons import training
    from lstm_lessons._tf import keras, tf

    check_recipe(recipe)
    windows = prepare(recipe.lookback)
    n_batches = -(-len(windows.x_train) // recipe.batch_size)
    if nan_batch is not None:
        params.require("nan_batch", nan_batch,
                       params.Rule(int, 1, n_batches, meaning="a mini-batch of epoch 1"))
    model = build(recipe, seed)
    mse = keras.losses.MeanSquaredError()
    losses, norms = [], []
    for n, (x, y) in enumerate(training.batches(windows.x_train, windows.y_train, recipe.batch_size,
                                                seed=seed), start=1):
        if n == nan_batch:
            x = x.numpy()
            x[0, x.shape[1] // 2, 0] = np.nan
        with tf.GradientTape() as tape:
            loss = mse(y, model(x, training=True))
        gradients = tape.gradient(loss, model.trainable_variables)
        losses.append(float(loss))
        norms.append(float(tf.linalg.global_norm(gradients)))
        if not (np.isfinite(losses[-1]) and np.isfinite(norms[-1])):
            break
        model.optimizer.apply_gradients(zip(gradients, model.trainable_variables, strict=True))
    return BatchTrace(np.asarray(losses), np.asarray(norms), nan_batch)


SPREAD_SAMPLE = 128
"""Training windows :func:`output_spread` is measured on (the doctor's fixed sample)."""


def output_spread(model, x) -> np.ndarray:
    """``(depth,)`` how much each recurrent layer's output (at the last step) varies from window
    to window: the standard deviation across the windows of ``x``, averaged over the layer's
    units. A stack whose last layer's spread is near 0 gives its read-out the same input for every
    window, so it can only forecast the mean, however its weights move.

    Args:
        model: a model of :func:`build` (layers ``recurrent_1`` to ``recurrent_<depth>``).
        x: windows ``(n_windows, lookback, 1)``.
    """
    from lstm_lessons._tf import keras

    layers = sorted((layer for layer in model.layers if layer.name.startswith("recurrent_")),
                    key=lambda layer: int(layer.name.rsplit("_", 1)[1]))
    probe = keras.Model(model.inputs, [layer.output for layer in layers])
    outputs = probe.predict(np.asarray(x, dtype="float32"), batch_size=512, verbose=0)
    outputs = outputs if isinstance(outputs, list) else [outputs]
    return np.array([float(np.mean(np.std(y[:, -1, :] if y.ndim == 3 else y, axis=0))) for y in outputs])


def loss_fall(history: dict) -> float:
    """The share by which the training loss fell from the first epoch to the last:
    ``1 - loss[-1] / loss[0]``."""
    loss = np.asarray(history["loss"], dtype=float)
    return float(1 - loss[-1] / loss[0])


def far_change(model, x, far: int = FAR) -> float:
    """How much a model's forecasts use the steps more than ``far`` back: the root-mean-square
    change of its forecasts (in training standard deviations) when those steps of ``x`` are
    replaced by 0, the training mean. A model whose gradient never reaches them barely changes.

    Args:
        model: a model reading ``x``.
        x: windows ``(n_windows, lookback, n_features)``, ``lookback > far``.
        far: steps back from the end beyond which the input is replaced.

    Raises:
        ValueError: ``far`` is not an integer in ``[1, lookback)``.
    """
    x = np.asarray(x, dtype="float32")
    _check_far(far, x.shape[1])
    blanked = x.copy()
    blanked[:, :-far, :] = 0.0
    before = model.predict(x, batch_size=512, verbose=0)
    after = model.predict(blanked, batch_size=512, verbose=0)
    return float(np.sqrt(np.mean((after - before) ** 2)))


@dataclass
class Result:
    """One trained recipe and what was measured.

    Attributes:
        name: the recipe's name.
        recipe: the :class:`Recipe`.
        history: the doctor's record, ``{key: (n_epochs,) array}``: ``loss`` and ``val_loss``
            (mean squared error in training variances), ``grad_norm/<layer>``,
            ``update_ratio/<layer>``, ``learning_rate``, ``prediction_spread``.
        symptoms: the doctor's verdict, ``{symptom: first epoch (1-based)}``.
        profile: ``(lookback,)`` ``ll.gradients.input_gradient_profile`` on the validation
            windows after training, when asked for a one-layer model that stayed finite; else ``None``.
        far_change: :func:`far_change` on the validation windows, when ``profile`` is measured.
        spread: ``(depth,)`` :func:`output_spread` on the first :data:`SPREAD_SAMPLE` training
            windows after training, for a stack of two layers or more; else ``None``.
        seconds: wall time of building, training and measuring, in seconds.
    """

    name: str
    recipe: Recipe
    history: dict
    symptoms: dict
    profile: np.ndarray | None = None
    far_change: float | None = None
    spread: np.ndarray | None = None
    seconds: float = 0.0

    @property
    def finite(self) -> bool:
        """Whether every epoch's training loss is finite."""
        return bool(np.all(np.isfinite(self.history["loss"])))

    @property
    def epochs_run(self) -> int:
        """Epochs trained (the doctor stops a run after a non-finite epoch)."""
        return len(self.history["loss"])

    @property
    def val_loss(self) -> float:
        """Validation loss after the last epoch (``nan`` when the run blew up or, for a deep
        stack, was not measured)."""
        return float(self.history["val_loss"][-1]) if "val_loss" in self.history else float("nan")

    def reach(self, steps: int = FAR) -> float:
        """The input gradient ``steps`` back relative to the last step's.

        ``profile[-steps] / profile[-1]``: how much of the loss's sensitivity survives that far
        back.

        Raises:
            ValueError: no profile was measured (a deep or non-finite model).
        """
        if self.profile is None:
            raise ValueError(f"{self.name!r} has no input-gradient profile (deep or not finite).")
        return float(self.profile[-steps] / self.profile[-1])


def train(name: str, seed: int, recipe: Recipe | None = None, reach: bool = False) -> Result:
    """Train a new model of ``recipe`` (default ``RECIPES[name]``) with the doctor and measure it.

    Training windows come in seeded, shuffled mini-batches (``ll.training.batches``); the doctor
    measures each layer's gradient norm on the first 128 training windows at the end of every
    epoch and stops a run whose loss turned non-finite. One-layer models are measured on the
    validation windows after every epoch (``val_loss``) and, with ``reach`` and when they stayed
    finite, after training: :func:`far_change` and ``ll.gradients.input_gradient_profile`` (on the
    first 256; seconds of eager computation, so only where asked).
    Deep stacks are judged by their training loss and gradient norms only: validating them would
    trace one more graph of six recurrent layers, seconds a model.

    Args:
        name: the result's name (a key of :data:`RECIPES` unless ``recipe`` is given).
        seed: seeds the weights and the order of the mini-batches.
        recipe: the model to train, if not ``RECIPES[name]``.
        reach: measure ``profile`` and ``far_change`` (one-layer models only).

    Raises:
        ValueError: an unknown ``name`` without a recipe, or a bad recipe (:func:`check_recipe`).
    """
    import time
    import warnings

    from lstm_lessons import gradients, training
    from lstm_lessons.doctor import TrainingDoctor

    recipe = check_recipe(recipe) if recipe is not None else named_recipe(name)
    start = time.perf_counter()
    windows = prepare(recipe.lookback)
    model = build(recipe, seed)
    doctor = TrainingDoctor(windows.x_train, windows.y_train, verbose=False)
    with warnings.catch_warnings():   # a run that blows up makes numpy warn about its NaNs
        warnings.simplefilter("ignore", RuntimeWarning)
        model.fit(training.batches(windows.x_train, windows.y_train, recipe.batch_size, seed=seed),
                  validation_data=(windows.x_val, windows.y_val) if recipe.depth == 1 else None,
                  epochs=recipe.epochs, shuffle=False,
                  verbose=0, callbacks=[doctor, *live.reporter(name)])
    history = {key: np.asarray(values, dtype=float) for key, values in doctor.history.items()}
    symptoms = {s.name: s.epoch for s in doctor.diagnosis.symptoms}
    result = Result(name, recipe, history, symptoms)
    if reach and recipe.depth == 1 and result.finite:
        result.profile = gradients.input_gradient_profile(model, windows.x_val[:256], windows.y_val[:256])
        result.far_change = far_change(model, windows.x_val)
    if recipe.depth > 1:
        result.spread = output_spread(model, windows.x_train[:SPREAD_SAMPLE])
    result.seconds = time.perf_counter() - start
    return result


def train_many(calls: list[dict], jobs: int | None = None) -> list[Result]:
    """:func:`train` for each call, its keyword arguments (``{"name": "IRNN, SGD", "seed": 1}``,
    with ``"recipe"`` and ``"reach"`` when wanted), ``jobs`` at a time in worker processes
    (``ll.experiments.train_many``; with 1 everything trains here); each run seeds itself, so
    the numbers are those of training here.

    Raises:
        ValueError: ``jobs`` is not ``None`` or an integer >= 1; a call that does not fit
            :func:`train`, or a bad name or recipe (before any training starts).
    """
    calls = experiments.checked_calls(train, calls)
    for call in calls:
        recipe = call.get("recipe")
        check_recipe(recipe if recipe is not None else named_recipe(call["name"]))
    return experiments.train_many(train, calls, jobs, label=lambda call: call["name"])


def table(results) -> pd.DataFrame:
    """One row a result: epochs run, training and validation loss at the end, the largest global
    gradient norm, for deep models the first-to-last layer ratios of the gradient norm and of the
    update ratio at the end and the last layer's :func:`output_spread`, the training loss's
    :func:`loss_fall`, the reach at
    :data:`FAR` steps, :func:`far_share` and :func:`far_change` (one-layer models), and the
    doctor's symptoms."""
    rows = {}
    for r in results:
        row = {"epochs run": r.epochs_run, "training loss": float(r.history["loss"][-1]),
               "validation loss": r.val_loss}
        with np.errstate(invalid="ignore"):
            norms = global_norms(r.history)
        row["largest gradient norm"] = float(np.max(norms)) if np.all(np.isfinite(norms)) else np.inf
        row["first / last layer"] = float(first_to_last(r.history)[-1]) if r.recipe.depth > 1 else np.nan
        row["update, first / last layer"] = float(first_to_last(r.history, "update_ratio/")[-1]) \
            if r.recipe.depth > 1 else np.nan
        row["last layer spread"] = float(r.spread[-1]) if r.spread is not None else np.nan
        row["training loss fell by"] = loss_fall(r.history)
        row[f"reach at t-{FAR}"] = r.reach() if r.profile is not None else np.nan
        row[f"share beyond t-{FAR}"] = far_share(r.profile) if r.profile is not None else np.nan
        row[f"change without t-{FAR}.."] = r.far_change if r.far_change is not None else np.nan
        row["doctor"] = ", ".join(r.symptoms) or "healthy"
        rows[r.name] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "model"
    return frame
