"""The kernel's limits on one hand-in: its memory (kernel memory and shared memory included) and
its number of processes and threads.

:func:`lstm_lessons.instructor.limits.run_limited` polls the resident memory of a hand-in's processes.
Two things a hand-in holds are not resident memory of any process, so polling misses them:
pages written into a ``memfd`` that no process maps, and the kernel's memory for files (millions
of empty files in ``/tmp``: a tmpfs limits their bytes, not their number). Nor does polling limit
how many processes or threads a hand-in starts: a thread bomb spends the per-user task limit that
the instructor's other programs share. A *control group* (cgroup) lets the kernel count and
limit all of it (Linux's ``Documentation/admin-guide/cgroup-v2.rst``, "memory.max" and
"pids.max"; ``cgroup-v1/memory.rst`` and ``cgroup-v1/pids.rst`` for version 1).

:func:`find_confinement` finds, once per process, the first of these that works here:

- ``cgroup v2``: the grader's own cgroup is writable and offers the ``memory`` and ``pids``
  controllers (the machine *delegates* it, for instance
  ``systemd-run --user --scope -p Delegate=yes lstm-lessons grade ...``). If the controllers are
  not yet enabled for its children, the grader moves itself into a leaf cgroup of its own and
  enables them (cgroup v2 allows controllers only where no process lives).
- ``cgroup v1``: the ``memory`` and ``pids`` hierarchies are mounted and the grader may create
  cgroups in its own (as root, usually).
- ``rlimit``: neither. Processes and threads are then limited by ``RLIMIT_NPROC``, set by the
  worker inside the sandbox's user namespace, where Linux 5.14 and later count only the
  sandbox's own tasks (``getrlimit(2)``; it is not enforced for root). Memory outside any process
  and the number of files are then *not* limited: ``--check-sandbox`` says so.

Each hand-in gets a cgroup of its own (:meth:`Confinement.group`), with a memory limit of
``memory_mb + disk_mb + SHM_MB`` (what its processes may hold, plus the tmpfs ``/tmp`` and
``/dev/shm`` the sandbox gives it, which the kernel charges as memory) and ``max_tasks``
processes and threads. When the limit is reached the kernel's OOM killer ends a process of the
group; the grader reads that from the group (:meth:`Group.usage`) and reports ``memory``. When
the run ends every process left in the group is killed and the group removed.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from dataclasses import dataclass
from pathlib import Path

from lstm_lessons.instructor.limits import run_limited

MAX_TASKS = 1024
"""Processes and threads one hand-in may have at once (``pids.max``; ``RLIMIT_NPROC`` without a
cgroup). Executing lesson 05 or 08 on 2 cores peaks at about 70 (papermill, the kernel,
TensorFlow's thread pools, which :func:`lstm_lessons.cores.tensorflow_threads` sizes by the
cores), so the limit leaves a wide margin and stops a thread bomb within milliseconds."""
GROUP_PREFIX = "lstm-lessons-"
"""Names of the cgroups the grader creates (one per hand-in, and ``lstm-lessons-grader``)."""
GRADER_LEAF = "lstm-lessons-grader"
"""The cgroup v2 leaf the grader moves itself into when it must enable controllers."""
CONTROLLERS = ("memory", "pids")
DELEGATE_HINT = ("to limit them, run the grader where it may create cgroups: as root, or in a "
                 "delegated cgroup (`systemd-run --user --scope -p Delegate=yes lstm-lessons grade ...`)")

_counter = itertools.count()


@dataclass(frozen=True)
class Usage:
    """What a hand-in's cgroup recorded.

    Attributes:
        oom_kills: processes the kernel's OOM killer ended at the memory limit.
        refused_tasks: process or thread creations refused at the task limit.
        peak_mb: the most memory the group held (processes, files in tmpfs, kernel memory), in
            MiB; ``None`` when the kernel does not record it.
        peak_tasks: the most processes and threads at once; ``None`` when not recorded.
    """

    oom_kills: int = 0
    refused_tasks: int = 0
    peak_mb: float | None = None
    peak_tasks: int | None = None


@dataclass(frozen=True)
class Group:
    """One hand-in's cgroup: a folder per hierarchy (one for v2; ``memory`` and ``pids`` for v1)."""

    version: int
    folders: tuple[Path, ...]

    def wrap(self, command: list[str]) -> list[str]:
        """``command`` started inside the group: ``/bin/sh`` writes its own process id into every
        folder's ``cgroup.procs`` and then becomes ``command`` (``exec``), so everything it starts
        is in the group from its first instruction (a process id written after the start would
        miss what the process forked before)."""
        script = ('for d in "$@"; do [ "$d" = -- ] && break; echo $$ > "$d/cgroup.procs" || exit 125; '
                  'done; while [ "$1" != -- ]; do shift; done; shift; exec "$@"')
        return ["/bin/sh", "-c", script, "sh", *map(str, self.folders), "--", *command]

    def _read(self, name: str) -> str:
        for folder in self.folders:
            with contextlib.suppress(OSError):
                return (folder / name).read_text()
        return ""

    def usage(self) -> Usage:
        """What the kernel recorded for the group so far."""
        events = _keyed(self._read("memory.events" if self.version == 2 else "memory.oom_control"))
        refused = _keyed(self._read("pids.events")).get("max", 0)
        peak = self._read("memory.peak" if self.version == 2 else "memory.max_usage_in_bytes").strip()
        tasks = self._read("pids.peak").strip()
        return Usage(events.get("oom_kill", 0), refused,
                     round(int(peak) / 2**20, 1) if peak.isdigit() else None,
                     int(tasks) if tasks.isdigit() else None)

    def remove(self, timeout: float = 10.0) -> None:
        """Kill every process left in the group (SIGKILL) and remove its folders."""
        deadline = time.monotonic() + timeout
        for folder in self.folders:
            while folder.exists():
                for pid in _pids(folder):
                    with contextlib.suppress(OSError):
                        os.kill(pid, 9)
                try:
                    folder.rmdir()
                except OSError:
                    if time.monotonic() > deadline:
                        break
                    time.sleep(0.05)


def _keyed(text: str) -> dict[str, int]:
    """``"key value"`` lines as a dict of integers (``memory.events``, ``pids.events``...)."""
    pairs = (line.split() for line in text.splitlines())
    return {p[0]: int(p[1]) for p in pairs if len(p) == 2 and p[1].isdigit()}


def _pids(folder: Path) -> list[int]:
    try:
        return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    except (OSError, ValueError):
        return []


@dataclass(frozen=True)
class Confinement:
    """How this machine limits a hand-in (see the module's text).

    Attributes:
        kind: ``"cgroup v2"``, ``"cgroup v1"`` or ``"rlimit"``.
        parents: the folders under which each hand-in's cgroup is created (none for ``rlimit``).
    """

    kind: str
    parents: tuple[Path, ...] = ()

    @property
    def limits_memory(self) -> bool:
        """Whether memory outside processes (``memfd``, tmpfs, kernel memory) is limited."""
        return self.kind != "rlimit"

    def describe(self) -> str:
        """One line: what is limited, and how."""
        if self.kind == "rlimit":
            return (f"processes and threads: RLIMIT_NPROC inside the sandbox ({MAX_TASKS}); memory outside "
                    f"processes and the number of files: NOT limited (no cgroup here; {DELEGATE_HINT})")
        where = ", ".join(map(str, self.parents))
        return (f"{self.kind} per hand-in under {where}: memory (processes, tmpfs files, kernel memory) "
                f"and at most {MAX_TASKS} processes and threads")

    def group(self, memory_mb: float, max_tasks: int = MAX_TASKS) -> Group | None:
        """A new cgroup limited to ``memory_mb`` MiB and ``max_tasks`` processes and threads
        (``None`` for ``rlimit``). Remove it with :meth:`Group.remove`.

        Raises:
            OSError: the cgroup could not be created or limited.
        """
        if self.kind == "rlimit":
            return None
        name = f"{GROUP_PREFIX}{os.getpid()}-{next(_counter)}"
        folders = tuple(parent / name for parent in self.parents)
        made: list[Path] = []
        try:
            for folder in folders:
                folder.mkdir()
                made.append(folder)
            limit = str(int(memory_mb * 2**20))
            if self.kind == "cgroup v2":
                (folders[0] / "memory.max").write_text(limit)
                if (folders[0] / "memory.swap.max").exists():
                    (folders[0] / "memory.swap.max").write_text("0")
                (folders[0] / "pids.max").write_text(str(max_tasks))
            else:
                memory, pids = folders
                (memory / "memory.limit_in_bytes").write_text(limit)
                if (memory / "memory.memsw.limit_in_bytes").exists():
                    (memory / "memory.memsw.limit_in_bytes").write_text(limit)
                (pids / "pids.max").write_text(str(max_tasks))
        except OSError:
            Group(1, tuple(made)).remove()
            raise
        return Group(2 if self.kind == "cgroup v2" else 1, folders)


def run_confined(command: list[str], group_mb: float, timeout: float, memory_mb: float, **options):
    """``command`` under :func:`lstm_lessons.instructor.limits.run_limited` (``timeout``, the polled
    ``memory_mb`` and ``options``), inside a new cgroup of ``group_mb`` MiB and :data:`MAX_TASKS`
    tasks where this machine has one (:func:`find_confinement`), removed afterwards.

    Returns:
        ``(outcome, usage)``: ``run_limited``'s ``Outcome``, and the group's :class:`Usage`
        (``None`` without a cgroup).

    Raises:
        OSError: the cgroup could not be created (nothing was run; a ``result`` pipe is closed).
    """
    try:
        group = find_confinement().group(group_mb)
    except BaseException:
        if options.get("result") is not None:
            options["result"].close_unstarted()
        raise
    try:
        outcome = run_limited(group.wrap(command) if group else command, timeout, memory_mb, **options)
        return outcome, group.usage() if group else None
    finally:
        if group is not None:
            group.remove()


def _mounts() -> list[tuple[str, str, set[str]]]:
    """(mount point, file system type, super options) of every mount, from ``/proc/self/mountinfo``."""
    mounts = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/mountinfo").read_text().splitlines():
            fields = line.split()
            if "-" not in fields:
                continue
            after = fields[fields.index("-") + 1:]
            if len(after) >= 3:
                mounts.append((fields[4].replace("\\040", " "), after[0], set(after[2].split(","))))
    return mounts


def _own_cgroups() -> dict[str, str]:
    """This process's cgroup path per hierarchy (``"0"`` for v2, else the controller names)."""
    paths = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/cgroup").read_text().splitlines():
            number, controllers, path = line.split(":", 2)
            for name in controllers.split(",") if controllers else [number]:
                paths[name] = path
    return paths


def _can_create(parent: Path) -> bool:
    trial = parent / f"{GROUP_PREFIX}{os.getpid()}-trial"
    try:
        trial.mkdir()
        trial.rmdir()
    except OSError:
        return False
    return True


def _version_1(mounts, own) -> Confinement | None:
    parents = []
    for controller in CONTROLLERS:
        mount = next((m for m, kind, options in mounts if kind == "cgroup" and controller in options), None)
        if mount is None or controller not in own:
            return None
        parent = Path(mount) / own[controller].lstrip("/")
        if not _can_create(parent):
            return None
        parents.append(parent)
    return Confinement("cgroup v1", tuple(parents))


def _version_2(mounts, own) -> Confinement | None:
    mount = next((m for m, kind, _ in mounts if kind == "cgroup2"), None)
    if mount is None or "0" not in own:
        return None
    base = Path(mount) / own["0"].lstrip("/")
    if base.name == GRADER_LEAF:          # moved there by an earlier call of this process
        base = base.parent
    try:
        offered = set((base / "cgroup.controllers").read_text().split())
        enabled = set((base / "cgroup.subtree_control").read_text().split())
    except OSError:
        return None
    if not set(CONTROLLERS) <= offered or not os.access(base, os.W_OK):
        return None
    if not set(CONTROLLERS) <= enabled:
        try:
            leaf = base / GRADER_LEAF
            leaf.mkdir(exist_ok=True)
            (leaf / "cgroup.procs").write_text(str(os.getpid()))
            (base / "cgroup.subtree_control").write_text(" ".join(f"+{c}" for c in CONTROLLERS))
        except OSError:
            return None
    return Confinement("cgroup v2", (base,)) if _can_create(base) else None


_found: Confinement | None = None


def find_confinement() -> Confinement:
    """This machine's :class:`Confinement` (looked for once per process)."""
    global _found
    if _found is None:
        mounts, own = _mounts(), _own_cgroups()
        _found = _version_2(mounts, own) or _version_1(mounts, own) or Confinement("rlimit")
    return _found


def limit_tasks(max_tasks: int = MAX_TASKS) -> bool:
    """Set ``RLIMIT_NPROC`` of the calling process to ``max_tasks`` (lowering only); ``True`` if set.
    Called by the worker inside the sandbox, whose user namespace makes the count its own."""
    import resource

    try:
        soft, hard = resource.getrlimit(resource.RLIMIT_NPROC)
        wanted = max_tasks if hard == resource.RLIM_INFINITY else min(max_tasks, hard)
        resource.setrlimit(resource.RLIMIT_NPROC, (wanted, wanted))
    except (ValueError, OSError):
        return False
    return True
