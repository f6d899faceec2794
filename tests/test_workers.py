import os

import pytest

from lstm_lessons import workers


def _where(calls):
    """Run in a worker: each call back with this process's id and loky's memory-leak limit."""
    from joblib.externals.loky import process_executor

    return [(call, os.getpid(), process_executor._MAX_MEMORY_LEAK_SIZE) for call in calls]


def test_map_calls_keeps_the_order_and_the_workers_are_not_replaced_for_their_memory():
    results = workers.map_calls(_where, list(range(5)), jobs=2)
    assert [call for call, _, _ in results] == list(range(5))
    pids = {pid for _, pid, _ in results}
    assert os.getpid() not in pids        # worker processes did the work (one may take both groups)
    assert {limit for _, _, limit in results} == {workers.KEEP_WORKERS_UP_TO}


def test_one_job_runs_here_and_bad_jobs_are_refused():
    assert {pid for _, pid, _ in workers.map_calls(_where, [1, 2], jobs=1)} == {os.getpid()}
    with pytest.raises(ValueError, match="jobs=0"):
        workers.map_calls(_where, [1], jobs=0)
