"""Running a command with a wall-clock limit and a memory limit, and killing all it started.

The grader runs every submission (and every check) as a child process through
:func:`run_limited`. The child is polled every ``poll`` seconds: when its process tree (the
child, the Jupyter kernel it starts, anything the kernel starts) has run longer than the time
limit, or holds more resident memory than the memory limit, every process of the tree is
killed. Kernels are started in their own session by jupyter_client, so killing a process
group would miss them; the tree is followed with psutil instead, and the child makes itself a
*child subreaper* (Linux ``prctl(PR_SET_CHILD_SUBREAPER)``) so processes that detach from
their parent are re-parented to it and still found.

The child reports through a :class:`ResultPipe`, not through files: a file next to the
child's working folder could be forged by what the child runs, and a folder it may write into
is a folder it can fill. The grader reads at most ``limit`` bytes of it.

Limits of the memory limit: it is checked by polling, so a process that allocates faster than
about ``memory_limit / poll`` per second can overshoot it briefly before it is killed.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass

import psutil

PR_SET_CHILD_SUBREAPER = 36
PR_SET_DUMPABLE = 4
"""``prctl`` option numbers, from ``<linux/prctl.h>``."""
RESULT_LIMIT = 256 * 2**20
"""Bytes of a child's result the grader keeps (an executed lesson is about 1 MiB)."""


@dataclass(frozen=True)
class Outcome:
    """How a limited run ended.

    Attributes:
        returncode: the child's exit status (negative: killed by that signal).
        limit: ``None`` when the child ended by itself, ``"timeout"`` or ``"memory"`` when it
            was killed for exceeding that limit, ``"stopped"`` when it was killed on request.
        seconds: wall-clock time, in seconds.
        peak_mb: the largest resident memory of the whole tree seen while polling, in MiB.
        result: what the child wrote to its :class:`ResultPipe` (``None`` without one, or when
            it wrote more than the pipe's limit).
    """

    returncode: int
    limit: str | None
    seconds: float
    peak_mb: float
    result: bytes | None = None


class ResultPipe:
    """A pipe from a child process to the grader: the child writes its result to :attr:`fd`
    (give the number on its command line); :func:`run_limited` reads it while the child runs.

    Args:
        limit: bytes kept; a longer result is dropped (``Outcome.result`` is ``None``).
    """

    def __init__(self, limit: int = RESULT_LIMIT):
        self._read, self.fd = os.pipe()
        self.limit = limit
        self._chunks: list[bytes] = []
        self._size = 0
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Close the grader's copy of the writing end (the child has its own) and read."""
        os.close(self.fd)
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _drain(self) -> None:
        while chunk := os.read(self._read, 2**16):
            self._size += len(chunk)
            if self._size <= self.limit:
                self._chunks.append(chunk)     # beyond the limit: read on, so the child never blocks
        os.close(self._read)

    def collect(self, timeout: float = 10.0) -> bytes | None:
        """The bytes written, once every writer has closed the pipe (``None`` past the limit or
        if a writer still holds it after ``timeout`` seconds)."""
        self._thread.join(timeout)
        if self._thread.is_alive() or self._size > self.limit:
            return None
        return b"".join(self._chunks)

    def close_unstarted(self) -> None:
        """Close both ends when the child could not be started."""
        os.close(self.fd)
        os.close(self._read)


def hide_from_other_processes() -> bool:
    """Make the calling process non-dumpable (Linux ``PR_SET_DUMPABLE`` 0): processes of the
    same user, its own children included, can then no longer open its files through
    ``/proc/<pid>/fd`` or trace it. The worker calls it before starting a kernel, so that the
    kernel cannot write into the worker's :class:`ResultPipe`. ``True`` if it did."""
    return _prctl(PR_SET_DUMPABLE, 0)


def _prctl(option: int, value: int) -> bool:
    if not sys.platform.startswith("linux"):
        return False
    try:
        return ctypes.CDLL(None, use_errno=True).prctl(option, value, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def become_subreaper() -> bool:
    """Make the calling process adopt orphaned descendants (Linux only); ``True`` if it did."""
    return _prctl(PR_SET_CHILD_SUBREAPER, 1)


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
                cwd=None, poll: float = 0.1, stop: threading.Event | None = None,
                result: ResultPipe | None = None) -> Outcome:
    """Run ``command`` until it ends, exceeds ``timeout`` seconds or ``memory_mb`` MiB, or
    ``stop`` is set (then ``limit`` is ``"stopped"``: another thread asked, say on Ctrl-C).
    With ``result``, the child inherits the pipe's :attr:`ResultPipe.fd` and what it writes
    there is ``Outcome.result``.

    Standard input is closed; standard output and error are discarded (the child reports
    through ``result``). The child runs in a session of its own, so a Ctrl-C in the terminal does
    not reach it: whoever catches the interrupt sets ``stop``.

    Raises:
        ValueError: ``timeout`` or ``memory_mb`` is not positive.
    """
    if not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds. Received: {timeout!r}")
    if not memory_mb > 0:
        raise ValueError(f"memory_mb must be > 0 MiB. Received: {memory_mb!r}")
    start = time.monotonic()
    try:
        child = subprocess.Popen(command, env=env, cwd=cwd, stdin=subprocess.DEVNULL,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                 start_new_session=True, pass_fds=(result.fd,) if result else ())
    except BaseException:
        if result is not None:
            result.close_unstarted()
        raise
    if result is not None:
        result.start()
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
    output = result.collect() if result is not None else None
    return Outcome(returncode, limit, round(time.monotonic() - start, 1), round(peak, 1), output)
