"""Grading on a Dask cluster: a real `dask scheduler` and two `dask worker` processes on 127.0.0.1."""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import distributed
import pytest
from test_grader import CORPUS, EX1, EX2, EXPECTED, rows

from lstm_lessons import machine
from lstm_lessons.instructor.cluster import (
    ClusterError,
    ClusterRunner,
    MachinesDifferWarning,
    kinds_warning,
    machine_kinds,
)
from lstm_lessons.instructor.grader import Grader

SUBSET = ["kills_worker", "full_marks", "partial", "syntax_error", "memory_hog", "edits_package",
          "computed_answer", "corrupted", "other_lesson"]
"""Corpus hand-ins that cover every kind of outcome but the slowest (the corpus test has them all)."""


def _start(*arguments, env=None, log: Path) -> subprocess.Popen:
    # From the log's folder: `python -m` puts its working folder first on the path, and this
    # repository's lstm_lessons/ would shadow the one a worker was given.
    return subprocess.Popen([sys.executable, "-m", "dask", *arguments], env=env, cwd=log.parent,
                            stdin=subprocess.DEVNULL, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                            start_new_session=True)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _start_worker(scheduler_file: Path, name: str, folder: Path, env=None) -> subprocess.Popen:
    return _start("worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1", "--no-nanny",
                  "--no-dashboard", "--name", name, env=env, log=folder / f"{name}.log")


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory):
    """A scheduler that reruns a task once after its worker dies, and two one-thread workers."""
    folder = tmp_path_factory.mktemp("dask")
    scheduler_file = folder / "scheduler.json"
    env = {**os.environ, "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "1"}
    processes = [_start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                        "--scheduler-file", str(scheduler_file), env=env, log=folder / "scheduler.log")]
    try:
        for _ in range(600):
            if scheduler_file.exists() and scheduler_file.stat().st_size:
                break
            time.sleep(0.1)
        processes += [_start_worker(scheduler_file, f"worker-{i}", folder) for i in (1, 2)]
        address = json.loads(scheduler_file.read_text())["address"]
        with distributed.Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=120)
        yield {"address": address, "scheduler_file": scheduler_file, "folder": folder,
               "workers": processes[1:]}
    finally:
        for process in reversed(processes):
            _stop(process)


def described(host, flags=("avx2", "fma"), onednn="default", intra_op=1, cores=8):
    """A worker's :func:`~lstm_lessons.instructor.execution.check_machine`, as it sends it."""
    return {"host": host, "machine": "x86_64", "cpu": {"model": "Xeon", "flags": list(flags)},
            "onednn": onednn, "threads": {"intra_op": intra_op, "inter_op": intra_op, "cores": cores},
            "versions": {"python": "3.11.7", "tensorflow": "2.21.0", "keras": "3.15.1", "numpy": "2.4.6"}}


A1, A2, B, C = "tcp://10.0.0.1:4001", "tcp://10.0.0.1:4002", "tcp://10.0.0.2:4001", "tcp://10.0.0.3:4001"
MACHINES = {A1: described("a"), A2: described("a"), B: described("b", flags=("avx2", "fma", "avx512f")),
            C: described("c", onednn="off", cores=2)}
SLOTS = {A1: 1, A2: 1, B: 4, C: 2}


def test_workers_are_grouped_by_kind_and_the_kind_with_the_most_threads_comes_first():
    kinds = machine_kinds(MACHINES, SLOTS)
    assert [(k["workers"], k["hosts"], k["slots"]) for k in kinds] == \
           [([B], ["b"], 4), ([A1, A2], ["a"], 2), ([C], ["c"], 2)]     # a before c: by record
    assert [machine.kind(k) for k in kinds] == [machine.kind(MACHINES[w]) for w in (B, A1, C)]
    # The same workers in any order give the same kinds in the same order.
    assert machine_kinds(dict(reversed(MACHINES.items())), SLOTS) == kinds
    # A host's name, its cores and a worker's own threads do not make another kind.
    same = machine_kinds({A1: described("a", cores=8), B: described("b", cores=64)}, {A1: 1, B: 1})
    assert [(k["workers"], k["hosts"], k["slots"]) for k in same] == [([A1, B], ["a", "b"], 2)]
    assert kinds_warning(same) is None


def test_every_check_of_an_exercise_goes_to_one_kind_chosen_once():
    runner = ClusterRunner.__new__(ClusterRunner)       # its choice only, without a cluster
    runner.kinds, runner._checkers = machine_kinds(MACHINES, SLOTS), {}
    first = runner.checker(EX1)
    assert first["workers"] == [B]
    runner.kinds = runner.kinds[::-1]                   # workers seen later change nothing chosen
    assert runner.checker(EX1) is first and runner.checker(EX2)["workers"] == [C]


def test_the_warning_names_what_differs_and_the_workers_of_each_kind():
    text = kinds_warning(machine_kinds(MACHINES, SLOTS))
    assert text.startswith("the cluster's workers are of 3 kinds of machine, whose TensorFlow can give "
                           "different last digits for the same answer (they differ in the CPU flags "
                           "and the oneDNN setting): ")
    assert ("kind 1 (4 Dask threads): Xeon [avx2 fma avx512f], oneDNN default, 1 TensorFlow thread a "
            f"check, python 3.11.7, tensorflow 2.21.0, keras 3.15.1, numpy 2.4.6: worker {B} on b; ") in text
    assert "kind 2 (2 Dask threads): Xeon [avx2 fma], oneDNN default, 1 TensorFlow thread a check, " in text
    assert f": workers {A1}, {A2} on a; kind 3 (2 Dask threads): Xeon [avx2 fma], oneDNN off, " in text
    assert "Every exercise's answers are checked on kind 1 (the most Dask threads)" in text
    threads = kinds_warning(machine_kinds({A1: described("a"), B: described("b", intra_op=4)}, SLOTS))
    assert "(they differ in the TensorFlow threads of a check)" in threads
    assert "4 TensorFlow threads a check" in threads


def test_a_scheduler_that_cannot_be_reached_fails_before_anything_runs(tmp_path):
    with socket.socket() as probe:      # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(ClusterError, match=f"scheduler at 'tcp://127.0.0.1:{port}' cannot be reached"):
        Grader("01", tmp_path / "grades", progress=False, scheduler=f"tcp://127.0.0.1:{port}")
    assert not (tmp_path / "grades").exists()


@pytest.mark.parametrize("address", ["tcp://grader.invalid:8786", "grader.invalid:8786", "tcp://10.0.0.5:8786",
                                     "tcp://[2001:db8::1]:8786", "TCP://192.0.2.7:8786", "ws://10.0.0.5:8786",
                                     "ucx://10.0.0.5:8786"])
def test_a_plain_tcp_scheduler_off_this_machine_is_refused_before_any_connection(tmp_path, address):
    with pytest.raises(ClusterError, match="plain [a-z]+:// address off this machine.*--insecure-cluster"):
        Grader("01", tmp_path / "grades", progress=False, scheduler=address)
    assert not (tmp_path / "grades").exists()


@pytest.mark.parametrize("address", ["tcp://127.0.0.1:8786", "tcp://localhost:8786", "tcp://[::1]:8786",
                                     "tls://grader.invalid:8786", "wss://grader.invalid:8786", "inproc://x/1/2"])
def test_loopback_and_tls_addresses_pass_the_address_check(address):
    from lstm_lessons.instructor.cluster import check_address

    check_address(address, tls=address.startswith(("tls", "wss")))   # no error
    check_address("tcp://grader.invalid:8786", insecure=True)


def test_the_command_refuses_a_plain_remote_scheduler_and_names_the_flag(tmp_path, capsys):
    from lstm_lessons.cli import main

    hand_in = tmp_path / "alice.ipynb"
    hand_in.write_text("{}")
    assert main(["grade", str(hand_in), "--lesson", "01", "--scheduler", "tcp://grader.invalid:8786",
                 "--out", str(tmp_path / "grades"), "--no-progress"]) == 2
    assert "--insecure-cluster" in capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.serial
def test_a_worker_with_another_package_gets_no_work(dask_cluster, tmp_path):
    # The same hand-out, one comment changed: another checksum, as after a later `git pull`.
    stale = tmp_path / "stale"
    shutil.copytree(Path(__import__("lstm_lessons").__file__).parent, stale / "lstm_lessons",
                    ignore=shutil.ignore_patterns("__pycache__"))
    lesson01 = stale / "lstm_lessons" / "lessons" / "lesson01_learning_rate_oscillation"
    with (lesson01 / "exercises.py").open("a") as f:
        f.write("# a later version\n")
    env = {**os.environ, "PYTHONPATH": str(stale)}
    # And a worker of the grader's package on another kind of machine: the other oneDNN setting.
    onednn = "1" if machine.onednn() == "off" else "0"
    other = {**os.environ, machine.ONEDNN_VARIABLE: onednn}
    workers = [_start_worker(dask_cluster["scheduler_file"], "stale", tmp_path, env=env),
               _start_worker(dask_cluster["scheduler_file"], "other-kind", tmp_path, env=other)]
    try:
        with distributed.Client(dask_cluster["address"], timeout=60) as client:
            client.wait_for_workers(4, timeout=120)
            names = {info["name"]: a for a, info in client.scheduler_info(n_workers=-1)["workers"].items()}
        with pytest.warns(MachinesDifferWarning) as warned:
            grader = Grader("01", tmp_path / "grades", progress=False, scheduler=dask_cluster["address"])
        try:
            (refused,) = grader.runner.refused.values()
            assert refused["version"] == "0.1.0" and refused["checksum"] != grader.runner.checksum
            assert list(grader.runner.refused) == [names["stale"]]
            assert len(grader.runner.workers) == 3 and grader.workers == 3
            # The other kind gets hand-ins but no check: the two original workers check.
            originals = sorted(names[f"worker-{i}"] for i in (1, 2))
            assert [k["workers"] for k in grader.runner.kinds] == [originals, [names["other-kind"]]]
            assert grader.runner.checker(EX1)["workers"] == originals
            assert [k["onednn"] for k in grader.runner.kinds] == [machine.onednn(),
                                                                   {"0": "off", "1": "on"}[onednn]]
            assert str(warned[0].message) == grader.runner.warning
            assert "(they differ in the oneDNN setting)" in grader.runner.warning
            assert f"worker {names['other-kind']} on " in grader.runner.warning
        finally:
            grader.close()
    finally:
        for worker in workers:
            _stop(worker)


@pytest.mark.slow
@pytest.mark.serial
def test_ctrl_c_stops_the_clusters_tasks_and_keeps_what_is_written(dask_cluster, tmp_path):
    import psutil

    submissions = [CORPUS / "infinite_loop.ipynb", CORPUS / "corrupted.ipynb"]
    command = [sys.executable, "-m", "lstm_lessons", "grade", *map(str, submissions), "--lesson", "01",
               "--out", str(tmp_path / "grades"), "--no-progress", "--scheduler", dask_cluster["address"]]
    # Its output goes to a file: an undrained pipe would stop the command once full.
    said = tmp_path / "grading.txt"
    with said.open("w") as output:
        grading = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT)
    try:
        with distributed.Client(dask_cluster["address"], timeout=60) as client:
            pids = client.run(os.getpid)

            def running():
                return [k for keys in client.processing().values() for k in keys
                        if str(k).startswith("lstm-lessons-")]

            def children():
                return [c for pid in pids.values() for c in psutil.Process(pid).children(recursive=True)]

            def what_happened() -> str:
                """Where the running tasks are, the grading command's output if it ended, and the end
                of the cluster's logs."""
                stacks = client.call_stack(keys=running()) if running() else {}
                ended = said.read_text()[-2000:] if grading.poll() is not None else "still running"
                logs = "\n".join(f"--- {p.name}:\n" + "\n".join(p.read_text().splitlines()[-15:])
                                 for p in sorted(dask_cluster["folder"].glob("*.log")))
                return f"the tasks' stacks: {stacks}\nthe grading command: {ended}\n{logs}"

            # Each wait has its own deadline: a slow machine may take minutes to start the command.
            deadline = time.monotonic() + 600
            while not running() and grading.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)
            assert running(), f"the hand-in never started on the cluster; {what_happened()}"
            deadline = time.monotonic() + 600
            while len(children()) < 3 and grading.poll() is None and time.monotonic() < deadline:
                time.sleep(0.2)       # bwrap, the grader's worker, ...
            assert len(children()) >= 3, f"{[c.cmdline()[:3] for c in children()]}; {what_happened()}"
            time.sleep(2)
            grading.send_signal(signal.SIGINT)
            grading.wait(timeout=60)
            assert grading.returncode == 130, said.read_text()
            assert "stopped by SIGINT" in said.read_text()
            deadline = time.monotonic() + 30
            while (running() or children()) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert running() == [] and children() == []
    finally:
        # A failure above must not leave the loop running on the cluster for the next tests:
        # interrupted, the command cancels its tasks.
        if grading.poll() is None:
            grading.send_signal(signal.SIGINT)
            try:
                grading.wait(timeout=60)
            except subprocess.TimeoutExpired:
                grading.kill()
                grading.wait()
    # What was recorded before the interrupt (the unreadable file) is kept; the loop has no row.
    assert rows(tmp_path / "grades").keys() == {"corrupted"}


@pytest.mark.slow
@pytest.mark.serial
def test_the_cluster_grades_as_this_machine_does_and_loses_nothing_when_a_worker_dies(
        dask_cluster, tmp_path, package_guard):
    hand_in = tmp_path / "hand-in"
    hand_in.mkdir()
    for name in SUBSET:
        shutil.copyfile(CORPUS / f"{name}.ipynb", hand_in / f"{name}.ipynb")
    submissions = [hand_in / f"{name}.ipynb" for name in SUBSET]
    killed = {}

    def kill_a_busy_worker():
        """SIGKILL the first worker seen executing a hand-in, as a machine that fails."""
        with distributed.Client(dask_cluster["address"], timeout=60) as client:
            pids = client.run(os.getpid)
            deadline = time.monotonic() + 600
            while time.monotonic() < deadline and not killed:
                for address, keys in client.processing().items():
                    running = [k for k in keys if str(k).startswith("lstm-lessons-execute-")]
                    if running:
                        time.sleep(2)       # well into the hand-in
                        os.kill(pids[address], signal.SIGKILL)
                        killed.update(address=address, keys=running)
                        return
                time.sleep(0.2)

    watcher = threading.Thread(target=kill_a_busy_worker)
    watcher.start()
    grader = Grader("01", tmp_path / "grades", timeout=120, memory_mb=1500, disk_mb=256, progress=False,
                    scheduler=dask_cluster["address"])
    try:
        grades = grader.grade(submissions)
    finally:
        grader.close()
        watcher.join()
    assert killed, "no worker was seen executing a hand-in"
    # Every hand-in graded once, exactly as this machine grades it (the corpus test's table).
    table = rows(tmp_path / "grades")
    assert sorted(table) == sorted(SUBSET) and len(grades) == len(SUBSET)
    got = {i: (r["status"], int(r[EX1]), int(r[EX2])) for i, r in table.items()}
    assert got == {i: EXPECTED[i][:3] for i in SUBSET}
    for i in SUBSET:
        assert EXPECTED[i][3] in table[i]["message"], (i, table[i]["message"])
    results = json.loads((tmp_path / "grades" / "results.json").read_text())
    assert results["limits"]["scheduler"] == dask_cluster["address"]
    assert results["sandbox"] is True and len(results["submissions"]) == len(SUBSET)
    # One kind of machine here: it checked both exercises, on both workers.
    checked_on = results["checked_on"]
    assert set(checked_on) == {EX1, EX2}
    assert all(k["workers"] == grader.runner.workers and k["slots"] == 2 for k in checked_on.values())
    # Each trained check says where it ran: a worker of the kind that checked its exercise, with
    # the threads its child was given.
    trained = [(e, c) for g in results["submissions"] for e, c in g["checks"].items() if c["environment"]]
    assert {e for e, _ in trained} == {EX1, EX2}
    for exercise, check in trained:
        assert machine.kind(check["environment"]) == machine.kind(checked_on[exercise]), check["environment"]
        assert check["environment"]["host"] in checked_on[exercise]["hosts"]


# --- mutual TLS --------------------------------------------------------------------------------

def _tls(folder: Path, role: str) -> list[str]:
    return ["--tls-ca-file", str(folder / "ca.pem"), "--tls-cert", str(folder / f"{role}.pem"),
            "--tls-key", str(folder / f"{role}-key.pem")]


def test_certificates_are_made_once_and_their_keys_are_private(tmp_path):
    from lstm_lessons.instructor.certificates import make_certificates

    paths = make_certificates(tmp_path / "certs", days=2)
    assert sorted(p.name for p in (tmp_path / "certs").iterdir()) == sorted(p.name for p in paths.values())
    assert all(p.stat().st_mode & 0o077 == 0 for name, p in paths.items() if name.endswith("key"))
    with pytest.raises(FileExistsError, match="already holds certificates"):
        make_certificates(tmp_path / "certs")
    with pytest.raises(ValueError, match="days=0"):
        make_certificates(tmp_path / "other", days=0)
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o777)
    with pytest.raises(PermissionError, match="can be written by other users"):
        make_certificates(shared)


@pytest.mark.slow
@pytest.mark.serial
def test_a_tls_cluster_grades_and_refuses_whoever_lacks_its_certificates(tmp_path):
    """A `dask scheduler` and two `dask worker` processes on 127.0.0.1 with the cluster's
    certificates (lstm-lessons cluster certs); a third worker whose certificate another
    authority signed cannot join, and neither can a client without the grader's certificate."""
    from lstm_lessons.cli import main

    certs, strange = tmp_path / "certs", tmp_path / "strange"
    assert main(["cluster", "certs", str(certs)]) == 0
    assert main(["cluster", "certs", str(strange)]) == 0
    scheduler_file = tmp_path / "scheduler.json"
    processes = [_start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                        "--protocol", "tls", *_tls(certs, "scheduler"),
                        "--scheduler-file", str(scheduler_file),
                        log=tmp_path / "scheduler.log")]
    try:
        for _ in range(600):
            if scheduler_file.exists() and scheduler_file.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tls://127.0.0.1:")
        for name, folder in (("worker-1", certs), ("worker-2", certs), ("stranger", strange)):
            processes.append(_start("worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1",
                                    "--no-nanny", "--no-dashboard", "--name", name, *_tls(folder, "worker"),
                                    log=tmp_path / f"{name}.log"))
        from lstm_lessons.instructor.certificates import security

        with distributed.Client(address, timeout=60, security=security(certs)) as client:
            client.wait_for_workers(2, timeout=120)
            time.sleep(3)                 # the stranger has had time to try
            names = sorted(w["name"] for w in client.scheduler_info(n_workers=-1)["workers"].values())
        assert names == ["worker-1", "worker-2"]
        assert "TLS handshake failed" in (tmp_path / "scheduler.log").read_text()   # the stranger tried
        # Without the grader's certificate, or with another authority's, no client gets in.
        with pytest.raises(ClusterError, match="tls:// address: give the folder"):
            Grader("01", tmp_path / "grades", progress=False, scheduler=address)
        with pytest.raises((OSError, TimeoutError)):
            distributed.Client(address, timeout=5, security=security(strange)).close()
        # With it, the grader grades there, as on this machine.
        grader = Grader("01", tmp_path / "grades", progress=False, scheduler=address, tls=certs)
        try:
            assert len(grader.runner.workers) == 2
            [graded] = grader.grade([CORPUS / "empty.ipynb"])
        finally:
            grader.close()
        assert (graded.status, graded.total) == EXPECTED["empty"][:1] + (0,)
    finally:
        for process in reversed(processes):
            _stop(process)
