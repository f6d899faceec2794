"""Every lesson's claims hold for seeds 2 and 3, and its reference solution earns full marks.

The budget of whole-lesson executions in ``make test`` is four a lesson: seed 1 by nbval (the
committed notebook, whose ``# NBVAL_CHECK_OUTPUT`` verdict lines must read ``[holds]``), seeds
2 and 3 here, and one run in JupyterLab (``tests/test_lab.py``). Here each seed runs as the
lesson's *reference solution* through the grader, the two seeds side by side: one execution
checks the lesson's claims for that seed (the grader reads them from the executed notebook)
and hands in the solution's answers, which the grader then checks once with its trusted code.
Lesson 01's run also writes its ``CSVLogger`` files, which ``lstm-lessons doctor`` must read.
"""

import subprocess
import sys

import nbformat
import papermill
import pytest
from papermill.parameterize import parameterize_notebook

from lstm_lessons.grader import grade, solution_notebook
from lstm_lessons.runner import available_lessons

LESSONS = sorted(available_lessons())
SEEDS = (2, 3)
_RUNS: dict = {}


def graded_runs(lesson: str, folder_factory) -> tuple[dict, object]:
    """The grades of the lesson's reference solution run with each of :data:`SEEDS` (once a
    session), and the folder its ``log_dir`` parameter pointed to when the lesson has one."""
    if lesson not in _RUNS:
        path = available_lessons()[lesson]
        folder = folder_factory.mktemp(lesson[:2])
        hand_in, logs = folder / "hand-in", folder / "logs"
        hand_in.mkdir()
        accepted = papermill.inspect_notebook(str(path))
        for seed in SEEDS:
            parameters = {"seed": seed}
            if "log_dir" in accepted:
                parameters["log_dir"] = str(logs / f"seed{seed}")
            notebook = parameterize_notebook(solution_notebook(path), parameters)
            nbformat.write(notebook, hand_in / f"seed{seed}.ipynb")
        grades = grade(sorted(hand_in.glob("*.ipynb")), lesson, folder / "grades", workers=len(SEEDS),
                       progress=False)
        _RUNS[lesson] = ({g.id: g for g in grades}, logs)
    return _RUNS[lesson]


@pytest.mark.slow
@pytest.mark.parametrize("lesson", LESSONS)
def test_claims_hold_and_the_solution_earns_full_marks_for_other_seeds(lesson, tmp_path_factory):
    grades, _ = graded_runs(lesson, tmp_path_factory)
    assert sorted(grades) == [f"seed{seed}" for seed in SEEDS]
    for seed_grade in grades.values():
        assert seed_grade.status == "graded", (seed_grade.id, seed_grade.message)
        assert {"symptom_reproduced", "fix_verified"} <= set(seed_grade.claims), seed_grade.claims
        assert all(seed_grade.claims.values()), (seed_grade.id, seed_grade.claims)
        assert seed_grade.total == seed_grade.max_total > 0, (seed_grade.id, seed_grade.checks)


@pytest.mark.slow
def test_doctor_command_reads_lesson_01s_csvlogger_files(tmp_path_factory):
    _, logs = graded_runs("01_learning_rate_oscillation", tmp_path_factory)
    doctor = [sys.executable, "-m", "lstm_lessons", "doctor"]
    failing = subprocess.run([*doctor, str(logs / "seed2" / "01_failing.csv")], capture_output=True,
                             text=True)
    assert failing.returncode == 1, failing.stderr
    assert failing.stdout.splitlines()[1].startswith("- oscillating_loss from epoch")
    assert "1 symptom" in failing.stdout
    fixed = subprocess.run([*doctor, str(logs / "seed2" / "01_fixed.csv"), "--json"], capture_output=True,
                           text=True)
    assert fixed.returncode == 0, fixed.stdout
    assert '"healthy": true' in fixed.stdout
