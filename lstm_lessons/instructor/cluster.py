"""Grading on a Dask cluster: ``lstm-lessons grade ... --scheduler ADDRESS``.

One machine grades a few hand-ins a minute; a class of hundreds needs more machines. Dask
distributed already schedules tasks on them (a scheduler and ``dask worker`` processes started
by hand, by ``dask ssh``, or by dask-jobqueue on SLURM and PBS), so the grader sends its work
there instead of growing a scheduler of its own:

- each submission is one task, :func:`execute_task`: the worker's machine runs it exactly as the
  grader does on its own (:func:`lstm_lessons.instructor.execution.execute_submission`: the bubblewrap
  sandbox, the time and memory limits) and sends back plain data (status, recorded answers,
  the executed notebook);
- when every submission has run, each distinct answer is one more task, :func:`check_task`
  (the trusted exercise code, on the worker);
- the grader records the grades and writes ``grades.csv``, ``results.json`` and the feedback
  pages on the instructor's machine as results arrive (:class:`lstm_lessons.instructor.grader.Grader`,
  the same code as without a cluster).

Faults:

- **A stale worker.** On connecting, every worker reports its ``lstm_lessons`` version and the
  checksum of its package files (:func:`identity`); tasks go only to the workers whose report
  matches the grader's, and the others are named in :attr:`ClusterRunner.refused`. Every task
  checks the checksum again before it runs (a worker may be restarted from another install).
- **A worker that dies** mid-task: the scheduler gives its tasks to another worker, until a task
  has been on ``distributed.scheduler.allowed-failures`` dying workers (Dask's default is 3; start
  the scheduler with ``DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES=1`` to rerun once). An
  exception in a task (no sandbox on that machine, a stale package) is retried once elsewhere
  (``retries``). A task that still fails makes its submission's status ``grader-error``.
- **Ctrl-C** on the instructor's machine sets a ``distributed.Event`` that every running task
  watches (its child processes are killed within a second), and cancels the tasks not started;
  what is recorded stays written.
- **A scheduler that cannot be reached**: :class:`ClusterError` before anything runs.

Machines of other kinds: TensorFlow's last digits depend on the CPU's instruction sets, the
oneDNN setting, the threads of a check and the library versions (:mod:`lstm_lessons.machine`).
On connecting, every used worker also reports where its checks would train
(:func:`~lstm_lessons.instructor.execution.check_machine`); the workers are grouped by kind
(:func:`machine_kinds`). When there is more than one kind, :class:`ClusterRunner` warns
(:class:`MachinesDifferWarning`, naming the kinds and their workers), and every check of one
exercise goes to the workers of one kind (:meth:`ClusterRunner.checker`: the kind with the most
Dask threads), so that all answers of an exercise are measured alike; the hand-ins still run on every
worker. A check is then given to another worker *of its kind* when its worker dies; if every worker
of that kind is gone, the checks of its exercises wait until one of that kind joins again (Ctrl-C
stops the wait and keeps what is written): a check on another kind could give another grade.
"""

from __future__ import annotations

import functools
import json
import threading
import uuid
import warnings

from lstm_lessons.grading.exercise import CheckResult
from lstm_lessons.instructor.execution import (
    CheckFailed,
    Execution,
    Limits,
    check_answer,
    check_environment,
    check_machine,
    execute_submission,
    in_a_folder,
)
from lstm_lessons.instructor.integrity import PackageSnapshot
from lstm_lessons.machine import kind as machine_kind

CONNECT_TIMEOUT = 10.0
"""Seconds to wait for the scheduler before giving up."""
RETRIES = 1
"""Times a task that raised is run again, on another worker when there is one."""
STOP_POLL = 0.5
"""Seconds between a running task's looks at the grader's stop event."""


def check_address(address: str, insecure: bool = False, tls: bool = False) -> None:
    """Refuse a plain ``tcp://`` scheduler that is not on this machine, before any connection.

    Dask's ``tcp://`` is neither encrypted nor authenticated: anyone who can reach the port runs
    code as the instructor on the scheduler and on every worker (``client.run``), and a worker
    started from the public hand-out receives every student's notebook and can send back any
    result. A loopback address (``127.0.0.0/8``, ``::1``, ``localhost``) reaches only this
    machine; any other needs ``insecure`` (``--insecure-cluster``), on a network nobody else
    reaches. Names are not resolved here (a name could point anywhere): only ``localhost`` counts.

    Every scheme but ``tls://`` and ``wss://`` (encrypted, with certificates) and ``inproc://``
    (this process) is held to that rule: ``ws://`` and ``ucx://`` are not authenticated either.
    The rule is about the grader's own connection: a scheduler started without ``--host
    127.0.0.1`` listens on every interface whatever address the grader uses.

    Raises:
        ClusterError: a plain address (``tcp://``, ``ws://``..., or one without a scheme, which
            Dask reads as ``tcp://``) off this machine, without ``insecure``; a ``tls://`` or
            ``wss://`` address without ``tls`` (the grader's certificate,
            :mod:`lstm_lessons.instructor.certificates`).
    """
    import ipaddress
    from urllib.parse import urlsplit

    scheme = address.split("://", 1)[0].lower() if "://" in address else "tcp"
    if scheme in ("tls", "wss") and not tls:
        raise ClusterError(f"--scheduler {address!r} is a {scheme}:// address: give the folder of the "
                           f"grader's certificate with --tls DIR (`lstm-lessons cluster certs DIR`)")
    if scheme in ("tls", "wss", "inproc") or insecure:
        return
    try:
        host = urlsplit(address if "://" in address else f"tcp://{address}").hostname or ""
    except ValueError:
        host = ""
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host.lower() == "localhost"
    if not loopback:
        raise ClusterError(
            f"--scheduler {address!r} is a plain {scheme}:// address off this machine: anyone who can "
            f"reach it could run code as you on the scheduler and on every worker, and a worker "
            f"started from the public hand-out would receive every hand-in. Use tls:// with --tls DIR "
            f"(`lstm-lessons cluster certs DIR`), grade on 127.0.0.1, or pass --insecure-cluster on a "
            f"network only you can reach.")


class ClusterError(ValueError):
    """The cluster cannot grade: no scheduler at the address, no worker, or no worker with the
    grader's package."""


class StaleWorkerError(RuntimeError):
    """A worker's ``lstm_lessons`` package differs from the grader's."""


class MachinesDifferWarning(UserWarning):
    """The cluster's used workers are not all of one kind of machine (see :func:`kinds_warning`)."""


ASPECTS = (("the CPU model", lambda kind: kind["cpu"]["model"]),
           ("the CPU flags", lambda kind: kind["cpu"]["flags"]),
           ("the oneDNN setting", lambda kind: kind["onednn"]),
           ("the TensorFlow threads of a check", lambda kind: kind["threads"]["intra_op"]),
           ("the library versions", lambda kind: kind["versions"]))
"""What two kinds of machine can differ in, by name, as :func:`machine_kinds` records them."""


def identity() -> dict:
    """What a worker runs: its ``lstm_lessons`` version and package checksum
    (``PackageSnapshot.checksum``: the same files give the same checksum on any machine)."""
    import lstm_lessons

    return {"version": lstm_lessons.__version__, "checksum": PackageSnapshot.take().checksum}


def machine_kinds(machines: dict[str, dict], slots: dict[str, int]) -> list[dict]:
    """The workers grouped by kind of machine (:func:`lstm_lessons.machine.kind`), the kind that
    checks first.

    Args:
        machines: ``{worker address: where its checks train}``
            (:func:`~lstm_lessons.instructor.execution.check_machine` on that worker).
        slots: ``{worker address: its Dask threads}``.

    Returns:
        One dict a kind, :func:`lstm_lessons.machine.kind` with ``"workers"``
        (their addresses, sorted), ``"hosts"`` (their machines' names, sorted) and ``"slots"``
        (their threads together); the kind with the most slots first, equal ones in the order
        of their records as sorted JSON (the same workers give the same order in every run).
    """
    kinds: dict[str, dict] = {}
    for address, description in machines.items():
        record = machine_kind(description)
        kind = kinds.setdefault(json.dumps(record, sort_keys=True),
                                {**record, "workers": [], "hosts": [], "slots": 0})
        kind["workers"].append(address)
        if description.get("host") not in kind["hosts"]:
            kind["hosts"].append(description.get("host"))
        kind["slots"] += slots.get(address, 0)
    for kind in kinds.values():
        kind["workers"].sort()
        kind["hosts"].sort(key=str)
    return [kinds[key] for key in sorted(kinds, key=lambda key: (-kinds[key]["slots"], key))]


def kind_text(kind: dict) -> str:
    """A kind of machine (:func:`machine_kinds`) in words.

    For example ``AMD EPYC [avx avx2 fma], oneDNN default, 1 TensorFlow thread a check,
    python 3.11.7, tensorflow 2.21.0, keras 3.15.1, numpy 2.4.6``."""
    cpu, threads = kind["cpu"], kind["threads"]["intra_op"]
    versions = ", ".join(f"{name} {version}" for name, version in kind["versions"].items())
    return (f"{cpu['model']} [{' '.join(cpu['flags']) or 'no numeric flags read'}], oneDNN {kind['onednn']}, "
            f"{threads} TensorFlow thread{'' if threads == 1 else 's'} a check, {versions}")


def kinds_warning(kinds: list[dict]) -> str | None:
    """The warning for workers of more than one kind (:func:`machine_kinds`, in its order): what
    the kinds differ in (:data:`ASPECTS`), each kind with its workers, and that the checks go to
    the first; ``None`` for one kind."""
    if len(kinds) < 2:
        return None
    differ = [name for name, part in ASPECTS
              if len({json.dumps(part(kind), sort_keys=True) for kind in kinds}) > 1]
    listed = "; ".join(f"kind {n} ({kind['slots']} Dask thread{'' if kind['slots'] == 1 else 's'}): "
                       f"{kind_text(kind)}: worker{'' if len(kind['workers']) == 1 else 's'} "
                       f"{', '.join(kind['workers'])} on {', '.join(map(str, kind['hosts']))}"
                       for n, kind in enumerate(kinds, 1))
    differ = ", ".join(differ[:-1]) + " and " + differ[-1] if len(differ) > 1 else differ[0]
    return (f"the cluster's workers are of {len(kinds)} kinds of machine, whose TensorFlow can give "
            f"different last digits for the same answer (they differ in {differ}): {listed}. Every "
            f"exercise's answers are checked on kind 1 (the most Dask threads), so that all answers of "
            f"an exercise are measured alike; the hand-ins run on every worker. results.json says which "
            f"kind checked each exercise (\"checked_on\") and where each check ran (its \"environment\").")


def _refuse_stale(expected: str) -> None:
    found = PackageSnapshot.take().checksum
    if found != expected:
        raise StaleWorkerError(f"this worker's lstm_lessons package has checksum {found[:12]}, the grader's "
                               f"{expected[:12]}: install the same hand-out on every worker")


@functools.lru_cache(maxsize=4)
def _sandbox(disk_mb: float):
    from lstm_lessons.instructor.sandbox import find_sandbox

    return find_sandbox(disk_mb)


def _in_a_task(function, expected: str, stop_name: str, *args):
    """Run ``function(*args, folder, stop=...)`` in a new temporary folder of this worker, after
    checking its package against ``expected``; ``stop`` is set when the grader sets the cluster's
    event ``stop_name``.

    The work runs in a thread of its own while the task's thread watches the event: a
    ``distributed.Event`` answers only in the thread of the task that made it."""
    from distributed import Event

    _refuse_stale(expected)
    event, stop, outcome = Event(stop_name), threading.Event(), {}

    def work():
        try:
            outcome["result"] = in_a_folder(function, *args, stop=stop)
        except BaseException as exc:  # noqa: BLE001 - raised again in the task's thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    while worker.is_alive():
        if not stop.is_set() and event.wait(timeout=STOP_POLL):
            stop.set()
        worker.join(timeout=0 if not stop.is_set() else STOP_POLL)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["result"]


def execute_task(text: str, limits: dict, sandboxed: bool, expected: str, stop_name: str) -> Execution:
    """A Dask task: execute one submission on this worker
    (:func:`~lstm_lessons.instructor.execution.execute_submission`), in the sandbox when ``sandboxed``.

    Raises:
        StaleWorkerError: this worker's package differs from the grader's (checksum ``expected``).
        SandboxUnavailable: ``sandboxed``, and bwrap cannot make a sandbox on this machine.
    """
    limits = Limits(**limits)
    sandbox = _sandbox(limits.disk_mb) if sandboxed else None
    # In the sandbox the package is read-only; without it a submission could change this
    # worker's package, and the change is undone when the submission ends.
    snapshot = None if sandboxed else PackageSnapshot.take()

    def run(text, folder, stop):
        try:
            return execute_submission(text, folder, limits, sandbox, stop=stop)
        finally:
            if snapshot is not None:
                snapshot.restore(bytecode=True)

    return _in_a_task(run, expected, stop_name, text)


def check_task(exercise: str, answer: str, limits: dict, expected: str,
               stop_name: str) -> CheckResult | CheckFailed:
    """A Dask task: check one answer on this worker (:func:`~lstm_lessons.instructor.execution.check_answer`).

    Raises:
        StaleWorkerError: this worker's package differs from the grader's.
    """
    limits = Limits(**limits)
    return _in_a_task(lambda e, a, folder, stop: check_answer(e, a, folder, limits, stop=stop),
                      expected, stop_name, exercise, answer)


class ClusterRunner:
    """The grader's submissions and checks as tasks of the Dask cluster at ``address``
    (:class:`~lstm_lessons.instructor.execution.Runner`).

    Args:
        address: the scheduler's address, e.g. ``tcp://10.0.0.5:8786``.
        limits: the submissions' limits; ``side_by_side`` is worked out per machine from the
            workers' threads.
        sandboxed: run each submission in the bubblewrap sandbox of its worker's machine.
        checksum: the grader's package checksum.
        timeout: seconds to wait for the scheduler.
        security: a :class:`distributed.Security` (mutual TLS,
            :func:`lstm_lessons.instructor.certificates.security`), or ``None``.
        insecure: allow a plain address off this machine (:func:`check_address`).

    Raises:
        ClusterError: the address is refused by :func:`check_address`, the scheduler cannot be
            reached, it has no worker, or no worker has the grader's ``lstm_lessons`` (version
            and checksum).

    Warns:
        MachinesDifferWarning: the used workers are of more than one kind of machine (the text
            is :attr:`warning`).
    """

    def __init__(self, address: str, limits: Limits, sandboxed: bool, checksum: str,
                 timeout: float = CONNECT_TIMEOUT, security=None, insecure: bool = False):
        # First, before anything connects: a plain address off this machine is open to anyone.
        check_address(address, insecure, tls=security is not None)
        try:
            from distributed import Client
        except ImportError as exc:
            raise ClusterError("grading on a cluster needs Dask distributed: make install in a clone, "
                               "or pip install '<the wheel>[cluster]'") from exc
        import lstm_lessons

        self.address = address
        try:
            self.client = Client(address, timeout=timeout, set_as_default=False, security=security)
        except (OSError, TimeoutError) as exc:
            raise ClusterError(f"the Dask scheduler at {address!r} cannot be reached ({exc}); "
                               f"nothing was graded") from exc
        try:
            workers = self.client.scheduler_info(n_workers=-1)["workers"]
            if not workers:
                raise ClusterError(f"the Dask scheduler at {address!r} has no worker; start `dask worker "
                                   f"{address}` on the grading machines")
            reports = self.client.run(identity)
        except BaseException:
            self.client.close()
            raise
        expected = {"version": lstm_lessons.__version__, "checksum": checksum}
        self.workers = sorted(a for a, r in reports.items() if r == expected)
        self.refused = {a: r for a, r in reports.items() if r != expected}
        """Workers left out: ``{address: their version and checksum}``."""
        if not self.workers:
            self.client.close()
            found = "; ".join(f"{a}: lstm_lessons {r['version']}, checksum {r['checksum'][:12]}"
                              for a, r in sorted(self.refused.items()))
            raise ClusterError(f"no worker of {address!r} has the grader's lstm_lessons "
                               f"{expected['version']} (checksum {checksum[:12]}): {found}. Install the "
                               f"same hand-out on every worker.")
        threads: dict[str, int] = {}
        for info in workers.values():
            threads[info["host"]] = threads.get(info["host"], 0) + info["nthreads"]
        used = [workers[a] for a in self.workers]
        # Children on the busiest machine share its cores among that many at once.
        side_by_side = max(threads[info["host"]] for info in used)
        self.limits = Limits(limits.timeout, limits.memory_mb, limits.disk_mb, side_by_side)
        self.slots = sum(info["nthreads"] for info in used)
        """Tasks the used workers run at once."""
        try:
            # Where each worker's checks train: its children's threads come from side_by_side.
            machines = self.client.run(check_machine, side_by_side, workers=self.workers)
        except BaseException:
            self.client.close()
            raise
        self.kinds = machine_kinds(machines, {a: workers[a]["nthreads"] for a in self.workers})
        """The used workers by kind of machine (:func:`machine_kinds`); the checks go to the first."""
        self.warning = kinds_warning(self.kinds)
        """:func:`kinds_warning`'s text (also issued as a :class:`MachinesDifferWarning`), or
        ``None`` when the used workers are all of one kind."""
        if self.warning is not None:
            warnings.warn(self.warning, MachinesDifferWarning, stacklevel=2)
        self._checkers: dict[str, dict] = {}
        self.sandboxed, self.checksum = sandboxed, checksum
        self._new_stop()

    def _new_stop(self) -> None:
        """A new ``distributed.Event`` that every task submitted from now on watches."""
        from distributed import Event

        self.stop_name = f"lstm-lessons-stop-{uuid.uuid4().hex}"
        self._stop = Event(self.stop_name, client=self.client)

    def _submit(self, function, *args, key: str, workers=None):
        return self.client.submit(function, *args, key=f"{key}-{uuid.uuid4().hex[:8]}", pure=False,
                                  retries=RETRIES, workers=workers or self.workers, allow_other_workers=False)

    where = "the cluster"

    @property
    def notices(self) -> list[str]:
        """The warning that the used workers are of several kinds, and each worker left out."""
        refused = [f"worker {address} left out: it has lstm_lessons {found['version']} with package "
                   f"checksum {found['checksum'][:12]}, not the grader's {self.checksum[:12]}; install "
                   f"the same hand-out there" for address, found in self.refused.items()]
        return [self.warning, *refused] if self.warning else refused

    def describe(self) -> dict:
        return {"scheduler": self.address}

    def checked_on(self, exercises) -> dict[str, dict]:
        """Each exercise's :meth:`checker`."""
        return {exercise: dict(self.checker(exercise)) for exercise in exercises}

    def environment(self, snapshot, checked_on: dict[str, dict]) -> dict:
        return check_environment(snapshot, checkers=checked_on)

    def checker(self, exercise: str) -> dict:
        """The kind of machine (one of :attr:`kinds`) whose workers check every answer of
        ``exercise``: chosen at the exercise's first call, the same for the rest of this runner's
        life. The choice is the first kind, the one with the most Dask threads."""
        return self._checkers.setdefault(exercise, self.kinds[0])

    def execute(self, id_: str, text: str):
        """Submit one submission's execution; a future of :func:`execute_task`'s result."""
        return self._submit(execute_task, text, self.limits.as_dict(), self.sandboxed, self.checksum,
                            self.stop_name, key=f"lstm-lessons-execute-{id_}")

    def check(self, exercise: str, answer: str):
        """Submit one answer's check, to the workers of :meth:`checker`'s kind for ``exercise``;
        a future of :func:`check_task`'s result."""
        return self._submit(check_task, exercise, answer, self.limits.as_dict(), self.checksum,
                            self.stop_name, key=f"lstm-lessons-check-{exercise}",
                            workers=self.checker(exercise)["workers"])

    def completed(self, futures):
        """The futures as they finish (``distributed.as_completed``)."""
        from distributed import as_completed

        futures = list(futures)
        return as_completed(futures, loop=self.client.loop) if futures else iter(())

    def cancel(self, futures) -> None:
        """Stop every running task (they watch the stop event; their processes end within
        :data:`STOP_POLL` and a poll of ``run_limited``) and cancel the others. Returns at once: a
        task of a worker that cannot be reached can keep it waiting for ever."""
        self._stop.set()
        self.client.cancel(list(futures))
        self._new_stop()        # the event stays set on the scheduler: the next run watches a new one

    def close(self) -> None:
        self.client.close()
