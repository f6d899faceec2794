"""The registry of graded exercises: every exercise, by id, gathered from ``lessonNN.py``."""

from __future__ import annotations

from lstm_lessons.grading import (
    lesson01,
    lesson02,
    lesson03,
    lesson04,
    lesson05,
    lesson06,
    lesson07,
    lesson08,
)
from lstm_lessons.grading.exercise import CheckResult, Exercise

LESSON_MODULES = (lesson01, lesson02, lesson03, lesson04, lesson05, lesson06, lesson07, lesson08)
"""One module a lesson, each with a tuple ``EXERCISES``."""

EXERCISES: dict[str, Exercise] = {e.id: e for module in LESSON_MODULES for e in module.EXERCISES}
"""Every exercise, by id."""

__all__ = ["EXERCISES", "CheckResult", "Exercise"]
