"""The ``lstm-lessons`` command (also ``python -m lstm_lessons``).

``lstm-lessons run [LESSON ...] [-p NAME VALUE ...] [--out DIR] [--timeout SECONDS]``
executes lessons headlessly and writes ``DIR/<lesson>.ipynb``, ``DIR/summary.json`` and
``DIR/summary.md``. Exit status: 0 when every lesson ran, 1 when a lesson failed with an
error, 2 for a usage error (unknown lesson, unknown parameter, value out of range).

``lstm-lessons fetch-lessons DIR [LESSON ...]`` copies the lessons' notebooks out of the
installed package into ``DIR``, keeping any that are already there. Exit status: 0 done, 2 an
unknown lesson, no lesson in the package, ``DIR`` a file, or a notebook that cannot be written.

``lstm-lessons doctor FILE [--json]`` diagnoses a saved training history (a Keras CSVLogger
file or a JSON dict of per-epoch lists). Exit status: 0 healthy, 1 symptoms found, 2 the file
cannot be read (the message says why).

``lstm-lessons grade SUBMISSION ... --lesson 01 [--workers K] [--timeout SECONDS]
[--memory-mb MIB] [--disk-mb MIB] [--max-mb MIB] [--no-sandbox] [--scheduler ADDRESS]
[--insecure-cluster] [--out DIR]`` grades
handed-in notebooks (see :mod:`lstm_lessons.instructor.grader`), each in a bubblewrap sandbox unless
``--no-sandbox``; with ``--scheduler``, on the workers of a Dask cluster
(:mod:`lstm_lessons.instructor.cluster`).
Exit status: 0 every submission got a grade (whatever its points), 1 the grader failed on a
submission, 2 a usage error or no usable sandbox, 130 / 143 stopped by SIGINT (Ctrl-C) /
SIGTERM (``kill``), with the grades written so far kept.

``lstm-lessons grade --check-sandbox`` tries a hand-in's attacks from inside the sandbox and
prints what each did (:mod:`lstm_lessons.instructor.sandbox_check`). Exit status: 0 every attack
was stopped, 1 one was not, 2 no sandbox can be made here.
"""

from __future__ import annotations

import argparse
import ast
import signal
import sys
import warnings
from pathlib import Path

from lstm_lessons.instructor.grader import DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
from lstm_lessons.instructor.sandbox import DEFAULT_DISK_MB
from lstm_lessons.instructor.submissions import DEFAULT_MAX_MB
from lstm_lessons.params import ParameterError
from lstm_lessons.runner import (
    NOTEBOOKS_DIR,
    LessonNotFoundError,
    available_lessons,
    fetch_lessons,
    run_lessons,
)
from lstm_lessons.safe_text import one_line


def parse_value(text: str):
    """A ``-p`` value as a Python literal when it is one (``-1``, ``1e-3``, ``True``), else text."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lstm-lessons",
        description="Run the lstm-lessons notebooks headlessly.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser(
        "run", help="execute lessons through papermill and summarise their claims",
        description="Execute lessons through papermill. Writes DIR/<lesson>.ipynb, "
                    "DIR/summary.json and DIR/summary.md.",
    )
    run.add_argument("lessons", nargs="*", metavar="LESSON",
                     help="lesson names or numbers, e.g. 01 (default: every lesson)")
    run.add_argument("-p", "--parameter", nargs=2, action="append", default=[],
                     metavar=("NAME", "VALUE"),
                     help="set a value of the lessons' parameters cell (repeatable)")
    run.add_argument("--out", default="build", metavar="DIR",
                     help="output folder (default: build)")
    run.add_argument("--timeout", type=float, default=None, metavar="SECONDS",
                     help="the longest any one cell may run, in seconds (default: no limit)")
    run.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    run.add_argument("--notebooks", type=Path, default=NOTEBOOKS_DIR, metavar="DIR",
                     help="folder holding the lessons (default: the project's notebooks/)")
    doctor = commands.add_parser(
        "doctor", help="diagnose a saved training history",
        description="Diagnose a training history: a Keras CSVLogger .csv file or a .json dict of "
                    "per-epoch lists. Exit status 0 healthy, 1 symptoms found, 2 unreadable input.",
    )
    doctor.add_argument("file", type=Path, metavar="FILE", help="the history file")
    doctor.add_argument("--json", action="store_true", help="print the diagnosis as JSON")
    grade = commands.add_parser(
        "grade", help="grade handed-in notebooks of one lesson",
        description="Execute each submission headlessly (papermill, its own kernel in a bubblewrap sandbox: "
                    "no network, nothing of yours visible or writable; a time, a memory and a disk limit), "
                    "verify its recorded answers with the grader's own checks, and write DIR/grades.csv, "
                    "DIR/results.json and DIR/feedback/<id>.html. Exit status 0 when every submission got "
                    "a grade, 1 when the grader failed on one, 2 for a usage error or no usable sandbox.",
    )
    grade.add_argument("submissions", nargs="*", metavar="SUBMISSION",
                       help="handed-in .ipynb files; with --roster, the one folder of the class's hand-ins")
    grade.add_argument("--lesson", action="append", metavar="LESSON",
                       help="the lesson they are for: its name or number, e.g. 01; with --roster, a lesson "
                            "to grade (repeat it for several; default: every lesson handed in or graded "
                            "into DIR before)")
    grade.add_argument("--roster", type=Path, metavar="CSV",
                       help="the class's roster (id, name, login and/or email, section): grade the folder "
                            "SUBMISSION of every student's hand-ins for several lessons into one gradebook "
                            "(DIR/gradebook.csv, totals.csv, canvas.csv, moodle.csv, hand-ins.csv, "
                            "similarity.csv; feedback in DIR/lessons/<lesson>/feedback/)")
    grade.add_argument("--student", action="append", metavar="LOGIN",
                       help="with --roster: grade only this student's hand-ins (repeat it for several), "
                            "keeping everyone else's grades")
    grade.add_argument("--workers", type=int, default=None, metavar="K",
                       help="submissions graded at once (default: the number of CPU cores)")
    grade.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, metavar="SECONDS",
                       help=f"wall-clock limit of one submission (default: {DEFAULT_TIMEOUT:g})")
    grade.add_argument("--memory-mb", type=float, default=DEFAULT_MEMORY_MB, metavar="MIB",
                       help=f"memory limit of one submission's processes (default: {DEFAULT_MEMORY_MB:g})")
    grade.add_argument("--disk-mb", type=float, default=DEFAULT_DISK_MB, metavar="MIB",
                       help=f"what one submission may write, in the sandbox (default: {DEFAULT_DISK_MB:g})")
    grade.add_argument("--max-mb", type=float, default=DEFAULT_MAX_MB, metavar="MIB",
                       help=f"the largest hand-in read, larger ones refused (default: {DEFAULT_MAX_MB:g})")
    grade.add_argument("--no-sandbox", action="store_true",
                       help="run hand-ins without the sandbox, with your files and network (a warning)")
    grade.add_argument("--check-sandbox", action="store_true",
                       help="only test whether the sandbox isolates a hand-in on this machine")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on the workers of this Dask scheduler, e.g. tcp://10.0.0.5:8786 "
                            "(needs Dask: make install in a clone, or pip install '<the wheel>[cluster]'; "
                            "--workers is then ignored)")
    grade.add_argument("--tls", type=Path, metavar="DIR",
                       help="the cluster's certificates (lstm-lessons cluster certs DIR): connect to a "
                            "tls:// --scheduler with the grader's certificate")
    grade.add_argument("--insecure-cluster", action="store_true",
                       help="allow a plain tcp:// --scheduler off this machine "
                            "(anyone who reaches it runs code as you)")
    grade.add_argument("--out", default="grades", metavar="DIR", help="output folder (default: grades)")
    grade.add_argument("--no-progress", action="store_true", help="hide the progress bars")
    cluster = commands.add_parser("cluster", help="set up a grading cluster only your machines can join")
    cluster_commands = cluster.add_subparsers(dest="cluster_command", required=True)
    certs = cluster_commands.add_parser(
        "certs", help="make the cluster's certificates (mutual TLS)",
        description="Write a certificate authority (ca.pem; keep ca-key.pem to yourself) and a certificate "
                    "and key for the scheduler, the workers and the grader into DIR. Start `dask scheduler "
                    "--tls-ca-file DIR/ca.pem --tls-cert DIR/scheduler.pem --tls-key DIR/scheduler-key.pem`, "
                    "each `dask worker tls://HOST:8786` with the worker's files, and grade with "
                    "`--scheduler tls://HOST:8786 --tls DIR`.")
    certs.add_argument("folder", type=Path, metavar="DIR", help="an empty or new folder")
    certs.add_argument("--days", type=int, default=365, help="how long they are valid (default: 365)")
    fetch = commands.add_parser(
        "fetch-lessons", help="copy the lessons' notebooks into a folder, to open in JupyterLab",
        description="Copy the lessons' notebooks out of the installed package into DIR. A notebook "
                    "already in DIR is kept as it is (never overwritten).")
    fetch.add_argument("folder", type=Path, metavar="DIR", help="where the notebooks go (created if missing)")
    fetch.add_argument("lessons", nargs="*", metavar="LESSON",
                       help="lesson names or numbers, e.g. 01 (default: every lesson)")
    listing = commands.add_parser("list", help="list the lessons")
    listing.add_argument("--notebooks", type=Path, default=NOTEBOOKS_DIR, metavar="DIR",
                         help="folder holding the lessons")
    return parser


def _fetch_lessons(args) -> int:
    try:
        done = fetch_lessons(args.folder, args.lessons)
    except (LessonNotFoundError, OSError) as exc:
        print(f"lstm-lessons: error: {exc}", file=sys.stderr)
        return 2
    for path in done["copied"]:
        print(f"copied {path}")
    for path in done["kept"]:
        print(f"kept {path}: it is there already (rename it to fetch a fresh copy)")
    print(f"Open them with: jupyter lab {args.folder}")
    return 0


def _doctor(args) -> int:
    from lstm_lessons.doctor import HistoryError, diagnose  # no TensorFlow import

    try:
        diagnosis = diagnose(args.file)
    except HistoryError as exc:
        print(f"lstm-lessons doctor: error: {exc}", file=sys.stderr)
        return 2
    print(diagnosis.to_json() if args.json else diagnosis)
    return 0 if diagnosis.healthy else 1


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C's ``KeyboardInterrupt`` so that the grader stops the same way:
    every running submission and check killed, the grades written so far kept."""


def _terminate(signum, frame):
    raise Terminated


def _check_sandbox() -> int:
    from lstm_lessons.instructor.sandbox import SandboxUnavailable
    from lstm_lessons.instructor.sandbox_check import check_sandbox

    try:
        isolated, findings = check_sandbox()
    except SandboxUnavailable as exc:
        print(f"lstm-lessons grade: error: {exc}", file=sys.stderr)
        return 2
    width = max(len(f.attack) for f in findings)
    for f in findings:
        print(f"{'ok' if f.isolated else 'FAIL':4}  {f.attack:{width}}  {f.detail}")
    print("The sandbox isolates a hand-in on this machine." if isolated else
          "The sandbox does NOT isolate a hand-in on this machine (rows marked FAIL).")
    return 0 if isolated else 1


NO_SANDBOX_WARNING = ("lstm-lessons grade: warning: grading WITHOUT a sandbox (--no-sandbox): each hand-in "
                      "runs as you, can read and change your files, use the network and start processes "
                      "(see docs/threat-model.md)")


def _grade(args) -> int:
    from lstm_lessons.instructor.cluster import ClusterError, MachinesDifferWarning
    from lstm_lessons.instructor.grader import Grader, GradingError
    from lstm_lessons.instructor.report import ResultsFileError
    from lstm_lessons.instructor.sandbox import SandboxUnavailable
    from lstm_lessons.instructor.submissions import SubmissionError

    if args.check_sandbox:
        return _check_sandbox()
    if args.roster is not None:
        return _grade_course(args)
    if not args.submissions or not args.lesson:
        missing = "SUBMISSION" if not args.submissions else "--lesson"
        print(f"lstm-lessons grade: error: {missing} is required (or --check-sandbox)", file=sys.stderr)
        return 2
    if len(args.lesson) > 1 or args.student:
        given = "--lesson more than once" if len(args.lesson) > 1 else "--student"
        print(f"lstm-lessons grade: error: {given} needs --roster (a class's hand-ins of several lessons)",
              file=sys.stderr)
        return 2
    if args.no_sandbox:
        print(NO_SANDBOX_WARNING, file=sys.stderr)

    # `kill PID` (SIGTERM) would otherwise end the grader at once and leave the kernels it
    # started running on without their time limits. (SIGINT keeps the disposition it inherited:
    # a grader started in the background of a script ignores Ctrl-C, as every program does there.)
    previous = signal.signal(signal.SIGTERM, _terminate)
    grader = None
    try:
        with warnings.catch_warnings():
            # Printed below as a line of this command's own, not as Python's warning line.
            warnings.simplefilter("ignore", MachinesDifferWarning)
            grader = Grader(args.lesson[0], args.out, **_grader_options(args))
        for notice in grader.runner.notices:
            print(f"lstm-lessons grade: warning: {notice}", file=sys.stderr)
        grades = grader.grade(args.submissions)
    except (LessonNotFoundError, GradingError, ResultsFileError, SubmissionError, SandboxUnavailable,
            ClusterError) as exc:
        print(f"lstm-lessons grade: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        stop = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
        print(f"\nlstm-lessons grade: stopped by {stop.name}; the submissions graded so far are in "
              f"{args.out}/. Grade the others into the same folder: its rows are kept.", file=sys.stderr)
        return 128 + stop.value
    finally:
        signal.signal(signal.SIGTERM, previous)
        if grader is not None:
            grader.close()
    for g in grades:
        print(f"{one_line(g.id)}: {g.total}/{g.max_total} ({g.status}: {one_line(g.message)})")
    for repair in grader.repairs:
        print(f"lstm-lessons grade: warning: the lstm_lessons package was changed while "
              f"{', '.join(repair['running']) or 'submissions'} ran ({'; '.join(repair['changes'])}); "
              f"restored from the copy taken before grading, so every check used the original code",
              file=sys.stderr)
    if grader.last_run["answers_reused"]:
        print(f"Answers checked: {grader.last_run['answers_trained']} trained, "
              f"{grader.last_run['answers_reused']} taken from the earlier checks in {args.out}/ "
              f"(same lstm_lessons code, libraries and kind of machine: CPU, oneDNN setting, threads)")
    print(f"Grades: {args.out}/grades.csv, {args.out}/results.json, feedback in {args.out}/feedback/")
    return 1 if any(g.status == "grader-error" for g in grades) else 0


def _grader_options(args) -> dict:
    """The ``Grader`` options the command line sets."""
    return {"workers": args.workers, "timeout": args.timeout, "memory_mb": args.memory_mb,
            "progress": not args.no_progress, "sandbox": not args.no_sandbox, "disk_mb": args.disk_mb,
            "scheduler": args.scheduler, "max_mb": args.max_mb, "insecure_cluster": args.insecure_cluster,
            "tls": args.tls}


SIMILAR_PAIRS_PRINTED = 10
"""The most flagged similar pairs the command prints (all are in ``similarity.csv``)."""


def _grade_course(args) -> int:
    """``lstm-lessons grade HAND_INS --roster roster.csv``
    (:func:`~lstm_lessons.instructor.course.grade_course`)."""
    from lstm_lessons.instructor.cluster import ClusterError
    from lstm_lessons.instructor.course import CourseError, grade_course
    from lstm_lessons.instructor.grader import GradingError
    from lstm_lessons.instructor.report import ResultsFileError
    from lstm_lessons.instructor.roster import RosterError
    from lstm_lessons.instructor.sandbox import SandboxUnavailable
    from lstm_lessons.instructor.submissions import SubmissionError

    if len(args.submissions) != 1:
        print(f"lstm-lessons grade: error: with --roster, give one folder of hand-ins, not "
              f"{len(args.submissions)} paths", file=sys.stderr)
        return 2
    if args.no_sandbox:
        print(NO_SANDBOX_WARNING, file=sys.stderr)
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        run = grade_course(args.submissions[0], args.roster, args.out, lessons=args.lesson or (),
                           students=args.student or (), **_grader_options(args))
    except (LessonNotFoundError, GradingError, ResultsFileError, SubmissionError, SandboxUnavailable,
            ClusterError, RosterError, CourseError, NotADirectoryError) as exc:
        print(f"lstm-lessons grade: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        stop = signal.SIGTERM if isinstance(exc, Terminated) else signal.SIGINT
        print(f"\nlstm-lessons grade: stopped by {stop.name}; the grades so far are in {args.out}/ "
              f"(gradebook.csv is written from them). Run the same command again: the hand-ins graded "
              f"are graded again, everyone else's grades are kept.", file=sys.stderr)
        return 128 + stop.value
    finally:
        signal.signal(signal.SIGTERM, previous)
    for notice in run.notices:
        print(f"lstm-lessons grade: warning: {notice}", file=sys.stderr)
    for path, why in run.matching.unmatched:
        print(f"lstm-lessons grade: warning: {one_line(path)} is not graded: {one_line(why)}",
              file=sys.stderr)
    for lesson, keys in run.matching.missing.items():
        if keys:
            print(f"Lesson {lesson[:2]}: no hand-in from {', '.join(keys)}")
    for lesson in run.asked:
        grades = run.graded.get(lesson, [])
        print(f"Lesson {lesson[:2]}: {len(grades)} graded, "
              f"{sum(g.status != 'graded' for g in grades)} of them did not run to the end"
              + ("" if grades else f" (no hand-in to grade: see {args.out}/hand-ins.csv)"))
    for pair in run.similar[:SIMILAR_PAIRS_PRINTED]:
        print(f"Lesson {pair.lesson[:2]}: {pair.first} and {pair.second} share {pair.shared_characters} "
              f"characters of token text of their own code ({pair.first_share:.0%} and "
              f"{pair.second_share:.0%}); see {args.out}/similarity/{pair.lesson}.html")
    if len(run.similar) > SIMILAR_PAIRS_PRINTED:
        print(f"... and {len(run.similar) - SIMILAR_PAIRS_PRINTED} more flagged pairs in "
              f"{args.out}/similarity.csv")
    for lesson, why in run.not_compared.items():
        print(f"lstm-lessons grade: warning: lesson {lesson[:2]}'s similarity report failed "
              f"({one_line(why)}); the grades are not affected", file=sys.stderr)
    print(f"Gradebook: {args.out}/gradebook.csv (every exercise), totals.csv, canvas.csv, moodle.csv; "
          f"hand-ins not graded and students with none: {args.out}/hand-ins.csv; feedback pages: "
          f"{args.out}/lessons/<lesson>/feedback/<login>.html")
    failed = any(g.status == "grader-error" for grades in run.graded.values() for g in grades)
    return 1 if failed else 0


def _cluster(args) -> int:
    from lstm_lessons.instructor.certificates import make_certificates

    try:
        paths = make_certificates(args.folder, days=args.days)
    except (FileExistsError, PermissionError, ValueError) as exc:
        print(f"lstm-lessons cluster certs: error: {exc}", file=sys.stderr)
        return 2
    except ImportError:
        print("lstm-lessons cluster certs: error: needs the cryptography library: "
              "make install in a clone, or pip install '<the wheel>[cluster]'", file=sys.stderr)
        return 2
    folder = args.folder
    print(f"Wrote {len(paths)} files to {folder}/. Keep {paths['ca-key'].name} to yourself; copy ca.pem and")
    print(f"  the scheduler's files to the scheduler: dask scheduler --tls-ca-file {folder}/ca.pem "
          f"--tls-cert {folder}/scheduler.pem --tls-key {folder}/scheduler-key.pem")
    print(f"  the worker's files to every worker: dask worker tls://HOST:8786 --tls-ca-file {folder}/ca.pem "
          f"--tls-cert {folder}/worker.pem --tls-key {folder}/worker-key.pem")
    print(f"  and grade with: lstm-lessons grade ... --scheduler tls://HOST:8786 --tls {folder}")
    return 0


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "doctor":
        return _doctor(args)
    if args.command == "grade":
        return _grade(args)
    if args.command == "cluster":
        return _cluster(args)
    if args.command == "fetch-lessons":
        return _fetch_lessons(args)
    if args.command == "list":
        for name in available_lessons(args.notebooks):
            print(name)
        return 0
    parameters = {name: parse_value(value) for name, value in args.parameter}
    if args.timeout is not None and args.timeout <= 0:
        print(f"lstm-lessons: error: --timeout must be > 0 seconds. Received: {args.timeout}",
              file=sys.stderr)
        return 2
    try:
        results = run_lessons(args.lessons, parameters, args.out, args.timeout,
                              progress=not args.no_progress, notebooks_dir=args.notebooks)
    except (LessonNotFoundError, ParameterError) as exc:
        print(f"lstm-lessons: error: {exc}", file=sys.stderr)
        return 2
    for r in results:
        claims = ", ".join(f"{k}={str(v).lower()}" for k, v in r.claims.items()) or "no claims"
        print(f"{r.lesson}: {r.status} in {r.seconds:.1f} s ({claims})")
        if r.error:
            error = f"{r.error['ename']}: {r.error['evalue']}"
            print(f"  failed in cell {r.error['cell']}: {one_line(error)}")
    print(f"Summary: {args.out}/summary.json, {args.out}/summary.md")
    return 1 if any(r.status == "error" for r in results) else 0
