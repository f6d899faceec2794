"""What an exercise is, and what checking an answer gives.

An exercise's answer is data (numbers, names), never code: the student's notebook only says
*what* to try, and trusted code (``lstm_lessons/grading/lessonNN.py``) trains and measures
it. That is what lets a grader re-verify an answer outside the student's kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lstm_lessons.params import Choice, Rule


def first_hint(*conditions: tuple[bool, str]) -> str:
    """The hint of the first ``(met, hint)`` condition not met, or ``""`` when all are met."""
    return next((hint for met, hint in conditions if not met), "")


@dataclass(frozen=True)
class CheckResult:
    """The outcome of verifying one answer: ``points`` of ``max_points``, what was measured,
    a one-line ``message`` and, when not passed, a ``hint``."""

    exercise: str
    points: int
    max_points: int
    message: str
    hint: str = ""
    measurements: dict = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.points == self.max_points


@dataclass(frozen=True)
class Exercise:
    """One graded exercise of a lesson.

    Attributes:
        id: ``"NN-short-name"``, used by ``check`` and in ``grades.csv``.
        lesson: the lesson notebook's name.
        points: what a passing answer earns.
        task: the task in one paragraph.
        answer: ``{name: rule}``: the answer's parts and their allowed values.
        verify: ``f(answer) -> (passed, message, hint, measurements)``; trains and measures.
    """

    id: str
    lesson: str
    points: int
    task: str
    answer: dict[str, Rule | Choice]
    verify: Callable[[dict], tuple[bool, str, str, dict]]
