"""A lesson's claims: printed as verdict lines for readers, stored as data for the runner.

A claim is a named statement the lesson checks on its own run, such as
``symptom_reproduced`` or ``fix_verified``. :func:`claim` shows one verdict line and, in a
notebook, attaches the result to the cell's output under the MIME type :data:`CLAIM_MIME`
(JupyterLab shows the plain-text line; the data travels with the executed notebook).
:func:`read_claims` collects them from an executed notebook, so ``lstm-lessons run`` never
parses printed text.
"""

from __future__ import annotations

import re

CLAIM_MIME = "application/vnd.lstm-lessons.claim+json"
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


def verdict_line(name: str, holds: bool, statement: str) -> str:
    """The printed form of a claim, e.g. ``[holds] fix_verified: the loss is smooth``."""
    return f"[{'holds' if holds else 'FAILS'}] {name}: {statement}"


def claim(name: str, holds, statement: str) -> None:
    """Show a verdict line and record the claim in the executed notebook.

    Args:
        name: identifier in snake_case, e.g. ``"symptom_reproduced"``.
        holds: whether the claim is true on this run (anything ``bool()`` accepts).
        statement: what is claimed, with no raw measurements, so the line reads the same on
            every CPU (the verdict cells are compared by nbval).

    Returns ``None``, so a notebook cell that ends with this call shows only the verdict line.

    Raises:
        ValueError: ``name`` is not snake_case.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"A claim name must be snake_case, like 'fix_verified'. Received: name={name!r}")
    holds = bool(holds)
    show_record(verdict_line(name, holds, statement), CLAIM_MIME, {"name": name, "holds": holds})


def show_record(line: str, mime: str, record: dict) -> None:
    """Show ``line`` and, in a notebook, attach ``record`` to the cell's output under ``mime``.

    Outside IPython the line is printed and nothing is recorded. Used for claims here and
    for exercise results (:func:`lstm_lessons.grading.feedback`).
    """
    try:
        from IPython import get_ipython
        from IPython.display import display
    except ImportError:  # pragma: no cover - IPython ships with ipykernel, a dependency
        get_ipython = None
    if get_ipython is not None and get_ipython() is not None:
        display({"text/plain": line, mime: record}, raw=True)
    else:
        print(line)


def recorded(notebook, mime: str):
    """Every record attached under ``mime`` in a notebook's code-cell outputs, in order.

    Args:
        notebook: an ``nbformat.NotebookNode`` (or the same structure as plain dicts).

    Yields:
        the records that are dicts (anything else under ``mime`` is skipped).
    """
    for cell in notebook.get("cells", []):
        for output in cell.get("outputs", []) if cell.get("cell_type") == "code" else []:
            record = output.get("data", {}).get(mime)
            if isinstance(record, dict):
                yield record


def read_claims(notebook) -> dict[str, bool]:
    """Collect the claims recorded in an executed notebook, in order of appearance.

    Args:
        notebook: an ``nbformat.NotebookNode`` (or the same structure as plain dicts).

    Returns:
        ``{name: holds}``; a claim recorded twice keeps its last value.
    """
    return {str(r["name"]): bool(r.get("holds")) for r in recorded(notebook, CLAIM_MIME) if "name" in r}
