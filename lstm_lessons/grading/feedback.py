"""Feedback on an exercise: ``check`` verifies an answer now and records it in the executed notebook;
``verify``, ``screen`` and ``read_answers`` serve the grader."""

from __future__ import annotations

import os
from numbers import Integral, Real

from lstm_lessons.claims import recorded, show_record
from lstm_lessons.grading.registry import EXERCISES, CheckResult
from lstm_lessons.params import shown

EXERCISE_MIME = "application/vnd.lstm-lessons.exercise+json"
"""MIME type under which :func:`check` records an exercise's answer and result."""


GRADING_ENV = "LSTM_LESSONS_GRADING"
"""Set to ``"1"`` in a graded kernel's environment: :func:`check` then records answers without
training, since the grader verifies them itself after the notebook ends."""


class ExerciseError(ValueError):
    """An unknown exercise id or answer name."""


def exercise(exercise_id: str):
    """The :class:`Exercise` with this id.

    Raises:
        ExerciseError: the id is unknown (the message lists the known ones).
    """
    if not isinstance(exercise_id, str) or exercise_id not in EXERCISES:
        raise ExerciseError(f"Unknown exercise {shown(exercise_id)}. Known: {sorted(EXERCISES)}")
    return EXERCISES[exercise_id]


def screen(exercise_id: str, answer: dict) -> CheckResult | None:
    """The result of an answer that needs no training, else ``None``.

    An answer with a missing value (``None``) earns 0 points; a value outside its allowed range
    earns 0 points with a message naming it. Answers that pass the screen must be trained and
    measured (:func:`verify`).

    Raises:
        ExerciseError: ``exercise_id`` is unknown, or an answer name is not the exercise's.
    """
    task = exercise(exercise_id)
    if not isinstance(answer, dict) or set(answer) != set(task.answer):
        names = sorted(map(str, answer)) if isinstance(answer, dict) else answer
        raise ExerciseError(f"Exercise {exercise_id!r} takes the answer(s) {sorted(task.answer)}. "
                            f"Received: {shown(names, 200)}")
    missing = [name for name, value in answer.items() if value is None]
    if missing:
        unanswered = f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} None"
        return CheckResult(exercise_id, 0, task.points, f"not answered yet ({unanswered})",
                           hint="replace None with your answer and run the cell again.")
    problems = [msg for name, rule in task.answer.items() if (msg := rule.check(name, answer[name]))]
    if problems:
        return CheckResult(exercise_id, 0, task.points, "invalid answer: " + " ".join(problems))
    return None


def verify(exercise_id: str, answer: dict, seed: int | None = None) -> CheckResult:
    """Verify an answer with the exercise's trusted code; never raises for a bad answer value.

    Screens the answer first (:func:`screen`), then trains and measures (seconds). The result
    keeps every check with its margin from its bound, and where it ran
    (:func:`lstm_lessons.machine.describe`).

    Args:
        seed: the seed to train with; ``None`` (the grader, the student) means the one the task
            names (``Exercise.seed``). ``benchmarks/exercise_margins.py`` tries others.

    Raises:
        ExerciseError: ``exercise_id`` is unknown, or an answer name is not the exercise's.
    """
    from lstm_lessons.machine import describe

    screened = screen(exercise_id, answer)
    if screened is not None:
        return screened
    task = exercise(exercise_id)
    judged = task.verify(dict(answer), task.seed if seed is None else seed)
    return CheckResult(exercise_id, task.points if judged.passed else 0, task.points, judged.message,
                       judged.hint, judged.measurements, margin=judged.margin,
                       checks=[c.record() for c in (*judged.checks, *judged.reports)],
                       environment=describe())


def feedback_line(result: CheckResult) -> str:
    """The printed form of a result, e.g. ``[exercise 01-...] 2/2 points: ...``."""
    text = f"[exercise {result.exercise}] {result.points}/{result.max_points} points: {result.message}"
    return text + (f"\n  hint: {result.hint}" if result.hint else "")


def answer_data(value):
    """An answer value as plain JSON data: numpy scalars become ``int``/``float``; bools,
    strings and ``None`` stay; anything else becomes its ``repr`` (and fails its rule)."""
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, Integral):
        return int(value)
    if isinstance(value, Real):
        return float(value)
    if type(value).__module__ == "numpy" and hasattr(value, "item"):
        return answer_data(value.item())
    return repr(value)


def check(exercise_id: str, **answer) -> None:
    """Verify an exercise's answer now, show what passed and what did not, and record it.

    In a notebook the result is shown as text and attached to the cell's output under
    :data:`EXERCISE_MIME` (``{"id", "answer", "points", "max_points"}``). The recorded points are
    feedback for the student; a grader re-verifies the recorded *answer* with its own copy of
    this code and ignores the recorded points. Under the grader (environment variable
    ``LSTM_LESSONS_GRADING=1``) the answer is recorded without training.

    Returns ``None``, so a cell ending with this call shows only the feedback.

    Raises:
        ExerciseError: unknown exercise id or answer names (the message lists the right ones).
    """
    answer = {name: answer_data(value) for name, value in answer.items()}
    if os.environ.get(GRADING_ENV) == "1":
        # Under `lstm-lessons grade` the grader verifies the answer after the notebook ends.
        line = f"[exercise {exercise_id}] answer recorded; the grader verifies it after the notebook ends"
        points, max_points = None, exercise(exercise_id).points
    else:
        result = verify(exercise_id, answer)
        line, points, max_points = feedback_line(result), result.points, result.max_points
    show_record(line, EXERCISE_MIME, {"id": exercise_id, "answer": answer, "points": points,
                                      "max_points": max_points})


def read_answers(notebook) -> dict[str, dict]:
    """The answers recorded by :func:`check` in an executed notebook: ``{exercise_id: answer}``.

    The last record of an exercise wins; recorded points are ignored on purpose.
    """
    return {r["id"]: r["answer"] for r in recorded(notebook, EXERCISE_MIME)
            if isinstance(r.get("id"), str) and isinstance(r.get("answer"), dict)}
