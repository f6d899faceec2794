"""Running submissions and checks of answers: what one run gives, and the runners that do it.

The grader's two kinds of job (see :mod:`lstm_lessons.instructor.worker`) each run in a child process
under :func:`lstm_lessons.instructor.limits.run_limited`; a submission's child runs inside the
bubblewrap sandbox when one is given. :func:`execute_submission` and :func:`check_answer` do
that in a folder of this machine and return dataclasses of plain data (:class:`Execution`,
``CheckResult`` or :class:`CheckFailed`), so the same code serves the grader's own threads
(:class:`LocalRunner`, ``lstm-lessons grade``) and a Dask worker on another machine
(:class:`~lstm_lessons.instructor.cluster.ClusterRunner`, ``lstm-lessons grade --scheduler``).
Both runners have the one interface the grader uses, :class:`Runner`.
:func:`check_machine` tells, before any check runs, where this machine's checks will train.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed, wait
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol

from lstm_lessons.cores import THREAD_VARIABLES, available_cores, tensorflow_cores, tensorflow_threads
from lstm_lessons.grading.exercise import CheckResult
from lstm_lessons.grading.feedback import GRADING_ENV
from lstm_lessons.instructor.confinement import MAX_TASKS, find_confinement, run_confined
from lstm_lessons.instructor.limits import ResultPipe, run_limited
from lstm_lessons.instructor.sandbox import INPUT_DIR, SHM_MB, WORK_DIR, Sandbox
from lstm_lessons.live import LIVE_ENV
from lstm_lessons.machine import kind as machine_kind

CHECK_TIMEOUT = 300.0
"""Least time limit of one check of an answer, in seconds (trusted code; the longest trains for
about 25 s). The submissions' limit applies when it is larger."""
CHECK_MEMORY_MB = 4096.0
"""Least memory limit of one check of an answer, in MiB (the longest check uses about
0.8 GiB). The submissions' limit applies when it is larger."""


@dataclass(frozen=True)
class Limits:
    """What one submission may use, and how many run at once on its machine.

    Attributes:
        timeout: seconds one submission may run (a check: at least :data:`CHECK_TIMEOUT`).
        memory_mb: MiB one submission's processes may hold together (a check: at least
            :data:`CHECK_MEMORY_MB`).
        disk_mb: MiB a submission may write in the sandbox.
        side_by_side: submissions (or checks) that run at once on the same machine; each child's
            TensorFlow gets ``cores / side_by_side`` threads (``ll.cores.tensorflow_threads``).
    """

    timeout: float
    memory_mb: float
    disk_mb: float
    side_by_side: int

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Execution:
    """What executing one submission gave, here or on a cluster's worker.

    Attributes:
        status: ``graded`` (ran to the end; its answers still to be checked), ``error``,
            ``kernel-died``, ``timeout``, ``memory`` (the polled resident memory, or the cgroup's
            limit: the kernel ended a process), ``stopped`` (the grading was interrupted) or
            ``grader-error``.
        message: one line for the student.
        claims: the verdict lines the notebook recorded (``ll.claims``).
        answers: ``{exercise id: the recorded answer}``, not yet checked.
        notebook: the executed notebook as JSON text, or ``None``.
        seconds: wall-clock seconds it ran.
        peak_mb: the most MiB its processes held together.
    """

    status: str
    message: str
    claims: dict
    answers: dict
    notebook: str | None
    seconds: float
    peak_mb: float


@dataclass(frozen=True)
class CheckFailed:
    """A check of an answer that gave no result: ``why``, e.g. ``"ran out of time"``."""

    why: str


class Runner(Protocol):
    """Where the grader's jobs run: this machine (:class:`LocalRunner`) or a Dask cluster
    (:class:`~lstm_lessons.instructor.cluster.ClusterRunner`). A job is a
    :class:`concurrent.futures.Future`-like object whose ``result()`` is an :class:`Execution`
    (:meth:`execute`) or a ``CheckResult`` or :class:`CheckFailed` (:meth:`check`), and raises
    when the runner itself failed.

    Attributes:
        slots: jobs run at once.
        where: the runner in a message, ``"this machine"`` or ``"the cluster"``.
        notices: lines for the instructor about the runner (machines left out or unlike).
    """

    slots: int
    where: str
    notices: list[str]

    def describe(self) -> dict:
        """What ``results.json``'s limits say of the runner (its confinement, or its scheduler)."""

    def checked_on(self, exercises: Iterable[str]) -> dict[str, dict]:
        """``{exercise id: the kind of machine that checks its answers}``
        (:func:`lstm_lessons.machine.kind`, with ``"hosts"``)."""

    def environment(self, snapshot, checked_on: dict[str, dict]) -> dict:
        """:func:`check_environment` of the checks this runner makes."""

    def execute(self, id_: str, text: str):
        """Submit the execution of submission ``id_`` (the clean notebook as JSON text)."""

    def check(self, exercise: str, answer: str):
        """Submit the check of one answer (its JSON text)."""

    def completed(self, jobs: Iterable) -> Iterator:
        """The jobs as they finish."""

    def cancel(self, jobs: Iterable) -> None:
        """Stop the running jobs (their processes are killed) and cancel the others; the next
        jobs submitted run normally. This machine's runner returns when its jobs have ended, a
        cluster's at once."""

    def close(self) -> None:
        """Release the threads or the connection."""


def worker_command(job_path, result: ResultPipe) -> list[str]:
    """The command line of the grader's child process (:mod:`lstm_lessons.instructor.worker`)."""
    return [sys.executable, "-m", "lstm_lessons.instructor.worker", str(job_path), str(result.fd)]


def child_environment(temporary: Path, side_by_side: int) -> dict:
    """The child's environment: grading mode, quiet TensorFlow sharing the cores with the other
    ``side_by_side`` children (``ll.cores.tensorflow_threads``), live views drawn once at their
    end (``ll.live.LIVE_ENV``: no one watches), and temporary files (``tempfile``) under
    ``temporary``, which the grader deletes afterwards."""
    temporary.mkdir(parents=True, exist_ok=True)
    return {**os.environ, **tensorflow_threads(side_by_side), GRADING_ENV: "1", "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONHASHSEED": "0", "TMPDIR": str(temporary), LIVE_ENV: "final"}


def check_machine(side_by_side: int) -> dict:
    """Where a check on this machine trains: :func:`lstm_lessons.machine.describe` as the child
    process of :func:`check_answer` reports it when ``side_by_side`` checks run at once.

    The CPU, the oneDNN setting and the versions are this process's (the child inherits its
    environment and its Python); the threads are those :func:`child_environment` gives the
    child's TensorFlow, read as :func:`lstm_lessons.cores.tensorflow_cores` reads them, not this
    process's own.

    Raises:
        ValueError: ``side_by_side`` is not an integer >= 1.
    """
    from lstm_lessons.machine import describe

    given = tensorflow_threads(side_by_side)
    intra = tensorflow_cores(given)
    try:
        inter = int(given[THREAD_VARIABLES[1]])
    except ValueError:
        inter = None
    return {**describe(), "threads": {"intra_op": intra, "inter_op": inter, "cores": available_cores()}}


def check_environment(snapshot, side_by_side: int = 1, checkers: dict | None = None) -> dict:
    """What a check's result depends on besides the answer: the checksum of the ``lstm_lessons``
    package as snapshotted (its checks and data checksums), and the kind of machine each check
    trains on (:func:`lstm_lessons.machine.kind`: the CPU model and its numeric
    flags, the oneDNN setting, TensorFlow's intra-op threads in a check, the versions of Python,
    TensorFlow, Keras and NumPy). Checks of an answer in equal environments give equal numbers.

    Args:
        snapshot: the package as the checks will import it.
        side_by_side: checks that run at once on this machine; each check's TensorFlow gets its
            share of the cores (:func:`~lstm_lessons.instructor.execution.check_machine`).
        checkers: on a cluster, ``{exercise id: the kind of machine that checks it}``
            (:meth:`~lstm_lessons.instructor.cluster.ClusterRunner.checked_on`); ``None``: every check
            runs on this machine.

    Returns:
        On this machine: ``{"lstm_lessons", "host", "machine", "cpu", "onednn", "threads",
        "versions"}`` (``host`` and ``machine``: this machine's name and architecture). On a
        cluster: ``{"lstm_lessons", "exercises": {exercise id: machine.kind}}``.

    Raises:
        ValueError: ``side_by_side`` is not an integer >= 1.
    """
    if checkers is not None:
        return {"lstm_lessons": snapshot.checksum,
                "exercises": {exercise: machine_kind(kind) for exercise, kind in sorted(checkers.items())}}
    machine = check_machine(side_by_side)
    return {"lstm_lessons": snapshot.checksum, "host": machine["host"], "machine": machine["machine"],
            **machine_kind(machine)}


def report_of(output: bytes | None) -> dict:
    """A worker's report (see :mod:`lstm_lessons.instructor.worker`); ``{}`` if it sent none or a
    broken one."""
    try:
        report = json.loads(output)
    except (TypeError, ValueError):
        return {}
    return report if isinstance(report, dict) else {}


def _write_job(text: str, folder: Path, sandbox: Sandbox | None) -> Path:
    """Write the job of one submission into ``folder``; returns the path of ``job.json`` as
    the worker will see it (in the sandbox: under :data:`INPUT_DIR`)."""
    (folder / "submission.ipynb").write_text(text, encoding="utf-8")
    if sandbox is not None:
        # Only job.json and the clean copy are visible inside, read-only, at INPUT_DIR.
        inside = Path(INPUT_DIR)
        job = {"notebook": str(inside / "submission.ipynb"), "cwd": WORK_DIR, "max_tasks": MAX_TASKS}
    else:
        (folder / "work").mkdir()
        inside = folder
        job = {"notebook": str(folder / "submission.ipynb"), "cwd": str(folder / "work")}
    (folder / "job.json").write_text(json.dumps({"mode": "execute", **job}))
    return inside / "job.json"


def group_memory_mb(limits: Limits, sandboxed: bool) -> float:
    """MiB of a submission's cgroup (:mod:`lstm_lessons.instructor.confinement`): what its processes
    may hold, plus, in the sandbox, the tmpfs ``/tmp`` and ``/dev/shm`` it may fill (the kernel
    charges their pages, and the kernel memory of their files, to the group)."""
    return limits.memory_mb + (limits.disk_mb + SHM_MB if sandboxed else 0)


def execute_submission(text: str, folder: Path, limits: Limits, sandbox: Sandbox | None,
                       stop: threading.Event | None = None) -> Execution:
    """Execute one prepared submission (a clean notebook as JSON text) in the new folder
    ``folder``, in ``sandbox`` (``None``: as this user), under ``limits``, in a cgroup of its own
    where this machine allows one (:func:`lstm_lessons.instructor.confinement.run_confined`).

    Returns:
        The :class:`Execution` (``status`` ``stopped`` when ``stop`` was set).

    Raises:
        OSError: the submission's cgroup could not be created (nothing was run).
    """
    folder.mkdir(parents=True)
    job, pipe = _write_job(text, folder, sandbox), ResultPipe()
    environment = child_environment(folder / "tmp", limits.side_by_side)
    command = worker_command(job, pipe)
    if sandbox is not None:
        command = sandbox.command(command, environment, inputs=folder)
    group_mb = group_memory_mb(limits, sandbox is not None)
    outcome, usage = run_confined(command, group_mb, limits.timeout, limits.memory_mb, env=environment,
                                  cwd=folder, stop=stop, result=pipe)
    returncode = outcome.returncode
    if sandbox is not None and returncode > 128:
        returncode = 128 - returncode       # bwrap exits 128 + N when the worker died of signal N
    # Only a worker that ended normally sent its report: a kernel that kills the worker
    # cannot have written one for it (the worker is non-dumpable; see worker.py).
    ended_normally = outcome.limit is None and returncode == 0
    report = report_of(outcome.result) if ended_normally else {}
    result = report.get("result")
    oom_killed = usage is not None and usage.oom_kills > 0
    if outcome.limit == "stopped":
        status, message = "stopped", "grading was interrupted; this grade is not recorded"
    elif outcome.limit == "timeout":
        status, message = "timeout", f"still running after {limits.timeout:g} s (the time limit); stopped"
    elif outcome.limit == "memory":
        status, message = "memory", (f"held {outcome.peak_mb:.0f} MiB, more than the memory limit of "
                                     f"{limits.memory_mb:g} MiB; stopped")
    elif oom_killed:
        held = "its processes, its files in /tmp and /dev/shm, and their kernel memory" if sandbox else \
            "its processes and their kernel memory"
        status, message = "memory", (f"held more than the memory limit of {group_mb:g} MiB ({held}); "
                                     f"the kernel ended {usage.oom_kills} of its processes")
    elif returncode < 0:
        status, message = "kernel-died", (f"the grader's worker was killed (signal "
                                          f"{-returncode}), by the notebook or the system")
    elif not isinstance(result, dict):
        status, message = "grader-error", (f"the grader's worker ended with exit status "
                                           f"{returncode} and no result")
    else:
        status, message = result["status"], result["message"]
    if usage is not None and usage.refused_tasks:
        refused = "1 new process or thread was" if usage.refused_tasks == 1 else \
            f"{usage.refused_tasks} new processes or threads were"
        message += f" ({refused} refused at the limit of {MAX_TASKS})"
    valid = isinstance(result, dict)
    notebook = report.get("notebook")
    return Execution(status, message, claims=result.get("claims", {}) if valid else {},
                     answers=result.get("answers", {}) if valid else {},
                     notebook=notebook if isinstance(notebook, str) else None,
                     seconds=outcome.seconds, peak_mb=outcome.peak_mb)


def check_answer(exercise: str, answer: str, folder: Path, limits: Limits,
                 stop: threading.Event | None = None) -> CheckResult | CheckFailed:
    """Train and measure one answer (``answer``: its JSON text) with the trusted exercise code, in
    a limited child process in the new folder ``folder`` (no sandbox: the code is the grader's).

    Returns:
        The check's ``CheckResult``, or :class:`CheckFailed` when the child ran out of time or
        memory, was stopped or sent no result.
    """
    folder.mkdir(parents=True)
    (folder / "job.json").write_text(json.dumps({"mode": "verify", "exercise": exercise,
                                                 "answer": json.loads(answer)}))
    pipe = ResultPipe()
    environment = child_environment(folder / "tmp", limits.side_by_side)
    outcome = run_limited(worker_command(folder / "job.json", pipe), max(limits.timeout, CHECK_TIMEOUT),
                          max(limits.memory_mb, CHECK_MEMORY_MB), env=environment, cwd=folder,
                          stop=stop, result=pipe)
    result = report_of(outcome.result).get("result") if outcome.limit is None else None
    if isinstance(result, dict):
        return CheckResult(**result)
    why = {"timeout": "ran out of time", "memory": "ran out of memory", "stopped": "was interrupted"}.get(
        outcome.limit, f"ended with exit status {outcome.returncode}")
    return CheckFailed(why)


def in_a_folder(function, *args, **kwargs):
    """Call ``function(*args, folder, **kwargs)`` with ``folder`` a new temporary folder.

    The folder is on this machine and deleted afterwards. A submission may leave files that
    cannot be removed; that must not lose its result."""
    with tempfile.TemporaryDirectory(prefix="lstm-lessons-grade-", ignore_cleanup_errors=True) as tmp:
        return function(*args, Path(tmp) / "job", **kwargs)


class LocalRunner:
    """The grader's jobs in this machine's threads, up to ``limits.side_by_side`` at once, each
    in a temporary folder of its own (:class:`Runner`).

    Args:
        limits: what one submission may use.
        sandbox: the bubblewrap sandbox submissions run in, or ``None`` (as this user).
        after_execution: called in the job's thread after each submission ends, with its id and
            the ids of the submissions still running (the grader restores its package there).
    """

    where = "this machine"

    def __init__(self, limits: Limits, sandbox: Sandbox | None,
                 after_execution: Callable[[str, list[str]], None] | None = None):
        self.limits, self.sandbox, self.after_execution = limits, sandbox, after_execution
        self.slots = limits.side_by_side
        self.notices: list[str] = []
        self._pool: ThreadPoolExecutor | None = None     # made at the first job, ended by close()
        self._stop = threading.Event()
        self._running: set[str] = set()
        self._lock = threading.Lock()

    def describe(self) -> dict:
        return {"confinement": find_confinement().kind}

    def checked_on(self, exercises: Iterable[str]) -> dict[str, dict]:
        machine = check_machine(self.slots)
        here = {**machine_kind(machine), "hosts": [machine["host"]]}
        return {exercise: dict(here) for exercise in exercises}

    def environment(self, snapshot, checked_on: dict[str, dict]) -> dict:
        return check_environment(snapshot, self.slots)

    def execute(self, id_: str, text: str) -> Future:
        return self._threads().submit(self._execute, id_, text, self._stop)

    def check(self, exercise: str, answer: str) -> Future:
        return self._threads().submit(in_a_folder, check_answer, exercise, answer, limits=self.limits,
                                      stop=self._stop)

    def completed(self, jobs: Iterable[Future]) -> Iterator[Future]:
        return as_completed(list(jobs))

    def cancel(self, jobs: Iterable[Future]) -> None:
        """Set the stop event the running jobs' child processes watch (they are killed within one
        poll of :func:`run_limited`), cancel the others, and wait until the running ones end."""
        jobs = list(jobs)
        self._stop.set()
        for job in jobs:
            job.cancel()
        wait(jobs)
        self._stop = threading.Event()     # for the next run

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _threads(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.slots, thread_name_prefix="lstm-lessons-grade")
        return self._pool

    def _execute(self, id_: str, text: str, stop: threading.Event) -> Execution:
        with self._lock:
            self._running.add(id_)
        try:
            return in_a_folder(execute_submission, text, limits=self.limits, sandbox=self.sandbox,
                                     stop=stop)
        finally:
            with self._lock:
                self._running.discard(id_)
                if self.after_execution is not None:
                    # Who could have changed the package: this submission and any still running.
                    self.after_execution(id_, sorted(self._running))
