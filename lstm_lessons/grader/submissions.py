"""Handed-in notebooks: their identifiers, which lesson they are, and a clean copy to execute."""

from __future__ import annotations

import os
import re
from pathlib import Path

import nbformat

from lstm_lessons.grader.solutions import exercise_cells
from lstm_lessons.grading.registry import EXERCISES


class SubmissionError(ValueError):
    """Submissions the grader cannot start on: missing files, or identifiers that collide."""


def submission_ids(paths) -> list[str]:
    """One identifier a submission, used for ``grades.csv`` rows and ``feedback/<id>.html``.

    The identifier is the file's path relative to the deepest folder holding all submissions,
    without ``.ipynb``, with folders joined by ``--`` and any character outside
    ``A-Z a-z 0-9 . _ -`` replaced by ``_``: ``hand-in/alice.ipynb`` -> ``alice``,
    ``hand-in/alice/01.ipynb`` -> ``alice--01``.

    Raises:
        SubmissionError: a path is not a file, is given twice, or two identifiers collide.
    """
    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise SubmissionError(f"Submission(s) not found or not a file: {', '.join(missing)}")
    resolved = [p.resolve() for p in paths]
    if len(set(resolved)) != len(resolved):
        raise SubmissionError("A submission is given twice: " + ", ".join(
            sorted({str(p) for p, r in zip(paths, resolved, strict=True) if resolved.count(r) > 1})))
    common = Path(os.path.commonpath([r.parent for r in resolved]))
    ids = []
    for r in resolved:
        relative = r.relative_to(common)
        name = "--".join([*relative.parts[:-1], relative.name.removesuffix(".ipynb")])
        ids.append(re.sub(r"[^A-Za-z0-9._-]", "_", name))
    clashes = sorted({i for i in ids if ids.count(i) > 1})
    if clashes:
        raise SubmissionError(f"Submissions share the identifier(s) {clashes}; rename the files.")
    return ids


def lesson_of(notebook) -> str | None:
    """The lesson a notebook belongs to: its metadata ``lstm_lessons.lesson``, else the lesson
    of its exercise cells (when they all name one), else ``None``."""
    named = notebook.get("metadata", {}).get("lstm_lessons", {}).get("lesson")
    if isinstance(named, str):
        return named
    lessons = {EXERCISES[e].lesson for e in exercise_cells(notebook) if e in EXERCISES}
    return lessons.pop() if len(lessons) == 1 else None


def prepare(path, lesson: str) -> tuple[str, str, str | None]:
    """Check a submission and make the copy the grader executes.

    The copy has every output, execution count and papermill record removed, so nothing the
    student stored in the file (for example an edited exercise record) reaches the grader.

    Returns:
        ``("ready", "", notebook as JSON text)``, or ``("not-a-notebook" | "wrong-lesson",
        message, None)``.
    """
    try:
        notebook = nbformat.read(path, as_version=4)
        if not isinstance(notebook.get("cells"), list):
            raise ValueError("no list of cells")
    except Exception as exc:  # noqa: BLE001 - any unreadable file is graded, not raised
        why = ("the file is not valid JSON" if "not appear to be JSON" in str(exc)
               else f"{type(exc).__name__}: {str(exc).strip()[:120]}")
        return "not-a-notebook", f"not a readable Jupyter notebook ({why})", None
    found = lesson_of(notebook)
    if found != lesson:
        why = (f"this notebook is for lesson {found!r}, not {lesson!r}" if found
               else f"this notebook names no lesson and has none of {lesson!r}'s exercises")
        return "wrong-lesson", why, None
    try:
        for cell in notebook.cells:
            cell.get("metadata", {}).pop("papermill", None)
            if cell.get("cell_type") == "code":
                cell.outputs, cell.execution_count = [], None
        notebook.metadata.pop("papermill", None)
        # The nbformat schema, checked here: a notebook that breaks it (a cell's source that is
        # an object, say) would fail later, in the kernel or in the feedback page.
        nbformat.validate(notebook)
        text = nbformat.writes(notebook)
    except Exception as exc:  # noqa: BLE001 - a malformed notebook is graded, not raised
        why = f"{type(exc).__name__}: {str(exc)[:120]}"
        return "not-a-notebook", f"not a well-formed Jupyter notebook ({why})", None
    return "ready", "", text
