"""``lstm-lessons grade --check-sandbox``: does the sandbox isolate a hand-in on this machine?

:func:`check_sandbox` sets up what a hand-in could go after (a file outside the sandbox, a TCP
server on 127.0.0.1, a process of the instructor: the checking process itself, known by its
command line; a variable of the instructor's environment),
then runs :func:`probe` inside the sandbox (``python -m lstm_lessons.instructor.sandbox_check``),
which tries each attack and reports what happened. Three more attacks each run in a sandbox
and a cgroup of their own, as a hand-in does (:mod:`lstm_lessons.instructor.confinement`), since the
kernel may end them: memory no process maps (a ``memfd``), files without end in ``/tmp``, and
threads without end (:data:`LIMIT_ATTACKS`). Every row must say ``ok``; the first row says which
confinement is in force. The probe imports only the standard library and ``lstm_lessons`` (no
TensorFlow): the whole check takes a few seconds.
"""

from __future__ import annotations

import ctypes
import json
import os
import socket
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from lstm_lessons.instructor.confinement import MAX_TASKS, find_confinement, limit_tasks, run_confined
from lstm_lessons.instructor.limits import ResultPipe, run_limited
from lstm_lessons.instructor.sandbox import SHM_MB, find_sandbox, visible_paths

PROBE_DISK_MB = 16.0
"""The probe's disk limit: small, so the disk-fill attempt is quick; the mechanism (a tmpfs of
that size) is the grading sandbox's."""
SECRET_VARIABLE = "INSTRUCTOR_API_TOKEN"
"""Set in the grader's environment by the check, expected to be missing inside."""
SYSTEM_FOLDERS = ["/", "/usr", "/etc", "/dev"]
"""Folders of the system the probe tries to create a file in."""
MS_REMOUNT, MS_BIND = 32, 4096
"""``mount(2)`` flags, from ``<sys/mount.h>``."""
ATTACK_MEMORY_MB = 128.0
"""The memory limit of each limit attack's cgroup (the grading one is the hand-in's memory, disk
and ``/dev/shm`` limits together); each attack goes for four times as much."""
FILE_KIB = 1.0
"""Kernel memory of one empty file in a tmpfs, about (an inode and a directory entry)."""
LIMIT_ATTACKS = {
    "memfd": f"hold {4 * ATTACK_MEMORY_MB:g} MiB that no process maps (memfd)",
    "files": f"create {int(4 * ATTACK_MEMORY_MB * 1024 / FILE_KIB):,} empty files in /tmp",
    "threads": f"start {4 * MAX_TASKS} threads",
}
"""The attacks on the limits, by name: what each tries."""


@dataclass(frozen=True)
class Finding:
    """One attack the probe tried: ``isolated`` is ``True`` when the sandbox stopped it."""

    attack: str
    isolated: bool
    detail: str


def _refused(action) -> tuple[bool, str]:
    """(``True``, why) when ``action()`` raises ``OSError``, (``False``, what it returned) if not."""
    try:
        done = action()
    except OSError as exc:
        return True, f"refused: {exc.strerror or exc}"
    return False, f"done: {done}"


def _write(path: Path) -> str:
    """Create ``path`` (and remove it again: the probe leaves nothing behind where it could write)."""
    path.write_bytes(b"x")
    path.unlink()
    return f"created {path}"


def _fill(folder: Path, limit_mb: float) -> tuple[bool, str]:
    """Write 1 MiB blocks into ``folder`` up to twice ``limit_mb``; isolated if it stops first."""
    written = 0
    try:
        with open(folder / "fill.bin", "wb") as f:
            while written < 2 * limit_mb:
                f.write(b"\0" * 2**20)
                f.flush()
                written += 1
    except OSError as exc:
        return written <= limit_mb, f"stopped after {written} MiB: {exc.strerror}"
    finally:
        (folder / "fill.bin").unlink(missing_ok=True)
    return False, f"wrote {written} MiB, more than the limit of {limit_mb:g} MiB"


def _mount_refused(path: str) -> tuple[bool, str]:
    libc = ctypes.CDLL(None, use_errno=True)
    done = libc.mount(None, path.encode(), None, MS_REMOUNT | MS_BIND, None)
    if done == 0:
        return False, f"remounted {path} writable"
    return True, f"refused: {os.strerror(ctypes.get_errno())}"


def _connect(port: int) -> tuple[bool, str]:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as connection:
            connection.sendall(b"hello from the sandbox")
    except OSError as exc:
        return True, f"refused: {exc.strerror or exc}"
    return False, f"connected to 127.0.0.1:{port} and sent data"


def _hidden_entries(home: Path, visible: list[Path]) -> list[str]:
    """Entries of ``home`` readable here that are not on the way to a visible folder."""
    try:
        names = os.listdir(home)
    except OSError:
        return []
    return sorted(n for n in names if not any(home / n == v or home / n in v.parents for v in visible))


def _command_line(pid) -> str:
    """A process's command line as text ("" once it has ended)."""
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def probe(plan: dict) -> list[Finding]:
    """Try every attack of ``plan`` (written by :func:`check_sandbox`) from inside the sandbox."""
    findings = []

    def add(attack, outcome):
        findings.append(Finding(attack, *outcome))

    try:
        import ipykernel  # noqa: F401
        import papermill  # noqa: F401
        from jupyter_client.kernelspec import KernelSpecManager

        import lstm_lessons  # noqa: F401

        KernelSpecManager().get_kernel_spec("python3")
        add("the hand-out is usable (imports, kernel spec)", (True, "lstm_lessons, papermill and "
                                                               "the python3 kernel found"))
    except Exception as exc:  # noqa: BLE001 - reported as a failed row
        add("the hand-out is usable (imports, kernel spec)", (False, f"{type(exc).__name__}: {exc}"))
    for folder in plan["read_only"]:
        add(f"write into {folder}", _refused(lambda f=folder: _write(Path(f) / ".sandbox-probe")))
    add("remount the package writable", _mount_refused(plan["read_only"][0]))
    for folder in plan["system"]:
        add(f"write into {folder}", _refused(lambda f=folder: _write(Path(f) / ".sandbox-probe")))
    add("change a machine setting (/proc/sys)",
        _refused(lambda: open("/proc/sys/kernel/domainname", "w").close()))
    add("read a file outside the sandbox", _refused(lambda: Path(plan["outside_file"]).read_text()))
    leaks = _hidden_entries(Path(plan["home"]), [Path(v) for v in plan["visible"]])
    add("list the instructor's home", (not leaks, f"visible: {', '.join(leaks[:5])}" if leaks
                                       else "nothing but the way to the hand-out"))
    add("connect to a server on the host's 127.0.0.1", _connect(plan["port"]))
    command_lines = [_command_line(p) for p in os.listdir("/proc") if p.isdigit()]
    seen = plan["command_line"] in command_lines
    add("see the instructor's processes", (not seen, f"{len(command_lines)} processes visible, the "
                                           f"instructor's {'among them' if seen else 'not among them'}"))
    status = Path("/proc/self/status").read_text()
    capabilities = next(line.split()[1] for line in status.splitlines() if line.startswith("CapEff"))
    add("hold capabilities", (int(capabilities, 16) == 0, f"effective capabilities {capabilities}"))
    add("read the instructor's environment", (SECRET_VARIABLE not in os.environ,
                                              "variable missing" if SECRET_VARIABLE not in os.environ
                                              else "variable present"))
    add(f"fill the working folder beyond {plan['disk_mb']:g} MiB", _fill(Path.cwd(), plan["disk_mb"]))
    add(f"fill /dev/shm beyond {plan['shm_mb']:g} MiB", _fill(Path("/dev/shm"), plan["shm_mb"]))
    return findings


def limit_attack(name: str) -> str:
    """Run the limit attack ``name`` (see :data:`LIMIT_ATTACKS`) in this process, as a hand-in
    would in the worker's sandbox (``RLIMIT_NPROC`` lowered first); returns how far it got, if
    the kernel did not end it first."""
    limit_tasks(MAX_TASKS)
    goal = 4 * ATTACK_MEMORY_MB
    if name == "memfd":
        fd = os.memfd_create("probe")
        for _ in range(int(goal)):
            os.write(fd, bytes(2**20))
        return f"held {goal:g} MiB in a memfd"
    if name == "files":
        folder, files = Path(tempfile.mkdtemp()), int(goal * 1024 / FILE_KIB)
        for n in range(files):
            (folder / str(n)).touch()
        return f"made {files:,} files"
    started, wait = 0, threading.Event()
    try:
        while started < 4 * MAX_TASKS:
            threading.Thread(target=wait.wait, daemon=True).start()
            started += 1
    except RuntimeError:
        return f"stopped after {started} threads"
    finally:
        wait.set()
    return f"started {started} threads"


def _run_limit_attack(sandbox, name: str, folder: str) -> Finding:
    """Run one limit attack in a sandbox and a cgroup of its own; judge it from outside."""
    pipe, confinement = ResultPipe(), find_confinement()
    command = sandbox.command([sys.executable, "-m", "lstm_lessons.instructor.sandbox_check", "--attack",
                               name, str(pipe.fd)], dict(os.environ))
    outcome, usage = run_confined(command, ATTACK_MEMORY_MB, 120, 4 * ATTACK_MEMORY_MB, env=dict(os.environ),
                                  cwd=folder, result=pipe)
    said = (outcome.result or b"").decode(errors="replace")
    attack = LIMIT_ATTACKS[name]
    if name == "threads":
        reached = [int(w) for w in said.split() if w.isdigit()]
        stopped = bool(reached) and reached[0] <= MAX_TASKS
        return Finding(attack, stopped, said or f"no report (exit status {outcome.returncode})")
    if usage is not None and usage.oom_kills:
        return Finding(attack, True, f"ended by the kernel at the cgroup's limit of {ATTACK_MEMORY_MB:g} MiB")
    return Finding(attack, False, (said or f"exit status {outcome.returncode}, limit {outcome.limit}") +
                   ("" if confinement.limits_memory else " (no cgroup: not limited)"))


def listen(ports=(0,)) -> tuple[socket.socket, list[bytes]]:
    """A TCP server on 127.0.0.1, on the first free port of ``ports`` (0: any), recording
    everything it receives: ``(server, received)``. Close the server to stop it.

    Raises:
        OSError: no port of ``ports`` is free.
    """
    server = socket.socket()
    for n, port in enumerate(ports):
        try:
            server.bind(("127.0.0.1", port))
            break
        except OSError:
            if n == len(ports) - 1:
                server.close()
                raise
    server.listen()
    received: list[bytes] = []

    def serve():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            with connection:
                received.append(connection.recv(1024) or b"(connected)")

    threading.Thread(target=serve, daemon=True).start()
    return server, received


def check_sandbox() -> tuple[bool, list[Finding]]:
    """Run the probe in this machine's sandbox; ``(every attack stopped, findings)``.

    Raises:
        SandboxUnavailable: bwrap is missing or cannot make a sandbox (nothing was probed).
    """
    import site

    from lstm_lessons.instructor.integrity import PACKAGE_DIR

    sandbox = find_sandbox(PROBE_DISK_MB)
    server, received = listen()
    with tempfile.TemporaryDirectory(prefix="lstm-lessons-check-") as folder:
        outside = Path(folder) / "solutions.txt"
        outside.write_text("the instructor's answers")
        plan = {"read_only": [str(PACKAGE_DIR), *site.getsitepackages()], "system": SYSTEM_FOLDERS,
                "outside_file": str(outside),
                "home": str(Path.home()), "visible": [str(p) for p in visible_paths()],
                "port": server.getsockname()[1],
                "command_line": _command_line("self"), "disk_mb": PROBE_DISK_MB,
                "shm_mb": SHM_MB}
        pipe = ResultPipe()
        command = [sys.executable, "-m", "lstm_lessons.instructor.sandbox_check", json.dumps(plan),
                   str(pipe.fd)]
        environment = {**os.environ, SECRET_VARIABLE: "instructor-token"}
        try:
            outcome = run_limited(sandbox.command(command, environment), 120, 2048, env=environment,
                                  cwd=folder, result=pipe)
        finally:
            server.close()
    try:
        findings = [Finding(**f) for f in json.loads(outcome.result)]
    except (TypeError, ValueError):
        return False, [Finding("run the probe in the sandbox", False,
                               f"no report (exit status {outcome.returncode}, limit {outcome.limit})")]
    heard = f"the server received {received[0]!r}" if received else "the server received nothing"
    findings.append(Finding("send data to the host's server", not received, heard))
    confinement = find_confinement()
    findings.insert(0, Finding("confinement in force", confinement.limits_memory, confinement.describe()))
    with tempfile.TemporaryDirectory(prefix="lstm-lessons-check-") as folder:
        findings += [_run_limit_attack(sandbox, name, folder) for name in LIMIT_ATTACKS]
    return all(f.isolated for f in findings), findings


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[0] == "--attack":
        said = limit_attack(argv[1])
        with os.fdopen(int(argv[2]), "wb") as pipe:
            pipe.write(said.encode())
        return 0
    plan, fd = json.loads(argv[0]), int(argv[1])
    findings = probe(plan)
    with os.fdopen(fd, "wb") as pipe:
        pipe.write(json.dumps([asdict(f) for f in findings]).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
