"""The course gradebook: a roster, hand-ins matched to students, a gradebook over two lessons,
its LMS exports, and the similarity report. A class of a dozen synthetic students whose hand-ins
record answers as data (no lesson is executed; one answer in the class trains a model)."""

import csv
import io
import json
import re
from pathlib import Path

import nbformat
import pytest

from lstm_lessons.cli import main
from lstm_lessons.instructor.course import (
    NO_HAND_IN,
    NOT_GRADED_YET,
    Gradebook,
    grade_course,
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
    ("id,name,login\n1,A,-a\n", "line 2: the key '-a'"),
    ("id,name,login\n=1+1,A,a\n", "line 2: the id '=1+1' starts with '='"),
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
                         "ada/scratch.ipynb": "its name holds the number of no lesson with exercises "
                                              "(01, 06)"}
    # A second notebook of the same lesson: neither is graded, both are named, and the student is
    # not said to have handed in nothing.
    nbformat.write(hand_in(L06, PASS_06), hand_ins / "ada" / "lesson06_final.ipynb")
    # What macOS's archives add, and a stranger whose name starts with a student's login.
    (hand_ins / "__MACOSX" / "ada").mkdir(parents=True)
    nbformat.write(hand_in(L06, PASS_06), hand_ins / "__MACOSX" / "ada" / f"{L06}.ipynb")
    nbformat.write(hand_in(L06, PASS_06), hand_ins / "ada" / f"._{L06}.ipynb")
    nbformat.write(hand_in(L06, PASS_06), hand_ins / f"ida_wells_{L06}.ipynb")
    # A student's folder that is a link elsewhere.
    (tmp_path / "elsewhere").mkdir()
    nbformat.write(hand_in(L01, PASS_01), tmp_path / "elsewhere" / f"{L01}.ipynb")
    (hand_ins / "Joan").symlink_to(tmp_path / "elsewhere")
    matching = match_hand_ins(hand_ins, students, LESSONS)
    assert "ada" not in matching.hand_ins[L06] and "ada" not in matching.missing[L06]
    twice = [why for p, why in matching.unmatched if "ada handed in 2 notebooks of lesson 06" in why]
    assert len(twice) == 2 and "neither is graded" in twice[0]
    unmatched = {p.relative_to(hand_ins).as_posix(): why for p, why in matching.unmatched}
    assert unmatched[f"ida_wells_{L06}.ipynb"] == \
        f"its name is no roster login, '_', then a lesson number ('ida_wells_{L06}.ipynb')"
    assert unmatched["Joan"].startswith("a symbolic link to a folder, not followed")
    assert not any("MACOSX" in name or "._" in name for name in unmatched)
    assert matching.hand_ins[L06]["ida"] == hand_ins / f"ida_{L06}.ipynb"


def test_a_login_is_found_whatever_its_case_and_names_the_grade_in_lower_case(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("id,name,login\n1,Ann,Ann.Lee\n")
    (student,) = read_roster(roster)
    assert student.key == "ann.lee" and student.login == "Ann.Lee"
    nbformat.write(hand_in(L01, PASS_01), tmp_path / "ANN.LEE-lesson01.ipynb")
    matching = match_hand_ins(tmp_path, [student], LESSONS)
    assert matching.hand_ins[L01] == {"ann.lee": tmp_path / "ANN.LEE-lesson01.ipynb"}



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


SAMPLES = Path(__file__).parent / "lms_samples"


def canvas_student_columns(header: list[str]) -> list[str]:
    """The student columns of a Canvas gradebook file, found as Canvas's importer finds them
    (``GradebookImporter``): the first cell holds ``Student``, the second ``ID``, and they end at
    the column holding ``Section``."""
    assert len(header) > 3 and "Student" in header[0] and "ID" in header[1], header
    return header[:next(i for i, h in enumerate(header) if "Section" in h) + 1]


def test_our_canvas_file_has_the_layout_of_canvass_own_export(tmp_path):
    roster, _ = make_class(tmp_path)
    ours = table_of(canvas_csv(_book(read_roster(roster))))
    sample = table(SAMPLES / "canvas_gradebook_export.csv")
    assert canvas_student_columns(ours[0]) == canvas_student_columns(sample[0])
    assert ours[1][0] == sample[1][0] == "Points Possible" and ours[1][1:5] == sample[1][1:5] == [""] * 4
    assert all(len(row) == len(ours[0]) for row in ours)
    assert all(cell == "" or float(cell) >= 0 for row in ours[1:] for cell in row[5:])


def test_our_moodle_file_has_the_user_columns_of_moodles_own_export(tmp_path):
    roster, _ = make_class(tmp_path)
    ours = table_of(moodle_csv(_book(read_roster(roster))))
    sample = table(SAMPLES / "moodle_grades_export.csv")
    # The columns "Map from" can find a user by, spelled as Moodle's export spells them.
    for column in ("ID number", "Email address"):
        assert column in sample[0] and column in ours[0]
    # Moodle refuses a file whose rows differ in length from its header (csvweirdcolumns).
    assert all(len(row) == len(ours[0]) for row in ours)
    assert all(cell == "" or float(cell) >= 0 for row in ours[1:] for cell in row[4:])


def test_a_grader_error_is_no_grade_in_the_lms_files(tmp_path):
    roster, _ = make_class(tmp_path)
    book = _book(read_roster(roster))
    book.grades[L01]["alan"].status = "grader-error"
    assert table_of(canvas_csv(book))[3][5] == "" and table_of(moodle_csv(book))[2][4] == ""
    assert table_of(gradebook_csv(book))[2][8] == "grader-error"


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

    reports = {name: (out / name).read_text() for name in ("hand-ins.csv", "similarity.csv")}

    # carl corrects his lesson 06 answer; only he and only that lesson are graded again.
    nbformat.write(hand_in(L06, PASS_06), hand_ins / "carl" / f"{L06}.ipynb")
    assert main([*arguments[:4], "--lesson", "06", *arguments[8:], "--student", "CARL"]) == 0
    said = capsys.readouterr().out
    assert "Lesson 06: 1 graded" in said and "Lesson 01: 1 graded" not in said, said
    # The lists of the other lesson and of the other students stay (carl's new notebook is compared anew).
    assert (out / "hand-ins.csv").read_text() == reports["hand-ins.csv"]
    def without_carl(text):
        return [row for row in table_of(text) if "carl" not in row]
    assert without_carl((out / "similarity.csv").read_text()) == without_carl(reports["similarity.csv"])
    for name, old in before.items():
        new = table(out / name)
        changed = [i for i, (a, b) in enumerate(zip(old, new, strict=True)) if a != b]
        carl_row = next(i for i, r in enumerate(new) if "carl" in r or "carl@uni.example" in r)
        assert changed == [carl_row], name
    carl = {r["login"]: r for r in csv.DictReader(io.StringIO((out / "gradebook.csv").read_text()))}["carl"]
    assert (carl["06-gap"], carl["total"]) == ("2", "2")


def test_code_that_more_than_ten_hand_ins_share_is_no_evidence(tmp_path):
    # MOSS's -m 10: a short, constrained answer that a whole class writes alike (each with its own
    # names) flags nobody; the planted copy among them still does.
    hand_ins = tmp_path / "hand-ins"
    constrained = """model = keras.Sequential([keras.Input((12, 1)), keras.layers.LSTM(16),
                           keras.layers.Dense(1)])
model.compile(optimizer=keras.optimizers.Adam({rate}), loss="mse")
history = model.fit(x_train, y_train, epochs=20, batch_size=32, validation_data=(x_val, y_val))
plt.plot(history.history["loss"], label="training")
plt.plot(history.history["val_loss"], label="validation")
plt.legend()"""
    students, paths = [], {}
    for i in range(14):
        key = f"s{i:02d}"
        code = constrained.format(rate=[0.01, 0.003, 0.001][i % 3]).replace("model", f"net{i}")
        own = [code] + (ORIGINAL if i == 0 else COPY if i == 1 else [])
        paths[key] = hand_ins / key / f"{L01}.ipynb"
        paths[key].parent.mkdir(parents=True)
        nbformat.write(hand_in(L01, PASS_01, own), paths[key])
        students.append(Student(str(i), key, key))
    flagged, _ = write_similarity({L01: paths}, tmp_path / "out", NOTEBOOKS_DIR, hand_ins)
    assert [(p.first, p.second) for p in flagged] == [("s00", "s01")]


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


def test_ctrl_c_keeps_the_gradebook_of_what_was_graded(tmp_path, monkeypatch):
    # Lesson 01 was graded before (its grades as data); lesson 06 is interrupted as it starts.
    from lstm_lessons.instructor.grader import Grader
    from lstm_lessons.instructor.report import write_tables

    roster, hand_ins = make_class(tmp_path)
    out = tmp_path / "course"
    exercises = {"01-stable-learning-rate": 2, "01-plateau-schedule": 2}
    ada = Grade("ada", L01, "graded", "", {"01-stable-learning-rate": 2, "01-plateau-schedule": 0}, 2, 4)
    write_tables(out / "lessons" / L01, L01, exercises, [ada], limits={})

    def interrupted(self, submissions, ids=None, root=None):
        raise KeyboardInterrupt

    monkeypatch.setattr(Grader, "grade", interrupted)
    with pytest.raises(KeyboardInterrupt):
        grade_course(hand_ins, roster, out, lessons=["06"], sandbox=False, progress=False)
    rows = {r["login"]: r for r in csv.DictReader(io.StringIO((out / "gradebook.csv").read_text()))}
    assert (rows["ada"]["01 total"], rows["ada"]["total"]) == ("2", "2")
    assert rows["ada"]["06 status"] == NOT_GRADED_YET
    assert rows["emmy"]["06 status"] == NO_HAND_IN
    # The LMS files carry the lesson graded, not the one stopped before any grade.
    assert table(out / "canvas.csv")[0][5:] == [assignment_name(L01)]
    listed = table(out / "hand-ins.csv")
    assert ["no hand-in", L06, "emmy", "Emmy Noether handed in no notebook of lesson 06"] in listed


def test_a_grader_that_cannot_start_leaves_every_hand_in_not_graded_yet(tmp_path):
    from lstm_lessons.instructor.grader import GradingError

    roster, hand_ins = make_class(tmp_path)
    out = tmp_path / "course"
    with pytest.raises(GradingError, match="timeout"):
        grade_course(hand_ins, roster, out, timeout=0, sandbox=False, progress=False)
    rows = {r["login"]: r for r in csv.DictReader(io.StringIO((out / "gradebook.csv").read_text()))}
    # No --lesson: the lessons handed in, not every lesson of the course.
    assert [c for c in rows["ada"] if c.endswith("status")] == ["01 status", "06 status"]
    assert (rows["ada"]["01 status"], rows["joan"]["01 status"]) == (NOT_GRADED_YET, NO_HAND_IN)
    assert table(out / "canvas.csv")[0] == CANVAS_STUDENT_COLUMNS     # no grade: no lesson column
    assert ["not graded yet", L01, "ada", "Ada Lovelace's notebook of lesson 01 has no grade yet: grade it "
            "(--student ada --lesson 01)"] in table(out / "hand-ins.csv")


def test_a_hand_in_that_is_no_file_is_its_students_refusal_and_a_student_without_one_is_named(tmp_path):
    import os

    roster, hand_ins = make_class(tmp_path)
    os.mkfifo(hand_ins / "joan" / f"{L01}.ipynb")    # would block a reader for ever
    out = tmp_path / "course"
    run = grade_course(hand_ins, roster, out, lessons=["01"], students=["joan"], sandbox=False,
                       progress=False, similarity=False)
    (joan,) = run.graded[L01]
    assert (joan.id, joan.status, joan.total) == ("joan", "refused", 0)
    assert "not a regular file" in joan.message
    run = grade_course(hand_ins, roster, out, lessons=["06"], students=["emmy"], sandbox=False,
                       progress=False, similarity=False)
    assert run.graded == {} and run.notices == ["lesson 06: emmy handed in no notebook of it"]


def test_the_hand_outs_cells_in_every_hand_in_are_no_evidence(tmp_path):
    # Every student keeps the hand-out's code cells, one of them edited; only the copy is flagged.
    template = nbformat.read(NOTEBOOKS_DIR / f"{L01}.ipynb", as_version=4)
    cells = [c.source for c in template.cells if c.cell_type == "code"]
    hand_ins, paths = tmp_path / "hand-ins", {}
    for key, own in [("alan", ORIGINAL), ("dora", COPY), *OWN.items(), ("ada", []), ("bea", [])]:
        edited = [cells[0] + f"\nprint('{key}')", *cells[1:]]
        paths[key] = hand_ins / key / f"{L01}.ipynb"
        paths[key].parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(hand_in(L01, PASS_01, [*edited, *own]), paths[key])
    flagged, _ = write_similarity({L01: paths}, tmp_path / "out", NOTEBOOKS_DIR, hand_ins)
    assert [(p.first, p.second) for p in flagged] == [("alan", "dora")]
    report = (tmp_path / "out" / "similarity" / f"{L01}.html").read_text()
    assert re.search(r"/tmp/tmp\w+", report) is None


def test_a_gradebook_exported_from_canvas_or_moodle_reads_as_a_roster():
    canvas = read_roster(SAMPLES / "canvas_gradebook_export.csv")     # its Points Possible row skipped
    assert canvas == [Student("s100", "Lovelace, Ada", "ada", "", "Section A"),
                      Student("s101", "Turing, Alan", "alan", "", "Section A")]   # SIS User ID, not ID
    moodle = read_roster(SAMPLES / "moodle_grades_export.csv")
    assert [(s.id, s.name, s.key) for s in moodle] == [("s100", "Ada Lovelace", "ada"),
                                                      ("s101", "Alan Turing", "alan")]
