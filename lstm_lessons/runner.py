"""Executing lessons headlessly through papermill and summarising what each one showed.

For every lesson the runner writes the executed notebook ``OUT/<lesson>.ipynb``; after all
of them it writes ``OUT/summary.json`` and ``OUT/summary.md``: one row a lesson with its
status, wall time in seconds, parameters, and the claims it recorded with
:func:`lstm_lessons.claims.claim` (read from the executed notebook's outputs, not from
printed text). A lesson that fails is reported with the failing cell and its error, and
the remaining lessons still run.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from lstm_lessons.claims import read_claims
from lstm_lessons.files import course_folder, write_atomically
from lstm_lessons.live import LIVE_ENV
from lstm_lessons.params import ParameterError, validate_parameters

NOTEBOOKS_DIR = course_folder("notebooks")
"""Folder holding the lessons, ``NN_topic.ipynb``: the package's own (``notebooks/`` in a
checkout, inside the installed package from a wheel)."""

KERNEL_NAME = "python3"


class LessonNotFoundError(LookupError):
    """A lesson name matches no notebook in :data:`NOTEBOOKS_DIR`."""


@dataclass
class LessonResult:
    """What running one lesson produced.

    Attributes:
        lesson: the lesson's notebook name without ``.ipynb``.
        status: ``"passed"`` (ran, every claim holds), ``"claims_failed"`` (ran, some claim
            does not hold) or ``"error"`` (a cell raised, timed out or the kernel died).
        seconds: wall-clock time of the execution, in seconds.
        claims: ``{claim name: holds}`` recorded by the notebook.
        parameters: the parameters injected with ``-p``.
        output: path of the executed notebook.
        error: for ``"error"``: ``{"cell": index in the executed notebook (0-based, counting
            papermill's injected-parameters cell), "execution_count", "first_line" of the
            cell, "ename": exception name, "evalue": its message}``.
    """

    lesson: str
    status: str
    seconds: float
    claims: dict = field(default_factory=dict)
    parameters: dict = field(default_factory=dict)
    output: str = ""
    error: dict | None = None


def available_lessons(notebooks_dir: Path = NOTEBOOKS_DIR) -> dict[str, Path]:
    """``{lesson name: path}`` of every ``NN_topic.ipynb`` in ``notebooks_dir``, sorted."""
    return {p.stem: p for p in sorted(Path(notebooks_dir).glob("[0-9][0-9]_*.ipynb"))}


def lesson_title(path: Path) -> str:
    """A lesson's title: the first heading of its notebook's first Markdown cell, without its
    ``#`` (``"Lesson 07 · Sequences of different lengths: ..."``); the file's name without
    ``.ipynb`` when that cell has no heading."""
    notebook = nbformat.read(path, as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    return line.lstrip("#").strip()
            break
    return Path(path).stem


def resolve_lessons(names, notebooks_dir: Path = NOTEBOOKS_DIR) -> list[Path]:
    """Map lesson names (``"01"`` or ``"01_learning_rate_oscillation"``) to notebook paths.

    No names means every lesson.

    Raises:
        LessonNotFoundError: a name matches no lesson, or more than one; the message lists
            the lessons there are.
    """
    lessons = available_lessons(notebooks_dir)
    if not names:
        return list(lessons.values())
    paths = []
    for name in names:
        stem = Path(name).stem
        matches = [p for s, p in lessons.items() if s == stem or s.split("_", 1)[0] == stem]
        if len(matches) != 1:
            raise LessonNotFoundError(
                f"Unknown lesson {name!r}. Available: {', '.join(lessons) or 'none'} "
                f"(give the full name or its number, e.g. '01')."
            )
        paths.append(matches[0])
    return paths


def fetch_lessons(folder: str | os.PathLike, names=(), notebooks_dir: Path = NOTEBOOKS_DIR
                  ) -> dict[str, list[Path]]:
    """Copy lessons out of the package into ``folder``, to open in JupyterLab; never overwrites.

    A lesson whose file is already in ``folder`` (a student's work, say) is kept as it is.

    Args:
        folder: where the notebooks go; created if missing.
        names: lesson names or numbers, as :func:`resolve_lessons` takes them (none: every lesson).
        notebooks_dir: where the lessons are (default: the package's own, :data:`NOTEBOOKS_DIR`).

    Returns:
        ``{"copied": [paths written], "kept": [paths that were there already]}``.

    Raises:
        LessonNotFoundError: a name matches no lesson, or more than one, or ``notebooks_dir``
            holds no lesson.
        NotADirectoryError: ``folder`` exists and is not a folder.
        OSError: a notebook cannot be read or written (the message names the file).
    """
    paths = resolve_lessons(names, notebooks_dir)
    if not paths:
        raise LessonNotFoundError(f"No lesson (NN_slug.ipynb) in notebooks_dir={str(notebooks_dir)!r}.")
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise NotADirectoryError(f"folder={str(folder)!r} is a file, not a folder to copy the lessons into.")
    done: dict[str, list[Path]] = {"copied": [], "kept": []}
    for path in paths:
        target = folder / path.name
        if target.exists():
            done["kept"].append(target)
        else:
            done["copied"].append(write_atomically(target, path.read_bytes()))
    return done


def check_parameters(paths, parameters: dict) -> None:
    """Refuse parameters a lesson does not declare, and values outside their rules.

    Runs before any kernel starts, so a typo costs no training time.

    Raises:
        ParameterError: a parameter is not in some lesson's ``parameters`` cell, or its value
            breaks its rule (:func:`lstm_lessons.params.rules`).
    """
    import papermill

    for path in paths:
        declared = papermill.inspect_notebook(str(path))
        unknown = sorted(set(parameters) - set(declared))
        if unknown:
            raise ParameterError(
                f"Unknown parameter(s) for lesson {path.stem}: {', '.join(unknown)}. "
                f"It accepts: {', '.join(declared) or 'none'}."
            )
    validate_parameters(**parameters)


def execution_error(exc: Exception) -> dict:
    """What a failed execution's exception says, for a report.

    A dict: ``"cell"``, the failing cell's index (papermill's
    ``PapermillExecutionError.cell_index``); ``"execution_count"``; ``"first_line"`` of the cell's
    source; ``"ename"``, the exception's name; ``"evalue"``, its message. For an exception raised
    outside a cell (a dead kernel, a timeout) the cell fields are ``None`` or empty. Used by the
    runner and by the grader's worker."""
    source = str(getattr(exc, "source", "") or "").strip().splitlines()
    return {
        "cell": getattr(exc, "cell_index", None),
        "execution_count": getattr(exc, "exec_count", None),
        "first_line": source[0] if source else "",
        "ename": getattr(exc, "ename", type(exc).__name__),
        "evalue": str(getattr(exc, "evalue", exc)).strip(),
    }


def run_lesson(path: Path, out_dir: Path, parameters: dict | None = None,
               timeout: float | None = None, progress: bool = True) -> LessonResult:
    """Execute one lesson with papermill; never raises for a failure inside the notebook.

    Args:
        path: the lesson notebook.
        out_dir: folder for the executed notebook, ``out_dir/<lesson>.ipynb``. The kernel also
            runs there, so what a lesson writes to a relative path (lesson 01's training logs,
            ``logs/``) lands beside the executed notebook, not among the lessons.
        parameters: values for the ``parameters`` cell.
        timeout: the longest any one cell may run, in seconds (papermill's
            ``execution_timeout``); ``None`` for no limit.
        progress: show papermill's progress bar (one tick a cell).
    """
    import papermill

    parameters = dict(parameters or {})
    out_dir.mkdir(parents=True, exist_ok=True)
    output = out_dir / path.name
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # inherited by the kernel
    watched = os.environ.get(LIVE_ENV)
    if watched is None:   # no one watches: each live view is drawn once, when its cell ends
        os.environ[LIVE_ENV] = "final"   # for the kernel only (restored below)
    error = None
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(path), str(output), parameters=parameters, kernel_name=KERNEL_NAME,
            cwd=str(out_dir.resolve()), execution_timeout=timeout, log_output=False,
            progress_bar={"desc": path.stem, "leave": True} if progress else False,
            # The kernel's own start-up warnings would otherwise reach our stderr.
            extra_arguments=["--IPKernelApp.log_level=CRITICAL"],
        )
    except Exception as exc:  # noqa: BLE001 - any failure becomes this lesson's status
        error = execution_error(exc)
    finally:
        if watched is None:
            del os.environ[LIVE_ENV]
    seconds = round(time.perf_counter() - start, 1)
    claims = read_claims(nbformat.read(output, as_version=4)) if output.exists() else {}
    if error is not None:
        status = "error"
    else:
        status = "passed" if claims and all(claims.values()) else "claims_failed"
    return LessonResult(path.stem, status, seconds, claims, parameters, str(output), error)


def run_lessons(names=(), parameters: dict | None = None, out_dir="build",
                timeout: float | None = None, progress: bool = True,
                notebooks_dir: Path = NOTEBOOKS_DIR) -> list[LessonResult]:
    """Run lessons one after another and write ``summary.json`` and ``summary.md``.

    Args:
        names: lesson names or numbers; empty means every lesson.
        parameters: ``{name: value}`` given to every lesson.
        out_dir: output folder, created if missing; a relative path is taken from the working
            directory at the call, once (papermill changes the whole process's working
            directory while a lesson runs, so a relative path read later, or by another
            thread, would land beside the notebooks).
        timeout: per-cell limit in seconds, see :func:`run_lesson`.
        progress: show progress bars.
        notebooks_dir: folder holding the lessons.

    Raises:
        LessonNotFoundError, ParameterError: before anything runs.
    """
    parameters = dict(parameters or {})
    paths = resolve_lessons(names, Path(notebooks_dir).resolve())
    check_parameters(paths, parameters)
    out_dir = Path(out_dir).resolve()
    results = [run_lesson(p, out_dir, parameters, timeout, progress) for p in paths]
    write_summary(results, out_dir)
    return results


def write_summary(results: list[LessonResult], out_dir: Path) -> None:
    """Write ``summary.json`` (machine-readable) and ``summary.md`` (a table) to ``out_dir``, each
    atomically (:func:`lstm_lessons.files.write_atomically`: an earlier summary is never left half
    overwritten)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    summary = {
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpu_count": os.cpu_count(),
        "lessons": [asdict(r) for r in results],
    }
    write_atomically(out_dir / "summary.json", json.dumps(summary, indent=2) + "\n")
    write_atomically(out_dir / "summary.md", summary_table(results))


def summary_table(results: list[LessonResult]) -> str:
    """A Markdown table: lesson, status, seconds, claims (true/false), error. The claim names and
    the error come from the notebook: shown as literal text (``ll.safe_text.markdown_text``)."""
    from lstm_lessons.safe_text import markdown_text

    lines = ["| lesson | status | seconds | claims | error |", "|---|---|---|---|---|"]
    for r in results:
        claims = "<br>".join(f"{markdown_text(k)}: {str(v).lower()}" for k, v in r.claims.items()) or "none"
        error = ""
        if r.error:
            error = markdown_text(f"cell {r.error['cell']}: {r.error['ename']}: {r.error['evalue']}")
        lines.append(f"| {r.lesson} | {r.status} | {r.seconds:.1f} | {claims} | {error} |")
    return "\n".join(lines) + "\n"
