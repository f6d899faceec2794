"""The grader's child processes: ``python -m lstm_lessons.grader.worker JOB.json``.

Two kinds of job, each run under :func:`lstm_lessons.grader.limits.run_limited`:

- ``{"mode": "execute", "notebook", "output", "cwd", "result"}`` executes a prepared
  submission through papermill in a new kernel whose working folder is ``cwd``, kills
  anything the kernel left running, writes the executed notebook to ``output`` (from memory,
  so nothing the submission wrote to that file survives) and ``{"status", "message",
  "error", "answers", "claims"}`` to ``result``.
- ``{"mode": "verify", "exercise", "answer", "result"}`` verifies one answer with the trusted
  exercise code (in this process, never in a student's kernel) and writes the
  :class:`~lstm_lessons.grading.registry.CheckResult` as a dict to ``result``.

Results are written atomically, and only after every process the submission started is dead.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from lstm_lessons.grader.limits import become_subreaper, kill_descendants
from lstm_lessons.grader.report import write_text_atomically
from lstm_lessons.grading.feedback import GRADING_ENV


def execute(job: dict) -> dict:
    """Execute one submission; never raises for what happens inside the notebook."""
    import nbformat
    import papermill
    from nbclient.exceptions import DeadKernelError

    from lstm_lessons.claims import read_claims
    from lstm_lessons.grading.feedback import read_answers
    from lstm_lessons.runner import KERNEL_NAME, _error_of

    result = {"status": "graded", "message": "ran to the end", "error": None, "answers": {}, "claims": {}}
    notebook = None
    try:
        notebook = papermill.execute_notebook(
            job["notebook"], job["output"], kernel_name=KERNEL_NAME, cwd=job["cwd"],
            progress_bar=False, log_output=False, extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except DeadKernelError:
        result.update(status="kernel-died", message="the kernel died (the notebook ended its own process, "
                                                    "or it crashed)")
    except Exception as exc:  # noqa: BLE001 - any failure inside the notebook is its status
        error = _error_of(exc)
        where = f"cell In [{error['execution_count']}]" if error["execution_count"] else "a cell"
        result.update(status="error", error=error,
                      message=f"{where} raised {error['ename']}: {error['evalue']}".strip())
    kill_descendants()
    if notebook is not None:
        result["answers"], result["claims"] = read_answers(notebook), read_claims(notebook)
        nbformat.write(notebook, job["output"])
    return result


def verify(job: dict) -> dict:
    """Verify one answer with the trusted exercise code."""
    from lstm_lessons.grading.feedback import ExerciseError, exercise
    from lstm_lessons.grading.feedback import verify as verify_answer
    from lstm_lessons.grading.registry import CheckResult

    try:
        return asdict(verify_answer(job["exercise"], job["answer"]))
    except ExerciseError as exc:
        points = exercise(job["exercise"]).points
        return asdict(CheckResult(job["exercise"], 0, points, f"invalid answer: {exc}"))


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text())
    become_subreaper()
    os.environ[GRADING_ENV] = "1"
    result = execute(job) if job["mode"] == "execute" else verify(job)
    write_text_atomically(Path(job["result"]), json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
