"""``lstm-lessons grade``: execute hand-ins headlessly, verify their answers, write the grades.

How a submission is graded:

1. **Prepare** (in the grader): the file must be a readable notebook of the lesson being
   graded; a clean copy without any stored outputs is written to a private staging folder.
2. **Execute** (a child process, :mod:`lstm_lessons.grader.worker`): papermill runs the copy
   in a new Jupyter kernel, inside a bubblewrap sandbox (:mod:`lstm_lessons.grader.sandbox`: no
   network, its own processes, nothing writable but its working folder and ``/tmp``, nothing
   visible but the hand-out and the system), under a wall-clock limit and a memory limit for
   the whole process tree (:mod:`lstm_lessons.grader.limits`). ``ll.grading.check`` only
   *records* answers there. Up to ``workers`` submissions run at once. Without the sandbox
   (``sandbox=False``) the kernel runs as the grader's user in a temporary folder.
3. **Check** (child processes with the same limits, after every kernel has ended): the
   ``lstm_lessons`` package is first restored from the snapshot taken before the first
   submission ran (:mod:`lstm_lessons.grader.integrity`), so a submission that edited the
   exercise code gains nothing; then each distinct recorded answer is trained and measured
   once by the trusted exercise code (:mod:`lstm_lessons.grading.registry`). The checks are
   seeded and deterministic, so the same answer always gets the same points: an answer that an
   earlier run into the same folder already checked with the same code, libraries and machine
   (:func:`check_environment`) keeps that check instead of training again. The notebook's
   printed output and any points it recorded are never read.

The notebook decides only *which answer* it hands in; the grader decides the points.
"""

from __future__ import annotations

import json
import os
import platform
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import nbformat
from tqdm.auto import tqdm

from lstm_lessons.cores import available_cores, tensorflow_threads
from lstm_lessons.grader.integrity import PackageSnapshot
from lstm_lessons.grader.limits import ResultPipe, run_limited
from lstm_lessons.grader.report import (
    Grade,
    feedback_html,
    read_earlier,
    reusable_checks,
    write_tables,
    write_text_atomically,
)
from lstm_lessons.grader.sandbox import DEFAULT_DISK_MB, INPUT_DIR, WORK_DIR, find_sandbox
from lstm_lessons.grader.submissions import prepare, submission_ids
from lstm_lessons.grading.feedback import GRADING_ENV, ExerciseError, screen
from lstm_lessons.grading.registry import EXERCISES, CheckResult
from lstm_lessons.runner import NOTEBOOKS_DIR, resolve_lessons

DEFAULT_TIMEOUT = 600.0
"""Seconds one submission may run (a lesson takes 20-60 s on 2 cores, see the README)."""
DEFAULT_MEMORY_MB = 4096.0
"""MiB one submission's processes may hold together (a lesson's kernel holds about 1 GiB)."""
CHECK_TIMEOUT, CHECK_MEMORY_MB = 300.0, 4096.0
"""Least limits of one check of an answer (trusted code; the longest trains for about 25 s
in 0.8 GiB). The submissions' limits apply when they are larger."""

TAMPER_NOTE = ("the lstm_lessons package was changed while only this submission ran "
               "(restored before the checks)")
"""Added to a submission's message when a change to the package was found as it ended and no
other submission was running since the previous look, so that it alone can have made it (always
so with ``--workers 1``). Otherwise ``results.json`` lists every submission that was running."""


class GradingError(ValueError):
    """A usage error found before anything runs: a lesson without exercises, a bad limit."""


def default_workers() -> int:
    """The number of CPU cores this process may use."""
    return available_cores()


def check_environment(snapshot: PackageSnapshot) -> dict:
    """What a check's result depends on besides the answer: the checksum of the ``lstm_lessons``
    package as snapshotted (its checks and data checksums), the versions of Python, TensorFlow,
    Keras and NumPy, and the machine (its name and architecture: the last digits of a training
    can differ between CPUs)."""
    from importlib.metadata import PackageNotFoundError, version

    environment = {"lstm_lessons": snapshot.checksum, "python": platform.python_version(),
                   "host": platform.node(), "machine": platform.machine()}
    for distribution in ("tensorflow", "keras", "numpy"):
        try:
            environment[distribution] = version(distribution)
        except PackageNotFoundError:
            environment[distribution] = None
    return environment


def _worker_command(job_path, result: ResultPipe) -> list[str]:
    return [sys.executable, "-m", "lstm_lessons.grader.worker", str(job_path), str(result.fd)]


def _environment(temporary: Path, workers: int) -> dict:
    """The child's environment: grading mode, quiet TensorFlow sharing the cores with the other
    ``workers`` (``ll.cores.tensorflow_threads``), and temporary files (``tempfile``) under
    ``temporary``, which the grader deletes afterwards."""
    temporary.mkdir(parents=True, exist_ok=True)
    return {**os.environ, **tensorflow_threads(workers), GRADING_ENV: "1", "TF_CPP_MIN_LOG_LEVEL": "3",
            "PYTHONHASHSEED": "0", "TMPDIR": str(temporary)}


def _report(output: bytes | None) -> dict:
    """A worker's report (see :mod:`lstm_lessons.grader.worker`); ``{}`` if it sent none or a
    broken one."""
    try:
        report = json.loads(output)
    except (TypeError, ValueError):
        return {}
    return report if isinstance(report, dict) else {}


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

    Raises:
        LessonNotFoundError: unknown lesson.
        GradingError: the lesson has no exercises, or a limit is not positive.
        SandboxUnavailable: ``sandbox`` is on and bwrap is missing or cannot make a sandbox here.
        ResultsFileError: ``out/results.json`` is not this lesson's results file.
    """

    def __init__(self, lesson: str, out="grades", workers: int | None = None,
                 timeout: float = DEFAULT_TIMEOUT, memory_mb: float = DEFAULT_MEMORY_MB,
                 progress: bool = True, notebooks_dir: Path = NOTEBOOKS_DIR, sandbox: bool = True,
                 disk_mb: float = DEFAULT_DISK_MB):
        self.lesson = resolve_lessons([lesson], notebooks_dir)[0].stem
        self.exercises = {e.id: e.points for e in EXERCISES.values() if e.lesson == self.lesson}
        if not self.exercises:
            raise GradingError(f"Lesson {self.lesson!r} has no graded exercises.")
        self.workers = default_workers() if workers is None else workers
        for name, value, kind in (("workers", self.workers, int), ("timeout", timeout, float),
                                  ("memory_mb", memory_mb, float), ("disk_mb", disk_mb, float)):
            if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0 \
                    or (kind is int and not isinstance(value, int)):
                raise GradingError(f"{name} must be a positive {'integer' if kind is int else 'number'}. "
                                   f"Received: {value!r}")
        self.timeout, self.memory_mb, self.progress = float(timeout), float(memory_mb), progress
        self.disk_mb = float(disk_mb)
        # Before anything runs: a grader asked for a sandbox never runs a hand-in without one.
        self.sandbox = find_sandbox(self.disk_mb) if sandbox else None
        self.out = Path(out)
        self.grades: dict[str, Grade] = {g.id: g for g in read_earlier(self.out, self.lesson)}
        self.order = list(self.grades)
        self.feedback: dict[str, str] = {}
        self.repairs: list[dict] = []
        """Changes to the package found after a kernel ended: ``{"changes", "running"}``."""
        self._running: set[str] = set()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._snapshot: PackageSnapshot | None = None
        self._environment: dict = {}
        self.last_run = {"answers_trained": 0, "answers_reused": 0}
        """Distinct answers the last :meth:`grade` trained, and those it took from earlier checks."""

    @property
    def limits(self) -> dict:
        limits = {"timeout_seconds": self.timeout, "memory_mb": self.memory_mb, "workers": self.workers}
        return {**limits, "disk_mb": self.disk_mb} if self.sandbox else limits

    def zero_grade(self, id_: str, path, status: str, message: str, **extra) -> Grade:
        """A grade of 0 points in every exercise, with ``status`` and ``message`` (before any check)."""
        return Grade(id_, self.lesson, status, message, dict.fromkeys(self.exercises, 0), 0,
                     sum(self.exercises.values()), submission=str(path), sandbox=self.sandbox is not None,
                     **extra)

    def grade(self, submissions) -> list[Grade]:
        """Grade ``submissions`` (paths) and write the output folder; returns their grades in order.

        Raises:
            SubmissionError: a path is missing or two submissions would share an identifier.
        """
        submissions = [Path(p) for p in submissions]
        ids = submission_ids(submissions)
        self.order += [i for i in ids if i not in self.grades]
        # Before any submission runs: the trusted code the checks will import afterwards.
        self._snapshot = PackageSnapshot.take()
        self._environment = check_environment(self._snapshot)
        # Read before any submission runs, from the grades this grader itself loaded or wrote.
        reusable = reusable_checks(list(self.grades.values()), self._environment)
        self.last_run = {"answers_trained": 0, "answers_reused": 0}
        self._stop.clear()
        # A submission may leave files that cannot be removed; that must not lose the grades.
        with tempfile.TemporaryDirectory(prefix="lstm-lessons-grade-", ignore_cleanup_errors=True) as staging:
            bar = tqdm(total=len(ids), desc=f"grading {self.lesson}", unit="notebook",
                       disable=not self.progress)
            # Every hand-in is read before any runs: a submission cannot change another's file.
            prepared = [self._prepare_safely(i, s) for i, s in zip(ids, submissions, strict=True)]
            with ThreadPoolExecutor(self.workers) as pool:
                jobs = [pool.submit(self._execute_safely, grade, text, Path(staging) / f"{n:05d}")
                        for n, (grade, text) in enumerate(prepared)]
                executed = []
                with self._stopped_on_interrupt(jobs):
                    for job in as_completed(jobs):
                        grade, answers, notebook = job.result()
                        bar.update()
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
            self._check(executed, Path(staging), reusable)
        for repair in self.repairs:
            if len(repair["running"]) == 1 and TAMPER_NOTE not in self.grades[repair["running"][0]].message:
                self.grades[repair["running"][0]].message += f"; {TAMPER_NOTE}"
        self._write_all()
        return [self.grades[i] for i in ids]

    def _prepare_safely(self, id_: str, path: Path) -> tuple[Grade, str | None]:
        """A submission's grade so far (status ``ready`` or why not) and its clean copy."""
        try:
            status, message, text = prepare(path, self.lesson)
        except Exception as exc:  # noqa: BLE001 - one submission's grader failure stays its own
            status, message, text = "grader-error", f"{type(exc).__name__}: {exc}", None
        return self.zero_grade(id_, path, status, message), text

    def _execute_safely(self, grade: Grade, text: str | None, folder: Path):
        """:meth:`_execute`, with a failure of the grader itself reported as this submission's
        ``grader-error`` instead of stopping the other submissions."""
        if grade.status != "ready":
            return grade, {}, None
        try:
            return self._execute(grade, text, folder)
        except Exception as exc:  # noqa: BLE001 - one submission's grader failure stays its own
            failure = f"{type(exc).__name__}: {exc}"
            return self.zero_grade(grade.id, grade.submission, "grader-error", failure), {}, None

    def _job(self, text: str, folder: Path) -> Path:
        """Write the job of one submission into ``folder``; returns the path of ``job.json`` as
        the worker will see it (in the sandbox: under :data:`INPUT_DIR`)."""
        (folder / "submission.ipynb").write_text(text, encoding="utf-8")
        if self.sandbox is not None:
            # Only job.json and the clean copy are visible inside, read-only, at INPUT_DIR.
            inside = Path(INPUT_DIR)
            job = {"notebook": str(inside / "submission.ipynb"), "cwd": WORK_DIR}
        else:
            (folder / "work").mkdir()
            inside = folder
            job = {"notebook": str(folder / "submission.ipynb"), "cwd": str(folder / "work")}
        (folder / "job.json").write_text(json.dumps({"mode": "execute", **job}))
        return inside / "job.json"

    def _execute(self, grade: Grade, text: str, folder: Path):
        """Execute one prepared submission; returns (grade so far, answers, executed notebook)."""
        folder.mkdir(parents=True)
        job, pipe = self._job(text, folder), ResultPipe()
        environment = _environment(folder / "tmp", self.workers)
        command = _worker_command(job, pipe)
        if self.sandbox is not None:
            command = self.sandbox.command(command, environment, inputs=folder)
        with self._lock:
            self._running.add(grade.id)
        try:
            outcome = run_limited(command, self.timeout, self.memory_mb, env=environment, cwd=folder,
                                  stop=self._stop, result=pipe)
        finally:
            with self._lock:
                # Who could have changed the package: this submission and any still running.
                self._running.discard(grade.id)
                try:
                    self._note_repairs(self._snapshot.restore(), running=[grade.id, *self._running])
                except OSError:
                    pass  # the restore before the checks tries again and decides
        returncode = outcome.returncode
        if self.sandbox is not None and returncode > 128:
            returncode = 128 - returncode       # bwrap exits 128 + N when the worker died of signal N
        # Only a worker that ended normally sent its report: a kernel that kills the worker
        # cannot have written one for it (the worker is non-dumpable; see worker.py).
        ended_normally = outcome.limit is None and returncode == 0
        report = _report(outcome.result) if ended_normally else {}
        result = report.get("result")
        measured = {"seconds": outcome.seconds, "peak_mb": outcome.peak_mb}
        if outcome.limit == "stopped":
            status, message = "stopped", "grading was interrupted; this grade is not recorded"
        elif outcome.limit == "timeout":
            status, message = "timeout", f"still running after {self.timeout:g} s (the time limit); stopped"
        elif outcome.limit == "memory":
            status, message = "memory", (f"held {outcome.peak_mb:.0f} MiB, more than the limit of "
                                         f"{self.memory_mb:g} MiB; stopped")
        elif returncode < 0:
            status, message = "kernel-died", (f"the grader's worker was killed (signal "
                                              f"{-returncode}), by the notebook or the system")
        elif not isinstance(result, dict):
            status, message = "grader-error", (f"the grader's worker ended with exit status "
                                               f"{returncode} and no result")
        else:
            status, message = result["status"], result["message"]
        claims = result.get("claims", {}) if isinstance(result, dict) else {}
        grade = self.zero_grade(grade.id, grade.submission, status, message, claims=claims, **measured)
        answers = result.get("answers", {}) if isinstance(result, dict) else {}
        return grade, answers, _notebook(report.get("notebook"))

    @contextmanager
    def _stopped_on_interrupt(self, jobs):
        """On Ctrl-C (``KeyboardInterrupt``): cancel the jobs not started, make the running ones
        kill their processes (within one poll of :func:`run_limited`), and let the interrupt go
        on. What is recorded stays written; the interrupted submissions get no row."""
        try:
            yield
        except KeyboardInterrupt:
            self._stop.set()
            for job in jobs:
                job.cancel()
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

    def _check(self, executed, staging: Path, reusable: dict) -> None:
        """Verify every distinct answer once (or take its earlier check from ``reusable``, see
        :func:`~lstm_lessons.grader.report.reusable_checks`), then finish and record each
        executed submission."""
        results: dict[tuple, CheckResult] = {}
        to_train, reused = [], 0
        for _, answers, _ in executed:
            for exercise in self.exercises:
                key = (exercise, json.dumps(answers.get(exercise), sort_keys=True))
                if key in results or key in to_train:
                    continue
                if key in reusable:
                    results[key] = CheckResult(**reusable[key])
                    reused += 1
                    continue
                answer = answers.get(exercise)
                if answer is None:
                    results[key] = CheckResult(exercise, 0, self.exercises[exercise],
                                               "no answer recorded: the cell calling ll.grading.check "
                                               "did not run or was changed")
                    continue
                try:
                    screened = screen(exercise, answer)
                except ExerciseError as exc:
                    screened = CheckResult(exercise, 0, self.exercises[exercise], f"invalid answer: {exc}")
                if screened is None:
                    to_train.append(key)
                else:
                    results[key] = screened
        bar = tqdm(total=len(to_train), desc="checking answers", unit="answer", disable=not self.progress)
        with ThreadPoolExecutor(self.workers) as pool:
            jobs = [pool.submit(self._verify, key, staging) for key in to_train]
            with self._stopped_on_interrupt(jobs):
                for key, job in zip(to_train, jobs, strict=True):
                    results[key] = job.result()
                    bar.update()
        bar.close()
        self.last_run = {"answers_trained": len(to_train), "answers_reused": reused}
        for grade, answers, notebook in executed:
            checks = {e: results[(e, json.dumps(answers.get(e), sort_keys=True))] for e in self.exercises}
            grade.answers = {e: answers[e] for e in self.exercises if answers.get(e) is not None}
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

    def _verify(self, key: tuple, staging: Path) -> CheckResult:
        """Train and measure one answer in a limited child process."""
        exercise, answer = key
        folder = Path(tempfile.mkdtemp(prefix="check-", dir=staging))
        job = {"mode": "verify", "exercise": exercise, "answer": json.loads(answer)}
        (folder / "job.json").write_text(json.dumps(job))
        pipe = ResultPipe()
        environment = _environment(folder / "tmp", self.workers)
        outcome = run_limited(_worker_command(folder / "job.json", pipe), max(self.timeout, CHECK_TIMEOUT),
                              max(self.memory_mb, CHECK_MEMORY_MB), env=environment, cwd=folder,
                              stop=self._stop, result=pipe)
        result = _report(outcome.result).get("result") if outcome.limit is None else None
        try:
            return CheckResult(**result)
        except TypeError:
            pass
        why = {"timeout": "ran out of time", "memory": "ran out of memory"}.get(
            outcome.limit, f"ended with exit status {outcome.returncode}")
        return CheckResult(exercise, 0, self.exercises[exercise], f"the grader's check {why}",
                           measurements={"grader_error": True})

    def _record(self, grade: Grade, notebook) -> None:
        """Keep a finished grade and write its feedback and the tables at once."""
        self.grades[grade.id] = grade
        self.feedback[grade.id] = feedback_html(grade, notebook)
        write_text_atomically(self.out / "feedback" / f"{grade.id}.html", self.feedback[grade.id])
        self._write_tables()

    def _write_tables(self) -> None:
        grades = [self.grades[i] for i in self.order if i in self.grades]
        write_tables(self.out, self.lesson, self.exercises, grades, self.limits, self.repairs,
                     sandbox=self.sandbox is not None, last_run=self.last_run)

    def _write_all(self) -> None:
        """Write everything again from memory at the end: whatever a submission wrote into the
        output folder while it ran is replaced."""
        for id_, page in self.feedback.items():
            write_text_atomically(self.out / "feedback" / f"{id_}.html", page)
        self._write_tables()


def grade(submissions, lesson: str, out="grades", **options) -> list[Grade]:
    """Grade ``submissions`` of ``lesson`` into ``out``; see :class:`Grader` for the options."""
    return Grader(lesson, out, **options).grade(submissions)
