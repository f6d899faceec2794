"""Graded exercises, the students' side: immediate feedback in the notebook, answers a grader
can re-verify.

Each lesson ends with "Your turn" exercises. The student writes an answer (a learning rate, a
factor and a patience...) and runs ``ll.grading.check("exercise-id", name=value)``, which
trains and measures with the trusted code of the lesson's ``exercises.py``
(``lstm_lessons/lessons/lessonNN_slug/``), prints the points and a hint, and records the answer
in the executed notebook.

The students' side is :func:`check` (with :class:`ExerciseError`, what it raises for an answer
it cannot take, and ``EXERCISE_MIME``, the output type it records answers in): it prints the points, what was
measured against which bound, and a hint, and shows a measured value the task asks for only once
it is reported right. That is a courtesy, not a lock: the grader's code runs in the student's
kernel and can be imported from the modules below, which is why the grader never trusts what a
notebook recorded and verifies every answer itself. The rest serves the grader:

- :mod:`~lstm_lessons.grading.exercise`: what an exercise is (:class:`Exercise`) and what
  checking an answer gives (:class:`CheckResult`);
- :mod:`~lstm_lessons.grading.registry`: every exercise by id, from each lesson's ``exercises.py``;
- :mod:`~lstm_lessons.grading.feedback`: :func:`check`, and for the grader ``verify``, ``screen``
  and ``read_answers``.

The instructors' side, ``lstm-lessons grade``, lives in :mod:`lstm_lessons.instructor`.
"""

from __future__ import annotations

from lstm_lessons.grading.feedback import EXERCISE_MIME, ExerciseError, check

__all__ = ["EXERCISE_MIME", "ExerciseError", "check"]
