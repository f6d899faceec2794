"""Graded exercises, the students' side: immediate feedback in the notebook, answers a grader
can re-verify.

Each lesson ends with "Your turn" exercises. The student writes an answer (a learning rate, a
factor and a patience...) and runs ``ll.grading.check("exercise-id", name=value)``, which
trains and measures with the trusted code of ``lstm_lessons/grading/lessonNN.py``, prints the
points and a hint, and records the answer in the executed notebook.

- :mod:`~lstm_lessons.grading.exercise`: what an exercise is (:class:`Exercise`) and what
  checking an answer gives (:class:`CheckResult`);
- :mod:`~lstm_lessons.grading.registry`: every exercise by id, from ``lessonNN.py``;
- :mod:`~lstm_lessons.grading.feedback`: :func:`check`, :func:`verify`, :func:`read_answers`.

The instructors' side, ``lstm-lessons grade``, lives in :mod:`lstm_lessons.grader`.
"""

from __future__ import annotations

from lstm_lessons.grading.exercise import CheckResult, Exercise
from lstm_lessons.grading.feedback import (
    EXERCISE_MIME,
    ExerciseError,
    check,
    feedback_line,
    read_answers,
    verify,
)
from lstm_lessons.grading.registry import EXERCISES

__all__ = ["EXERCISES", "EXERCISE_MIME", "CheckResult", "Exercise", "ExerciseError", "check",
           "feedback_line", "read_answers", "verify"]
