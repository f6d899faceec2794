"""An answer that applies no fix earns nothing, checked now with the grader's own code.

Each exercise declares its no-ops in ``solutions/answers/<lesson>.json``: the failing setting left as it
is, a fix that does nothing, and, where the task asks about a variant the lesson does not print,
the lesson's printed value. Each one is verified here with :func:`lstm_lessons.grading.feedback.verify`
and the task's seed, as the grader verifies a hand-in (``tests/test_exercise_margins.py`` holds
the committed measurements of every declared answer on other machines and seeds; the reference
solutions earn full marks through the grader in ``tests/test_lessons_over_seeds.py``).
"""

import re

import pytest
from exercise_margins import declared_answers  # benchmarks/, on sys.path by conftest.py

from lstm_lessons.grading.feedback import verify
from lstm_lessons.grading.registry import EXERCISES

DECLARED = declared_answers()
NO_OPS = [(exercise, label) for exercise, answers in DECLARED.items() for label in answers
          if label.startswith("no-op: ")]


def given_away(exercise: str, reference: dict, answer: dict) -> set[str]:
    """How the reference's values that ``answer`` does not (nearly) share would read in a feedback
    line: numbers as ``:g`` and as given, names as they are. Left out: a value within 5 % of the
    answer's (the answer has it right, and its feedback may show it), a number the task itself
    names (a bound, a seed), and a single digit (an epoch, a count)."""
    public = {float(n) for n in re.findall(r"\d+(?:\.\d+)?", EXERCISES[exercise].task)}
    shown = set()
    for name, value in reference.items():
        other = answer[name]
        if isinstance(value, bool) or value == other:
            continue
        if isinstance(value, int | float) and isinstance(other, int | float):
            if abs(value - other) <= 0.05 * abs(value) or float(value) in public:
                continue
            shown |= {str(value), f"{value:g}"}
        else:
            shown.add(str(value))
    return {text for text in shown if len(text) > 1}


def test_every_exercise_declares_a_no_op():
    assert {exercise for exercise, _ in NO_OPS} == set(EXERCISES)


@pytest.mark.parametrize(("exercise", "label"), NO_OPS, ids=[f"{e} {label[7:]}" for e, label in NO_OPS])
def test_a_no_op_answer_earns_nothing_and_its_feedback_gives_no_answer_away(exercise, label):
    answer = DECLARED[exercise][label]
    result = verify(exercise, answer)
    assert result.points == 0, f"{exercise} {label}: {result.message}"
    # What was measured, against which bound, and one hint; the reference's own values (those
    # the no-op does not share) appear nowhere in it.
    assert result.message and result.hint, result
    feedback = f"{result.message} {result.hint}"
    for text in given_away(exercise, DECLARED[exercise]["reference"], answer):
        assert not re.search(rf"(?<![\w.]){re.escape(text)}(?!\w|\.\d)", feedback), (text, feedback)
