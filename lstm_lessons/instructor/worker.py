"""The grader's child processes: ``python -m lstm_lessons.instructor.worker JOB.json RESULT_FD``.

Two kinds of job, each run under :func:`lstm_lessons.instructor.limits.run_limited`:

- ``{"mode": "execute", "notebook", "cwd"[, "max_tasks"]}`` executes a prepared submission through
  papermill (after lowering ``RLIMIT_NPROC`` to ``max_tasks``, in the sandbox) in a new kernel
  whose working folder is ``cwd`` (in the sandbox, see :mod:`lstm_lessons.instructor.sandbox`),
  with papermill saving the executed notebook into this process's memory as it goes
  (:class:`MemoryHandler`: no file the kernel could forge or fill), kills anything the kernel
  left running, and reports
  ``{"result": {"status", "message", "error", "answers", "claims"}, "notebook": <the executed
  notebook as JSON text, or null>}``.
- ``{"mode": "verify", "exercise", "answer"}`` verifies one answer with the trusted exercise
  code (in this process, never in a student's kernel; outside the sandbox) and reports
  ``{"result": <the CheckResult as a dict>}``.

The report goes to the file descriptor ``RESULT_FD`` (a
:class:`~lstm_lessons.instructor.limits.ResultPipe` to the grader), once, after every process the
submission started is dead. The worker makes itself non-dumpable first, so the kernel it starts
(same user) cannot open that descriptor through ``/proc`` and forge the report.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path

from lstm_lessons.grading.feedback import GRADING_ENV
from lstm_lessons.instructor.confinement import limit_tasks
from lstm_lessons.instructor.limits import become_subreaper, hide_from_other_processes, kill_descendants

NOTEBOOK_LIMIT = 32 * 2**20
"""Characters of the executed notebook sent back for the feedback page; a larger one (a loop
that printed without end) is sent without its outputs, its recorded answers kept."""


OUTPUT = "memory://executed.ipynb"
"""Where papermill saves the executed notebook (see :class:`MemoryHandler`)."""


class MemoryHandler:
    """A papermill I/O handler (``papermill.iorw.papermill_io.register``) for ``memory://``
    paths: papermill saves the notebook after every cell, and the last save is kept here, so a
    notebook stopped by an error still shows the cells up to it."""

    saved: dict[str, str] = {}

    @classmethod
    def write(cls, buf, path):
        cls.saved[path] = buf

    @classmethod
    def read(cls, path):
        return cls.saved[path]

    @classmethod
    def listdir(cls, path):
        raise NotImplementedError("memory:// has no folders")

    @classmethod
    def pretty_path(cls, path):
        return path


def _without_outputs(notebook) -> None:
    """Keep only the answer records of the notebook's outputs (see :data:`NOTEBOOK_LIMIT`)."""
    from nbformat.v4 import new_output

    from lstm_lessons.grading.feedback import EXERCISE_MIME

    note = f"[outputs removed by the grader: the notebook's outputs were over {NOTEBOOK_LIMIT // 2**20} MiB]"
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.outputs:
            kept = [o for o in cell.outputs if EXERCISE_MIME in o.get("data", {})]
            cell.outputs = [*kept, new_output("stream", name="stdout", text=note)]


def execute(job: dict) -> dict:
    """Execute one submission; never raises for what happens inside the notebook."""
    import nbformat
    import papermill
    from nbclient.exceptions import DeadKernelError
    from papermill.iorw import papermill_io

    from lstm_lessons.claims import read_claims
    from lstm_lessons.grading.feedback import read_answers
    from lstm_lessons.runner import KERNEL_NAME, execution_error

    result = {"status": "graded", "message": "ran to the end", "error": None, "answers": {}, "claims": {}}
    notebook = None
    papermill_io.register("memory://", MemoryHandler)
    try:
        notebook = papermill.execute_notebook(
            job["notebook"], OUTPUT, kernel_name=KERNEL_NAME, cwd=job["cwd"],
            progress_bar=False, log_output=False, extra_arguments=["--IPKernelApp.log_level=CRITICAL"])
    except DeadKernelError:
        result.update(status="kernel-died", message="the kernel died (the notebook ended its own process, "
                                                    "or it crashed)")
    except Exception as exc:  # noqa: BLE001 - any failure inside the notebook is its status
        error = execution_error(exc)
        where = f"cell In [{error['execution_count']}]" if error["execution_count"] else "a cell"
        result.update(status="error", error=error,
                      message=f"{where} raised {error['ename']}: {error['evalue']}".strip())
    kill_descendants()
    if notebook is None and OUTPUT in MemoryHandler.saved:    # stopped by an error: saved up to it
        notebook = nbformat.reads(MemoryHandler.saved[OUTPUT], as_version=4)
    text = None
    if notebook is not None:
        if result["status"] == "graded":
            result["answers"], result["claims"] = read_answers(notebook), read_claims(notebook)
        text = nbformat.writes(notebook)
        if len(text) > NOTEBOOK_LIMIT:
            _without_outputs(notebook)
            text = nbformat.writes(notebook)
    return {"result": result, "notebook": text}


def verify(job: dict) -> dict:
    """Verify one answer with the trusted exercise code."""
    from lstm_lessons.grading.feedback import ExerciseError, exercise
    from lstm_lessons.grading.feedback import verify as verify_answer
    from lstm_lessons.grading.registry import CheckResult

    try:
        checked = verify_answer(job["exercise"], job["answer"])
    except ExerciseError as exc:
        points = exercise(job["exercise"]).points
        checked = CheckResult(job["exercise"], 0, points, f"invalid answer: {exc}")
    return {"result": asdict(checked)}


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job, result_fd = json.loads(Path(argv[0]).read_text()), int(argv[1])
    os.set_inheritable(result_fd, False)       # no process this one starts gets the pipe
    hide_from_other_processes()
    become_subreaper()
    os.environ[GRADING_ENV] = "1"
    if "max_tasks" in job:                     # in the sandbox: its user namespace's own count
        limit_tasks(job["max_tasks"])
    report = execute(job) if job["mode"] == "execute" else verify(job)
    with os.fdopen(result_fd, "wb") as pipe:
        pipe.write(json.dumps(report).encode())
    return 0


if __name__ == "__main__":
    sys.exit(main())
