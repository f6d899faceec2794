"""Reference solutions: the source of each exercise cell, kept in ``solutions/<lesson>.json``."""

from __future__ import annotations

import json
from pathlib import Path

import nbformat

SOLUTIONS_DIR = Path(__file__).resolve().parent.parent.parent / "solutions"
"""Folder of the reference solutions (outside the package: instructors' material)."""
ANSWERS_DIR = SOLUTIONS_DIR / "answers"
"""Folder of each lesson's declared answers, ``<lesson>.json`` (see :func:`declared_answers`)."""


def exercise_cells(notebook) -> dict[str, object]:
    """The exercise cells of a lesson by exercise id (cells whose metadata names an exercise)."""
    cells = {}
    for cell in notebook.cells:
        exercise = cell.get("metadata", {}).get("lstm_lessons", {}).get("exercise")
        if cell.cell_type == "code" and exercise:
            cells[exercise] = cell
    return cells


def load_solution(lesson: str) -> dict[str, str]:
    """``{exercise_id: cell source}`` of a lesson's reference solution.

    Raises:
        FileNotFoundError: the lesson has no reference solution.
    """
    path = SOLUTIONS_DIR / f"{lesson}.json"
    if not path.is_file():
        raise FileNotFoundError(f"No reference solution for lesson {lesson!r}: expected {path}")
    return json.loads(path.read_text())


def solution_notebook(lesson_path) -> nbformat.NotebookNode:
    """The lesson notebook with its exercise cells replaced by the reference solution.

    Raises:
        KeyError: the solution names an exercise the notebook does not have, or misses one.
    """
    lesson_path = Path(lesson_path)
    notebook = nbformat.read(lesson_path, as_version=4)
    cells, solution = exercise_cells(notebook), load_solution(lesson_path.stem)
    if set(cells) != set(solution):
        raise KeyError(f"Solution and notebook disagree on the exercises: notebook {sorted(cells)}, "
                       f"solution {sorted(solution)}")
    for exercise, source in solution.items():
        cells[exercise].source = source
    return notebook


def declared_answers() -> dict[str, dict]:
    """Every exercise's declared answers.

    ``{exercise id: {"reference": answer, "no-ops": {label: answer}, "wrong": {label: answer}}}``,
    from each lesson's ``solutions/answers/<lesson>.json`` in lesson order: the reference must
    pass; the no-ops (the failing setting left as it is, a value the lesson prints) and the wrong
    answers must not.

    Raises:
        ValueError: two files declare the same exercise.
    """
    declared: dict[str, dict] = {}
    for path in sorted(ANSWERS_DIR.glob("[0-9][0-9]_*.json")):
        for exercise, entry in json.loads(path.read_text()).items():
            if exercise in declared:
                raise ValueError(f"Exercise {exercise!r} is declared twice; the second time in {path}.")
            declared[exercise] = entry
    return declared
