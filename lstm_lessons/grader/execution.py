"""Running one submission, or one check of an answer, on this machine under the grader's limits.

The grader's two kinds of job (see :mod:`lstm_lessons.grader.worker`) each run in a child process
under :func:`lstm_lessons.grader.limits.run_limited`; a submission's child runs inside the
bubblewrap sandbox when one is given. :func:`execute_submission` and :func:`check_answer` do
that in a folder of this machine and return plain data (``dict``\\ s of strings and numbers),
so the same code serves the grader's own threads (``lstm-lessons grade``) and a Dask worker on
another machine (``lstm-lessons grade --scheduler``, :mod:`lstm_lessons.grader.cluster`).
:func:`check_machine` tells, before any check runs, where this machine's checks will train.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from lstm_lessons.cores import THREAD_VARIABLES, available_cores, tensorflow_cores, tensorflow_threads
from lstm_lessons.grader.confinement import MAX_TASKS, run_confined
from lstm_lessons.grader.limits import ResultPipe, run_limited
from lstm_lessons.grader.sandbox import INPUT_DIR, SHM_MB, WORK_DIR, Sandbox
from lstm_lessons.grading.feedback import GRADING_ENV

CHECK_TIMEOUT, CHECK_MEMORY_MB = 300.0, 4096.0
"""Least limits of one check of an answer (trusted code; the longest trains for about 25 s
in 0.8 GiB). The submissions' limits apply when they are larger."""


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


def worker_command(job_path, result: ResultPipe) -> list[str]:
    """The command line of the grader's child process (:mod:`lstm_lessons.grader.worker`)."""
    return [sys.executable, "-m", "lstm_lessons.grader.worker", str(job_path), str(result.fd)]


def child_environment(temporary: Path, side_by_side: int) -> dict:
    """The child's environment: grading mode, quiet TensorFlow sharing the cores with the other
    ``side_by_side`` children (``ll.cores.tensorflow_threads``), and temporary files
    (``tempfile``) under ``temporary``, which the grader deletes afterwards."""
    temporary.mkdir(parents=True, exist_ok=True)
    return {**os.environ, **tensorflow_threads(side_by_side), GRADING_ENV: "1", "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONHASHSEED": "0", "TMPDIR": str(temporary)}


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


def report_of(output: bytes | None) -> dict:
    """A worker's report (see :mod:`lstm_lessons.grader.worker`); ``{}`` if it sent none or a
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
    """MiB of a submission's cgroup (:mod:`lstm_lessons.grader.confinement`): what its processes
    may hold, plus, in the sandbox, the tmpfs ``/tmp`` and ``/dev/shm`` it may fill (the kernel
    charges their pages, and the kernel memory of their files, to the group)."""
    return limits.memory_mb + (limits.disk_mb + SHM_MB if sandboxed else 0)


def execute_submission(text: str, folder: Path, limits: Limits, sandbox: Sandbox | None,
                       stop: threading.Event | None = None) -> dict:
    """Execute one prepared submission (a clean notebook as JSON text) in the new folder
    ``folder``, in ``sandbox`` (``None``: as this user), under ``limits``, in a cgroup of its own
    where this machine allows one (:func:`lstm_lessons.grader.confinement.run_confined`).

    Returns:
        ``{"status", "message", "claims", "answers", "notebook", "seconds", "peak_mb"}``:
        ``status`` is ``graded`` (ran to the end; its answers still to be checked), ``error``,
        ``kernel-died``, ``timeout``, ``memory`` (the polled resident memory, or the cgroup's
        limit: the kernel ended a process), ``stopped`` (``stop`` was set) or
        ``grader-error``; ``notebook`` is the executed notebook as JSON text, or ``None``.

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
    return {"status": status, "message": message,
            "claims": result.get("claims", {}) if valid else {},
            "answers": result.get("answers", {}) if valid else {},
            "notebook": notebook if isinstance(notebook, str) else None,
            "seconds": outcome.seconds, "peak_mb": outcome.peak_mb}


def check_answer(exercise: str, answer: str, folder: Path, limits: Limits,
                 stop: threading.Event | None = None) -> dict:
    """Train and measure one answer (``answer``: its JSON text) with the trusted exercise code, in
    a limited child process in the new folder ``folder`` (no sandbox: the code is the grader's).

    Returns:
        The check's result as a dict (``ll.grading.registry.CheckResult`` fields), or
        ``{"failed": why}`` when the child ran out of time or memory, was stopped or sent no
        result.
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
        return result
    why = {"timeout": "ran out of time", "memory": "ran out of memory", "stopped": "was interrupted"}.get(
        outcome.limit, f"ended with exit status {outcome.returncode}")
    return {"failed": why}
