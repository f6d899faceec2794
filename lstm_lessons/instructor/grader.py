"""``lstm-lessons grade``: execute hand-ins headlessly, verify their answers, write the grades.

How a submission is graded:

1. **Prepare** (in the grader): the file must be a readable notebook of the lesson being
   graded; a clean copy without any stored outputs is written to a private temporary folder.
2. **Execute** (a child process, :mod:`lstm_lessons.instructor.worker`): papermill runs the copy
   in a new Jupyter kernel, inside a bubblewrap sandbox (:mod:`lstm_lessons.instructor.sandbox`: no
   network, its own processes, nothing writable but its working folder and ``/tmp``, nothing
   visible but the hand-out and the system), under a wall-clock limit and a memory limit for
   the whole process tree (:mod:`lstm_lessons.instructor.limits`). ``ll.grading.check`` only
   *records* answers there. Up to ``workers`` submissions run at once. Without the sandbox
   (``sandbox=False``) the kernel runs as the grader's user in a temporary folder.
3. **Check** (child processes with the same limits, after every kernel has ended): the
   ``lstm_lessons`` package is first restored from the snapshot taken before the first
   submission ran (:mod:`lstm_lessons.instructor.integrity`), so a submission that edited the
   exercise code gains nothing; then each distinct recorded answer is trained and measured
   once by the trusted exercise code (:mod:`lstm_lessons.grading.registry`). The checks are
   seeded and deterministic, so the same answer on the same kind of machine always gets the
   same points: an answer that an earlier run into the same folder already checked with the same
   code, libraries and kind of machine (:func:`check_environment`) keeps that check instead of
   training again. Each check records where it ran (``environment`` in ``results.json``,
   :func:`lstm_lessons.machine.describe`), and ``results.json`` names the kind of machine that
   checked each exercise (``checked_on``). The notebook's printed output and any points it
   recorded are never read.

The notebook decides only *which answer* it hands in; the grader decides the points.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from lstm_lessons.cores import available_cores
from lstm_lessons.files import write_atomically
from lstm_lessons.grading.feedback import ExerciseError, screen
from lstm_lessons.grading.registry import EXERCISES, CheckResult
from lstm_lessons.instructor.execution import (
    CHECK_MEMORY_MB,
    CHECK_TIMEOUT,
    CheckFailed,
    Execution,
    Limits,
    LocalRunner,
    Runner,
    check_environment,
)
from lstm_lessons.instructor.integrity import PackageSnapshot
from lstm_lessons.instructor.report import (
    Grade,
    feedback_html,
    read_earlier,
    reusable_checks,
    write_tables,
)
from lstm_lessons.instructor.sandbox import DEFAULT_DISK_MB, find_sandbox
from lstm_lessons.instructor.submissions import (
    DEFAULT_MAX_MB,
    common_folder,
    given_ids,
    prepare,
    submission_ids,
    within,
)
from lstm_lessons.params import Rule, shown
from lstm_lessons.runner import NOTEBOOKS_DIR, resolve_lessons

DEFAULT_TIMEOUT = 600.0
"""Seconds one submission may run (a lesson takes 20-60 s on 2 cores: benchmarks/results/lesson-times.md)."""
DEFAULT_MEMORY_MB = 4096.0
"""MiB one submission's processes may hold together (a lesson's kernel holds about 1 GiB)."""
__all__ = ["CHECK_MEMORY_MB", "CHECK_TIMEOUT", "DEFAULT_MEMORY_MB", "DEFAULT_TIMEOUT", "Grader",
           "GradingError", "check_environment", "default_workers", "grade"]

TAMPER_NOTE = ("the lstm_lessons package was changed while only this submission ran "
               "(restored before the checks)")
"""Added to a submission's message when a change to the package was found as it ended and no
other submission was running since the previous look, so that it alone can have made it (always
so with ``--workers 1``). Otherwise ``results.json`` lists every submission that was running."""


class GradingError(ValueError):
    """A usage error found before anything runs: a lesson without exercises, a bad limit."""


POSITIVE = Rule(float, 0.0, low_inclusive=False, meaning="a limit in seconds or MiB")
"""The rule of the grader's time, memory, disk and hand-in size limits."""


def default_workers() -> int:
    """The number of CPU cores this process may use."""
    return available_cores()


def _notebook(text):
    try:
        return nbformat.reads(text, as_version=4)
    except Exception:  # noqa: BLE001 - no notebook or a broken one means no feedback copy
        return None


class Grader:
    """Grades submissions of one lesson into one output folder (see the module docstring).

    Args:
        lesson: the lesson's name or number (``"01"``).
        out: the output folder; grades of other submissions already in ``out/results.json``
            (from an earlier run on the same lesson) are kept.
        workers: submissions (and checks) run at once; default :func:`default_workers`.
        timeout: seconds one submission may run (a check: at least :data:`CHECK_TIMEOUT`).
        memory_mb: MiB one submission's processes may hold together (a check: at least
            :data:`CHECK_MEMORY_MB`).
        progress: show progress bars (tqdm, on standard error).
        sandbox: run each submission's kernel in the bubblewrap sandbox (default); ``False``
            runs it as the grader's user, with the grader's files and network.
        disk_mb: MiB a submission may write in the sandbox (its working folder and ``/tmp``).
        max_mb: the largest hand-in read, in MiB; a larger one is ``refused``.
        insecure_cluster: allow a plain ``tcp://`` ``scheduler`` off this machine
            (:func:`~lstm_lessons.instructor.cluster.check_address`).
        tls: the folder of the cluster's certificates
            (:func:`~lstm_lessons.instructor.certificates.make_certificates`): connect to a
            ``tls://`` ``scheduler`` with the grader's certificate (mutual TLS).
        scheduler: the address of a Dask scheduler: submissions and checks then run as tasks of
            its workers, each in the sandbox of its worker's machine
            (:mod:`lstm_lessons.instructor.cluster`); ``workers`` is ignored. ``None``: everything
            runs on this machine. Either way, call :meth:`close` when done.

    Raises:
        LessonNotFoundError: unknown lesson.
        GradingError: the lesson has no exercises, or a limit is not positive.
        SandboxUnavailable: ``sandbox`` is on and bwrap is missing or cannot make a sandbox here.
        ResultsFileError: ``out/results.json`` is not this lesson's results file.
        ClusterError: ``scheduler`` cannot be reached, or has no worker with this grader's package.

    Warns:
        MachinesDifferWarning: ``scheduler``'s used workers are of more than one kind of machine
            (the first of ``runner.notices``); each exercise's answers are then checked on one kind.
    """

    def __init__(self, lesson: str, out="grades", workers: int | None = None,
                 timeout: float = DEFAULT_TIMEOUT, memory_mb: float = DEFAULT_MEMORY_MB,
                 progress: bool = True, notebooks_dir: Path = NOTEBOOKS_DIR, sandbox: bool = True,
                 disk_mb: float = DEFAULT_DISK_MB, scheduler: str | None = None,
                 max_mb: float = DEFAULT_MAX_MB, insecure_cluster: bool = False, tls=None):
        self.lesson = resolve_lessons([lesson], notebooks_dir)[0].stem
        self.exercises = {e.id: e.points for e in EXERCISES.values() if e.lesson == self.lesson}
        if not self.exercises:
            raise GradingError(f"Lesson {self.lesson!r} has no graded exercises.")
        self.workers = default_workers() if workers is None else workers
        for name, value, rule in (("workers", self.workers, Rule(int, 0, low_inclusive=False,
                                                                  meaning="hand-ins graded at once")),
                                  ("timeout", timeout, POSITIVE), ("memory_mb", memory_mb, POSITIVE),
                                  ("disk_mb", disk_mb, POSITIVE), ("max_mb", max_mb, POSITIVE)):
            if (message := rule.check(name, value)) is not None:
                raise GradingError(message)
        self.timeout, self.memory_mb, self.progress = float(timeout), float(memory_mb), progress
        self.disk_mb, self.max_mb = float(disk_mb), float(max_mb)
        # Before anything runs: a grader asked for a sandbox never runs a hand-in without one
        # (on a cluster, each worker finds its own).
        found = find_sandbox(self.disk_mb) if sandbox and scheduler is None else None
        self.sandboxed = bool(sandbox)
        self.out = Path(out)
        self.grades: dict[str, Grade] = {g.id: g for g in read_earlier(self.out, self.lesson)}
        self.order = list(self.grades)
        self.feedback: dict[str, str] = {}
        self.repairs: list[dict] = []
        """Changes to the package found after a kernel ended: ``{"changes", "running"}``."""
        self._snapshot: PackageSnapshot | None = None
        self._environment: dict = {}
        self.last_run = {"answers_trained": 0, "answers_reused": 0}
        """Distinct answers the last :meth:`grade` trained, and those it took from earlier checks."""
        self.checked_on: dict[str, dict] = {}
        """``{exercise id: the kind of machine that checks its answers}`` in the last :meth:`grade`:
        :func:`lstm_lessons.machine.kind` with ``"hosts"`` (and on a cluster
        ``"workers"`` and ``"slots"``, see :func:`~lstm_lessons.instructor.cluster.machine_kinds`)."""
        self.runner: Runner
        """Where the hand-ins and checks run: :class:`~lstm_lessons.instructor.execution.LocalRunner`
        or :class:`~lstm_lessons.instructor.cluster.ClusterRunner`."""
        if scheduler is None:
            self.runner = LocalRunner(self._limits, found, after_execution=self._restore_after)
        else:   # last: no open connection is left behind by an error above
            from lstm_lessons.instructor.cluster import ClusterRunner

            checksum = PackageSnapshot.take().checksum
            secure = None
            if tls is not None:
                from lstm_lessons.instructor.certificates import security

                try:
                    secure = security(tls, "grader")
                except FileNotFoundError as exc:
                    raise GradingError(f"--tls: {exc}") from exc
            self.runner = ClusterRunner(scheduler, self._limits, self.sandboxed, checksum,
                                        security=secure, insecure=insecure_cluster)
            self.workers = self.runner.slots

    @property
    def limits(self) -> dict:
        # How this machine limits a hand-in (its confinement), or the scheduler (each worker's own).
        limits = {"timeout_seconds": self.timeout, "memory_mb": self.memory_mb, "workers": self.workers,
                  **self.runner.describe()}
        return {**limits, "disk_mb": self.disk_mb} if self.sandboxed else limits

    def close(self) -> None:
        """End the runner's threads, or disconnect from the cluster. A closed grader on this
        machine can grade again (it starts new threads); on a cluster it cannot."""
        self.runner.close()

    def __enter__(self) -> Grader:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def zero_grade(self, id_: str, path, status: str, message: str, **extra) -> Grade:
        """A grade of 0 points in every exercise, with ``status`` and ``message`` (before any check)."""
        return Grade(id_, self.lesson, status, message, dict.fromkeys(self.exercises, 0), 0,
                     sum(self.exercises.values()), submission=str(path), sandbox=self.sandboxed, **extra)

    def grade(self, submissions, ids=None, root=None) -> list[Grade]:
        """Grade ``submissions`` (paths) and write the output folder; returns their grades in order.

        Args:
            submissions: the hand-ins' paths.
            ids: their identifiers (a student's login, say: :mod:`~lstm_lessons.instructor.course`);
                default :func:`~lstm_lessons.instructor.submissions.submission_ids`.
            root: the folder the hand-ins were collected in (a symbolic link below it is the
                hand-in's, and refused); default their deepest common folder.

        Raises:
            SubmissionError: a path is missing, two submissions would share an identifier, an
                identifier given holds characters outside ``A-Z a-z 0-9 . _ + -``, or ``root``
                does not hold every submission.
        """
        submissions = [Path(p) for p in submissions]
        ids = submission_ids(submissions) if ids is None else given_ids(ids, submissions)
        self.order += [i for i in ids if i not in self.grades]
        # Before any submission runs: the trusted code the checks will import afterwards.
        self._snapshot = PackageSnapshot.take()
        # On a cluster, each exercise's checks run on the workers of one kind.
        self.checked_on = self.runner.checked_on(self.exercises)
        self._environment = self.runner.environment(self._snapshot, self.checked_on)
        # Read before any submission runs, from the grades this grader itself loaded or wrote.
        reusable = reusable_checks(list(self.grades.values()), self._environment)
        self.last_run = {"answers_trained": 0, "answers_reused": 0}
        bar = tqdm(total=len(ids), desc=f"grading {self.lesson}", unit="notebook", disable=not self.progress)
        # Every hand-in is read before any runs: a submission cannot change another's file.
        root = common_folder(submissions) if root is None else within(root, submissions)
        prepared = [self._prepare_safely(i, s, root) for i, s in zip(ids, submissions, strict=True)]
        for grade, _ in prepared:
            if grade.status != "ready":
                bar.update()
                self._record(grade, None)
        executed = []
        jobs = {self.runner.execute(grade.id, text): grade
                for grade, text in prepared if grade.status == "ready"}
        with self._stopped_on_interrupt(jobs):
            for job in self.runner.completed(jobs):
                grade, answers, notebook = self._executed(jobs[job], job)
                bar.update()
                if grade.status == "stopped":
                    continue        # interrupted: no row (its message says so)
                if grade.status == "graded":
                    executed.append((grade, answers, notebook))
                else:
                    self._record(grade, notebook)
        bar.close()
        executed.sort(key=lambda item: ids.index(item[0].id))
        try:
            # Every kernel has ended; bytecode is deleted too, as it cannot be compared.
            self._note_repairs(self._snapshot.restore(bytecode=True), running=[])
        except OSError as exc:
            executed = self._untrusted(executed, exc)
        self._check(executed, reusable)
        for repair in self.repairs:
            if len(repair["running"]) == 1 and TAMPER_NOTE not in self.grades[repair["running"][0]].message:
                self.grades[repair["running"][0]].message += f"; {TAMPER_NOTE}"
        self._write_all()
        return [self.grades[i] for i in ids]

    def _executed(self, grade: Grade, job):
        """(grade so far, answers, executed notebook) of a finished execution ``job``; a runner
        that failed (not the hand-in) makes it this submission's ``grader-error``, and only its."""
        try:
            return self.executed_grade(grade, job.result())
        except Exception as exc:  # noqa: BLE001 - one submission's grader failure stays its own
            message = f"{self.runner.where} could not run it ({type(exc).__name__}: {exc})"
            return self.zero_grade(grade.id, grade.submission, "grader-error", message), {}, None

    def _prepare_safely(self, id_: str, path: Path, root: Path) -> tuple[Grade, str | None]:
        """A submission's grade so far (status ``ready`` or why not) and its clean copy; ``root``
        is the folder the hand-ins were collected in."""
        try:
            status, message, text = prepare(path, self.lesson, self.max_mb, root)
        except Exception as exc:  # noqa: BLE001 - one submission's grader failure stays its own
            status, message, text = "grader-error", f"{type(exc).__name__}: {exc}", None
        return self.zero_grade(id_, path, status, message), text

    @property
    def _limits(self) -> Limits:
        return Limits(self.timeout, self.memory_mb, self.disk_mb, self.workers)

    def _restore_after(self, id_: str, running: list[str]) -> None:
        """After submission ``id_`` ended on this machine: undo any change to the package, noted
        with who could have made it (``id_`` and the submissions still ``running``)."""
        try:
            self._note_repairs(self._snapshot.restore(), running=[id_, *running])
        except OSError:
            pass  # the restore before the checks tries again and decides

    def executed_grade(self, grade: Grade, executed: Execution):
        """(grade so far, answers, executed notebook) from the :class:`Execution` of ``grade``'s
        submission, here or on a cluster's worker."""
        result = self.zero_grade(grade.id, grade.submission, executed.status, executed.message,
                                 claims=executed.claims, seconds=executed.seconds, peak_mb=executed.peak_mb)
        return result, executed.answers, _notebook(executed.notebook)

    @contextmanager
    def _stopped_on_interrupt(self, jobs):
        """On Ctrl-C (``KeyboardInterrupt``): cancel the jobs not started, make the running ones
        kill their processes (within one poll of :func:`run_limited`), and let the interrupt go
        on. What is recorded stays written; the interrupted submissions get no row."""
        try:
            yield
        except KeyboardInterrupt:
            self.runner.cancel(jobs)
            raise

    def _note_repairs(self, changes: list[str], running: list[str]) -> None:
        """Keep a change to the package, found and undone, with the submissions that were running."""
        if changes:
            self.repairs.append({"changes": changes, "running": sorted(running)})

    def _untrusted(self, executed, error: OSError) -> list:
        """Record every executed submission as ``grader-error``: the package was changed and
        could not be restored, so no check may import it. Returns the empty list to check."""
        message = (f"the lstm_lessons package was changed while submissions ran and could not be "
                   f"restored ({type(error).__name__}: {error}); no answer was checked")
        for grade, _, notebook in executed:
            self._record(self.zero_grade(grade.id, grade.submission, "grader-error", message,
                                   seconds=grade.seconds, peak_mb=grade.peak_mb), notebook)
        return []

    def _check(self, executed, reusable: dict) -> None:
        """Verify every distinct answer once (or take its earlier check from ``reusable``, see
        :func:`~lstm_lessons.instructor.report.reusable_checks`), then finish and record each
        executed submission."""
        results: dict[tuple, CheckResult] = {}
        to_train, reused = [], 0
        for _, answers, _ in executed:
            for exercise in self.exercises:
                key = answer_key(exercise, answers)
                if key in results or key in to_train:
                    continue
                if key in reusable:
                    results[key] = CheckResult(**reusable[key])
                    reused += 1
                    continue
                answer = answers.get(exercise)
                if key[1] is None:
                    results[key] = CheckResult(exercise, 0, self.exercises[exercise],
                                               f"invalid answer: longer than {ANSWER_CHARACTERS} characters "
                                               f"as JSON, or not writable as JSON")
                    continue
                if answer is None:
                    results[key] = CheckResult(exercise, 0, self.exercises[exercise],
                                               "no answer recorded: the cell calling ll.grading.check "
                                               "did not run or was changed")
                    continue
                try:
                    screened = screen(exercise, answer)
                except Exception as exc:  # noqa: BLE001 - a hand-in's answer is data: never the run's end
                    why = str(exc) if isinstance(exc, ExerciseError) else f"{type(exc).__name__}: {exc}"
                    screened = CheckResult(exercise, 0, self.exercises[exercise],
                                           f"invalid answer: {shown(why, 300)}")
                if screened is None:
                    to_train.append(key)
                else:
                    results[key] = screened
        bar = tqdm(total=len(to_train), desc="checking answers", unit="answer", disable=not self.progress)
        jobs = {self.runner.check(*key): key for key in to_train}
        with self._stopped_on_interrupt(jobs):
            for job in self.runner.completed(jobs):
                results[jobs[job]] = self._checked(jobs[job], job)
                bar.update()
        bar.close()
        self.last_run = {"answers_trained": len(to_train), "answers_reused": reused}
        for grade, answers, notebook in executed:
            checks = {e: results[answer_key(e, answers)] for e in self.exercises}
            grade.answers = {e: answers[e] for e in self.exercises
                             if answers.get(e) is not None and answer_key(e, answers)[1] is not None}
            grade.check_environment = self._environment
            failed = [e for e, c in checks.items() if c.measurements.get("grader_error")]
            grade.checks = {e: asdict(c) for e, c in checks.items()}
            grade.points = {e: c.points for e, c in checks.items()}
            grade.total = sum(grade.points.values())
            passed = [e for e, c in checks.items() if c.passed]
            grade.message = f"ran to the end; {len(passed)} of {len(checks)} exercises passed"
            if failed:
                grade.status = "grader-error"
                grade.message = f"the grader's check of {', '.join(failed)} failed; see results.json"
            self._record(grade, notebook)

    def _checked(self, key: tuple, job) -> CheckResult:
        """The :class:`CheckResult` of a finished check ``job``."""
        try:
            return self.check_result(key[0], job.result())
        except Exception as exc:  # noqa: BLE001 - a check that failed (twice on a cluster) earns 0, marked
            return self.check_result(key[0], CheckFailed(f"failed on {self.runner.where} "
                                                         f"({type(exc).__name__}: {exc})"))

    def check_result(self, exercise: str, checked: CheckResult | CheckFailed) -> CheckResult:
        """The :class:`CheckResult` of a check, here or on a cluster's worker: a failed check
        earns 0 points and is marked as the grader's error."""
        if isinstance(checked, CheckResult):
            return checked
        return CheckResult(exercise, 0, self.exercises[exercise], f"the grader's check {checked.why}",
                           measurements={"grader_error": True})

    def _record(self, grade: Grade, notebook) -> None:
        """Keep a finished grade and write its feedback and the tables at once."""
        self.grades[grade.id] = grade
        self.feedback[grade.id] = feedback_html(grade, notebook)
        write_atomically(self.out / "feedback" / f"{grade.id}.html", self.feedback[grade.id])
        self._write_tables()

    def _write_tables(self) -> None:
        grades = [self.grades[i] for i in self.order if i in self.grades]
        write_tables(self.out, self.lesson, self.exercises, grades, self.limits, self.repairs,
                     sandbox=self.sandboxed, last_run=self.last_run, checked_on=self.checked_on)

    def _write_all(self) -> None:
        """Write everything again from memory at the end: whatever a submission wrote into the
        output folder while it ran is replaced."""
        for id_, page in self.feedback.items():
            write_atomically(self.out / "feedback" / f"{id_}.html", page)
        self._write_tables()


ANSWER_CHARACTERS = 4096
"""The longest answer, as JSON, the grader checks and records; every declared answer is under
100 characters."""


def answer_key(exercise: str, answers: dict) -> tuple[str, str | None]:
    """``(exercise, the answer as sorted JSON)``: equal answers are checked once. ``None`` in
    place of the JSON for an answer that cannot be written as JSON (an integer of more than
    4300 digits, nesting deeper than Python's recursion limit) or is longer than
    :data:`ANSWER_CHARACTERS`: such an answer is invalid, and is not recorded."""
    try:
        text = json.dumps(answers.get(exercise), sort_keys=True)
    except Exception:  # noqa: BLE001 - RecursionError, ValueError, TypeError: any answer is data
        return exercise, None
    return exercise, text if len(text) <= ANSWER_CHARACTERS else None


def grade(submissions, lesson: str, out="grades", **options) -> list[Grade]:
    """Grade ``submissions`` of ``lesson`` into ``out``; see :class:`Grader` for the options."""
    with Grader(lesson, out, **options) as grader:
        return grader.grade(submissions)
