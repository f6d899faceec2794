"""The course gradebook: a roster, hand-ins matched to students, a gradebook over two lessons,
its LMS exports, and the similarity report. A class of a dozen synthetic students whose hand-ins
record answers as data (no lesson is executed; one answer in the class trains a model)."""

import csv
import io
import json

import nbformat
import pytest

from lstm_lessons.cli import main
from lstm_lessons.instructor.course import (
    NO_HAND_IN,
    Gradebook,
    gradebook_csv,
)
from lstm_lessons.instructor.lms import (
    CANVAS_STUDENT_COLUMNS,
    MOODLE_STUDENT_COLUMNS,
    assignment_name,
    canvas_csv,
    moodle_csv,
    plain_csv,
)
from lstm_lessons.instructor.report import Grade
from lstm_lessons.instructor.roster import RosterError, Student, lesson_number, match_hand_ins, read_roster
from lstm_lessons.instructor.similarity import FLAG_SHARE, MIN_SHARED_CHARACTERS, write_similarity
from lstm_lessons.runner import NOTEBOOKS_DIR

L01, L06 = "01_learning_rate_oscillation", "06_leakage"
LESSONS = {"01": L01, "06": L06}

# --- the class --------------------------------------------------------------------------------
# Answers as data: lesson 01's learning rate (0.1 passes, 2 points; None and "fast" are 0 without
# training), lesson 06's gap (the reference passes, 2 points; the others are counted, no training).
PASS_01, PASS_06, WRONG_06 = 0.1, (11, 159), (8, 162)
CLASS = [  # key, name, section, answer 01 or "-" for no hand-in, answer 06 or "-"
    ("ada", "Ada Lovelace", "A", PASS_01, PASS_06),
    ("alan", "Alan Turing", "A", PASS_01, PASS_06),       # the original of the copied code
    ("bea", "Beatrice Shilling", "A", None, PASS_06),
    ("carl", "Carl Gauss", "A", "fast", WRONG_06),
    ("dora", "Dorothy Vaughan", "B", PASS_01, WRONG_06),  # the copy of alan's code
    ("emmy", "Emmy Noether", "B", None, "-"),             # no hand-in of lesson 06
    ("finn", "Finn Hale", "B", PASS_01, (0, 170)),
    ("grace", "Grace Hopper", "B", PASS_01, PASS_06),     # honest: her own sweep
    ("hedy", "Hedy Lamarr", "C", None, PASS_06),          # honest: her own table
    ("ida", "Ida Rhodes", "C", PASS_01, WRONG_06),
    ("joan", "Joan Clarke", "C", "-", PASS_06),           # no hand-in of lesson 01
    ("kat", "Katherine Johnson", "C", PASS_01, PASS_06),
]
ORIGINAL = ['''def learning_rate_sweep(rates, epochs=5):
    results = {}
    for rate in rates:
        history = []
        loss = 1.0
        for epoch in range(epochs):
            loss = loss * (1 - min(rate * 10, 0.9)) + rate * 0.05
            history.append(loss)
        results[rate] = history
    return results''', '''def best_rate(results):
    finals = {rate: values[-1] for rate, values in results.items()}
    return min(finals, key=finals.get)''', '''candidate_rates = [0.3, 0.1, 0.03, 0.01, 0.003]
sweep = learning_rate_sweep(candidate_rates, epochs=8)
chosen = best_rate(sweep)
print("chosen learning rate", chosen)''']
# The near-copy: every name changed, the two functions' cells in the other order.
COPY = ['''def pick(out):
    last = {lr: curve[-1] for lr, curve in out.items()}
    return min(last, key=last.get)''', '''def try_rates(lrs, n_epochs=5):
    out = {}
    for lr in lrs:
        curve = []
        value = 1.0
        for e in range(n_epochs):
            value = value * (1 - min(lr * 10, 0.9)) + lr * 0.05
            curve.append(value)
        out[lr] = curve
    return out''', '''my_rates = [0.3, 0.1, 0.03, 0.01, 0.003]
curves = try_rates(my_rates, n_epochs=8)
best = pick(curves)
print("my pick:", best)''']
# An honest pair: the same question, each in their own code.
OWN = {"grace": ['''import numpy as np

rates = np.logspace(-3, -0.5, 6)


def simulated_loss(rate, steps=10):
    x = 1.0
    trace = []
    for _ in range(steps):
        x = abs(x - rate * 2 * x)
        trace.append(x)
    return trace''', '''traces = {float(r): simulated_loss(r) for r in rates}
stable = [r for r, t in traces.items() if t[-1] < t[0]]
print(len(stable), "stable rates")'''],
       "hedy": ['''import pandas as pd

table = pd.DataFrame({"learning_rate": [0.5, 0.1, 0.05, 0.01]})
table["oscillates"] = table["learning_rate"] > 0.2
table["note"] = table["oscillates"].map({True: "too high", False: "fine"})
print(table.to_string(index=False))'''],
       "alan": ORIGINAL, "dora": COPY}


def hand_in(lesson: str, answer, own=()) -> nbformat.NotebookNode:
    """A student's notebook of ``lesson``: their own cells, then the answer and its check."""
    cells = [nbformat.v4.new_code_cell("import lstm_lessons as ll"), *map(nbformat.v4.new_code_cell, own)]
    if lesson == L01:
        cells += [nbformat.v4.new_code_cell(f"answer_learning_rate = {answer!r}"),
                  nbformat.v4.new_code_cell('ll.grading.check("01-stable-learning-rate", '
                                            'learning_rate=answer_learning_rate)')]
    else:
        cells += [nbformat.v4.new_code_cell(f"answer_gap, answer_windows = {answer[0]}, {answer[1]}"),
                  nbformat.v4.new_code_cell('ll.grading.check("06-gap", gap=answer_gap, '
                                            'validation_windows=answer_windows)')]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["lstm_lessons"] = {"lesson": lesson}
    return notebook


def expected_points(lesson: str, answer) -> int | None:
    if answer == "-":
        return None
    return 2 if answer == (PASS_01 if lesson == L01 else PASS_06) else 0


def make_class(folder):
    """The roster and the hand-ins folder: a folder per student, but ida's hand-ins lie in the
    hand-ins folder named by her login; plus a stranger's hand-in and a notebook naming no lesson."""
    roster = folder / "roster.csv"
    lines = ["Student ID,Name,Login,Email,Section"]
    lines += [f"s{100 + i},{name},{key},{key}@uni.example,{section}"
              for i, (key, name, section, _, _) in enumerate(CLASS)]
    roster.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")
    hand_ins = folder / "hand-ins"
    for key, _, _, a01, a06 in CLASS:
        for lesson, answer in ((L01, a01), (L06, a06)):
            if answer == "-":
                continue
            own = OWN.get(key, ()) if lesson == L01 else ()
            path = hand_ins / (f"{key}_{lesson}.ipynb" if key == "ida" else f"{key}/{lesson}.ipynb")
            path.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(hand_in(lesson, answer, own), path)
    (hand_ins / "zed").mkdir()
    nbformat.write(hand_in(L01, PASS_01), hand_ins / "zed" / f"{L01}.ipynb")
    nbformat.write(hand_in(L01, PASS_01), hand_ins / "ada" / "scratch.ipynb")
    (hand_ins / "ada" / ".ipynb_checkpoints").mkdir()
    nbformat.write(hand_in(L01, 0.5), hand_ins / "ada" / ".ipynb_checkpoints" / f"{L01}-checkpoint.ipynb")
    return roster, hand_ins


def table(path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"))))


# --- the roster and the matching (no grading) --------------------------------------------------


def test_the_roster_reads_its_columns_by_any_usual_header(tmp_path):
    roster, _ = make_class(tmp_path)
    students = read_roster(roster)
    assert [s.key for s in students] == [c[0] for c in CLASS]
    assert students[0] == Student("s100", "Ada Lovelace", "ada", "ada@uni.example", "A")
    only_email = tmp_path / "email.csv"
    only_email.write_text("id,full name,e-mail\n7,Zoe,zoe.smith@uni.example\n")
    (zoe,) = read_roster(only_email)
    assert zoe.key == "zoe.smith" and zoe.login == ""


@pytest.mark.parametrize(("text", "message"), [
    ("id,name,section\n1,A,x\n", "has no column login or email"),
    ("name,login\nA,a\n", "has no column id"),
    ("id,name,login\n1,A,a\n2,B,A\n", "line 3: the login 'a' is also on line 2"),
    ("id,name,login\n1,A,a\n1,B,b\n", "line 3: the id '1' is also on line 2"),
    ("id,name,login\n1,A,a b\n", "line 2: the key 'a b'"),
    ("id,name,login\n,A,a\n", "line 2: the student 'A' has no id"),
    ("id,name,login,email\n1,A,,\n", "line 2: the student '1' has neither a login nor an e-mail"),
    ("", "is empty"),
])
def test_a_roster_that_cannot_be_used_is_refused_with_the_line_and_value(tmp_path, text, message):
    path = tmp_path / "roster.csv"
    path.write_text(text)
    with pytest.raises(RosterError, match="roster=") as raised:
        read_roster(path)
    assert message in str(raised.value)


def test_lesson_numbers_stand_alone_in_a_file_name():
    assert [lesson_number(n) for n in ("01_learning_rate_oscillation.ipynb", "lesson06.ipynb",
                                       "2024_lesson03.ipynb", "final.ipynb", "v2.ipynb")] == \
        ["01", "06", "03", None, None]


def test_every_hand_in_goes_to_one_student_and_lesson_or_is_listed_with_the_reason(tmp_path):
    roster, hand_ins = make_class(tmp_path)
    students = read_roster(roster)
    matching = match_hand_ins(hand_ins, students, LESSONS)
    assert matching.hand_ins[L01]["ida"] == hand_ins / f"ida_{L01}.ipynb"
    assert matching.hand_ins[L01]["ada"] == hand_ins / "ada" / f"{L01}.ipynb"
    assert sorted(matching.hand_ins[L01]) == sorted(k for k, *_, a01, _ in CLASS if a01 != "-")
    assert matching.missing == {L01: ["joan"], L06: ["emmy"]}
    unmatched = {p.relative_to(hand_ins).as_posix(): why for p, why in matching.unmatched}
    assert unmatched == {f"zed/{L01}.ipynb": "no student on the roster has the login of 'zed'",
                         "ada/scratch.ipynb": "its name holds no two-digit lesson number (01 to 08)"}
    # A second notebook of the same lesson: neither is graded, both are named.
    nbformat.write(hand_in(L06, PASS_06), hand_ins / "ada" / "lesson06_final.ipynb")
    matching = match_hand_ins(hand_ins, students, LESSONS)
    assert "ada" not in matching.hand_ins[L06] and "ada" in matching.missing[L06]
    twice = [why for p, why in matching.unmatched if "ada handed in 2 notebooks of lesson 06" in why]
    assert len(twice) == 2
    # A lesson not asked for is not graded now, and says so.
    only_01 = match_hand_ins(hand_ins, students, {"01": L01})
    assert len(only_01.other_lessons) == 12 and {n for _, n in only_01.other_lessons} == {"06"}


# --- the gradebook and its exports (grades as data) ---------------------------------------------


def _book(students) -> Gradebook:
    def grade(key, lesson, points, status="graded"):
        return Grade(key, lesson, status, "", points, sum(points.values()), 4)

    grades = {L01: {"ada": grade("ada", L01, {"01-stable-learning-rate": 2, "01-plateau-schedule": 0}),
                    "alan": grade("alan", L01, {"01-stable-learning-rate": 0, "01-plateau-schedule": 0},
                                  "timeout")},
              L06: {"ada": grade("ada", L06, {"06-gap": 2, "06-optimism": 2})}}
    lessons = {L01: {"01-stable-learning-rate": 2, "01-plateau-schedule": 2},
               L06: {"06-gap": 2, "06-optimism": 2}}
    return Gradebook(students[:3], lessons, grades)


def test_the_gradebook_has_a_column_an_exercise_and_a_lesson_and_blank_cells_for_no_hand_in(tmp_path):
    roster, _ = make_class(tmp_path)
    rows = list(csv.DictReader(io.StringIO(gradebook_csv(_book(read_roster(roster))))))
    assert list(rows[0]) == ["id", "name", "login", "email", "section", "01-stable-learning-rate",
                             "01-plateau-schedule", "01 total", "01 status", "06-gap", "06-optimism",
                             "06 total", "06 status", "total", "max_total"]
    ada, alan, bea = rows
    assert (ada["01 total"], ada["06 total"], ada["total"], ada["max_total"]) == ("2", "4", "6", "8")
    assert (alan["01 status"], alan["06-gap"], alan["06 status"]) == ("timeout", "", NO_HAND_IN)
    assert alan["total"] == "0"
    assert bea["01 total"] == "" and bea["01 status"] == NO_HAND_IN


def test_canvas_and_moodle_files_have_their_documented_columns(tmp_path):
    roster, _ = make_class(tmp_path)
    book = _book(read_roster(roster))
    canvas = table_of(canvas_csv(book))
    # Canvas: its export's student columns; the Points Possible row; the roster's id as SIS User ID.
    assert canvas[0] == CANVAS_STUDENT_COLUMNS + [assignment_name(L01), assignment_name(L06)]
    assert CANVAS_STUDENT_COLUMNS == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
    assert assignment_name(L01) == "Lesson 01: learning rate oscillation"
    assert canvas[1] == ["Points Possible", "", "", "", "", "4", "4"]
    assert canvas[2] == ["Ada Lovelace", "", "s100", "ada", "A", "2", "4"]
    assert canvas[4] == ["Beatrice Shilling", "", "s102", "bea", "A", "", ""]
    moodle = table_of(moodle_csv(book))
    assert moodle[0] == ["ID number", "Email address", "Username", "Full name", assignment_name(L01),
                         assignment_name(L06)]
    assert moodle[0][:4] == MOODLE_STUDENT_COLUMNS
    assert moodle[2] == ["s101", "alan@uni.example", "alan", "Alan Turing", "0", ""]
    assert len({len(r) for r in canvas}) == 1 and len({len(r) for r in moodle}) == 1
    plain = table_of(plain_csv(book))
    assert plain[1][-4:] == ["2", "4", "6", "8"]


def table_of(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_a_name_that_looks_like_a_formula_is_text_in_every_export(tmp_path):
    students = [Student("1", "=HYPERLINK(\"http://x\")", "eve", "", "")]
    book = Gradebook(students, {L01: {"01-stable-learning-rate": 2}}, {})
    for text in (canvas_csv(book), moodle_csv(book), gradebook_csv(book)):
        assert "'=HYPERLINK" in text


# --- the similarity report (no grading) ---------------------------------------------------------


def test_planted_near_copies_are_the_top_pair_and_an_honest_pair_is_not_flagged(tmp_path):
    roster, hand_ins = make_class(tmp_path)
    matching = match_hand_ins(hand_ins, read_roster(roster), LESSONS)
    flagged, failed = write_similarity(matching.hand_ins, tmp_path / "out", NOTEBOOKS_DIR, hand_ins)
    assert failed == {}
    pairs = list(csv.DictReader(io.StringIO((tmp_path / "out" / "similarity.csv").read_text())))
    top = pairs[0]
    assert (top["lesson"], top["first"], top["second"], top["flagged"]) == (L01, "alan", "dora", "yes")
    assert float(top["first_share"]) >= FLAG_SHARE and float(top["second_share"]) >= FLAG_SHARE
    assert [(p.first, p.second) for p in flagged] == [("alan", "dora")]
    # The honest pair shares a line's worth; students who only typed the same answer share all of
    # their own code, and that is too little to say anything: neither is flagged.
    (honest,) = [p for p in pairs if {p["first"], p["second"]} == {"grace", "hedy"} and p["lesson"] == L01]
    assert max(float(honest["first_share"]), float(honest["second_share"])) < FLAG_SHARE / 2
    assert all(p["flagged"] == "" for p in pairs[1:])
    assert all(int(p["shared_characters"]) < MIN_SHARED_CHARACTERS for p in pairs[1:])
    report = (tmp_path / "out" / "similarity" / f"{L01}.html").read_text()
    assert "alan.py" in report and "dora.py" in report and "highlight-red" in report
    assert str(tmp_path) not in report


# --- graded for real: a dozen students, two lessons -------------------------------------------


@pytest.mark.slow
def test_a_class_is_graded_into_one_gradebook_and_a_regrade_changes_only_its_row(tmp_path, capsys):
    roster, hand_ins = make_class(tmp_path)
    out = tmp_path / "course"
    arguments = ["grade", str(hand_ins), "--roster", str(roster), "--lesson", "01", "--lesson", "06",
                 "--out", str(out), "--no-progress", "--timeout", "120"]
    assert main(arguments) == 0
    said = capsys.readouterr()
    assert "zed" in said.err and "Lesson 06: no hand-in from emmy" in said.out
    assert "Lesson 01: alan and dora share" in said.out
    rows = {r["login"]: r for r in csv.DictReader(io.StringIO((out / "gradebook.csv").read_text()))}
    assert list(rows) == [c[0] for c in CLASS]
    for key, _, _, a01, a06 in CLASS:
        points = [expected_points(L01, a01), expected_points(L06, a06)]
        assert rows[key]["01-stable-learning-rate"] == ("" if points[0] is None else str(points[0])), key
        assert rows[key]["06-gap"] == ("" if points[1] is None else str(points[1])), key
        assert rows[key]["total"] == str(sum(p or 0 for p in points)), key
        assert rows[key]["max_total"] == "8"
    assert rows["joan"]["01 status"] == NO_HAND_IN and rows["carl"]["06 status"] == "graded"
    # Each lesson's own folder, named by login; one training for the whole class.
    results = json.loads((out / "lessons" / L01 / "results.json").read_text())
    assert sorted(g["id"] for g in results["submissions"]) == sorted(k for k, *_, a, _ in CLASS if a != "-")
    assert (out / "lessons" / L06 / "feedback" / "carl.html").is_file()
    hand_in_rows = table(out / "hand-ins.csv")
    assert ["no hand-in", L01, "joan", "Joan Clarke handed in no notebook of lesson 01"] in hand_in_rows
    before = {name: table(out / name) for name in ("gradebook.csv", "canvas.csv", "moodle.csv", "totals.csv")}

    # carl corrects his lesson 06 answer; only he is graded again.
    nbformat.write(hand_in(L06, PASS_06), hand_ins / "carl" / f"{L06}.ipynb")
    assert main([*arguments, "--student", "carl"]) == 0
    for name, old in before.items():
        new = table(out / name)
        changed = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
        carl_row = next(i for i, r in enumerate(new) if "carl" in r or "carl@uni.example" in r)
        assert changed == [carl_row], name
    carl = {r["login"]: r for r in csv.DictReader(io.StringIO((out / "gradebook.csv").read_text()))}["carl"]
    assert (carl["06-gap"], carl["total"]) == ("2", "2")


def test_a_similarity_report_that_fails_costs_only_its_lesson(tmp_path, monkeypatch):
    from lstm_lessons.instructor import similarity

    roster, hand_ins = make_class(tmp_path)
    matching = match_hand_ins(hand_ins, read_roster(roster), LESSONS)
    real = similarity.compare

    def failing(lesson, own, template):
        if lesson == L06:
            raise RecursionError("a hostile notebook")
        return real(lesson, own, template)

    monkeypatch.setattr(similarity, "compare", failing)
    flagged, failed = write_similarity(matching.hand_ins, tmp_path / "out", NOTEBOOKS_DIR, hand_ins)
    assert failed == {L06: "RecursionError: a hostile notebook"}
    assert [(p.first, p.second) for p in flagged] == [("alan", "dora")]
    assert not (tmp_path / "out" / "similarity" / f"{L06}.html").exists()
