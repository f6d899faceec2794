"""One call shape for every lesson's experiment: calls checked before anything trains."""

import pytest

from lstm_lessons import experiments


def _train(split, seed, settings=None, *, curves=False):
    return (split, seed, settings, curves)


def test_calls_are_checked_against_the_train_signature_before_anything_runs():
    calls = [{"split": "a", "seed": 1}, {"split": "b", "seed": 2, "curves": True}]
    assert experiments.checked_calls(_train, calls) == calls
    assert experiments.train_many(_train, calls, jobs=1) == [("a", 1, None, False), ("b", 2, None, True)]
    with pytest.raises(ValueError, match=r"calls\[1\] does not fit _train.*\['seed', 'splits'\]"):
        experiments.checked_calls(_train, [{"split": "a", "seed": 1}, {"splits": "b", "seed": 2}])
    with pytest.raises(ValueError, match=r"calls\[0\] does not fit _train.*missing"):
        experiments.checked_calls(_train, [{"split": "a"}])
    with pytest.raises(ValueError, match=r"calls\[0\] must be a dict of _train's arguments.*tuple"):
        experiments.checked_calls(_train, [("a", 1)])
    with pytest.raises(ValueError, match="jobs=0"):
        experiments.train_many(_train, calls, jobs=0)


def test_settings_are_checked_when_made_and_a_lesson_gives_its_own_defaults():
    from lstm_lessons import leakage

    assert leakage.Settings() == experiments.Settings(units=16, epochs=15, learning_rate=3e-3, batch_size=128)
    assert leakage.Settings(epochs=5).epochs == 5
    with pytest.raises(ValueError, match="Settings not allowed:\n  units=0 is not allowed.*\n  epochs=-1"):
        experiments.Settings(units=0, epochs=-1, learning_rate=1e-3, batch_size=32)
