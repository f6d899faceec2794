"""Graded exercises: immediate feedback in the notebook, answers a grader can re-verify.

Each lesson ends with "Your turn" exercises. The student writes an answer (a learning rate, a
factor and a patience...) and runs ``ll.grading.check("exercise-id", name=value)``, which
trains and measures with the trusted code of ``lstm_lessons/grading/lessonNN.py``, prints the
points and a hint, and records the answer in the executed notebook.

The grader (``lstm-lessons grade``, :mod:`lstm_lessons.grading.grader`) executes hand-ins in
limited child processes (:mod:`~lstm_lessons.grading.limits`, :mod:`~lstm_lessons.grading.worker`),
re-checks their recorded answers itself and writes the reports (:mod:`~lstm_lessons.grading.report`).
"""

from __future__ import annotations

from lstm_lessons.grading.check import (
    EXERCISE_MIME,
    ExerciseError,
    check,
    feedback_line,
    read_answers,
    verify,
)
from lstm_lessons.grading.exercises import EXERCISES, CheckResult, Exercise
from lstm_lessons.grading.solutions import SOLUTIONS_DIR, exercise_cells, load_solution, solution_notebook

__all__ = ["EXERCISES", "EXERCISE_MIME", "SOLUTIONS_DIR", "CheckResult", "Exercise", "ExerciseError", "check",
           "exercise_cells", "feedback_line", "load_solution", "read_answers", "solution_notebook", "verify"]
