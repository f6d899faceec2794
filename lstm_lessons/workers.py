"""Worker processes that train side by side, one per core, for lessons that train many models.

Lessons 05 to 08 train five to a dozen small, independent models; two processes train them
in about half the time one would on the course's 2 cores (and none starts where this process has
only one core to itself, see :func:`default_jobs`). The processes come from joblib's ``loky``
backend (a well-kept pool that survives between calls), so each imports TensorFlow once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

from lstm_lessons.params import Rule, require

_STARTING: list[threading.Thread] = []
"""Background starts of the pool (:func:`start`) that :func:`run_groups` must wait for."""


def default_jobs() -> int:
    """The worker processes to use when the caller does not say: one per core this process's
    TensorFlow may use (``ll.cores.tensorflow_cores``). That is 2 on the course's machines, and
    1 (train here, start no worker) in a process that shares the machine, such as a hand-in the
    grader runs beside another or a lesson under ``make test``: there more workers would only
    add their TensorFlow imports (about 12 s of CPU each on the course's machines) on cores already busy.
    The numbers are the same either way (each training seeds itself)."""
    from lstm_lessons.cores import tensorflow_cores

    return tensorflow_cores()


def check_jobs(jobs) -> int:
    """Return ``jobs`` as an int; ``None`` means :func:`default_jobs`.

    Raises:
        ValueError: ``jobs`` is not ``None`` or an integer >= 1.
    """
    if jobs is None:
        return default_jobs()
    return require("jobs", jobs, Rule(int, 1, meaning="processes training at once"))


KEEP_WORKERS_UP_TO = 4 * 2**30
"""Bytes a worker's memory may grow by before loky replaces it (loky's own limit is 300 MB)."""


def _prepare(threads: dict) -> None:
    """In a worker process, before TensorFlow loads: its thread pools sized by ``threads``
    (``ll.cores.tensorflow_threads``: the workers share the cores instead of each taking all of
    them), and standard error sent to /dev/null (a notebook shows a child's C++ and warning
    lines as red output; errors still come back as exceptions).

    It also raises loky's memory-leak limit to :data:`KEEP_WORKERS_UP_TO`
    (``ll._runtime.keep_loky_workers``). loky replaces a worker whose memory grew by 300 MB since
    its first task; a worker that has traced four small recurrent models has, and its
    replacement spends seconds importing TensorFlow again before the next call (lesson 08's
    second call: 17 s instead of 7 s). The growth is the compiled models, not a leak."""
    import os

    from lstm_lessons._runtime import keep_loky_workers

    keep_loky_workers(KEEP_WORKERS_UP_TO)
    os.environ.update(threads)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    os.close(devnull)


def _import_tensorflow(threads: dict) -> None:
    _prepare(threads)
    from lstm_lessons._tf import tf  # noqa: F401


def _run_group(function: Callable, calls: list, threads: dict) -> list:
    _prepare(threads)
    return function(calls)


def start(jobs: int | None = None) -> None:
    """Start ``jobs`` worker processes (default :func:`default_jobs`) in the background and
    return at once; with one job there is nothing to start.

    Each worker spends seconds importing TensorFlow before it can train (about 7 s on the
    course's 2 cores); started early, that import overlaps what the notebook does meanwhile
    (lesson 05: the baseline's training). :func:`run_groups` waits for this start before it
    hands out work. Calling it is optional.

    Raises:
        ValueError: ``jobs`` is not ``None`` or an integer >= 1.
    """
    from joblib import Parallel, delayed

    from lstm_lessons.cores import tensorflow_threads

    jobs = check_jobs(jobs)
    if jobs == 1:
        return
    threads = tensorflow_threads(jobs)
    thread = threading.Thread(target=lambda: Parallel(n_jobs=jobs, backend="loky")(
        delayed(_import_tensorflow)(threads) for _ in range(jobs)), daemon=True)
    thread.start()
    _STARTING.append(thread)


def run_groups(function: Callable[[list], list], groups: Sequence[list],
               jobs: int | None = None) -> list[list]:
    """``function(group)`` for each group, ``jobs`` groups at a time (default
    :func:`default_jobs`), in the worker processes.

    ``function`` must be importable (a module-level function) and its arguments picklable. Each
    worker's TensorFlow gets ``cores / jobs`` threads a pool (``ll.cores.tensorflow_threads``).
    With ``jobs=1`` the groups run here, one after the other.

    Returns:
        ``function``'s result for each group, in the order of ``groups``.

    Raises:
        ValueError: ``jobs`` is not ``None`` or an integer >= 1.
    """
    from joblib import Parallel, delayed

    from lstm_lessons.cores import tensorflow_threads

    jobs = check_jobs(jobs)
    if jobs == 1:
        return [function(group) for group in groups]
    while _STARTING:   # the workers start() began: one pool, not two
        _STARTING.pop().join()
    threads = tensorflow_threads(jobs)
    return Parallel(n_jobs=jobs, backend="loky")(delayed(_run_group)(function, group, threads)
                                                 for group in groups)


def map_calls(function: Callable[[list], list], calls: Sequence, jobs: int | None = None) -> list:
    """``function`` over ``calls`` shared out round-robin (call ``i`` to worker ``i % jobs``),
    the results back in the order of ``calls``.

    ``function`` takes a list of calls and returns one result a call (see :func:`run_groups`).
    Round-robin suits calls of similar cost in no particular order; a lesson whose models share a
    compiled model should group them itself (``ll.generalisation.train_many``).

    Raises:
        ValueError: ``jobs`` is not ``None`` or an integer >= 1.
    """
    jobs = check_jobs(jobs)
    calls = list(calls)
    done = run_groups(function, [calls[i::jobs] for i in range(jobs)], jobs)
    results: list = [None] * len(calls)
    for i, group_results in enumerate(done):
        results[i::jobs] = group_results
    return results
