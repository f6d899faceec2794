"""Processes side by side share the cores: each TensorFlow gets its part of them."""

import pytest

from lstm_lessons import cores


def test_each_process_gets_its_share_of_the_cores_and_at_least_one(monkeypatch):
    for name in cores.THREAD_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cores, "available_cores", lambda: 8)
    assert cores.tensorflow_threads(1) == {"TF_NUM_INTRAOP_THREADS": "8", "TF_NUM_INTEROP_THREADS": "8"}
    assert cores.tensorflow_threads(3) == {"TF_NUM_INTRAOP_THREADS": "2", "TF_NUM_INTEROP_THREADS": "2"}
    assert set(cores.tensorflow_threads(20).values()) == {"1"}


def test_a_value_already_set_wins(monkeypatch):
    monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", "5")
    monkeypatch.delenv("TF_NUM_INTEROP_THREADS", raising=False)
    monkeypatch.setattr(cores, "available_cores", lambda: 2)
    assert cores.tensorflow_threads(2) == {"TF_NUM_INTRAOP_THREADS": "5", "TF_NUM_INTEROP_THREADS": "1"}


@pytest.mark.parametrize("processes", [0, 1.5, True, "2"])
def test_a_bad_number_of_processes_is_named(processes):
    with pytest.raises(ValueError, match=f"processes={processes!r}"):
        cores.tensorflow_threads(processes)
