"""The grader: submissions, limits, reports, and its exact results on the fake-submission corpus."""

import hashlib
import importlib.util
import json
import os
import platform
import re
import site
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from conftest import sandbox_problem
from grading_corpus.build_corpus import ATTACK_FILE, PORTS

from lstm_lessons.cli import main
from lstm_lessons.instructor.grader import Grader, GradingError
from lstm_lessons.instructor.limits import run_limited
from lstm_lessons.instructor.report import (
    Grade,
    ResultsFileError,
    feedback_html,
    feedback_notebook,
    grades_csv,
    read_earlier,
)
from lstm_lessons.instructor.sandbox_check import listen
from lstm_lessons.instructor.submissions import (
    SubmissionError,
    common_folder,
    lesson_of,
    linked_folder,
    prepare,
    submission_ids,
)
from lstm_lessons.runner import available_lessons

CORPUS = Path(__file__).resolve().parent / "grading_corpus"
LESSON = "01_learning_rate_oscillation"
EX1, EX2 = "01-stable-learning-rate", "01-plateau-schedule"

# status, points of exercise 1, points of exercise 2, a phrase of the message
EXPECTED = {
    "full_marks": ("graded", 2, 2, "2 of 2 exercises passed"),
    "computed_answer": ("graded", 2, 2, "2 of 2 exercises passed"),
    "partial": ("graded", 2, 0, "1 of 2 exercises passed"),
    "empty": ("graded", 0, 0, "0 of 2 exercises passed"),
    "invalid_answer": ("graded", 0, 0, "0 of 2 exercises passed"),
    "syntax_error": ("error", 0, 0, "raised SyntaxError"),
    "exception_midway": ("error", 0, 0, "raised RuntimeError: my model diverged"),
    "infinite_loop": ("timeout", 0, 0, "still running after 120 s"),
    "memory_hog": ("memory", 0, 0, "more than the memory limit of"),
    "os_exit": ("kernel-died", 0, 0, "the kernel died"),
    "kills_worker": ("kernel-died", 0, 0, "worker was killed (signal 9)"),
    "tamper_check": ("graded", 0, 0, "0 of 2 exercises passed"),
    "fake_success": ("graded", 0, 0, "0 of 2 exercises passed"),
    "edited_record": ("graded", 0, 0, "0 of 2 exercises passed"),
    "writes_output_dir": ("graded", 0, 0, "0 of 2 exercises passed"),
    "corrupted": ("not-a-notebook", 0, 0, "not valid JSON"),
    "other_lesson": ("wrong-lesson", 0, 0, "for lesson '02_stagnant_loss'"),
    # Attacks on the instructor's machine, stopped by the sandbox (see the corpus test).
    "edits_package": ("error", 0, 0, "raised OSError: [Errno 30] Read-only file system"),
    "writes_site_packages": ("graded", 0, 0, "0 of 2 exercises passed"),
    "edits_keras": ("graded", 0, 0, "0 of 2 exercises passed"),
    "opens_connection": ("graded", 0, 0, "0 of 2 exercises passed"),
    "reads_outside": ("graded", 0, 0, "0 of 2 exercises passed"),
    "detaches_process": ("graded", 2, 2, "2 of 2 exercises passed"),
    "fills_disk": ("graded", 0, 0, "0 of 2 exercises passed"),
    "forges_report": ("graded", 0, 0, "0 of 2 exercises passed"),
    # Hand-in data that once stopped everyone's grading: this hand-in's row alone.
    "huge_answer": ("graded", 0, 2, "1 of 2 exercises passed"),
    "list_id": ("graded", 0, 0, "0 of 2 exercises passed"),
    "breaks_schema": ("not-a-notebook", 0, 0, "not a well-formed Jupyter notebook"),
    # Limits a hand-in walks around without a cgroup: the kernel's limits stop them.
    "memfd_hog": ("memory", 0, 0, "held more than the memory limit of 1820 MiB (its processes, its files"),
    "many_files": ("memory", 0, 0, "held more than the memory limit of 1820 MiB (its processes, its files"),
    "thread_bomb": ("error", 0, 0, "raised RuntimeError: can't start new thread"),
}
NEED_CGROUP = ("memfd_hog", "many_files")
"""Hand-ins only a cgroup stops (without one, the corpus test leaves them out: on the instructor's
machine they would hold gigabytes)."""
SURVIVOR = "4711.5"
"""The argument of the `sleep` that detaches_process starts."""


def write_notebook(path, cells=(), lesson=LESSON):
    notebook = nbformat.v4.new_notebook(cells=list(cells))
    if lesson:
        notebook.metadata.lstm_lessons = {"lesson": lesson}
    nbformat.write(notebook, path)
    return path


# --- submissions -------------------------------------------------------------------------------

def test_ids_are_file_names_or_relative_paths_when_names_repeat(tmp_path):
    for name in ("alice/01.ipynb", "bob/01.ipynb", "carol d.ipynb"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("{}")
    [carol] = submission_ids([tmp_path / "carol d.ipynb"])
    assert re.fullmatch(r"carol_d-[0-9a-f]{8}", carol)            # a character was replaced
    nested = [tmp_path / "alice/01.ipynb", tmp_path / "bob/01.ipynb"]
    assert submission_ids(nested) == ["alice--01", "bob--01"]
    with pytest.raises(SubmissionError, match="not found or not a file: .*nobody.ipynb"):
        submission_ids([tmp_path / "nobody.ipynb"])
    with pytest.raises(SubmissionError, match="given twice"):
        submission_ids([tmp_path / "carol d.ipynb", tmp_path / "alice/../carol d.ipynb"])
    # A file name is the hand-in's: an escape sequence in it reaches no terminal.
    (tmp_path / "eve\x1b]0;owned\x07.ipynb").write_text("{}")
    for given in ([tmp_path / "eve\x1b[2Jgone.ipynb"],
                  [tmp_path / "eve\x1b]0;owned\x07.ipynb", tmp_path / "alice/../eve\x1b]0;owned\x07.ipynb"]):
        with pytest.raises(SubmissionError) as raised:
            submission_ids(given)
        message = str(raised.value)
        assert "\x1b" not in message and "\x07" not in message and "eve" in message


def test_names_that_give_one_id_are_both_kept_with_distinct_ids(tmp_path):
    import unicodedata

    names = [unicodedata.normalize(form, "Zoë.ipynb") for form in ("NFC", "NFD")] + ["Zo_.ipynb"]
    for name in names:
        (tmp_path / name).write_text("{}")
    ids = submission_ids([tmp_path / n for n in names])
    assert len(set(ids)) == 3 and all(re.fullmatch(r"[A-Za-z0-9._-]+", i) for i in ids)
    assert ids[0].startswith("Zo_-") and ids[2] == "Zo_"                # renamed ones get a hash
    # Each keeps its identifier when graded alone: a regrade replaces no other student's row.
    assert [submission_ids([tmp_path / n])[0] for n in names] == ids
    (tmp_path / f"{ids[0]}.ipynb").write_text("{}")                     # named like a hashed id
    with pytest.raises(SubmissionError, match="share the identifier"):
        submission_ids([tmp_path / names[0], tmp_path / f"{ids[0]}.ipynb"])


def test_a_symbolic_link_or_a_file_over_the_size_limit_is_refused_unread(tmp_path):
    (tmp_path / "instructor").mkdir()
    secret = write_notebook(tmp_path / "instructor" / "solution.ipynb")
    hand_in = tmp_path / "hand-in"
    hand_in.mkdir()
    (hand_in / "mallory.ipynb").symlink_to(secret)
    (hand_in / "dangling.ipynb").symlink_to(tmp_path / "nowhere.ipynb")
    ids = submission_ids([hand_in / "mallory.ipynb", hand_in / "dangling.ipynb"])
    assert ids == ["mallory", "dangling"]                   # its own name, not the target's
    for name in ("mallory", "dangling"):
        status, message, text = prepare(hand_in / f"{name}.ipynb", LESSON)
        assert (status, text) == ("refused", None) and "symbolic link" in message
    big = write_notebook(hand_in / "big.ipynb", [nbformat.v4.new_markdown_cell("x" * 2**20)])
    status, message, _ = prepare(big, LESSON, max_mb=0.5)
    assert status == "refused" and "more than the limit of 0.5 MiB (--max-mb)" in message
    assert prepare(big, LESSON, max_mb=2)[0] == "ready"


def test_a_linked_folder_below_the_collection_or_a_hard_link_is_refused_unread(tmp_path):
    # A student's folder that is a link to the instructor's, or a second name of the
    # instructor's file: the file itself is no link, so O_NOFOLLOW alone would open it.
    instructor = tmp_path / "instructor"
    instructor.mkdir()
    write_notebook(instructor / "01.ipynb")
    collection = tmp_path / "collection"
    (collection / "hand-in" / "alice").mkdir(parents=True)
    write_notebook(collection / "hand-in" / "alice" / "01.ipynb")
    (collection / "hand-in" / "mallory").symlink_to(instructor)
    (collection / "hand-in" / "eve.ipynb").hardlink_to(instructor / "01.ipynb")
    paths = [collection / "hand-in" / "alice" / "01.ipynb", collection / "hand-in" / "mallory" / "01.ipynb",
             collection / "hand-in" / "eve.ipynb"]
    root = common_folder(paths)
    assert root == collection / "hand-in"
    assert prepare(paths[0], LESSON, root=root)[0] == "ready"
    status, message, text = prepare(paths[1], LESSON, root=root)
    assert (status, text) == ("refused", None) and "its folder 'mallory' is a symbolic link" in message
    status, message, text = prepare(paths[2], LESSON, root=root)
    assert (status, text) == ("refused", None) and "2 names on this disk (hard links)" in message
    # A link above the collection folder is the instructor's own (/tmp on macOS): followed.
    (tmp_path / "via").symlink_to(collection)
    above = tmp_path / "via" / "hand-in" / "alice" / "01.ipynb"
    assert prepare(above, LESSON, root=common_folder([above]))[0] == "ready"
    assert linked_folder(above, tmp_path / "via" / "hand-in") is None


def test_notebooks_that_tools_write_with_small_schema_departures_are_graded(tmp_path):
    """Only what execution and the page need is enforced: a cell's source must be text."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# mine")])
    notebook.metadata.kernelspec = {"name": "python3"}                  # no display_name
    notebook.metadata.lstm_lessons = {"lesson": LESSON}
    notebook.cells[0]["outputs"], notebook.cells[0]["execution_count"] = [], None   # was a code cell
    path = tmp_path / "odd.ipynb"
    path.write_text(nbformat.writes(notebook, version=nbformat.NO_CONVERT))
    assert prepare(path, LESSON)[0] == "ready"
    fifo = tmp_path / "fifo.ipynb"
    os.mkfifo(fifo)
    assert prepare(fifo, LESSON)[:2] == ("refused", "not read: not a regular file")


def test_lesson_comes_from_metadata_or_from_the_exercise_cells(tmp_path):
    assert lesson_of(nbformat.read(available_lessons()[LESSON], as_version=4)) == LESSON
    cell = nbformat.v4.new_code_cell("x = 1", metadata={"lstm_lessons": {"exercise": EX1}})
    assert lesson_of(nbformat.v4.new_notebook(cells=[cell])) == LESSON
    assert lesson_of(nbformat.v4.new_notebook()) is None


def test_prepare_refuses_other_files_and_clears_stored_outputs(tmp_path):
    (tmp_path / "essay.ipynb").write_text("Dear grader,")
    assert prepare(tmp_path / "essay.ipynb", LESSON)[0::2] == ("not-a-notebook", None)
    write_notebook(tmp_path / "nameless.ipynb", lesson=None)
    status, message, text = prepare(tmp_path / "nameless.ipynb", LESSON)
    assert status == "wrong-lesson" and "names no lesson" in message and text is None
    cell = nbformat.v4.new_code_cell("print(1)", execution_count=7,
                                     outputs=[nbformat.v4.new_output("stream", text="forged")])
    write_notebook(tmp_path / "stored.ipynb", [cell])
    status, message, text = prepare(tmp_path / "stored.ipynb", LESSON)
    assert (status, message) == ("ready", "")
    clean = nbformat.reads(text, as_version=4).cells[0]
    assert clean.outputs == [] and clean.execution_count is None and clean.source == "print(1)"


# --- limits ------------------------------------------------------------------------------------

def test_run_limited_stops_a_command_at_the_time_limit_with_its_children():
    outcome = run_limited(["sh", "-c", "sleep 60 & sleep 60"], timeout=1, memory_mb=1000)
    assert outcome.limit == "timeout" and outcome.returncode < 0      # killed, not waited for
    leftovers = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "60"]]
    assert leftovers == []


def test_run_limited_stops_a_memory_hog():
    hog = "x = []\nwhile True:\n    x.append(bytearray(50 * 2**20))"
    outcome = run_limited([sys.executable, "-c", hog], timeout=60, memory_mb=300)
    assert outcome.limit == "memory" and outcome.peak_mb > 300 and outcome.returncode < 0


def test_run_limited_reports_a_normal_end_and_refuses_bad_limits():
    outcome = run_limited([sys.executable, "-c", "raise SystemExit(3)"], timeout=30, memory_mb=1000)
    assert (outcome.returncode, outcome.limit) == (3, None)
    with pytest.raises(ValueError, match="timeout must be > 0 seconds. Received: 0"):
        run_limited(["true"], timeout=0, memory_mb=10)


# --- reports -----------------------------------------------------------------------------------

def grade_of(id_="alice", status="graded", points=(2, 0)):
    checks = {EX1: {"max_points": 2, "message": "ok <b>", "hint": ""},
              EX2: {"max_points": 2, "message": "too jumpy", "hint": "smaller steps"}}
    return Grade(id_, LESSON, status, "ran", dict(zip((EX1, EX2), points, strict=True)), sum(points), 4,
                 seconds=12.34, checks=checks)


def test_grades_csv_has_one_column_an_exercise():
    lines = grades_csv([grade_of()], [EX1, EX2]).splitlines()
    assert lines == [f"id,lesson,status,{EX1},{EX2},total,max_total,seconds,message",
                     f"alice,{LESSON},graded,2,0,2,4,12.3,ran"]


def test_feedback_puts_a_summary_first_and_a_verdict_after_each_check():
    record = {"id": EX2, "answer": {"factor": 0.5, "patience": 2}, "points": 2, "max_points": 2}
    cell = nbformat.v4.new_code_cell("check()", outputs=[nbformat.v4.new_output(
        "display_data", data={"application/vnd.lstm-lessons.exercise+json": record})])
    notebook = feedback_notebook(grade_of(), nbformat.v4.new_notebook(cells=[cell]))
    sources = [c.source for c in notebook.cells]
    assert sources[0].startswith("# Grader feedback: alice") and "**2 / 4 points**" in sources[0]
    assert "| ok \\<b\\> |" in sources[0]          # escaped: shown as text when rendered (next test)
    assert sources[1] == "check()"
    assert sources[2] == f"**Grader: {EX2}: 0 / 2 points.** too jumpy *Hint:* smaller steps"


def test_the_feedback_page_renders_markdown_and_runs_nothing_from_the_submission():
    student = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("## My notes\n\nA **bold** claim, `a -> b`, <script>alert(1)</script> "
                                      "<img src=x onerror=alert(2)> [link](javascript:alert(3))"),
        nbformat.v4.new_code_cell("show()", outputs=[nbformat.v4.new_output("display_data", data={
            "text/plain": "plain", "application/javascript": "alert(4)",
            "text/html": "<b>html</b><script>alert(5)</script>"})])])
    grade = grade_of()
    grade.message = "cell raised ValueError: a | b\nc"
    page = feedback_html(grade, student)
    body = page[page.index("<main>"):]               # the notebook, after the template's own scripts
    # Markdown is rendered: the summary's heading and table, the student's heading, bold and code.
    assert '<h1 id="Grader-feedback:-alice">' in body and "<th>exercise</th>" in body
    assert "<td>ok &lt;b&gt;</td>" in body and "ValueError: a | b c" in body
    assert '<h2 id="My-notes">' in body and "<strong>bold</strong>" in body
    assert "<code>a -&gt; b</code>" in body
    # Nothing the submission wrote can run: its HTML is text, its links and scripts are gone.
    assert "<script" not in body and "<img" not in body and "javascript:" not in body
    assert "alert(4)" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_an_earlier_results_file_of_another_lesson_is_refused(tmp_path):
    assert read_earlier(tmp_path, LESSON) == []
    (tmp_path / "results.json").write_text(json.dumps({"lesson": "02_stagnant_loss", "submissions": []}))
    with pytest.raises(ResultsFileError, match="holds grades of lesson '02_stagnant_loss'"):
        read_earlier(tmp_path, LESSON)
    (tmp_path / "results.json").write_text("{")
    with pytest.raises(ResultsFileError, match="not a results file"):
        read_earlier(tmp_path, LESSON)


@pytest.mark.parametrize(("options", "message"), [
    ({"workers": 0}, r"workers=0 is not allowed: workers \(hand-ins graded at once\) must be an integer "
                     "with value > 0."),
    ({"workers": 1.5}, "workers=1.5 is not allowed: .* must be an integer with value > 0."),
    ({"timeout": -5}, r"timeout=-5 is not allowed: timeout \(a limit in seconds or MiB\) must be a number "
                      "with value > 0."),
    ({"memory_mb": "lots"}, "memory_mb='lots' is not allowed: .* must be a number with value > 0."),
])
def test_grader_refuses_bad_limits_before_anything_runs(tmp_path, options, message):
    with pytest.raises(GradingError, match=message):
        Grader("01", tmp_path, **options)


def test_cli_usage_errors_exit_2(tmp_path, capsys):
    assert main(["grade", str(CORPUS / "full_marks.ipynb"), "--lesson", "99", "--out", str(tmp_path)]) == 2
    assert "Unknown lesson '99'" in capsys.readouterr().err
    assert main(["grade", str(tmp_path / "missing.ipynb"), "--lesson", "01", "--out", str(tmp_path)]) == 2
    assert "not found" in capsys.readouterr().err
    assert not (tmp_path / "grades.csv").exists()


# --- the corpus --------------------------------------------------------------------------------

def grade_cli(submissions, cwd, *options, env=None):
    """Run `lstm-lessons grade` as an instructor would, from ``cwd`` with ``--out grades``."""
    command = [sys.executable, "-m", "lstm_lessons", "grade", *map(str, submissions), "--lesson", "01",
               "--out", "grades", "--no-progress", *options]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=1800, env=env)


def rows(out: Path) -> dict[str, dict]:
    import csv

    with open(out / "grades.csv", newline="") as f:
        return {row["id"]: row for row in csv.DictReader(f)}


def fingerprint(*folders: Path) -> dict[str, tuple]:
    """Every file below ``folders``: (size, modification time, SHA-256 of the content for files up
    to 1 MiB). Compiled bytecode is left out: the grader's own processes write it legitimately."""
    found = {}
    for folder in folders:
        for path in [folder] if folder.is_file() else folder.rglob("*"):
            if "__pycache__" in path.parts or not path.is_file() or path.is_symlink():
                continue
            stat = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if stat.st_size <= 2**20 else ""
            found[str(path)] = (stat.st_size, stat.st_mtime_ns, digest)
    return found


@pytest.fixture
def machine_guard():
    """The corpus attacks site-packages and Keras in this environment: remove or undo what they
    did whatever the grader did, and fail if they did anything."""
    folders = [Path(p) for p in site.getsitepackages()]
    keras_file = Path(importlib.util.find_spec("keras").origin)
    keras_original = keras_file.read_bytes()
    yield
    planted = [path for folder in folders for path in folder.glob(f"*{ATTACK_FILE}*")]
    for path in planted:
        path.unlink()
    keras_edited = keras_file.read_bytes() != keras_original
    keras_file.write_bytes(keras_original)
    assert not planted and not keras_edited, (planted, keras_edited)


def survivors() -> list:
    return [p for p in psutil.process_iter(["cmdline"]) if SURVIVOR in (p.info["cmdline"] or [])]


@pytest.mark.slow
@pytest.mark.serial
def test_corpus_grades_are_exactly_as_expected_in_the_sandbox_and_the_machine_is_untouched(
        tmp_path, sandbox, package_guard, machine_guard):
    from lstm_lessons.data import DATA_DIR
    from lstm_lessons.instructor.integrity import PACKAGE_DIR
    from lstm_lessons.runner import NOTEBOOKS_DIR

    # The hand-ins side by side in one folder, as an instructor collects them; a "solutions"
    # file in the instructor's home (HOME points to it); a secret in the environment; a server
    # on 127.0.0.1. The infinite loop first: its time limit then runs beside the other hand-ins.
    hand_in, home = tmp_path / "hand-in", tmp_path / "home"
    hand_in.mkdir()
    home.mkdir()
    (home / "solutions.txt").write_text("learning rate: 0.1")
    from lstm_lessons.instructor.confinement import find_confinement

    expected = {i: e for i, e in EXPECTED.items() if find_confinement().limits_memory or i not in NEED_CGROUP}
    for path in CORPUS.glob("*.ipynb"):
        if path.stem in expected:
            (hand_in / path.name).write_bytes(path.read_bytes())
    submissions = sorted(hand_in.glob("*.ipynb"), key=lambda p: (p.stem != "infinite_loop", p.stem))
    assert {p.stem for p in submissions} == set(expected)
    assert {p.stem for p in CORPUS.glob("*.ipynb")} == set(EXPECTED)
    server, received = listen(range(*PORTS))   # a port the corpus's connection attack tries
    # (Not the whole home: the grader's own checks, outside the sandbox, cache fonts there.)
    watched = [Path(sys.prefix), PACKAGE_DIR, DATA_DIR, NOTEBOOKS_DIR, hand_in, home / "solutions.txt"]
    before = fingerprint(*watched)
    env = {**os.environ, "HOME": str(home), "INSTRUCTOR_API_TOKEN": "token-of-the-instructor"}
    try:
        # 120 s: the infinite loop must reach it, and no other hand-in may, even on a machine several
        # times slower (here a normal hand-in takes 4-8 s, many_files 14 s). The infinite loop goes
        # first, so the other worker grades the rest meanwhile.
        run = grade_cli(submissions, tmp_path, "--workers", "2", "--timeout", "120", "--memory-mb", "1500",
                        "--disk-mb", "256", env=env)
    finally:
        server.close()
    assert run.returncode == 0, run.stderr
    out = tmp_path / "grades"
    table = rows(out)
    got = {i: (r["status"], int(r[EX1]), int(r[EX2])) for i, r in table.items()}
    assert got == {i: e[:3] for i, e in expected.items()}
    for i, want in expected.items():
        assert want[3] in table[i]["message"], (i, table[i]["message"])
        assert int(table[i]["total"]) == want[1] + want[2]
    # Nothing outside the hand-ins' sandboxes changed, heard from them or outlived them.
    assert fingerprint(*watched) == before
    assert received == []
    assert survivors() == []
    # What each attack saw, in its own feedback page.
    # (The pages as text, tags removed: the cells' source holds the words its outputs would.)
    feedback = {i: re.sub(r"<[^>]+>", "", (out / "feedback" / f"{i}.html").read_text()) for i in expected}
    assert "could not write into site-packages: [Errno 30] Read-only file system" in \
           feedback["writes_site_packages"]
    assert "could not edit Keras: [Errno 30] Read-only file system" in feedback["edits_keras"]
    assert "sent data to ports: none" in feedback["opens_connection"]
    assert "variables that look secret: none" in feedback["reads_outside"]
    assert "read /" not in feedback["reads_outside"] and "copied from /" not in feedback["reads_outside"]
    assert "token-of-the-instructor" not in feedback["reads_outside"]
    assert "started a detached process" in feedback["detaches_process"]
    # Listing the worker's files may work (as root), opening them does not: it is non-dumpable.
    assert "could not list the worker's files: Permission denied" in feedback["forges_report"] or \
           "wrote into 0 of the worker's" in feedback["forges_report"], feedback["forges_report"][-2000:]
    filled = re.search(r"stopped after (\d+) MiB: No space left on device", feedback["fills_disk"])
    assert filled and int(filled.group(1)) <= 256, feedback["fills_disk"][-3000:]
    assert "forged the grades in /" not in feedback["writes_output_dir"]   # it found no output folder
    assert "Grader feedback: full_marks" in feedback["full_marks"]
    # The thread bomb met the task limit (a cgroup's refusals are counted; RLIMIT_NPROC's are not).
    assert "started 100000 threads" not in feedback["thread_bomb"]
    # The hand-in data that once stopped everyone's grading: each named in its own page only.
    assert "invalid answer: learning_rate=1000000" in feedback["huge_answer"]
    assert "0" * 400 not in feedback["huge_answer"].split("answer_learning_rate")[-1]
    assert "Grader feedback: list_id" in feedback["list_id"]
    assert "cell 0 ('markdown') has a source of type object, not text" in table["breaks_schema"]["message"]
    results = json.loads((out / "results.json").read_text())
    assert results["lesson"] == LESSON and len(results["submissions"]) == len(expected)
    assert results["sandbox"] is True and all(g["sandbox"] for g in results["submissions"])
    assert results["limits"]["confinement"] == find_confinement().kind
    assert results["package_repairs"] == []          # the package was never writable
    # Every trained check says where it ran: on this machine, the kind that checked its exercise.
    from lstm_lessons.machine import kind

    checked_on = results["checked_on"]
    assert set(checked_on) == {EX1, EX2} and all(k["hosts"] == [platform.node()] for k in checked_on.values())
    full = next(g for g in results["submissions"] if g["id"] == "full_marks")
    for exercise, check in full["checks"].items():
        assert check["environment"]["host"] == platform.node()
        assert kind(check["environment"]) == kind(checked_on[exercise]), (check["environment"], checked_on)
    assert sorted(p.name for p in (out / "feedback").iterdir()) == sorted(f"{i}.html" for i in expected)
    # Rerun part of the corpus into the same folder: same grades, the other rows kept, and no
    # answer trained again.
    again = grade_cli([hand_in / f"{i}.ipynb" for i in ("full_marks", "partial", "tamper_check")], tmp_path,
                      "--workers", "2", "--timeout", "120")
    assert again.returncode == 0, again.stderr
    second = rows(out)
    assert list(second) == list(table)
    strip = ("seconds",)
    assert [{k: v for k, v in r.items() if k not in strip} for r in second.values()] == \
           [{k: v for k, v in r.items() if k not in strip} for r in table.values()]
    # Their answers were checked in the first run, with the same code on the same machine: kept.
    last_run = json.loads((out / "results.json").read_text())["last_run"]
    assert last_run["answers_trained"] == 0 and last_run["answers_reused"] > 0, last_run


@pytest.mark.slow
@pytest.mark.serial
def test_without_the_sandbox_an_edit_of_the_exercise_code_is_undone_before_the_checks_and_named(
        tmp_path, package_guard):
    # The second line of defence, and what --no-sandbox means: the edit succeeds, the grader
    # repairs it before the checks, and says so.
    run = grade_cli([CORPUS / "edits_package.ipynb"], tmp_path, "--workers", "1", "--no-sandbox")
    assert run.returncode == 0, run.stderr
    assert run.stderr.startswith("lstm-lessons grade: warning: grading WITHOUT a sandbox (--no-sandbox)")
    row = rows(tmp_path / "grades")["edits_package"]
    assert (row["status"], row["total"]) == ("graded", "0")
    assert "was changed while only this submission ran (restored before the checks)" in row["message"]
    edited = "changed lessons/lesson01_learning_rate_oscillation/exercises.py"
    assert "warning: the lstm_lessons package was changed while edits_package ran " \
           f"({edited}); restored" in run.stderr
    results = json.loads((tmp_path / "grades" / "results.json").read_text())
    assert results["package_repairs"] == [{"changes": [edited], "running": ["edits_package"]}]
    assert results["sandbox"] is False and not any(g["sandbox"] for g in results["submissions"])
    assert "disk_mb" not in results["limits"]


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def as_a_terminal_starts_it():
    """SIGINT at its default action, as in a program a shell runs in the foreground. A program
    started in the background of a non-interactive shell (as a CI job or `make test &` may be)
    inherits SIGINT *ignored*, and Python then installs no KeyboardInterrupt handler: Ctrl-C is
    meant not to reach such a program. That, not the grader, made this test time out when the
    suite itself ran as a background job."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.serial
@pytest.mark.parametrize(("stop_signal", "status"), [("SIGINT", 130), ("SIGTERM", 143)])
def test_ctrl_c_or_kill_stops_every_process_at_once_and_keeps_the_grades_written(tmp_path, stop_signal,
                                                                                  status):
    import os
    import signal

    # corrupted is recorded at once; infinite_loop then runs until stopped; full_marks waits.
    # The time limit is an hour: only the signal can end this run in time.
    submissions = [CORPUS / f"{i}.ipynb" for i in ("corrupted", "infinite_loop", "full_marks")]
    # In the sandbox where there is one (always in CI): stopping must reach through bwrap.
    sandboxed = [] if sandbox_problem() is None else ["--no-sandbox"]
    command = [sys.executable, "-m", "lstm_lessons", "grade", *map(str, submissions), "--lesson", "01",
               "--out", "grades", "--no-progress", "--workers", "1", "--timeout", "3600", *sandboxed]
    env = {**os.environ, "TMPDIR": str(tmp_path)}     # the grader's temporary folders go here
    grader = subprocess.Popen(command, cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, start_new_session=True,
                              preexec_fn=as_a_terminal_starts_it)

    seen: dict[int, psutil.Process] = {}

    def ours():
        """The grader's living descendants (workers, bwrap, kernels, checks), and any process seen
        as one before, that still runs."""
        try:
            seen.update({p.pid: p for p in psutil.Process(grader.pid).children(recursive=True)})
        except psutil.NoSuchProcess:
            pass
        return [p for p in seen.values() if alive(p)]

    try:
        deadline = time.monotonic() + 120
        while not any("ipykernel" in " ".join(p.cmdline()) for p in ours()):
            assert time.monotonic() < deadline and grader.poll() is None, "no kernel started"
            time.sleep(0.5)
        time.sleep(3)
        grader.send_signal(getattr(signal, stop_signal))
        _, stderr = grader.communicate(timeout=300)      # a safety net, far below the hour
    finally:                                               # a failing test leaves nothing running
        leftovers = [grader, *ours()] if grader.poll() is None else ours()
        for process in leftovers:
            process.kill()
    assert grader.returncode == status, stderr
    assert f"stopped by {stop_signal}; the submissions graded so far are in grades/" in stderr
    assert "Traceback" not in stderr
    assert leftovers == []                                 # no worker, kernel or check left behind
    assert list(rows(tmp_path / "grades")) == ["corrupted"]


def test_a_package_that_cannot_be_restored_means_no_check_runs(tmp_path, monkeypatch):
    import lstm_lessons.instructor.grader as grader_module
    from lstm_lessons.instructor.limits import Outcome

    class Unrestorable:
        checksum = "of a package that cannot be restored"

        def restore(self, bytecode=False):
            raise PermissionError("read-only file system (simulated)")

    def worker_that_records_a_right_answer(command, *args, result, **kwargs):
        result.close_unstarted()
        job = json.loads(Path(command[-2]).read_text())
        assert job["mode"] == "execute", "no check may run on code that could not be restored"
        answers = {EX1: {"learning_rate": 0.1}}
        report = {"result": {"status": "graded", "message": "ran to the end", "error": None,
                             "answers": answers}, "notebook": None}
        return Outcome(0, None, 1.0, 10.0, json.dumps(report).encode())

    import lstm_lessons.instructor.execution as execution_module

    monkeypatch.setattr(grader_module.PackageSnapshot, "take", classmethod(lambda cls: Unrestorable()))
    import lstm_lessons.instructor.confinement as confinement_module

    # Executions run through confinement.run_confined, checks through execution's own run_limited.
    monkeypatch.setattr(confinement_module, "run_limited", worker_that_records_a_right_answer)
    monkeypatch.setattr(execution_module, "run_limited", worker_that_records_a_right_answer)
    grader = Grader("01", tmp_path / "grades", workers=1, progress=False, sandbox=False)
    (grade,) = grader.grade([CORPUS / "full_marks.ipynb"])
    assert (grade.status, grade.total) == ("grader-error", 0)
    assert "could not be restored (PermissionError: read-only file system (simulated))" in grade.message
    assert rows(tmp_path / "grades")["full_marks"]["status"] == "grader-error"


def test_a_grader_failure_on_one_submission_is_its_status_and_the_rest_is_written(tmp_path, monkeypatch):
    import lstm_lessons.instructor.grader as grader_module

    def broken(*args):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(grader_module, "prepare", broken)
    grader = Grader("01", tmp_path / "grades", workers=1, progress=False)
    (grade,) = grader.grade([CORPUS / "other_lesson.ipynb"])
    assert (grade.status, grade.message, grade.total) == ("grader-error", "OSError: disk full (simulated)", 0)
    assert rows(tmp_path / "grades")["other_lesson"]["status"] == "grader-error"
    assert main(["grade", str(CORPUS / "other_lesson.ipynb"), "--lesson", "01", "--out",
                 str(tmp_path / "cli"), "--no-progress"]) == 1


def test_a_runner_failure_in_one_execution_or_one_check_is_only_that_submissions_grader_error(
        tmp_path, monkeypatch):
    import lstm_lessons.instructor.execution as execution_module
    import lstm_lessons.instructor.grader as grader_module
    from lstm_lessons.instructor.execution import CheckFailed, Execution

    answers = {EX1: {"learning_rate": 0.1}, EX2: {"epochs": 7}}
    executions = iter([OSError("no cgroup (simulated)"),
                       Execution("graded", "ran to the end", {}, answers, None, 1.0, 100.0)])

    def execute(text, folder, limits, sandbox, stop=None):
        outcome = next(executions)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    def check(exercise, answer, folder, limits, stop=None):
        if exercise == EX1:
            raise RuntimeError("the check's child could not start (simulated)")
        return CheckFailed("ran out of time")

    monkeypatch.setattr(execution_module, "execute_submission", execute)
    monkeypatch.setattr(execution_module, "check_answer", check)
    monkeypatch.setattr(grader_module, "screen", lambda exercise, answer: None)
    with Grader("01", tmp_path / "grades", workers=1, progress=False, sandbox=False) as grader:
        first, second = grader.grade([CORPUS / "full_marks.ipynb", CORPUS / "partial.ipynb"])
        # A closed grader on this machine grades again, with new threads.
        grader.close()
        assert grader.grade([CORPUS / "other_lesson.ipynb"])[0].status == "wrong-lesson"
    assert (first.status, first.total) == ("grader-error", 0)
    assert first.message == "this machine could not run it (OSError: no cgroup (simulated))"
    assert (second.status, second.total) == ("grader-error", 0)
    assert second.message == f"the grader's check of {EX1}, {EX2} failed; see results.json"
    assert second.checks[EX1]["message"] == ("the grader's check failed on this machine (RuntimeError: "
                                             "the check's child could not start (simulated))")
    assert second.checks[EX2]["message"] == "the grader's check ran out of time"
    assert all(c["measurements"] == {"grader_error": True} for c in second.checks.values())
    assert {r["status"] for r in rows(tmp_path / "grades").values()} == {"grader-error", "wrong-lesson"}


def test_a_notebook_too_large_to_send_back_keeps_only_its_answer_records():
    from lstm_lessons.instructor.worker import NOTEBOOK_LIMIT, _without_outputs

    record = {"id": EX1, "answer": {"learning_rate": 0.1}, "points": 2, "max_points": 2}
    cell = nbformat.v4.new_code_cell("check()", outputs=[
        nbformat.v4.new_output("stream", name="stdout", text="x" * (NOTEBOOK_LIMIT + 1)),
        nbformat.v4.new_output("display_data", data={"application/vnd.lstm-lessons.exercise+json": record})])
    notebook = nbformat.v4.new_notebook(cells=[cell, nbformat.v4.new_code_cell("quiet()")])
    _without_outputs(notebook)
    kept, note = notebook.cells[0].outputs
    assert kept.data["application/vnd.lstm-lessons.exercise+json"] == record
    assert note.text.startswith("[outputs removed by the grader") and notebook.cells[1].outputs == []
    assert len(nbformat.writes(notebook)) < 10_000
    nbformat.validate(notebook)


def test_a_regrade_reuses_the_checks_of_the_same_answers_until_the_environment_changes(tmp_path, monkeypatch):
    import lstm_lessons.instructor.grader as grader_module
    from lstm_lessons.instructor.limits import Outcome

    trained = []
    # What the check's child reports as where it trained (lstm_lessons.machine.describe).
    where = {"host": "checker", "machine": "x86_64", "cpu": {"model": "Some CPU", "flags": ["avx2", "fma"]},
             "onednn": "off", "threads": {"intra_op": 1, "inter_op": 1, "cores": 2},
             "versions": {"python": "3.11.7", "tensorflow": "2.21.0", "keras": "3.15.1", "numpy": "2.4.6"}}

    def worker(command, *args, result, **kwargs):
        result.close_unstarted()
        job = json.loads(Path(command[-2]).read_text())
        if job["mode"] == "execute":
            answers = {EX1: {"learning_rate": 0.1}, EX2: {"epochs": 7}}
            report = {"result": {"status": "graded", "message": "ran to the end", "error": None,
                                 "answers": answers}, "notebook": None}
        else:
            trained.append(job["exercise"])
            check = {"exercise": job["exercise"], "points": 2, "max_points": 2, "message": "measured",
                     "measurements": {"calls": len(trained)}, "environment": where}
            report = {"result": check}
        return Outcome(0, None, 1.0, 10.0, json.dumps(report).encode())

    import lstm_lessons.instructor.confinement as confinement_module
    import lstm_lessons.instructor.execution as execution_module

    # Executions run through confinement.run_confined, checks through execution's own run_limited.
    monkeypatch.setattr(confinement_module, "run_limited", worker)
    monkeypatch.setattr(execution_module, "run_limited", worker)
    monkeypatch.setattr(grader_module, "screen", lambda exercise, answer: None)
    out = tmp_path / "grades"
    first = Grader("01", out, workers=1, progress=False, sandbox=False).grade([CORPUS / "full_marks.ipynb"])
    assert sorted(trained) == sorted([EX1, EX2])
    # Regraded into the same folder, by a new grader: the same answers keep their checks.
    regrader = Grader("01", out, workers=1, progress=False, sandbox=False)
    again = regrader.grade([CORPUS / "full_marks.ipynb", CORPUS / "partial.ipynb"])
    assert len(trained) == 2
    assert [g.checks for g in again] == [first[0].checks] * 2
    results = json.loads((out / "results.json").read_text())
    assert results["last_run"] == {"answers_trained": 0, "answers_reused": 2}
    assert results["submissions"][0]["answers"] == {EX1: {"learning_rate": 0.1}, EX2: {"epochs": 7}}
    # Each check's record says where it trained, through the child process and the reuse.
    assert all(g["checks"][e]["environment"] == where for g in results["submissions"] for e in (EX1, EX2))
    # The run says on which kind of machine each exercise was checked: here, this one.
    here = execution_module.check_environment(regrader._snapshot, 1)
    assert results["checked_on"] == dict.fromkeys((EX1, EX2), {
        "cpu": here["cpu"], "onednn": here["onednn"], "threads": here["threads"],
        "versions": here["versions"], "hosts": [here["host"]]})
    # Another version of the package's code (or of TensorFlow, or another machine): trained again.
    environment = execution_module.check_environment
    monkeypatch.setattr(execution_module, "check_environment",
                        lambda snapshot, *args: {**environment(snapshot, *args), "versions": {}})
    Grader("01", out, workers=1, progress=False, sandbox=False).grade([CORPUS / "full_marks.ipynb"])
    assert len(trained) == 4
    assert json.loads((out / "results.json").read_text())["last_run"] == \
           {"answers_trained": 2, "answers_reused": 0}
    # Another oneDNN setting for the checks (another kind of machine): trained again, then reused.
    monkeypatch.setattr(execution_module, "check_environment", environment)
    Grader("01", out, workers=1, progress=False, sandbox=False).grade([CORPUS / "full_marks.ipynb"])
    assert len(trained) == 4
    onednn = "1" if os.environ.get("TF_ENABLE_ONEDNN_OPTS", "").strip() in ("0", "false", "off") else "0"
    monkeypatch.setenv("TF_ENABLE_ONEDNN_OPTS", onednn)
    Grader("01", out, workers=1, progress=False, sandbox=False).grade([CORPUS / "full_marks.ipynb"])
    assert len(trained) == 6


def test_check_environment_changes_with_the_cpu_flags_onednn_and_threads_of_the_checks(monkeypatch):
    from lstm_lessons import machine
    from lstm_lessons.cores import THREAD_VARIABLES, available_cores
    from lstm_lessons.instructor.execution import check_machine
    from lstm_lessons.instructor.grader import check_environment
    from lstm_lessons.instructor.integrity import PackageSnapshot

    for name in (*THREAD_VARIABLES, machine.ONEDNN_VARIABLE):
        monkeypatch.delenv(name, raising=False)
    snapshot, cores = PackageSnapshot.take(), available_cores()
    base = check_environment(snapshot, 1)
    assert base == {"lstm_lessons": snapshot.checksum, "host": machine.describe()["host"],
                    "machine": machine.describe()["machine"], "cpu": machine.cpu(), "onednn": "default",
                    "threads": {"intra_op": cores}, "versions": machine.versions()}
    assert check_environment(snapshot, 1) == base
    # Checks side by side: each check's TensorFlow gets its share of the cores, as its child does.
    assert check_environment(snapshot, 2)["threads"] == {"intra_op": max(1, cores // 2)}
    assert check_machine(2)["threads"]["inter_op"] == max(1, cores // 2)
    monkeypatch.setenv(machine.ONEDNN_VARIABLE, "0")
    assert check_environment(snapshot, 1) == {**base, "onednn": "off"}
    monkeypatch.delenv(machine.ONEDNN_VARIABLE)
    more_flags = {"model": base["cpu"]["model"], "flags": [*base["cpu"]["flags"], "amx_tile"]}
    monkeypatch.setattr(machine, "cpu", lambda: more_flags)
    assert check_environment(snapshot, 1) == {**base, "cpu": more_flags}
    # On a cluster: the kind of machine that checks each exercise, whatever its host.
    worker = {**machine.describe(), "host": "node-7", "threads": {"intra_op": 1, "inter_op": 1, "cores": 64}}
    on_cluster = check_environment(snapshot, checkers={EX2: worker, EX1: worker})
    assert on_cluster == {"lstm_lessons": snapshot.checksum,
                          "exercises": dict.fromkeys((EX1, EX2), machine.kind(worker))}
    assert machine.kind(on_cluster["exercises"][EX1]) == machine.kind(worker)
    other_host, onednn_off = {**worker, "host": "node-8"}, {**worker, "onednn": "off"}
    assert check_environment(snapshot, checkers={EX1: other_host, EX2: worker}) == on_cluster
    assert check_environment(snapshot, checkers={EX1: onednn_off, EX2: worker}) != on_cluster


def test_the_package_checksum_follows_every_file_and_nothing_else(tmp_path):
    from lstm_lessons.instructor.integrity import PackageSnapshot

    (tmp_path / "grading").mkdir()
    (tmp_path / "grading" / "lesson01.py").write_text("THRESHOLD = 0.2\n")
    (tmp_path / "__init__.py").write_text("")
    first = PackageSnapshot.take(tmp_path).checksum
    assert PackageSnapshot.take(tmp_path).checksum == first
    (tmp_path / "grading" / "__pycache__").mkdir()          # bytecode is not part of it
    (tmp_path / "grading" / "__pycache__" / "lesson01.pyc").write_bytes(b"\0")
    assert PackageSnapshot.take(tmp_path).checksum == first
    (tmp_path / "grading" / "lesson01.py").write_text("THRESHOLD = 0.9\n")
    assert PackageSnapshot.take(tmp_path).checksum != first
