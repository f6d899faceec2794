"""What the grader writes: ``grades.csv``, ``results.json`` and ``feedback/<id>.html``.

Every file is written through a temporary file and ``os.replace``, so an interrupted grader
leaves the previous complete version, never half a file.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import nbformat

from lstm_lessons.files import write_atomically
from lstm_lessons.grading.feedback import EXERCISE_MIME
from lstm_lessons.params import shown
from lstm_lessons.safe_text import csv_text, markdown_text

STATUSES = {
    "graded": "ran to the end; every exercise's points come from the grader's own check of the "
              "answer the notebook recorded",
    "error": "a cell raised an exception (a syntax error included); 0 points",
    "timeout": "still running at the time limit (--timeout); stopped, 0 points",
    "memory": "held more memory than the limit (--memory-mb); stopped, 0 points",
    "kernel-died": "the kernel process ended before the notebook did (os._exit, a crash); 0 points",
    "refused": "a symbolic link, not a regular file, or larger than --max-mb: not read, 0 points",
    "not-a-notebook": "the file is not a readable Jupyter notebook; not executed, 0 points",
    "wrong-lesson": "the notebook belongs to another lesson; not executed, 0 points",
    "grader-error": "the grader itself failed on this submission (please report it); 0 points",
}
"""Every status a submission can get, and what it means."""


class ResultsFileError(ValueError):
    """``DIR/results.json`` exists but is not the grader's results for this lesson."""


@dataclass
class Grade:
    """One submission's grade.

    Attributes:
        id: the submission's identifier (see :func:`~lstm_lessons.instructor.submissions.submission_ids`).
        lesson: the lesson's notebook name.
        status: one of :data:`STATUSES`.
        message: what happened, in one line.
        points: ``{exercise id: points}`` for every exercise of the lesson.
        total: sum of ``points``; ``max_total``: the most there is.
        seconds: wall-clock time of the execution, in seconds.
        peak_mb: the largest resident memory seen, in MiB.
        submission: the path that was handed in.
        checks: ``{exercise id: CheckResult as a dict}`` (message, hint, measurements, margin,
            checks, and ``environment``: where it trained, :func:`lstm_lessons.machine.describe`,
            empty for an answer screened out before training).
        claims: ``{claim name: holds}``, the lesson's own verdicts (``symptom_reproduced``...)
            as this run recorded them; not graded, but a false one shows that the student's
            run no longer demonstrates what the lesson claims.
        sandbox: whether the submission ran in the bubblewrap sandbox.
        answers: ``{exercise id: answer}`` as the notebook recorded them (executed submissions).
        check_environment: what the checks of ``answers`` ran with (see
            :func:`~lstm_lessons.instructor.grader.check_environment`); a later run with the same
            environment reuses these checks for the same answers instead of training again.
    """

    id: str
    lesson: str
    status: str
    message: str
    points: dict
    total: int
    max_total: int
    seconds: float = 0.0
    peak_mb: float = 0.0
    submission: str = ""
    checks: dict = field(default_factory=dict)
    claims: dict = field(default_factory=dict)
    sandbox: bool = False
    answers: dict = field(default_factory=dict)
    check_environment: dict = field(default_factory=dict)


def csv_table(rows) -> str:
    """``rows`` (lists of cells, already made safe) as CSV text with ``\\n`` line ends: every
    table the grader writes."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def grades_csv(grades: list[Grade], exercises: list[str]) -> str:
    """The CSV table of grades, its text cells made safe by :func:`csv_text`.

    Its columns: ``id, lesson, status, <one column an exercise>, total, max_total, seconds,
    message``."""
    rows = [["id", "lesson", "status", *exercises, "total", "max_total", "seconds", "message"]]
    for g in grades:
        points = (g.points.get(e, 0) for e in exercises)
        rows.append([csv_text(g.id), g.lesson, csv_text(g.status), *points, g.total, g.max_total,
                     f"{g.seconds:.1f}", csv_text(g.message)])
    return csv_table(rows)


def read_earlier(out: Path, lesson: str) -> list[Grade]:
    """The grades an earlier run wrote to ``out/results.json`` (none if there is no file).

    Raises:
        ResultsFileError: the file is unreadable or holds another lesson's grades.
    """
    path = out / "results.json"
    if not path.exists():
        return []
    try:
        data = json.loads(path.read_text())
        earlier = data["lesson"], [Grade(**g) for g in data["submissions"]]
    except (ValueError, KeyError, TypeError) as exc:
        raise ResultsFileError(f"{path} is not a results file of `lstm-lessons grade` ({exc}); "
                               f"choose another --out or move it away.") from exc
    if earlier[0] != lesson:
        raise ResultsFileError(f"{path} holds grades of lesson {earlier[0]!r}, not {lesson!r}; "
                               f"choose another --out.")
    return earlier[1]


def reusable_checks(grades: list[Grade], environment: dict) -> dict[tuple[str, str], dict]:
    """The checks of earlier grades that a run in ``environment`` may reuse, by
    ``(exercise id, answer as sorted JSON)``: those made in exactly that environment, of a
    recorded answer, that did not fail in the grader itself. A check trains with fixed seeds, so
    the same answer, code, libraries and kind of machine give the same result (docs/instructors.md);
    a check made on another kind of machine (CPU, oneDNN setting, threads) is not reused."""
    reusable = {}
    for grade in grades:
        if grade.check_environment != environment:
            continue
        for exercise, check in grade.checks.items():
            answer = grade.answers.get(exercise)
            if answer is not None and not check.get("measurements", {}).get("grader_error"):
                reusable[(exercise, json.dumps(answer, sort_keys=True))] = check
    return reusable


def write_tables(out: Path, lesson: str, exercises: dict[str, int], grades: list[Grade],
                 limits: dict, package_repairs=(), sandbox: bool = True, last_run=None,
                 checked_on=None) -> None:
    """Write ``out/grades.csv`` and ``out/results.json`` (every grade, in order, whether this
    run used the sandbox, the changes to the ``lstm_lessons`` package it found and undid:
    ``{"changes", "running"}``, ``last_run``: how many distinct answers this run trained and
    how many it reused from earlier checks, ``{"answers_trained", "answers_reused"}``, and
    ``checked_on``: the kind of machine that checked each exercise's answers in this run,
    ``{exercise id: {"cpu", "onednn", "threads", "versions", "hosts", ...}}``; each check's own
    ``environment`` says where it ran)."""
    results = {"lesson": lesson, "exercises": exercises, "sandbox": sandbox, "limits": limits,
               "statuses": STATUSES, "package_repairs": list(package_repairs),
               "last_run": dict(last_run or {}), "checked_on": dict(checked_on or {}),
               "submissions": [asdict(g) for g in grades]}
    write_atomically(out / "results.json", json.dumps(results, indent=1) + "\n")
    write_atomically(out / "grades.csv", grades_csv(grades, list(exercises)))


def feedback_markdown(grade: Grade) -> str:
    """The grader's feedback as Markdown: status, total, and a row an exercise."""
    lines = [f"# Grader feedback: {markdown_text(grade.id)}", "",
             f"**{grade.total} / {grade.max_total} points**. "
             f"Status `{grade.status}`: {markdown_text(grade.message)}",
             "", "| exercise | points | what the grader measured | hint |", "|---|---|---|---|"]
    for exercise, points in grade.points.items():
        check = grade.checks.get(exercise, {})
        message, hint = check.get("message", "not checked"), check.get("hint", "")
        lines.append(f"| {exercise} | {points} / {check.get('max_points', '?')} | "
                     f"{markdown_text(message)} | {markdown_text(hint)} |")
    lines += ["", "Points come from the grader's own run of each recorded answer, not from the "
                  "notebook's printed output."]
    return "\n".join(lines)


def feedback_notebook(grade: Grade, executed=None) -> nbformat.NotebookNode:
    """The executed notebook (or an empty one) with the grader's feedback: a summary cell first,
    and after every cell that recorded an exercise answer, that exercise's verdict."""
    notebook = copy.deepcopy(executed) if executed is not None else nbformat.v4.new_notebook()
    cells = [nbformat.v4.new_markdown_cell(feedback_markdown(grade))]
    for cell in notebook.cells:
        cells.append(cell)
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            record = output.get("data", {}).get(EXERCISE_MIME)
            exercise = record.get("id") if isinstance(record, dict) else None
            if isinstance(exercise, str) and exercise in grade.points:
                check = grade.checks.get(exercise, {})
                hint = f" *Hint:* {markdown_text(check['hint'])}" if check.get("hint") else ""
                cells.append(nbformat.v4.new_markdown_cell(
                    f"**Grader: {exercise}: {grade.points[exercise]} / {check.get('max_points', '?')} "
                    f"points.** {markdown_text(check.get('message', ''))}{hint}"))
    notebook.cells = cells
    return notebook


def _markdown_with_html_as_text(source: str) -> str:
    """Markdown to HTML, with any HTML in the source shown as text and ``javascript:``-like
    links disabled (mistune's ``escape`` and ``allow_harmful_protocols``, in nbconvert's renderer);
    a ```` ```mermaid ```` block is shown as code (nbconvert would insert its text unescaped, for
    a script to draw)."""
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class Renderer(IPythonRenderer):
        def block_mermaidjs(self, code: str) -> str:
            return super().block_code(code)

    renderer = Renderer(escape=True, allow_harmful_protocols=False)
    return MarkdownWithMath(renderer=renderer).render(source)


CONTENT_SECURITY_POLICY = ("default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
                           "base-uri 'none'; form-action 'none'")
"""Every feedback page's policy (a ``<meta http-equiv>``): no script runs and nothing is loaded
from anywhere, whatever got past the sanitising; images only from the page itself, styles inline."""

_NOTEBOOK_METADATA = ("kernelspec", "language_info")
"""The notebook metadata a feedback page keeps; the rest (``widgets`` would make the page load a
widget manager and any module its state names) is dropped, and so are every cell's and every
output's metadata (an output's ``width`` would be written unquoted into its ``<img>``)."""


def feedback_html(grade: Grade, executed=None) -> str:
    """:func:`feedback_notebook` rendered to one HTML page by nbconvert, plots embedded.

    The page shows the student's notebook to the instructor, so nothing in it may run: HTML
    in Markdown cells is shown as text (:func:`_markdown_with_html_as_text`), and outputs go
    through nbconvert's ``SanitizeHTML`` (JavaScript and unknown types removed, HTML cleaned
    by bleach). nbconvert's own ``sanitize_html=True`` is not used: it also escapes the
    ``<h1>`` and ``<p>`` that Markdown produces (jupyter/nbconvert#2016), which would leave
    every Markdown cell as raw tags.
    """
    try:
        return _rendered(feedback_notebook(grade, executed))
    except Exception as exc:  # noqa: BLE001 - a hand-in's notebook is data: its page must not stop grading
        # A notebook nbconvert cannot render (one that breaks the nbformat schema): the grade,
        # and why the notebook is not shown.
        page = feedback_notebook(grade, None)
        page.cells.append(nbformat.v4.new_markdown_cell(
            f"*The hand-in's notebook could not be shown ({markdown_text(type(exc).__name__)}: "
            f"{markdown_text(shown(str(exc), 200))}).*"))
        return _rendered(page)


def _rendered(notebook) -> str:
    """``notebook`` as one HTML page, every output sanitised (see :func:`feedback_html`)."""
    from nbconvert import HTMLExporter
    from nbconvert.preprocessors.sanitize import SanitizeHTML

    sanitizer = SanitizeHTML()
    notebook.metadata = {k: v for k, v in notebook.metadata.items() if k in _NOTEBOOK_METADATA}
    for cell in notebook.cells:
        cell.metadata = {}
        if cell.cell_type == "code":
            for output in cell.outputs:
                if "metadata" in output:
                    output.metadata = {}
            cell.outputs = sanitizer.sanitize_code_outputs(cell.outputs)
        elif cell.cell_type == "raw":
            cell.source = sanitizer.sanitize_html_tags(cell.source)
    exporter = HTMLExporter(template_name="lab")
    exporter.register_filter("markdown2html", _markdown_with_html_as_text)
    body, _ = exporter.from_notebook_node(notebook)
    # The template's own scripts (require.js, MathJax and mermaid from a CDN): the page needs
    # none, and they would load code from the network. (A hand-in's scripts never get this far:
    # escaped or removed above.)
    body = re.sub(r"<script\b[^>]*>.*?</script\s*>", "", body, flags=re.DOTALL | re.IGNORECASE)
    policy = f'<meta http-equiv="Content-Security-Policy" content="{CONTENT_SECURITY_POLICY}">'
    # First in <head>: the policy covers only what comes after it.
    head = body.find("<head>")
    if head < 0:
        return f"<!DOCTYPE html>\n<html><head>{policy}</head><body>{body}</body></html>"
    return body[:head + len("<head>")] + "\n" + policy + body[head + len("<head>"):]
