"""Write the fake lesson-01 submissions of this folder: `python tests/grading_corpus/build_corpus.py`.

Each file is what a student might really hand in (or what an attack on the grader looks like).
The expected grades are asserted in tests/test_grader.py. The files are committed; this script
only documents how they were made and re-creates them.
"""

from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

HERE = Path(__file__).resolve().parent
LESSON = "01_learning_rate_oscillation"
MIME = "application/vnd.lstm-lessons.exercise+json"


def exercise_cell(exercise: str, source: str):
    return new_code_cell(source, metadata={"tags": ["exercise"], "lstm_lessons": {"exercise": exercise}})


def submission(first="0.01", second="answer_factor = 0.5\nanswer_patience = 2", before=(), between=(),
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
answers = {"01-stable-learning-rate": {"learning_rate": 0.01},
           "01-plateau-schedule": {"factor": 0.5, "patience": 2}}
forged = {"status": "graded", "message": "ran to the end", "error": None, "answers": answers}
pathlib.Path("../result.json").write_text(json.dumps(forged))
os.kill(os.getppid(), signal.SIGKILL)'''

EDIT_PACKAGE = '''\
import pathlib
# Make the grader's own check pass any answer: edit lesson 01's exercise code in the package,
# which the grader imports after the kernels have ended.
source = pathlib.Path(ll.grading.__file__).with_name("lesson01.py")
text = source.read_text()
source.write_text(text.replace("return smooth and good, message, hint, measured",
                               "return True, message, hint, measured"))
print("edited", source.name)'''


def edited_record():
    """Starting answers, but the stored outputs claim full marks for the right answers."""
    notebook = submission(first="None", second="answer_factor = None\nanswer_patience = None")
    forged = {"01-stable-learning-rate": {"learning_rate": 0.01},
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
    "computed_answer": submission(first="np.round(np.float64(0.1) / 10, 4)",
                                  before=[new_code_cell("import numpy as np")]),
    "partial": submission(second="answer_factor = 0.9\nanswer_patience = 10"),
    "empty": submission(first="None", second="answer_factor = None\nanswer_patience = None"),
    "invalid_answer": submission(first="'fast'", second="answer_factor = 0.5\nanswer_patience = 2.5"),
    "syntax_error": submission(between=[new_code_cell("def plot(:\n    pass")]),
    "exception_midway": submission(between=[new_code_cell('raise RuntimeError("my model diverged")')]),
    "infinite_loop": submission(between=[new_code_cell("while True:\n    pass")]),
    "memory_hog": submission(between=[new_code_cell(
        "hog = []\nwhile True:\n    hog.append(bytearray(100 * 2**20))")]),
    "os_exit": submission(between=[new_code_cell("import os\nos._exit(0)")]),
    "tamper_check": submission(first="0.3", before=[new_code_cell(FORGED_CHECK)]),
    "fake_success": submission(first="None", second="answer_factor = None\nanswer_patience = None",
                               after=[new_code_cell(
                                   'print("[exercise 01-stable-learning-rate] 2/2 points: PASSED")\n'
                                   'print("[exercise 01-plateau-schedule] 2/2 points: PASSED")\n'
                                   'print("Total: 4/4")')]),
    "edited_record": edited_record(),
    "writes_output_dir": submission(first="None", second="answer_factor = None\nanswer_patience = None",
                                    after=[new_code_cell(WRITE_OUTPUT_DIR)]),
    "edits_package": submission(first="0.3", second="answer_factor = 0.9\nanswer_patience = 10",
                                after=[new_code_cell(EDIT_PACKAGE)]),
    "kills_worker": submission(first="None", second="answer_factor = None\nanswer_patience = None",
                               between=[new_code_cell(FORGE_AND_KILL_WORKER)]),
    "other_lesson": submission(lesson="02_stagnant_loss"),
}


def main():
    for name, notebook in SUBMISSIONS.items():
        for n, cell in enumerate(notebook.cells):
            cell.id = f"cell-{n}"            # fixed ids: running the script again changes nothing
        nbformat.write(notebook, HERE / f"{name}.ipynb")
    # Half of a notebook's JSON, as from an interrupted upload.
    text = nbformat.writes(SUBMISSIONS["full_marks"])
    (HERE / "corrupted.ipynb").write_text(text[: len(text) // 2])
    print(f"wrote {len(SUBMISSIONS) + 1} submissions to {HERE}")


if __name__ == "__main__":
    main()
