"""The kernel's limits on a hand-in (cgroups): memory no process maps, files, processes and threads."""

import subprocess
import sys
import time

import psutil
import pytest

from lstm_lessons.instructor.confinement import MAX_TASKS, Confinement, find_confinement
from lstm_lessons.instructor.limits import run_limited

MEMFD = ("import os\nfd = os.memfd_create('x')\nfor _ in range(1024):\n    os.write(fd, bytes(2**20))\n"
         "print('wrote it all')")
THREADS = ("import threading, sys\nwait, n = threading.Event(), 0\ntry:\n    while n < 1000:\n"
           "        threading.Thread(target=wait.wait, daemon=True).start(); n += 1\n"
           "except RuntimeError:\n    pass\nwait.set()\nsys.exit(3 if n < 1000 else 0)")


@pytest.fixture
def cgroups():
    """The machine's cgroup confinement; skipped, with the reason, where there is none (the
    grader then says so in ``--check-sandbox``: see tests/test_sandbox.py)."""
    found = find_confinement()
    if not found.limits_memory:
        pytest.skip(f"no cgroup confinement here: {found.describe()}")
    return found


def test_the_confinement_in_force_is_described_with_its_limits():
    found = find_confinement()
    assert found.kind in ("cgroup v2", "cgroup v1", "rlimit")
    assert f"{MAX_TASKS} processes and threads" in found.describe() or \
           f"RLIMIT_NPROC inside the sandbox ({MAX_TASKS})" in found.describe()
    assert find_confinement() is found                       # looked for once
    rlimit = Confinement("rlimit")
    assert rlimit.group(100) is None and not rlimit.limits_memory
    assert "NOT limited" in rlimit.describe() and "Delegate=yes" in rlimit.describe()


def test_memory_no_process_maps_is_counted_and_ended_by_the_kernel(cgroups):
    # A memfd's pages are no process's resident memory: the poll sees about 10 MiB and the
    # kernel ends the writer at the group's limit.
    group = cgroups.group(64)
    try:
        outcome = run_limited(group.wrap([sys.executable, "-c", MEMFD]), 60, 4096)
        usage = group.usage()
    finally:
        group.remove()
    assert outcome.returncode == -9 and outcome.limit is None and outcome.peak_mb < 64
    assert usage.oom_kills >= 1 and usage.peak_mb is not None and usage.peak_mb <= 64.5
    assert not any(folder.exists() for folder in group.folders)


def test_threads_beyond_the_task_limit_are_refused_and_counted(cgroups):
    group = cgroups.group(512, max_tasks=50)
    try:
        outcome = run_limited(group.wrap([sys.executable, "-c", THREADS]), 60, 4096)
        usage = group.usage()
    finally:
        group.remove()
    assert outcome.returncode == 3                                   # stopped before 1000
    assert usage.refused_tasks >= 1 and usage.peak_tasks == 50


def test_removing_a_group_kills_what_was_left_in_it(cgroups):
    group = cgroups.group(256)
    try:
        # The shell is gone at once; its detached child lives on in the group.
        subprocess.run(group.wrap(["sh", "-c", "setsid sleep 4712.5 > /dev/null 2>&1 &"]), check=True,
                       timeout=30)
        deadline, left = time.monotonic() + 10, []
        while not left and time.monotonic() < deadline:     # the child may not have exec'd sleep yet
            left = [p for p in psutil.process_iter(["cmdline"]) if "4712.5" in (p.info["cmdline"] or [])]
            time.sleep(0.05)
        assert len(left) == 1
    finally:
        group.remove()
    assert not left[0].is_running() or left[0].status() == psutil.STATUS_ZOMBIE
    assert not any(folder.exists() for folder in group.folders)


def test_limit_tasks_lowers_the_process_limit():
    code = ("import resource\nfrom lstm_lessons.instructor.confinement import limit_tasks\n"
            "assert limit_tasks(77)\nprint(resource.getrlimit(resource.RLIMIT_NPROC))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.stdout.strip() == "(77, 77)", run.stderr
