"""A hand-in's data never stops the grading of the others.

Property-based (Hypothesis): pathological answer values (integers far beyond a float, ``nan``,
``inf``, nested lists, long strings, wrong types), unknown or unhashable exercise ids and
malformed notebooks go through every step the grader takes with a hand-in's data: reading the
recorded answers, screening them, keying them for the checks, and writing the feedback page and
the tables. None of them may raise (an unknown exercise raises the one error the grader turns
into an "invalid answer"). Nothing here trains: an answer that passes the screen is only
screened.
"""

import json
import math
import re

import nbformat
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from nbformat.v4 import new_code_cell, new_notebook, new_output

from lstm_lessons.grading.feedback import EXERCISE_MIME, ExerciseError, read_answers, screen
from lstm_lessons.grading.registry import EXERCISES, CheckResult
from lstm_lessons.instructor.grader import answer_key
from lstm_lessons.instructor.report import Grade, feedback_html, feedback_markdown, grades_csv
from lstm_lessons.instructor.submissions import prepare
from lstm_lessons.params import SHOWN_CHARACTERS

LESSON = "01_learning_rate_oscillation"

scalars = (st.none() | st.booleans() | st.integers() | st.integers(min_value=10**300, max_value=10**400)
           | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=300)
           | st.just("x" * 100_000))
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                      | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
exercise_ids = st.sampled_from(sorted(EXERCISES)) | values


@st.composite
def answers(draw):
    """An answer with the exercise's own names and any values, or anything at all."""
    exercise = draw(st.sampled_from(sorted(EXERCISES)))
    if draw(st.booleans()):
        return exercise, {name: draw(values) for name in EXERCISES[exercise].answer}
    return exercise, draw(values)


@settings(max_examples=300, deadline=None)
@given(answers())
def test_screening_any_answer_gives_a_result_or_the_error_the_grader_expects(case):
    exercise, answer = case
    try:
        result = screen(exercise, answer)
    except ExerciseError as error:
        assert len(str(error)) < 400 + 60 * len(EXERCISES)
        return
    if result is not None:          # refused: a message that names the value, shortened
        assert isinstance(result, CheckResult) and result.points == 0
        assert len(result.message) < 1000
        return
    # Passed the screen: every value is one its rule allows (finite numbers in range, options).
    for name, rule in EXERCISES[exercise].answer.items():
        assert rule.check(name, answer[name]) is None
        assert not (isinstance(answer[name], float) and not math.isfinite(answer[name]))


@settings(max_examples=200, deadline=None)
@given(exercise_ids, values)
def test_an_unknown_or_unhashable_exercise_id_is_an_exercise_error(exercise, answer):
    try:
        screen(exercise, answer)
    except ExerciseError as error:
        assert len(str(error)) < 2000
    key = answer_key(exercise if isinstance(exercise, str) else "x", {"x": answer})
    assert key[1] is None or isinstance(json.loads(key[1]), object)


def notebook_with_records(records) -> nbformat.NotebookNode:
    cells = [new_code_cell("ll.grading.check(...)", outputs=[new_output(
        "display_data", data={"text/plain": "recorded", EXERCISE_MIME: record})]) for record in records]
    notebook = new_notebook(cells=cells)
    notebook.metadata.lstm_lessons = {"lesson": LESSON}
    return notebook


records = st.lists(st.fixed_dictionaries({"id": exercise_ids, "answer": values}) | values, max_size=3)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(records, st.text(max_size=500))
def test_any_recorded_answers_and_messages_give_a_feedback_page_and_a_table_row(found, message):
    notebook = notebook_with_records(found)
    read = read_answers(notebook)
    assert all(isinstance(k, str) and isinstance(v, dict) for k, v in read.items())
    exercises = [e for e in EXERCISES if EXERCISES[e].lesson == LESSON]
    grade = Grade("hand-in", LESSON, "graded", message, dict.fromkeys(exercises, 0), 0, 4,
                  checks={e: {"message": message, "hint": message, "max_points": 2} for e in exercises},
                  answers=read)
    page = feedback_html(grade, notebook)
    assert "Grader feedback: hand-in" in page
    assert "hand-in" in grades_csv([grade], exercises)
    assert feedback_markdown(grade).startswith("# Grader feedback")


@settings(max_examples=40, deadline=None)
@given(st.dictionaries(st.sampled_from(["cells", "metadata", "nbformat", "nbformat_minor", "x"]), values))
def test_any_json_handed_in_as_a_notebook_gets_a_status_never_an_exception(tmp_path_factory, content):
    path = tmp_path_factory.mktemp("hand-in") / "hand_in.ipynb"
    path.write_text(json.dumps(content))
    status, message, text = prepare(path, LESSON)
    assert status in ("ready", "not-a-notebook", "wrong-lesson")
    assert (text is not None) == (status == "ready")


def test_a_value_in_a_message_is_shortened():
    result = screen("01-stable-learning-rate", {"learning_rate": 10**400})
    assert result.points == 0 and "learning_rate=1000" in result.message
    assert len(result.message) < SHOWN_CHARACTERS + 200


@pytest.mark.parametrize("exercise", [["01-plateau-schedule"], {"id": 1}, 7])
def test_an_unhashable_id_in_a_feedback_page_is_shown_and_not_graded(exercise):
    notebook = notebook_with_records([{"id": exercise, "answer": {"factor": 0.5, "patience": 2}}])
    assert read_answers(notebook) == {}
    grade = Grade("hand-in", LESSON, "graded", "ran", {"01-plateau-schedule": 0}, 0, 2)
    assert "Grader: " not in feedback_html(grade, notebook)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=800), st.text(min_size=1, max_size=40))
def test_any_message_and_id_stay_one_csv_row_and_no_formula(message, id_):
    import csv
    import io

    from lstm_lessons.safe_text import MESSAGE_CHARACTERS

    grade = Grade(id_, LESSON, "error", message, {"01-stable-learning-rate": 0}, 0, 2)
    text = grades_csv([grade], ["01-stable-learning-rate"])
    header, row = list(csv.reader(io.StringIO(text)))
    assert len(row) == len(header)
    assert text.count("\n") == 2 and "\r" not in text
    for cell in (row[0], row[2], row[-1]):
        assert cell[:1] not in ("=", "+", "-", "@", "\t")
        assert not any(ord(c) < 32 or 127 <= ord(c) < 160 for c in cell)
    assert len(row[-1]) <= MESSAGE_CHARACTERS + 1


def test_a_message_cannot_forge_a_row_a_heading_or_a_terminal_sequence():
    from lstm_lessons.safe_text import one_line

    message = "raised ValueError: x\r=HYPERLINK(\"http://x\")\n# 4/4 PASSED\x1b]0;owned\x07\x1b[2K\u202eevil"
    grade = Grade("=cmd", LESSON, "error", message, {"01-stable-learning-rate": 0}, 0, 2)
    text = grades_csv([grade], ["01-stable-learning-rate"])
    assert text.splitlines()[1].startswith("'=cmd,")
    assert "\n# 4/4" not in feedback_markdown(grade) and "\x1b" not in feedback_markdown(grade)
    assert one_line(message) == ("raised ValueError: x =HYPERLINK(\"http://x\") # 4/4 PASSED ]0;owned  [2K "
                                 "evil")
    assert one_line("x" * 1000).endswith("...") and len(one_line("x" * 1000)) == 500


def test_a_message_makes_no_link_image_or_emphasis_in_the_feedback_page():
    # An exception's message is the hand-in's text: the page shows it, it does not render it.
    message = ("raised ValueError: **4/4** [see your full marks](https://evil.example/login) "
               "![t](https://evil.example/t.png) https://evil.example `code` $x$ a|b")
    grade = Grade("[me](https://evil.example)", LESSON, "error", message, {"01-stable-learning-rate": 0},
                  0, 2)
    page = feedback_html(grade)
    assert "evil.example" in page                                    # shown...
    assert 'href="http' not in page and "<img" not in page and "<strong>4/4" not in page  # ...as text
    assert "<code>code" not in page
    shown = re.sub(r"<[^>]+>", "", page)
    assert "**4/4** [see your full marks](https://evil.example/login)" in shown and "a|b" in shown


def test_an_answer_too_deep_or_too_long_to_record_is_invalid_and_not_recorded():
    deep = 0
    for _ in range(5000):
        deep = [deep]
    answers = {"01-stable-learning-rate": {"learning_rate": deep}}
    assert answer_key("01-stable-learning-rate", answers)[1] is None
    long = {"learning_rate": "x" * 5000}
    assert answer_key("01-stable-learning-rate", {"01-stable-learning-rate": long})[1] is None
    ok = answer_key("01-stable-learning-rate", {"01-stable-learning-rate": {"learning_rate": 0.01}})
    assert ok == ("01-stable-learning-rate", '{"learning_rate": 0.01}')
