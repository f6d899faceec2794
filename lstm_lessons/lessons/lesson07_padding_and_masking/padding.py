"""Lesson 07's experiment: one speaker classifier, its utterances padded and normalised in one of
several ways, each measured on the same validation utterances.

The data is UCI Japanese Vowels (``ll.data.load_japanese_vowels()``): 640 utterances of 7 to 29
frames of 12 LPC cepstrum coefficients, by 9 speakers; the archive's 270 training utterances
train every model. Its 370 test utterances are split in half, stratified by speaker
(:func:`split_indices`): 185 validate, and every comparison the lesson and its exercises make is
made on them; the other 185 are the test set. :func:`train` scores them too
(``Result.test_accuracy``); the lesson prints that score once, for the pipeline it recommends,
and no comparison, claim or exercise reads it.

Every pipeline pads all utterances to :data:`PADDED_LENGTH` frames, room for utterances twice
as long as the longest, as a pipeline that must accept longer ones later would. They differ in
the side of the padding, in whether a ``Masking`` layer tells the LSTM which frames are padding,
and in how the per-channel standardisation is fitted (:data:`PIPELINES`). Accuracy is broken
down by utterance length (:data:`LENGTH_EDGES`, ``ll.sequences.bucket_means``): ``ll.subsets``
reports regression errors of a model in this process, while these models train in worker
processes and are classifiers, so each run returns its per-utterance correctness instead.

The notebook, its exercise checks and the benchmarks all go through :func:`prepare` and
:func:`train`, so a number in the lesson, a grade and a benchmark row come from the same code.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstm_lessons import data, experiments, live, sequences
from lstm_lessons.params import Choice, Rule, require

PADDED_LENGTH = 60
"""Frames every utterance is padded to (the longest has 29)."""
LENGTH_EDGES = (13, 18)
"""Length buckets of the report: 7-12, 13-17 and 18-29 frames."""
LENGTH_RANGE = (7, 29)
"""The shortest and the longest utterance of the archive: the buckets' labels span it, whichever
utterances a report holds (the validation utterances run from 9 frames)."""
VALIDATION_FRACTION = 0.5
"""Share of the archive's 370 test utterances that validates, stratified by speaker; the rest is
the test set."""
PADDING_VALUE = 0.0
"""The padding value, and the ``Masking`` layer's ``mask_value`` in the masked pipelines."""

PIPELINES = {
    "post, no mask": "standardised over the real frames, padded after the utterance, no mask",
    "pre, no mask": "standardised over the real frames, padded before the utterance (Keras's "
                    "default), no mask",
    "post, masked": "standardised over the real frames, padded after the utterance, and a Masking "
                    "layer that skips the padding",
    "padded-array statistics, masked": "post, masked, but the mean and deviation of each channel "
                                       "fitted on the training array padded with zeros",
    "scaled after padding, masked": "padded with zeros first, then a StandardScaler fitted on and "
                                    "applied to the padded arrays, and a Masking layer for zeros",
}
"""Every pipeline :func:`prepare` builds, and what it does."""


@dataclass(frozen=True)
class Prepared(data.WindowParts):
    """One pipeline's arrays (``ll.data.WindowParts``: inputs ``(n_utterances, padded_length, 12)``
    float32, targets ``(n_utterances,)`` the speakers 0-8).

    Attributes:
        label: the pipeline's name, a key of :data:`PIPELINES`.
        lengths_train: ``(n_utterances,)`` real frames of each training utterance.
        lengths_val: the same for the validation utterances.
        lengths_test: the same for the test utterances.
        side: ``"pre"`` or ``"post"``: where the padding is.
        mask_value: the ``Masking`` layer's value, or ``None`` for no mask.
        mean: ``(12,)`` the mean the inputs were standardised with, per channel.
        std: ``(12,)`` the standard deviation they were standardised with, per channel.
    """

    label: str
    lengths_train: np.ndarray
    lengths_val: np.ndarray
    lengths_test: np.ndarray
    side: str
    mask_value: float | None
    mean: np.ndarray
    std: np.ndarray

    @property
    def padding_steps(self) -> int:
        """Padding steps in the training array: ``padded_length * n - sum(lengths)``."""
        return int(self.x_train.shape[0] * self.x_train.shape[1] - self.lengths_train.sum())

    @property
    def masked_steps(self) -> int:
        """Steps of the training array a ``Masking`` layer skips: those whose every channel
        equals :attr:`mask_value` (0 without a mask)."""
        if self.mask_value is None:
            return 0
        return int(np.all(self.x_train == self.mask_value, axis=-1).sum())


def _check_pipeline(pipeline: str) -> str:
    return require("pipeline", pipeline, Choice(tuple(PIPELINES), meaning="a pipeline of the lesson"))


def split_indices(split_seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The archive rows of the training, validation and test utterances: the published training
    split trains; :data:`VALIDATION_FRACTION` of the published test split, stratified by speaker
    (``train_test_split(..., stratify=speaker, random_state=split_seed)``), validates, and the
    rest is the test set."""
    from sklearn.model_selection import train_test_split

    vowels = data.load_japanese_vowels()
    rows = np.flatnonzero(vowels.split == "test")
    test, val = train_test_split(rows, test_size=VALIDATION_FRACTION, stratify=vowels.labels[rows],
                                 random_state=split_seed)
    return np.flatnonzero(vowels.split == "train"), np.sort(val), np.sort(test)


def prepare(pipeline: str, padded_length: int = PADDED_LENGTH, value: float = PADDING_VALUE,
            split_seed: int = 0, label: str | None = None) -> Prepared:
    """The training, validation and test arrays of one pipeline of :data:`PIPELINES`.

    Args:
        pipeline: a key of :data:`PIPELINES`.
        padded_length: frames of every padded utterance, at least 29 (the longest; 29 is what
            ``keras.utils.pad_sequences`` gives by default, the longest sequence).
        value: the padding value and, in the masked pipelines, the ``mask_value``.
        split_seed: fixes the validation utterances (:func:`split_indices`).
        label: the name its results and table row carry (default: ``pipeline``).

    Raises:
        ValueError: an unknown ``pipeline``, a ``padded_length`` below 29 or a non-finite ``value``.
    """
    from sklearn.preprocessing import StandardScaler

    _check_pipeline(pipeline)
    vowels = data.load_japanese_vowels()
    longest = int(vowels.lengths.max())
    require("padded_length", padded_length, Rule(int, longest, meaning="frames every utterance is padded "
                                                                      "to; padding never truncates, and the "
                                                                      "longest utterance has "
                                                                      f"{longest}"))
    train, val, test = split_indices(split_seed)
    side = "pre" if pipeline.startswith("pre") else "post"
    mask_value = float(value) if pipeline.endswith("masked") else None
    x, lengths = vowels.x, vowels.lengths
    if pipeline == "scaled after padding, masked":
        padded = sequences.pad(x, lengths, padded_length, side, value)
        scaler = StandardScaler().fit(padded[train].reshape(-1, x.shape[-1]))
        mean, std = scaler.mean_, scaler.scale_
        inputs = ((padded - mean) / std).astype("float32")
    else:
        over = "padded array" if pipeline.startswith("padded-array") else "real steps"
        fitted_on = sequences.pad(x[train], lengths[train], padded_length, side, value) \
            if over == "padded array" else x[train]
        mean, std = sequences.channel_statistics(fitted_on, lengths[train], over=over)
        inputs = sequences.pad((x - mean) / std, lengths, padded_length, side, value)
    speakers = np.asarray(vowels.labels, dtype="int64") - 1
    return Prepared(inputs[train], speakers[train], inputs[val], speakers[val], inputs[test], speakers[test],
                    label or pipeline, lengths[train], lengths[val], lengths[test], side, mask_value,
                    np.asarray(mean, dtype=float), np.asarray(std, dtype=float))


def extend(x, steps: int, side: str, value: float = PADDING_VALUE) -> np.ndarray:
    """``x`` with ``steps`` more padding frames of ``value`` on ``side``.

    Args:
        x: ``(n, n_steps, n_channels)`` padded (or not yet padded) sequences.
        steps: padding frames to add (>= 1).
        side: ``"pre"`` (before the sequences) or ``"post"`` (after them).
        value: the padding value, in every channel.

    Returns:
        ``(n, n_steps + steps, n_channels)`` float32.

    Raises:
        ValueError: ``side`` is not in ``ll.sequences.PADDING_SIDES``, ``steps`` is not an integer >= 1.
    """
    if side not in sequences.PADDING_SIDES:
        raise ValueError(f"side must be one of {sequences.PADDING_SIDES}. Received: side={side!r}")
    steps = require("steps", steps, Rule(int, 1, meaning="padding frames added"))
    x = np.asarray(x, dtype="float32")
    more = np.full((x.shape[0], int(steps), x.shape[2]), value, dtype="float32")
    return np.concatenate([more, x] if side == "pre" else [x, more], axis=1)


def output_change(model, x, steps: int, side: str, value: float = PADDING_VALUE) -> float:
    """The largest change of any of ``model``'s outputs when ``steps`` more padding frames are
    added to every sequence of ``x`` (:func:`extend`): 0 for a model that ignores its padding.

    Args:
        model: a ``keras.Model`` that reads sequences of any length (``Input(shape=(None, ...))``).
        x, steps, side, value: as for :func:`extend`.
    """
    before = model.predict(np.asarray(x, dtype="float32"), verbose=0)
    after = model.predict(extend(x, steps, side, value), verbose=0)
    return float(np.abs(after - before).max())


Settings = functools.partial(experiments.Settings, units=32, epochs=15, learning_rate=3e-3, batch_size=32)
"""``ll.experiments.Settings`` with lesson 07's defaults; ``DEFAULT_SETTINGS``, what :func:`train` uses."""
DEFAULT_SETTINGS = Settings()


@dataclass
class Result:
    """One trained pipeline and what was measured on the validation utterances.

    Attributes:
        label: the pipeline's name.
        predicted: ``(n_val,)`` the speaker predicted for each validation utterance, 0-8.
        truth: ``(n_val,)`` the true speakers.
        lengths: ``(n_val,)`` real frames of each validation utterance.
        padding_steps: as :class:`Prepared`'s, for the training array.
        masked_steps: as :class:`Prepared`'s, for the training array.
        test_accuracy: share of the test utterances classified right. It is computed for every
            run; the lesson prints it once, for the pipeline it recommends, and compares it with
            nothing.
        history: ``{"loss", "accuracy"}`` per epoch on the training utterances, plus
            ``"val_loss"`` and ``"val_accuracy"`` when curves were asked for (loss in nats per
            utterance).
    """

    label: str
    predicted: np.ndarray
    truth: np.ndarray
    lengths: np.ndarray
    padding_steps: int
    masked_steps: int
    history: dict = field(default_factory=dict)
    test_accuracy: float = float("nan")

    @property
    def correct(self) -> np.ndarray:
        """``(n_val,)`` whether each validation utterance's speaker was predicted right."""
        return self.predicted == self.truth

    @property
    def majority_share(self) -> float:
        """Share of the validation utterances given the most often predicted speaker (the largest
        speaker has 44 of the 185, 0.24)."""
        return float(np.bincount(self.predicted).max() / len(self.predicted))

    @property
    def accuracy(self) -> float:
        """Share of the validation utterances classified right."""
        return float(np.mean(self.correct))

    def by_length(self, edges=LENGTH_EDGES) -> pd.Series:
        """Validation accuracy in each length bucket (``ll.sequences.bucket_means``), labelled over
        :data:`LENGTH_RANGE`."""
        means = sequences.bucket_means(self.correct, self.lengths, edges)["mean"]
        labels = sequences.length_buckets(np.array(LENGTH_RANGE), edges).categories
        means.index = pd.Index(labels, name="length")
        return means


def train(prepared: Prepared, seed: int,
          settings: experiments.Settings = DEFAULT_SETTINGS, *, curves: bool = True) -> Result:
    """Train a new speaker classifier on ``prepared``'s training utterances and measure it.

    The model is ``ll.models.build_speaker_classifier`` (with a ``Masking`` layer when the
    pipeline masks), seeded with ``seed``; models of the same shape reuse one compiled model
    (``ll.training.fresh_model``), with the same numbers.

    Args:
        prepared: from :func:`prepare`.
        seed: seeds the weights and the order of the mini-batches.
        settings: model size and training.
        curves: also measure the validation utterances after every epoch (``history``).
    """
    from lstm_lessons import models, training

    n_features, n_classes = prepared.x_train.shape[-1], 9
    model = training.fresh_model(
        ("padding", n_features, n_classes, settings.units, settings.learning_rate, prepared.mask_value),
        lambda: models.build_speaker_classifier(n_features, n_classes, settings.units, settings.learning_rate,
                                                mask_value=prepared.mask_value), seed)
    fitted = model.fit(training.batches(prepared.x_train, prepared.y_train, settings.batch_size, seed=seed),
                       validation_data=training.batches(prepared.x_val, prepared.y_val, shuffle=False)
                       if curves else None,
                       epochs=settings.epochs, shuffle=False, verbose=0,
                       callbacks=live.reporter(prepared.label))
    predicted = model.predict(prepared.x_val, batch_size=512, verbose=0).argmax(axis=1)
    test_predicted = model.predict(prepared.x_test, batch_size=512, verbose=0).argmax(axis=1)
    history = {key: np.asarray(values, dtype=float) for key, values in fitted.history.items()}
    return Result(prepared.label, predicted, prepared.y_val, prepared.lengths_val, prepared.padding_steps,
                  prepared.masked_steps, history, float(np.mean(test_predicted == prepared.y_test)))


train_many = functools.partial(experiments.train_many, train, label=lambda call: call["prepared"].label)
"""``train_many(calls, jobs=None)``: :func:`train` for each call, its keyword arguments
(``{"prepared": prepared, "seed": 1}``), in worker processes (``ll.experiments.train_many``), each
run under its pipeline's label in a live view."""


def table(results, edges=LENGTH_EDGES) -> pd.DataFrame:
    """One row a result: validation accuracy overall and in each length bucket, the share of the
    validation utterances given the most often predicted speaker, and the share of the training
    array's padding steps the mask skips."""
    rows = {}
    for r in results:
        row = {"validation accuracy": r.accuracy}
        row.update({f"{bucket} frames": value for bucket, value in r.by_length(edges).items()})
        row["most common prediction"] = r.majority_share
        row["padding masked"] = r.masked_steps / r.padding_steps
        rows[r.label] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "pipeline"
    return frame
