"""What an exercise is, and what checking an answer gives.

An exercise's answer is data (numbers, names), never code: the student's notebook only says
*what* to try, and trusted code (the lesson's ``exercises.py``, in
``lstm_lessons/lessons/lessonNN_slug/``) trains and measures it. That is what lets a grader
re-verify an answer outside the student's kernel.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lstm_lessons.claims import AnyOf, Check, decision_margin
from lstm_lessons.params import Choice, Rule


def first_hint(*conditions: tuple[bool, str]) -> str:
    """The hint of the first ``(met, hint)`` condition not met, or ``""`` when all are met."""
    return next((hint for met, hint in conditions if not met), "")


@dataclass(frozen=True)
class Judgement:
    """What an exercise's ``verify`` returns: the checks its decision rests on, and its words.

    The answer passes when every check of ``checks`` and of ``reports`` holds. ``checks`` judge
    what the answer *does* (a validation loss below its bound, made with
    :func:`lstm_lessons.claims.below` and its siblings); ``reports`` compare a value the
    student *reported* with the grader's own measurement of it (within a tolerance). The two
    are kept apart because only ``checks`` carry over to another seed
    (``benchmarks/exercise_margins.py``): a reported value belongs to the seed it was read on.

    Attributes:
        checks: :class:`~lstm_lessons.claims.Check` s or :class:`~lstm_lessons.claims.AnyOf` s;
            none where reported values alone decide (which year was the worst).
        message: one line: what was measured, against which bound.
        hint: for an answer that does not pass, what to look at (``""`` otherwise).
        measurements: the measured values, rounded, for the grader's tables.
        reports: checks of reported values against the grader's measurement.
    """

    checks: tuple[Check | AnyOf, ...]
    message: str
    hint: str = ""
    measurements: dict = field(default_factory=dict)
    reports: tuple[Check | AnyOf, ...] = ()

    @property
    def passed(self) -> bool:
        return all(c.holds for c in (*self.checks, *self.reports))

    @property
    def margin(self) -> float | None:
        """The decision's margin (:func:`lstm_lessons.claims.decision_margin`): positive when it
        passes, negative when it fails, ``None`` when only facts decide it."""
        return decision_margin((*self.checks, *self.reports))


@dataclass(frozen=True)
class CheckResult:
    """The outcome of verifying one answer: ``points`` of ``max_points``, what was measured,
    a one-line ``message`` and, when not passed, a ``hint``.

    Attributes:
        margin: how far the decision is from flipping, as a share of the bound that decides
            it (:func:`lstm_lessons.claims.decision_margin`); ``None`` for an answer screened
            out before training or decided by facts alone.
        checks: every check's record (quantity, value, relation, bound, holds, margin), the
            reported values' checks included.
        environment: where the check ran (:func:`lstm_lessons.machine.describe`); empty for an
            answer screened out before training.
    """

    exercise: str
    points: int
    max_points: int
    message: str
    hint: str = ""
    measurements: dict = field(default_factory=dict)
    margin: float | None = None
    checks: list = field(default_factory=list)
    environment: dict = field(default_factory=dict)

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
        verify: ``f(answer, seed) -> Judgement``; trains with ``seed`` and measures.
        seed: the seed the task names; the grader checks every answer with it.
    """

    id: str
    lesson: str
    points: int
    task: str
    answer: dict[str, Rule | Choice]
    verify: Callable[[dict, int], Judgement]
    seed: int = 1
