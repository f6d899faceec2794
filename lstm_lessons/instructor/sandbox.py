"""A Linux sandbox for a submission's kernel, made with bubblewrap (``bwrap``).

``lstm-lessons grade`` runs each hand-in's worker (papermill and the kernel it starts) as
``bwrap [options] python -m lstm_lessons.instructor.worker ...``. Inside:

- **File system**: a new, empty root. Visible, read-only: ``/usr`` and the ``/bin``, ``/lib``...
  links or folders of the system, a short list of ``/etc`` files Python needs
  (:data:`ETC_ENTRIES`, so ``/etc/shadow`` and the like stay hidden even when grading as root),
  and the hand-out: the Python installation and ``.venv``, the ``lstm_lessons`` package and its
  data folder (:func:`visible_paths`). Everything else (the instructor's home, the other
  hand-ins, the output folder, ``solutions/``, the rest of the repository) does not exist there.
  Writable: ``/tmp`` only (the working folder ``/tmp/work``, ``HOME`` and ``TMPDIR``), a tmpfs of
  ``disk_mb`` MiB, and ``/dev/shm`` (:data:`SHM_MB`). The root, ``/dev`` and ``/proc/sys`` are
  read-only. The hand-in's clean copy is mounted read-only at :data:`INPUT_DIR`.
- **Processes**: a PID namespace of its own (``--unshare-pid``): it sees only its own processes,
  and when the worker ends, bwrap's init ends and Linux kills every process left in the
  namespace, ``setsid`` or not. ``--die-with-parent``: if the grader dies, the sandbox dies.
- **Network**: a network namespace of its own with only a loopback interface
  (``--unshare-net``): papermill still talks to its kernel over 127.0.0.1 inside, but nothing
  outside (the instructor's 127.0.0.1 included) can be reached.
- **Privileges**: a user namespace with every capability dropped (``--cap-drop ALL``), so the
  read-only mounts cannot be remounted writable even when the grader runs as root (bwrap keeps
  root's capabilities unless told otherwise; checked: with them, ``mount -o remount,rw`` works),
  no new user namespaces inside where bwrap supports ``--disable-userns`` (0.8.0 and later),
  and a new session (``--new-session``: no access to the terminal).
- **Environment**: emptied, then only :func:`sandbox_environment`'s variables (no tokens or
  keys from the instructor's shell).

The time and memory limits stay with :func:`lstm_lessons.instructor.limits.run_limited`: the
sandbox's processes are descendants of the ``bwrap`` it starts.

What it does not stop (kernel exploits, CPU side channels, the CPU time and memory it may use
within the limits) is in the threat model, ``docs/threat-model.md``.

Reference: bubblewrap's manual, ``bwrap(1)``; https://github.com/containers/bubblewrap.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

INSTALL_HINT = ("install bubblewrap (Debian, Ubuntu: `sudo apt-get install bubblewrap`; Fedora: "
                "`sudo dnf install bubblewrap`)")
NO_SANDBOX_HINT = ("or grade without a sandbox with --no-sandbox (each hand-in then runs with your "
                   "files and network; see docs/threat-model.md)")
USERNS_HINT = ("if bwrap says it cannot create a namespace, unprivileged user namespaces are disabled: "
               "Debian: `sudo sysctl kernel.unprivileged_userns_clone=1`; Ubuntu 24.04 and later: "
               "`sudo sysctl kernel.apparmor_restrict_unprivileged_userns=0` or an AppArmor profile "
               "for bwrap")

INPUT_DIR = "/grading"
"""Where the hand-in's job folder (its clean copy and ``job.json``) is mounted, read-only."""
TMP_DIR = "/tmp"
WORK_DIR = "/tmp/work"
"""The kernel's working folder inside the sandbox."""
HOME_DIR = "/tmp/home"
SHM_MB = 64
"""MiB of ``/dev/shm`` (shared memory files; Python's multiprocessing puts semaphores there)."""
DEFAULT_DISK_MB = 512.0
"""MiB a submission may write (``/tmp``, its working folder included). A lesson writes a few MiB
(checkpoints, training logs, the executed notebook); the space is memory (tmpfs), freed when
the submission ends."""

SYSTEM_LINKS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32")
"""Top-level folders that are links into ``/usr`` on merged-``/usr`` systems (Debian 12,
Ubuntu, Fedora) and real folders on older ones; made the same inside."""
ETC_ENTRIES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "passwd", "group", "nsswitch.conf",
               "host.conf", "hosts", "gai.conf", "localtime", "timezone", "alternatives", "ssl",
               "ca-certificates", "fonts", "mime.types", "locale.alias", "os-release")
"""The ``/etc`` entries made visible (when they exist): the dynamic linker's cache, user and
host names, time zone, certificates, fonts, MIME types. Nothing secret."""
ENVIRONMENT_PREFIXES = ("LSTM_LESSONS_", "OMP_", "MKL_", "KMP_", "LC_")
ENVIRONMENT_NAMES = ("LANG", "LANGUAGE", "TZ", "PYTHONHASHSEED", "KERAS_BACKEND", "MPLBACKEND",
                     "TF_CPP_MIN_LOG_LEVEL", "TF_ENABLE_ONEDNN_OPTS", "TF_NUM_INTEROP_THREADS",
                     "TF_NUM_INTRAOP_THREADS")
"""Variables passed from the grader's environment into the sandbox (the rest is dropped)."""


class SandboxUnavailable(RuntimeError):
    """bwrap is missing or cannot create a sandbox on this machine (the message says why and how
    to fix it)."""


def _real(path) -> Path:
    return Path(os.path.realpath(path))


def _link_chain(path: Path) -> list[Path]:
    """``path`` and every path its chain of links passes through, each as the link names it (not
    resolved further): a sandboxed process follows the same chain, so each must be visible."""
    chain = [Path(os.path.abspath(path))]
    while chain[-1].is_symlink() and len(chain) < 40:
        chain.append(Path(os.path.normpath(chain[-1].parent / os.readlink(chain[-1]))))
    return chain


def visible_paths() -> list[Path]:
    """The hand-out's folders a submission sees, read-only: the Python installation (``sys.prefix``
    and ``sys.base_prefix``, each as named and as its real path: a virtual environment's
    ``python`` is a link into the base installation), the folders of ``sys.path`` inside those,
    the ``lstm_lessons`` package folder, its data folder (:data:`lstm_lessons.data.DATA_DIR`) and
    the folder of the data's checksum list (:data:`lstm_lessons.data.CHECKSUMS`, the same folder
    unless ``LSTM_LESSONS_DATA`` names another). Folders inside another listed folder are left
    out; missing ones too."""
    from lstm_lessons.data import CHECKSUMS, DATA_DIR
    from lstm_lessons.instructor.integrity import PACKAGE_DIR

    candidates = []
    for prefix in {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}:
        candidates += [Path(prefix).absolute(), _real(prefix)]
    candidates += [PACKAGE_DIR, _real(PACKAGE_DIR), Path(DATA_DIR).absolute(), _real(DATA_DIR),
                   CHECKSUMS.parent, _real(CHECKSUMS.parent)]
    # The package reaches its data through course/data, a link to data/, which may itself be a link.
    candidates += _link_chain(PACKAGE_DIR / "course" / "data")
    existing = sorted({p for p in candidates if p.is_dir()}, key=lambda p: len(p.parts))
    kept: list[Path] = []
    for path in existing:
        if not any(path == k or k in path.parents for k in kept):
            kept.append(path)
    return kept


def sandbox_environment(environment: dict) -> dict:
    """The variables a sandboxed process gets: those of ``environment`` named in
    :data:`ENVIRONMENT_NAMES` or starting with :data:`ENVIRONMENT_PREFIXES`, a ``PATH`` of the
    Python installation's ``bin`` and the system's, and ``HOME`` and ``TMPDIR`` in ``/tmp``."""
    kept = {k: v for k, v in environment.items()
            if k in ENVIRONMENT_NAMES or k.startswith(ENVIRONMENT_PREFIXES)}
    bin_dirs = dict.fromkeys([str(Path(sys.executable).parent), "/usr/local/bin", "/usr/bin", "/bin"])
    return {**kept, "PATH": ":".join(bin_dirs), "HOME": HOME_DIR, "TMPDIR": TMP_DIR,
            "LANG": environment.get("LANG", "C.UTF-8")}


@functools.lru_cache(maxsize=8)
def _supports(bwrap: str, option: str) -> bool:
    try:
        help_text = subprocess.run([bwrap, "--help"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return False
    return option in help_text


@dataclass(frozen=True)
class Sandbox:
    """How to wrap a command in bubblewrap.

    Attributes:
        bwrap: the path of the ``bwrap`` program.
        disk_mb: MiB the sandboxed processes may write in ``/tmp`` (a tmpfs; memory, not disk).
    """

    bwrap: str
    disk_mb: float = DEFAULT_DISK_MB

    def command(self, argv: list[str], environment: dict, inputs: Path | None = None) -> list[str]:
        """``argv`` wrapped in bwrap, in :data:`WORK_DIR`, with :func:`sandbox_environment`
        of ``environment``; ``inputs`` (a host folder) is mounted read-only at
        :data:`INPUT_DIR`."""
        options = [self.bwrap, "--die-with-parent", "--new-session", "--unshare-user", "--unshare-pid",
                   "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
        if _supports(self.bwrap, "--disable-userns"):
            options.append("--disable-userns")
        options += ["--cap-drop", "ALL", "--clearenv"]
        for name, value in sandbox_environment(environment).items():
            options += ["--setenv", name, value]
        options += ["--ro-bind", "/usr", "/usr"]
        for name in SYSTEM_LINKS:
            path = Path("/") / name
            if path.is_symlink():
                options += ["--symlink", os.readlink(path), str(path)]
            elif path.is_dir():
                options += ["--ro-bind", str(path), str(path)]
        for name in ETC_ENTRIES:
            options += ["--ro-bind-try", f"/etc/{name}", f"/etc/{name}"]
        # /proc/sys holds the machine's settings; bwrap does not cover it when its folder is not
        # writable (only its files are), and root's uid could write them.
        options += ["--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys",
                    "--dev", "/dev", "--size", str(SHM_MB * 2**20), "--tmpfs", "/dev/shm",
                    "--size", str(int(self.disk_mb * 2**20)), "--tmpfs", TMP_DIR,
                    "--dir", WORK_DIR, "--dir", HOME_DIR]
        for path in visible_paths():
            options += ["--ro-bind", str(path), str(path)]
        if inputs is not None:
            options += ["--ro-bind", str(inputs), INPUT_DIR]
        options += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", WORK_DIR, "--", *argv]
        return options


def find_sandbox(disk_mb: float = DEFAULT_DISK_MB) -> Sandbox:
    """The sandbox of this machine, tried once (Python starts in it and exits).

    Raises:
        SandboxUnavailable: ``bwrap`` is not on ``PATH``, or it cannot make the sandbox (user
            namespaces disabled, a bwrap too old for ``--size``...); the message says how to fix it.
    """
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        raise SandboxUnavailable(f"bubblewrap (bwrap) is not installed, so hand-ins cannot run in a "
                                 f"sandbox: {INSTALL_HINT}, {NO_SANDBOX_HINT}.")
    sandbox = Sandbox(bwrap, disk_mb)
    try:
        trial = subprocess.run(sandbox.command([sys.executable, "-c", "pass"], dict(os.environ)),
                               capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SandboxUnavailable(f"{bwrap} could not be run ({exc}): {INSTALL_HINT}, {NO_SANDBOX_HINT}.") \
            from exc
    if trial.returncode != 0:
        said = " ".join(trial.stderr.split())[:500] or f"exit status {trial.returncode}"
        raise SandboxUnavailable(f"{bwrap} cannot make the sandbox on this machine ({said}); "
                                 f"{USERNS_HINT}; {NO_SANDBOX_HINT}.")
    return sandbox
