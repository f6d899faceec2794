"""Every lesson's claims hold for seed 2, and its reference solution earns full marks.

The budget of whole-lesson executions in ``make test`` is four a lesson; the suite uses three,
each with another seed: seed 1 by nbval (the committed notebook, whose ``# NBVAL_CHECK_OUTPUT``
verdict lines must read ``[holds]``), seed 2 here, and seed 3 in JupyterLab
(``tests/test_lab.py``). Here the seed runs as the lesson's *reference solution* through the
grader: the execution checks the lesson's claims for that seed (the grader reads them from the
executed notebook) and hands in the solution's answers, which the grader then checks with its
trusted code. The grader uses its sandbox wherever the machine has one (always in CI), so this
is also the test that a reference solution earns full marks in the sandbox. (Seeds 1 to 10, and
more, with each claim's margin: ``benchmarks/claims_margin.py``.)
"""

import nbformat
import pytest
from conftest import sandbox_problem
from papermill.parameterize import parameterize_notebook

from lstm_lessons.instructor import grade, solution_notebook
from lstm_lessons.runner import available_lessons

LESSONS = sorted(available_lessons())
SEED = 2


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_claims_hold_and_the_solution_earns_full_marks_for_another_seed(lesson, tmp_path):
    hand_in = tmp_path / "hand-in" / f"seed{SEED}.ipynb"
    hand_in.parent.mkdir()
    notebook = parameterize_notebook(solution_notebook(available_lessons()[lesson]), {"seed": SEED})
    nbformat.write(notebook, hand_in)
    # Two workers: the hand-in runs alone, then its answers' checks side by side.
    [seed_grade] = grade([hand_in], lesson, tmp_path / "grades", workers=2, progress=False,
                         sandbox=sandbox_problem() is None)
    assert seed_grade.id == f"seed{SEED}"
    assert seed_grade.sandbox == (sandbox_problem() is None)
    assert seed_grade.status == "graded", (seed_grade.id, seed_grade.message)
    assert {"symptom_reproduced", "fix_verified"} <= set(seed_grade.claims), seed_grade.claims
    assert all(seed_grade.claims.values()), (seed_grade.id, seed_grade.claims)
    assert seed_grade.total == seed_grade.max_total > 0, (seed_grade.id, seed_grade.checks)
