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


@pytest.mark.parametrize(("intraop", "expected"), [(None, 8), ("1", 1), ("3", 3), ("0", 8), ("64", 8),
                                                   ("many", 8)])
def test_tensorflow_cores_is_the_share_a_parent_set_or_every_core(monkeypatch, intraop, expected):
    from lstm_lessons import workers

    monkeypatch.setattr(cores, "available_cores", lambda: 8)
    if intraop is None:
        monkeypatch.delenv("TF_NUM_INTRAOP_THREADS", raising=False)
    else:
        monkeypatch.setenv("TF_NUM_INTRAOP_THREADS", intraop)
    assert cores.tensorflow_cores() == expected
    # Worker processes when a lesson does not say: none started in a process given one core.
    assert workers.check_jobs(None) == workers.default_jobs() == expected
    assert workers.check_jobs(2) == 2


@pytest.mark.parametrize("jobs", [0, 1.5, True, "2"])
def test_a_bad_number_of_jobs_is_named(jobs):
    from lstm_lessons import workers

    with pytest.raises(ValueError, match=f"jobs={jobs!r}"):
        workers.check_jobs(jobs)
