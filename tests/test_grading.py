"""Exercises and their checks: feedback, recorded answers, solutions and starting notebooks."""


import json
import os
import subprocess
import sys

import nbformat
import pytest

from lstm_lessons.grading import EXERCISE_MIME, ExerciseError, check
from lstm_lessons.grading.feedback import read_answers, verify
from lstm_lessons.grading.registry import EXERCISES
from lstm_lessons.instructor import exercise_cells, load_solution, solution_notebook
from lstm_lessons.runner import available_lessons

LESSONS_WITH_EXERCISES = sorted({exercise.lesson for exercise in EXERCISES.values()})


def test_unknown_exercise_and_wrong_answer_names_are_named():
    with pytest.raises(ExerciseError, match="Unknown exercise '01-nope'.*01-stable-learning-rate"):
        verify("01-nope", {})
    with pytest.raises(ExerciseError, match=r"takes the answer\(s\) \['learning_rate'\]. Received: \['lr'\]"):
        verify("01-stable-learning-rate", {"lr": 0.01})


def test_unanswered_and_invalid_answers_earn_zero_without_training():
    result = verify("01-plateau-schedule", {"factor": None, "patience": 2})
    assert (result.points, result.max_points) == (0, 2) and "factor is None" in result.message
    result = verify("01-plateau-schedule", {"factor": 1.5, "patience": 2})
    assert result.points == 0 and "factor=1.5 is not allowed" in result.message
    # Keras's ReduceLROnPlateau raises for a factor of 1: refused here, before any training.
    result = verify("01-plateau-schedule", {"factor": 1.0, "patience": 2})
    assert result.points == 0 and "factor=1.0 is not allowed" in result.message
    assert "value < 1" in result.message
    result = verify("01-stable-learning-rate", {"learning_rate": "fast"})
    assert result.points == 0 and "learning_rate='fast'" in result.message


def test_check_prints_feedback_outside_a_notebook(capsys):
    assert check("01-stable-learning-rate", learning_rate=None) is None
    out = capsys.readouterr().out
    assert out.startswith("[exercise 01-stable-learning-rate] 0/2 points: not answered yet")
    assert "hint: replace None" in out


def test_read_answers_takes_the_last_record_and_ignores_points():
    record = {"id": "01-stable-learning-rate", "answer": {"learning_rate": 0.2}, "points": 2, "max_points": 2}
    later = dict(record, answer={"learning_rate": 0.01}, points=0)
    notebook = {"cells": [{"cell_type": "code", "outputs": [{"data": {EXERCISE_MIME: record}}]},
                          {"cell_type": "markdown", "source": "x"},
                          {"cell_type": "code", "outputs": [{"data": {EXERCISE_MIME: later}},
                                                            {"data": {EXERCISE_MIME: "garbage"}}]}]}
    assert read_answers(notebook) == {"01-stable-learning-rate": {"learning_rate": 0.01}}


@pytest.mark.parametrize("lesson", LESSONS_WITH_EXERCISES)
def test_starting_notebook_has_every_exercise_once_and_earns_zero(lesson):
    notebook = nbformat.read(available_lessons()[lesson], as_version=4)
    cells = exercise_cells(notebook)
    assert set(cells) == {e.id for e in EXERCISES.values() if e.lesson == lesson}
    assert all("exercise" in cell.metadata["tags"] for cell in cells.values())
    answers = read_answers(notebook)          # the committed notebook is executed
    assert set(answers) == set(cells)
    assert all(verify(exercise, answer).points == 0 for exercise, answer in answers.items())
    assert sum(EXERCISES[e].points for e in cells) >= 2 and len(cells) >= 2


@pytest.mark.parametrize("lesson", LESSONS_WITH_EXERCISES)
def test_solution_notebook_replaces_exactly_the_exercise_cells(lesson):
    path = available_lessons()[lesson]
    original, solved = nbformat.read(path, as_version=4), solution_notebook(path)
    assert len(original.cells) == len(solved.cells)
    pairs = zip(original.cells, solved.cells, strict=True)
    changed = [b.metadata["lstm_lessons"]["exercise"] for a, b in pairs if a.source != b.source]
    assert sorted(changed) == sorted(load_solution(lesson))


def test_every_lesson_has_at_least_two_graded_exercises():
    for lesson in available_lessons():
        exercises = [e for e in EXERCISES.values() if e.lesson == lesson]
        assert len(exercises) >= 2 and all(e.points > 0 for e in exercises), lesson


# The grader's verdict on each lesson's reference solution (full marks) is tested with the
# lesson's seed runs in test_lessons_over_seeds.py; the starting notebook's recorded answers
# are all None (above), which the grader screens to 0 points without training.


def test_under_the_grader_check_records_the_answer_without_training(monkeypatch, capsys):
    from lstm_lessons.grading import feedback
    from lstm_lessons.grading.feedback import GRADING_ENV

    def no_training(*args):
        raise AssertionError("check() trained under the grader")

    monkeypatch.setenv(GRADING_ENV, "1")
    monkeypatch.setattr(feedback, "verify", no_training)
    check("01-stable-learning-rate", learning_rate=0.01)
    assert "answer recorded; the grader verifies it" in capsys.readouterr().out
    with pytest.raises(ExerciseError, match="Unknown exercise"):
        check("01-nope", learning_rate=0.01)


def test_answers_become_plain_json_values():
    import numpy as np

    from lstm_lessons.grading.feedback import answer_data

    assert answer_data(np.float64(0.01)) == 0.01 and type(answer_data(np.float64(0.01))) is float
    assert answer_data(np.int64(2)) == 2 and type(answer_data(np.int64(2))) is int
    assert answer_data(np.bool_(True)) is True and answer_data(True) is True
    assert answer_data("ffill") == "ffill"
    assert answer_data([1, 2]) == "[1, 2]"      # not an allowed answer: its rule names it


def test_the_hint_is_that_of_the_first_unmet_condition():
    from lstm_lessons.grading.exercise import first_hint

    assert first_hint((True, "a"), (False, "b"), (False, "c")) == "b"
    assert first_hint((True, "a"), (True, "b")) == ""


def test_importing_the_exercises_stays_light():
    code = ("import sys, lstm_lessons.grading; "
            "print(sorted({'pandas', 'sklearn', 'tensorflow'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_the_students_side_is_check_alone():
    """A student's ``ll.grading`` offers ``check`` (and its error and record type), not the
    grader's ``verify``, whose result holds the measured values some exercises ask for."""
    import lstm_lessons as ll

    assert sorted(ll.grading.__all__) == ["EXERCISE_MIME", "ExerciseError", "check"]
    for name in ("verify", "read_answers", "EXERCISES", "CheckResult", "Exercise"):
        assert not hasattr(ll.grading, name), name


THROW_AWAY_EXERCISES = '''\
"""A lesson that exists only for a test."""
from lstm_lessons.claims import at_most
from lstm_lessons.grading.exercise import Exercise, Judgement
from lstm_lessons.params import Rule


def _verify(answer, seed):
    return Judgement((at_most("the answer", answer["value"], 1.0),), "measured the answer", "smaller", {{}})


EXERCISES = (Exercise("{number}-small", "{key}", 2, "Give a number at most 1.",
                      {{"value": Rule(float, 0.0, 10.0, meaning="a number")}}, _verify),)
'''


def _with_lesson(tmp_path, folder: str, key: str, module: str = "throw_away"):
    """A copy of the package with one more lesson folder, ``lessons/<folder>/``, whose exercise
    names lesson ``key`` and which has a module ``<module>.py``; returns what importing the
    registry there, reaching the module as ``ll.<module>`` and checking the exercise print or
    raise."""
    import shutil
    from pathlib import Path

    import lstm_lessons

    copy = tmp_path / "lstm_lessons"
    # Links kept as links: the copy's course/notebooks and course/data are tmp_path's.
    shutil.copytree(Path(lstm_lessons.__file__).parent, copy, symlinks=True,
                    ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / "data").symlink_to(lstm_lessons.files.course_folder("data"))
    lesson = copy / "lessons" / folder
    lesson.mkdir()
    (lesson / "__init__.py").write_text('"""A throw-away lesson."""\n')
    (lesson / "exercises.py").write_text(THROW_AWAY_EXERCISES.format(number=key[:2], key=key))
    (lesson / f"{module}.py").write_text("ANSWER = 42\n")
    code = ("import lstm_lessons as ll; from lstm_lessons.grading.registry import EXERCISES; "
            f"print(list(EXERCISES)[-1], ll.lessons.keys()[-1], ll.{module}.ANSWER); "
            "ll.grading.check(list(EXERCISES)[-1], value=0.5)")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={"PYTHONPATH": str(tmp_path), "PATH": ""}, cwd=tmp_path)


def test_a_lesson_folder_is_found_by_its_name_and_its_exercises_checked(tmp_path):
    run = _with_lesson(tmp_path, "lesson99_throw_away", "99_throw_away")
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines()[0] == "99-small 99_throw_away 42"
    assert "[exercise 99-small] 2/2 points" in run.stdout


def _throw_away_notebook(key: str, exercise: str) -> nbformat.NotebookNode:
    """A lesson notebook as CONTRIBUTING.md describes one, reduced to its skeleton: the
    ``parameters`` cell, the import, an exercise cell and its check."""
    v4 = nbformat.v4
    cells = [v4.new_code_cell("seed = 1", metadata={"tags": ["parameters"]}),
             v4.new_code_cell("import lstm_lessons as ll"),
             v4.new_code_cell("# your answer: a number\nanswer_value = None",
                              metadata={"tags": ["exercise"], "lstm_lessons": {"exercise": exercise}}),
             v4.new_code_cell(f'll.grading.check("{exercise}", value=answer_value)')]
    return v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "lstm_lessons": {"lesson": key}})


@pytest.mark.slow
def test_a_throw_away_lesson_needs_its_notebook_folder_and_solution_and_its_solution_earns_full_marks(
        tmp_path):
    # The four places of CONTRIBUTING.md and nothing else: the package's copy gets the folder,
    # notebooks/ the notebook, solutions/ the solution and its declared answers; the runner, the
    # grader and the declared answers' reader find them.
    key, exercise = "99_throw_away", "99-small"
    assert _with_lesson(tmp_path, "lesson99_throw_away", key).returncode == 0
    (tmp_path / "notebooks").mkdir()
    nbformat.write(_throw_away_notebook(key, exercise), tmp_path / "notebooks" / f"{key}.ipynb")
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / f"{key}.json").write_text(json.dumps({exercise: "answer_value = 0.5"}))
    (tmp_path / "solutions" / "answers").mkdir()
    (tmp_path / "solutions" / "answers" / f"{key}.json").write_text(json.dumps(
        {exercise: {"reference": {"value": 0.5}, "no-ops": {"the bound's far side": {"value": 5.0}},
                    "wrong": {"just above": {"value": 1.5}}}}))
    code = ("import nbformat; from lstm_lessons.runner import available_lessons; "
            "from lstm_lessons.instructor import grade, solution_notebook; "
            f"path = available_lessons()[{key!r}]; nbformat.write(solution_notebook(path), 'solved.ipynb'); "
            "nbformat.write(nbformat.read(path, as_version=4), 'untouched.ipynb'); "
            "grades = grade(['solved.ipynb', 'untouched.ipynb'], '99', 'grades', workers=1, progress=False, "
            "sandbox=False); print([(g.id, g.status, g.total, g.max_total) for g in grades]); "
            "from lstm_lessons.instructor.solutions import declared_answers; "
            "from lstm_lessons.grading.feedback import verify; "
            f"declared = declared_answers()[{exercise!r}]; "
            f"print([verify({exercise!r}, a).points for a in (declared['reference'], "
            "*declared['no-ops'].values(), *declared['wrong'].values())])")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path,
                         env={**os.environ, "PYTHONPATH": str(tmp_path)}, timeout=600)
    assert run.returncode == 0, run.stderr
    # The solution earns 2/2; the notebook as handed out (no answer) earns 0.
    graded, declared = run.stdout.strip().splitlines()[-2:]
    assert graded == "[('solved', 'graded', 2, 2), ('untouched', 'graded', 0, 2)]"
    # Its declared answers are found beside the others': the reference passes, the rest fail.
    assert declared == "[2, 0, 0]"


def test_a_lesson_folder_that_names_another_lesson_or_shares_a_number_is_refused(tmp_path):
    run = _with_lesson(tmp_path / "other", "lesson99_throw_away", "98_elsewhere")
    assert run.returncode != 0
    assert "is in lesson '99_throw_away' but names lesson '98_elsewhere'" in run.stderr
    run = _with_lesson(tmp_path / "twice", "lesson01_again", "01_again")
    assert run.returncode != 0 and "Two lessons share a number" in run.stderr
    run = _with_lesson(tmp_path / "toolkit", "lesson99_throw_away", "99_throw_away", module="data")
    assert run.returncode != 0 and "has a module 'data', the name of a toolkit module" in run.stderr
    run = _with_lesson(tmp_path / "taken", "lesson99_throw_away", "99_throw_away", module="padding")
    assert run.returncode != 0 and "both have a module 'padding'" in run.stderr
