"""Sharing the machine's cores between processes that train side by side.

The grader runs several hand-ins at once and ``ll.generalisation.train_many`` several trainings;
each process's TensorFlow would otherwise size its thread pools to every core.
"""

from __future__ import annotations

import os

from lstm_lessons.params import Rule, require

THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")
"""TensorFlow's two thread pools, as environment variables it reads when it starts."""


def available_cores() -> int:
    """The number of CPU cores this process may use (its affinity mask where the system has one)."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def tensorflow_cores(environment=None) -> int:
    """The cores this process's TensorFlow is meant to use: ``TF_NUM_INTRAOP_THREADS`` where a
    parent set it (the grader and ``make test`` give each process they run side by side its
    share, see :func:`tensorflow_threads`), else every core this process may use
    (:func:`available_cores`); at least 1 and at most the available cores. (TensorFlow reads 0
    or a missing value as "every core".) ``environment``: the variables of a child process to
    be started, instead of this process's."""
    cores = available_cores()
    try:
        threads = int((os.environ if environment is None else environment).get(THREAD_VARIABLES[0], ""))
    except ValueError:
        return cores
    return cores if threads < 1 else min(threads, cores)


def tensorflow_threads(processes: int) -> dict[str, str]:
    """The environment variables for one of ``processes`` TensorFlow processes running side by
    side: :data:`THREAD_VARIABLES`, each the cores shared out (at least 1).

    TensorFlow otherwise sizes both pools to every core in every process, and processes side by
    side then fight over the cores: two lessons run at once on 2 cores take less wall and CPU
    time with one thread a pool than with the default (``benchmarks/results/lesson-times.md``).
    Set the variables only in a process that has not imported TensorFlow yet; values already in
    this process's environment win.

    Raises:
        ValueError: ``processes`` is not an integer >= 1.
    """
    processes = require("processes", processes, Rule(int, 1, meaning="processes sharing the cores"))
    threads = str(max(1, available_cores() // processes))
    return {name: os.environ.get(name, threads) for name in THREAD_VARIABLES}
