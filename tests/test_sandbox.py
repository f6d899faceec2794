"""The bubblewrap sandbox: what it hides and refuses, its self-test, and a machine without it.

The attacks of real hand-ins in the sandbox are in ``test_grader.py`` (the corpus test)."""

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from lstm_lessons.instructor.limits import ResultPipe, run_limited
from lstm_lessons.instructor.sandbox import (
    SandboxUnavailable,
    find_sandbox,
    sandbox_environment,
    visible_paths,
)
from lstm_lessons.instructor.sandbox_check import SECRET_VARIABLE, probe

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "grading_corpus"


def test_only_the_hand_out_and_the_python_installation_are_visible():
    from lstm_lessons.data import DATA_DIR
    from lstm_lessons.instructor.integrity import PACKAGE_DIR

    visible = visible_paths()
    assert PACKAGE_DIR in visible and Path(DATA_DIR) in visible
    assert Path(sys.prefix).absolute() in visible or any(p in Path(sys.prefix).parents for p in visible)
    hidden = [ROOT, ROOT / "solutions", ROOT / "tests", Path.home()]
    assert not [h for h in hidden if any(v == h or v in h.parents for v in visible)]


def test_the_data_is_visible_through_every_link_of_its_chain(tmp_path, monkeypatch):
    # course/data -> ../../data, and data/ itself a link to the data sets elsewhere: a sandboxed
    # process follows both links, so both places must be bound.
    from lstm_lessons.instructor import integrity

    package = tmp_path / "checkout" / "lstm_lessons"
    (package / "course").mkdir(parents=True)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "checkout" / "data").symlink_to(tmp_path / "elsewhere")
    (package / "course" / "data").symlink_to("../../data")
    monkeypatch.setattr(integrity, "PACKAGE_DIR", package)
    visible = visible_paths()
    assert package in visible and tmp_path / "elsewhere" in visible
    assert tmp_path / "checkout" / "data" in visible


def test_the_sandbox_environment_keeps_named_variables_only():
    environment = sandbox_environment({"LSTM_LESSONS_GRADING": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
                                       "OMP_NUM_THREADS": "2", "LANG": "de_DE.UTF-8",
                                       "AWS_SECRET_ACCESS_KEY": "x", "TF_TOKEN_app_terraform_io": "y",
                                       "HOME": "/home/instructor", "SSH_AUTH_SOCK": "/run/agent"})
    assert environment["HOME"] == "/tmp/home" and environment["TMPDIR"] == "/tmp"
    assert {k: environment[k] for k in ("LSTM_LESSONS_GRADING", "TF_CPP_MIN_LOG_LEVEL", "OMP_NUM_THREADS",
                                        "LANG")} == {"LSTM_LESSONS_GRADING": "1", "TF_CPP_MIN_LOG_LEVEL": "3",
                                                     "OMP_NUM_THREADS": "2", "LANG": "de_DE.UTF-8"}
    assert not {"AWS_SECRET_ACCESS_KEY", "TF_TOKEN_app_terraform_io", "SSH_AUTH_SOCK"} & set(environment)


def test_a_result_pipe_carries_what_the_child_wrote_up_to_its_limit():
    write = "import os, sys; os.write(int(sys.argv[1]), b'x' * int(sys.argv[2]))"
    small = ResultPipe(limit=1000)
    outcome = run_limited([sys.executable, "-c", write, str(small.fd), "1000"], 30, 1000, result=small)
    assert outcome.result == b"x" * 1000
    large = ResultPipe(limit=1000)
    outcome = run_limited([sys.executable, "-c", write, str(large.fd), "1001"], 30, 1000, result=large)
    assert outcome.returncode == 0 and outcome.result is None


def test_check_sandbox_reports_every_attack_stopped(sandbox):
    from lstm_lessons.instructor.confinement import find_confinement

    cgroup = find_confinement().limits_memory
    run = subprocess.run([sys.executable, "-m", "lstm_lessons", "grade", "--check-sandbox"],
                         capture_output=True, text=True, timeout=300)
    lines = run.stdout.splitlines()
    rows = lines[:-1]
    limit_rows = ("confinement in force", "hold 512 MiB that no process maps (memfd)",
                  "create 524,288 empty files in /tmp")
    for attack in ("remount the package writable", "connect to a server on the host's 127.0.0.1",
                   "see the instructor's processes", "fill the working folder beyond 16 MiB",
                   "read the instructor's environment", "change a machine setting (/proc/sys)",
                   "start 4096 threads", *limit_rows):
        assert any(attack in row for row in rows), attack
    if cgroup:
        assert run.returncode == 0, run.stdout + run.stderr
        assert lines[-1] == "The sandbox isolates a hand-in on this machine."
        assert len(rows) >= 18 and all(line.startswith("ok ") for line in rows), run.stdout
        assert "ended by the kernel at the cgroup's limit of 128 MiB" in run.stdout
    else:   # without a cgroup the memory rows say FAIL, and only they
        assert run.returncode == 1, run.stdout + run.stderr
        failed = [row for row in rows if not row.startswith("ok ")]
        assert len(failed) == len(limit_rows) and all(r.startswith("FAIL") for r in failed), run.stdout
        assert "NOT limited (no cgroup here" in run.stdout


def test_the_limit_attacks_are_reported_when_nothing_limits_them(sandbox, monkeypatch, tmp_path):
    # The self-test can fail: without a cgroup, memory in a memfd is no process's and is not
    # limited (and as root RLIMIT_NPROC is not enforced either).
    from lstm_lessons.instructor import confinement
    from lstm_lessons.instructor.sandbox_check import PROBE_DISK_MB, _run_limit_attack

    monkeypatch.setattr(confinement, "_found", confinement.Confinement("rlimit"))
    memfd = _run_limit_attack(find_sandbox(PROBE_DISK_MB), "memfd", str(tmp_path))
    assert not memfd.isolated and memfd.detail == "held 512 MiB in a memfd (no cgroup: not limited)"
    threads = _run_limit_attack(find_sandbox(PROBE_DISK_MB), "threads", str(tmp_path))
    if os.geteuid() == 0:
        assert not threads.isolated and threads.detail == "started 4096 threads"
    else:
        assert threads.isolated, threads.detail


def test_the_probe_sees_the_attacks_succeed_outside_the_sandbox(tmp_path, monkeypatch):
    # The self-test is only worth something if it can fail: run it unsandboxed, on folders of
    # this test only, and every attack that needs isolation must be reported as not stopped.
    for name in ("package", "system", "home/notes", "work"):
        (tmp_path / name).mkdir(parents=True)
    (tmp_path / "solutions.txt").write_text("answers")
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    monkeypatch.setenv(SECRET_VARIABLE, "token")
    monkeypatch.chdir(tmp_path / "work")
    plan = {"read_only": [str(tmp_path / "package")], "system": [str(tmp_path / "system")],
            "outside_file": str(tmp_path / "solutions.txt"), "home": str(tmp_path / "home"),
            "visible": [], "port": server.getsockname()[1], "disk_mb": 1, "shm_mb": 1,
            "command_line": Path("/proc/self/cmdline").read_bytes().decode()}     # this test's process
    try:
        findings = {f.attack: f for f in probe(plan)}
    finally:
        server.close()
    exposed = {attack for attack, f in findings.items() if not f.isolated}
    assert {f"write into {tmp_path / 'package'}", f"write into {tmp_path / 'system'}",
            "read a file outside the sandbox", "list the instructor's home",
            "connect to a server on the host's 127.0.0.1", "see the instructor's processes",
            "read the instructor's environment", "fill the working folder beyond 1 MiB",
            "fill /dev/shm beyond 1 MiB"} <= exposed, {a: f.detail for a, f in findings.items()}
    assert findings["the hand-out is usable (imports, kernel spec)"].isolated
    assert list((tmp_path / "work").iterdir()) == [] and list((tmp_path / "package").iterdir()) == []


def test_without_bwrap_grading_stops_before_anything_runs_and_says_how_to_install_it(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path)}           # an empty folder: no bwrap on the PATH
    grade = [sys.executable, "-m", "lstm_lessons", "grade"]
    run = subprocess.run([*grade, str(CORPUS / "full_marks.ipynb"), "--lesson", "01", "--out", "grades"],
                         cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2, run.stderr
    assert "bubblewrap (bwrap) is not installed" in run.stderr
    assert "sudo apt-get install bubblewrap" in run.stderr and "--no-sandbox" in run.stderr
    assert not (tmp_path / "grades").exists()
    check = subprocess.run([*grade, "--check-sandbox"], env=env, capture_output=True, text=True, timeout=300)
    assert check.returncode == 2 and "bubblewrap (bwrap) is not installed" in check.stderr


def test_a_bwrap_that_cannot_make_namespaces_is_named_with_the_fix(tmp_path, monkeypatch):
    # bwrap's own words when the kernel refuses unprivileged user namespaces.
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace, likely because the "
                    "kernel does not allow non-privileged user namespaces.' >&2\nexit 1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(SandboxUnavailable) as error:
        find_sandbox()
    message = str(error.value)
    assert "cannot make the sandbox on this machine (bwrap: No permissions to create new namespace" in message
    assert "kernel.unprivileged_userns_clone=1" in message and "--no-sandbox" in message
