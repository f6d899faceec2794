"""``TrainingDoctor``: a Keras callback that records what a History lacks and diagnoses live."""

from __future__ import annotations

import numpy as np

from lstm_lessons._runtime import fit_has_validation, sibling_callbacks
from lstm_lessons._tf import keras
from lstm_lessons.checkpoint import log_keys
from lstm_lessons.curves import GRAD_PREFIX, UPDATE_PREFIX
from lstm_lessons.doctor.diagnosis import Diagnosis, diagnose, make_symptom
from lstm_lessons.doctor.rules import missing_monitor_finding
from lstm_lessons.gradients import check_sample_size, fixed_sample, probe_model


def _is_classifier(model) -> bool:
    activation = getattr(model.layers[-1], "activation", None)
    name = getattr(activation, "__name__", "")
    loss = str(getattr(model, "loss", ""))
    return name in ("sigmoid", "softmax") or "crossentropy" in loss.lower()


class TrainingDoctor(keras.callbacks.Callback):
    """Record a run in detail, warn once per symptom as it appears, and diagnose it at the end.

    Each epoch it adds to :attr:`history` the epoch's logs, the learning rate, and, when
    training windows ``x, y`` are given, measured on a fixed sample of them: the gradient norm
    of each layer (``grad_norm/<layer>``), and the spread of the predictions
    (``prediction_spread``: std of predictions / std of targets, or for a classifier
    ``majority_prediction_share``: the share of the sample given the most frequent class).
    Always: each layer's weight-update ratio over the epoch (``update_ratio/<layer>``: norm
    of the change / norm of the weights at the start of the epoch). These measurements are
    also added to the epoch's logs, so ``History`` and ``CSVLogger`` (placed after the doctor
    in ``callbacks``) keep them and ``lstm-lessons doctor`` can read them from the file.

    At the start of training it collects the keys that ModelCheckpoint, EarlyStopping,
    ReduceLROnPlateau (any callback with a ``monitor``) watch and warns at once if one will
    never be logged (``missing_monitor_key``). After each epoch it runs
    :func:`~lstm_lessons.doctor.diagnose` on the record so far and prints a warning the first
    time each symptom appears. A non-finite loss stops training at the end of that epoch
    when ``stop_on_non_finite`` (per epoch, not per batch: a batch hook would make Keras
    synchronise after every batch, which costs more than the rest of the doctor together).
    After each epoch :attr:`diagnosis` holds the diagnosis so far (what a live view marks,
    ``ll.live``); at the end the final :class:`~lstm_lessons.doctor.Diagnosis`, which is printed
    unless ``verbose=False``.

    Args:
        x, y: training inputs ``(n_windows, lookback, n_features)`` and targets, or ``None``
            to skip the gradient and prediction measurements.
        sample_size: windows of ``x`` used for those measurements (the first ones).
        stop_on_non_finite: stop training when the loss becomes NaN or infinite.
        verbose: print warnings and the final diagnosis.

    Example::

        doctor = ll.doctor.TrainingDoctor(x_train, y_train)
        model.fit(x_train, y_train, validation_data=(x_val, y_val), callbacks=[doctor])
        doctor.diagnosis.names      # e.g. ['oscillating_loss']

    Raises:
        ValueError: ``sample_size`` is not a positive integer or ``x``/``y`` differ in length.
    """

    def __init__(self, x=None, y=None, sample_size: int = 128, stop_on_non_finite: bool = True,
                 verbose: bool = True):
        super().__init__()
        if (x is None) != (y is None):
            given = "x" if x is not None else "y"
            raise ValueError(f"Give both x and y, or neither. Received only {given}.")
        check_sample_size(sample_size)
        self.x, self.y = (None, None) if x is None else fixed_sample(x, y, sample_size)
        self.stop_on_non_finite, self.verbose = stop_on_non_finite, verbose
        self.history: dict[str, list[float]] = {}
        self.monitors: list[str] = []
        self.diagnosis: Diagnosis | None = None
        self._warned: set[str] = set()
        self._start_weights: dict[str, list[np.ndarray]] = {}

    # -- helpers ---------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        if self.verbose:
            print(text)

    def _warn(self, symptoms, epoch: int | None) -> None:
        for symptom in symptoms:
            if symptom.name not in self._warned:
                self._warned.add(symptom.name)
                when = f" after epoch {epoch}" if epoch is not None else ""
                self._say(f"TrainingDoctor warning{when}: {symptom.line()[2:]}")

    def _layer_weights(self) -> dict[str, list[np.ndarray]]:
        return {layer.name: [np.array(w.numpy()) for w in layer.trainable_weights]
                for layer in self.model.layers if layer.trainable_weights}

    def _record(self, key: str, value: float, logs: dict | None = None) -> None:
        self.history.setdefault(key, []).append(float(value))
        if logs is not None:
            logs[key] = float(value)

    def _prediction_stats(self, predictions: np.ndarray) -> dict[str, float]:
        predictions = np.asarray(predictions, dtype=float)
        if _is_classifier(self.model):
            classes = (predictions[:, 0] > 0.5).astype(int) if predictions.shape[-1] == 1 \
                else predictions.argmax(axis=-1)
            counts = np.bincount(classes.ravel())
            return {"majority_prediction_share": counts.max() / classes.size}
        spread = np.std(np.asarray(self.y, dtype=float))
        return {"prediction_spread": np.std(predictions) / spread} if spread > 0 else {}

    # -- Keras hooks -------------------------------------------------------------------------
    def on_train_begin(self, logs=None):
        self.history, self._warned, self.diagnosis = {}, set(), None
        validation = fit_has_validation(self.model)
        self.monitors = sorted({c.monitor for c in sibling_callbacks(self.model)
                                if c is not self and isinstance(getattr(c, "monitor", None), str)})
        keys = log_keys(self.model, bool(validation)) if validation is not None else None
        if keys is not None:
            missing = [m for m in self.monitors if m not in keys]
            if missing:
                finding = missing_monitor_finding(missing, sorted(keys))
                self._warn([make_symptom("missing_monitor_key", finding)], None)

    def on_epoch_begin(self, epoch, logs=None):
        self._start_weights = self._layer_weights()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        for key, value in list(logs.items()):
            self._record(key, value)
        # Measurements go into the epoch's logs too, so History and CSVLogger keep them.
        if "learning_rate" not in logs:
            self._record("learning_rate", np.asarray(self.model.optimizer.learning_rate), logs)
        for name, before in self._start_weights.items():
            after = [np.array(w.numpy()) for w in self.model.get_layer(name).trainable_weights]
            change = np.sqrt(sum(float(np.sum((a - b) ** 2)) for a, b in zip(after, before, strict=True)))
            size = np.sqrt(sum(float(np.sum(b ** 2)) for b in before))
            self._record(UPDATE_PREFIX + name, change / size if size > 0 else np.inf, logs)
        if self.x is not None:
            norms, predictions = probe_model(self.model, self.x, self.y)
            for layer, norm in norms.items():
                self._record(GRAD_PREFIX + layer, norm, logs)
            for key, value in self._prediction_stats(predictions).items():
                self._record(key, value, logs)
        self.diagnosis = diagnosis = diagnose(self.history, monitors=self.monitors)
        self._warn(diagnosis.symptoms, epoch + 1)
        if self.stop_on_non_finite and "non_finite_loss" in diagnosis:
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if not self.history:
            return
        self.diagnosis = diagnose(self.history, monitors=self.monitors)
        self._say(str(self.diagnosis))
