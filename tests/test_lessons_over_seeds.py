"""Every lesson's claims hold for seeds 2 and 3, and its reference solution earns full marks.

The budget of whole-lesson executions in ``make test`` is four a lesson: seed 1 by nbval (the
committed notebook, whose ``# NBVAL_CHECK_OUTPUT`` verdict lines must read ``[holds]``), seeds
2 and 3 here, and one run in JupyterLab (``tests/test_lab.py``). Here each seed runs as the
lesson's *reference solution* through the grader, the two seeds side by side: one execution
checks the lesson's claims for that seed (the grader reads them from the executed notebook)
and hands in the solution's answers, which the grader then checks once with its trusted code.
The grader uses its sandbox wherever the machine has one (always in CI), so this is also the
test that a reference solution earns full marks in the sandbox.
"""

import nbformat
import pytest
from conftest import sandbox_problem
from papermill.parameterize import parameterize_notebook

from lstm_lessons.grader import grade, solution_notebook
from lstm_lessons.runner import available_lessons

LESSONS = sorted(available_lessons())
SEEDS = (2, 3)


def graded_runs(lesson: str, folder_factory) -> dict:
    """The grades of the lesson's reference solution run with each of :data:`SEEDS`."""
    path = available_lessons()[lesson]
    folder = folder_factory.mktemp(lesson[:2])
    hand_in = folder / "hand-in"
    hand_in.mkdir()
    for seed in SEEDS:
        notebook = parameterize_notebook(solution_notebook(path), {"seed": seed})
        nbformat.write(notebook, hand_in / f"seed{seed}.ipynb")
    grades = grade(sorted(hand_in.glob("*.ipynb")), lesson, folder / "grades", workers=len(SEEDS),
                   progress=False, sandbox=sandbox_problem() is None)
    return {g.id: g for g in grades}


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_claims_hold_and_the_solution_earns_full_marks_for_other_seeds(lesson, tmp_path_factory):
    grades = graded_runs(lesson, tmp_path_factory)
    assert sorted(grades) == [f"seed{seed}" for seed in SEEDS]
    for seed_grade in grades.values():
        assert seed_grade.sandbox == (sandbox_problem() is None)
        assert seed_grade.status == "graded", (seed_grade.id, seed_grade.message)
        assert {"symptom_reproduced", "fix_verified"} <= set(seed_grade.claims), seed_grade.claims
        assert all(seed_grade.claims.values()), (seed_grade.id, seed_grade.claims)
        assert seed_grade.total == seed_grade.max_total > 0, (seed_grade.id, seed_grade.checks)
