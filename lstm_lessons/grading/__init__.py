"""Graded exercises, the students' side: immediate feedback in the notebook, answers a grader
can re-verify.

Each lesson ends with "Your turn" exercises. The student writes an answer (a learning rate, a
factor and a patience...) and runs ``ll.grading.check("exercise-id", name=value)``, which
trains and measures with the trusted code of ``lstm_lessons/grading/lessonNN.py``, prints the
points and a hint, and records the answer in the executed notebook.

The students' side is :func:`check` alone: it prints the points, what was measured against which
bound, and a hint, and keeps the grader's measurements to itself (an exercise that asks for a
measured value must not hand it over). The rest serves the grader:

- :mod:`~lstm_lessons.grading.exercise`: what an exercise is (:class:`Exercise`) and what
  checking an answer gives (:class:`CheckResult`);
- :mod:`~lstm_lessons.grading.registry`: every exercise by id, from ``lessonNN.py``;
- :mod:`~lstm_lessons.grading.feedback`: :func:`check`, and for the grader ``verify``, ``screen``
  and ``read_answers``.

The instructors' side, ``lstm-lessons grade``, lives in :mod:`lstm_lessons.grader`.
"""

from __future__ import annotations

from lstm_lessons.grading.feedback import EXERCISE_MIME, ExerciseError, check

__all__ = ["EXERCISE_MIME", "ExerciseError", "check"]
