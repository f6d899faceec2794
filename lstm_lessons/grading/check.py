"""``check``: immediate feedback on an exercise, recorded in the executed notebook."""

from __future__ import annotations

from lstm_lessons.claims import recorded, show_record
from lstm_lessons.grading.exercises import EXERCISES, CheckResult

EXERCISE_MIME = "application/vnd.lstm-lessons.exercise+json"
"""MIME type under which :func:`check` records an exercise's answer and result."""


class ExerciseError(ValueError):
    """An unknown exercise id or answer name."""


def verify(exercise_id: str, answer: dict) -> CheckResult:
    """Verify an answer with the exercise's trusted code; never raises for a bad answer.

    An answer with a missing value (``None``) earns 0 points without any training; a value
    outside its allowed range earns 0 points with a message naming it.

    Raises:
        ExerciseError: ``exercise_id`` is unknown, or an answer name is not the exercise's.
    """
    if exercise_id not in EXERCISES:
        raise ExerciseError(f"Unknown exercise {exercise_id!r}. Known: {sorted(EXERCISES)}")
    exercise = EXERCISES[exercise_id]
    if set(answer) != set(exercise.answer):
        raise ExerciseError(f"Exercise {exercise_id!r} takes the answer(s) {sorted(exercise.answer)}. "
                            f"Received: {sorted(answer)}")
    missing = [name for name, value in answer.items() if value is None]
    if missing:
        return CheckResult(exercise_id, 0, exercise.points,
                           f"not answered yet ({', '.join(missing)} is None)",
                           hint="replace None with your answer and run the cell again.")
    problems = [msg for name, rule in exercise.answer.items() if (msg := rule.check(name, answer[name]))]
    if problems:
        return CheckResult(exercise_id, 0, exercise.points, "invalid answer: " + " ".join(problems))
    passed, message, hint, measured = exercise.verify(dict(answer))
    points = exercise.points if passed else 0
    return CheckResult(exercise_id, points, exercise.points, message, hint, measured)


def feedback_line(result: CheckResult) -> str:
    """The printed form of a result, e.g. ``[exercise 01-...] 2/2 points: ...``."""
    text = f"[exercise {result.exercise}] {result.points}/{result.max_points} points: {result.message}"
    return text + (f"\n  hint: {result.hint}" if result.hint else "")


def check(exercise_id: str, **answer) -> None:
    """Verify an exercise's answer now, show what passed and what did not, and record it.

    In a notebook the result is shown as text and attached to the cell's output under
    :data:`EXERCISE_MIME` (``{"id", "answer", "points", "max_points"}``). The recorded points are
    feedback for the student; a grader re-verifies the recorded *answer* with its own copy of
    this code and ignores the recorded points.

    Returns ``None``, so a cell ending with this call shows only the feedback.

    Raises:
        ExerciseError: unknown exercise id or answer names (the message lists the right ones).
    """
    result = verify(exercise_id, answer)
    line = feedback_line(result)
    record = {"id": exercise_id, "answer": answer, "points": result.points, "max_points": result.max_points}
    show_record(line, EXERCISE_MIME, record)


def read_answers(notebook) -> dict[str, dict]:
    """The answers recorded by :func:`check` in an executed notebook: ``{exercise_id: answer}``.

    The last record of an exercise wins; recorded points are ignored on purpose.
    """
    return {r["id"]: r["answer"] for r in recorded(notebook, EXERCISE_MIME)
            if isinstance(r.get("id"), str) and isinstance(r.get("answer"), dict)}
