"""Lesson 02's own data: Japanese Vowels as a task with one rare speaker (the class imbalance
that stalls the classifier's loss)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lstm_lessons import data
from lstm_lessons.lessons.lesson02_stagnant_loss import PARAMETERS
from lstm_lessons.params import Rule, require

RARE_SPEAKER_TRAINING = 20
"""How many of each speaker's 30 training utterances :func:`rare_speaker_task` may train on
(the first 20); the last 10 of every speaker are its validation part."""


def rare_speaker_task(speaker: int = 1, frames: int = 7,
                      minority_examples: int = 10) -> data.ClassificationTask:
    """Japanese Vowels as an imbalanced binary task: is this utterance by ``speaker``?

    The archive's 270 training utterances (30 per speaker, in order) are split per speaker:
    the first :data:`RARE_SPEAKER_TRAINING` (20) of each speaker may train, the last 10 of each
    validate. Training keeps the first 20 of the other eight speakers and only the first
    ``minority_examples`` of ``speaker``'s (lesson 02: 10 of 170, a 6 % minority). Validation
    holds the last 10 of every speaker, 90 utterances of which 10 are ``speaker``'s, the same
    share (1 in 9) as in the archive's test split. The test split, all 370 utterances (31 of
    ``speaker``), is returned as ``x_test``/``y_test`` and decides nothing in the lesson. Each
    utterance is cut to its first ``frames`` frames, which every utterance has (the shortest
    has 7), so no padding is involved.

    Returns:
        ``ll.data.ClassificationTask`` with ``x_*`` of shape ``(n_utterances, frames, 12)`` and 0/1
        targets ``(n_utterances,)`` (1: by ``speaker``).

    Raises:
        ValueError: ``speaker`` is not 1-9, ``frames`` not in 1-7 or ``minority_examples`` not in 1-20.
    """
    speaker = require("speaker", speaker, Rule(int, 1, 9, meaning="the speaker the task asks about"))
    frames = require("frames", frames, Rule(int, 1, 7, meaning="frames kept of each utterance (the "
                                                               "shortest has 7)"))
    minority_examples = require("minority_examples", minority_examples, PARAMETERS["minority_examples"])
    vowels = data.load_japanese_vowels()
    train_set, test_set = vowels.subset("train"), vowels.subset("test")
    # each utterance's position among its speaker's training utterances (0-29)
    position = pd.Series(train_set.labels).groupby(train_set.labels).cumcount().to_numpy()
    is_speaker = train_set.labels == speaker
    keep = np.where(is_speaker, position < minority_examples, position < RARE_SPEAKER_TRAINING)
    validate = position >= RARE_SPEAKER_TRAINING
    target = is_speaker.astype("float32")
    return data.ClassificationTask(train_set.x[keep, :frames], target[keep], train_set.x[validate, :frames],
                              target[validate], test_set.x[:, :frames],
                              (test_set.labels == speaker).astype("float32"))
