"""The registry of graded exercises: every exercise, by id, gathered from each lesson's
``exercises`` module (:func:`lstm_lessons.lessons.exercise_modules`)."""

from __future__ import annotations

from lstm_lessons import lessons
from lstm_lessons.grading.exercise import CheckResult, Exercise


def _gather() -> dict[str, Exercise]:
    """Every lesson's ``EXERCISES``, by id, checked: an exercise names the lesson it is in, no
    two share an id, and the lessons' own modules have names of their own
    (:func:`lstm_lessons.lessons.modules` raises otherwise)."""
    lessons.modules()
    gathered: dict[str, Exercise] = {}
    for key, module in lessons.exercise_modules().items():
        for exercise in module.EXERCISES:
            if exercise.lesson != key:
                raise ValueError(f"Exercise {exercise.id!r} is in lesson {key!r} but names lesson "
                                 f"{exercise.lesson!r}. Its lesson must be the key of the folder it is in.")
            if exercise.id in gathered:
                raise ValueError(f"Two exercises share the id {exercise.id!r} (lessons "
                                 f"{gathered[exercise.id].lesson!r} and {key!r}). Each id must be unique.")
            gathered[exercise.id] = exercise
    return gathered


EXERCISES: dict[str, Exercise] = _gather()
"""Every exercise, by id, in lesson order."""

__all__ = ["EXERCISES", "CheckResult", "Exercise"]
