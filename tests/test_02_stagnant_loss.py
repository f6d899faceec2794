"""Lesson 02's own tests: the rare-speaker task it trains its classifier on."""

import numpy as np
import pytest

from lstm_lessons import stagnation


def test_rare_speaker_task_keeps_few_examples_of_one_speaker():
    task = stagnation.rare_speaker_task(speaker=1, frames=7, minority_examples=10)
    assert task.x_train.shape == (170, 7, 12) and task.x_val.shape == (90, 7, 12)
    assert task.y_train.sum() == 10 and task.y_val.sum() == 10
    # validation is held out of the archive's training split; the test split is returned apart
    assert task.x_test.shape == (370, 7, 12) and task.y_test.sum() == 31
    assert not any((task.x_val[:, None] == task.x_train[None]).all(axis=(2, 3)).any(axis=1))
    assert not np.isnan(task.x_train).any() and not np.isnan(task.x_val).any()
    with pytest.raises(ValueError, match="speaker=0 is not allowed"):
        stagnation.rare_speaker_task(speaker=0)
    with pytest.raises(ValueError, match="frames=8 is not allowed"):
        stagnation.rare_speaker_task(frames=8)
    with pytest.raises(ValueError, match="minority_examples=21 is not allowed"):
        stagnation.rare_speaker_task(minority_examples=21)
