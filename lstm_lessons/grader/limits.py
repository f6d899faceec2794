"""Running a command with a wall-clock limit and a memory limit, and killing all it started.

The grader runs every submission (and every check) as a child process through
:func:`run_limited`. The child is polled every ``poll`` seconds: when its process tree (the
child, the Jupyter kernel it starts, anything the kernel starts) has run longer than the time
limit, or holds more resident memory than the memory limit, every process of the tree is
killed. Kernels are started in their own session by jupyter_client, so killing a process
group would miss them; the tree is followed with psutil instead, and the child makes itself a
*child subreaper* (Linux ``prctl(PR_SET_CHILD_SUBREAPER)``) so processes that detach from
their parent are re-parented to it and still found.

Limits of the memory limit: it is checked by polling, so a process that allocates faster than
about ``memory_limit / poll`` per second can overshoot it briefly before it is killed.
"""

from __future__ import annotations

import ctypes
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import psutil

PR_SET_CHILD_SUBREAPER = 36
"""``prctl`` option number, from ``<linux/prctl.h>``."""


@dataclass(frozen=True)
class Outcome:
    """How a limited run ended.

    Attributes:
        returncode: the child's exit status (negative: killed by that signal).
        limit: ``None`` when the child ended by itself, ``"timeout"`` or ``"memory"`` when it
            was killed for exceeding that limit, ``"stopped"`` when it was killed on request.
        seconds: wall-clock time, in seconds.
        peak_mb: the largest resident memory of the whole tree seen while polling, in MiB.
    """

    returncode: int
    limit: str | None
    seconds: float
    peak_mb: float


def become_subreaper() -> bool:
    """Make the calling process adopt orphaned descendants (Linux only); ``True`` if it did."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def process_tree(process: psutil.Process) -> list[psutil.Process]:
    """``process`` and all its living descendants."""
    try:
        return [process, *process.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def resident_mb(processes) -> float:
    """Total resident set size of ``processes``, in MiB (shared pages are counted per process)."""
    total = 0
    for p in processes:
        try:
            total += p.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            pass
    return total / 2**20


def kill_tree(processes) -> None:
    """Kill every process of ``processes`` (SIGKILL) and reap the ones that are our children."""
    for p in processes:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(processes, timeout=5)


def kill_descendants() -> None:
    """Kill every descendant of the calling process (used by a subreaper before it exits)."""
    kill_tree(process_tree(psutil.Process())[1:])


def run_limited(command: list[str], timeout: float, memory_mb: float, env: dict | None = None,
                cwd=None, poll: float = 0.1, stop: threading.Event | None = None) -> Outcome:
    """Run ``command`` until it ends, exceeds ``timeout`` seconds or ``memory_mb`` MiB, or
    ``stop`` is set (then ``limit`` is ``"stopped"``: another thread asked, say on Ctrl-C).

    Standard input is closed; standard output and error are discarded (the child reports
    through files). The child runs in a session of its own, so a Ctrl-C in the terminal does
    not reach it: whoever catches the interrupt sets ``stop``.

    Raises:
        ValueError: ``timeout`` or ``memory_mb`` is not positive.
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds. Received: {timeout!r}")
    if not memory_mb > 0:
        raise ValueError(f"memory_mb must be > 0 MiB. Received: {memory_mb!r}")
    start = time.monotonic()
    child = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    root, limit, peak, processes = psutil.Process(child.pid), None, 0.0, []
    while child.poll() is None:
        processes = process_tree(root) or processes
        peak = max(peak, resident_mb(processes))
        if peak > memory_mb:
            limit = "memory"
        elif time.monotonic() - start > timeout:
            limit = "timeout"
        elif stop is not None and stop.is_set():
            limit = "stopped"
        if limit:
            child.kill()               # reaped by child.wait() below, so its status is kept
            kill_tree(processes[1:])
            break
        time.sleep(poll)
    returncode = child.wait()
    # Descendants seen at the last poll that outlived the child (it kills them itself when it
    # can; psutil checks creation times, so a reused process id is never killed).
    kill_tree([p for p in processes[1:] if p.is_running()])
    return Outcome(returncode, limit, round(time.monotonic() - start, 1), round(peak, 1))
