"""Handed-in notebooks: their identifiers, which lesson they are, and a clean copy to execute."""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import nbformat

from lstm_lessons.grading.registry import EXERCISES
from lstm_lessons.instructor.solutions import exercise_cells


class SubmissionError(ValueError):
    """Submissions the grader cannot start on: missing files, or identifiers that collide."""


def submission_ids(paths) -> list[str]:
    """One identifier a submission, used for ``grades.csv`` rows and ``feedback/<id>.html``.

    The identifier is the file's path relative to the deepest folder holding all submissions,
    without ``.ipynb``, with folders joined by ``--`` and any character outside
    ``A-Z a-z 0-9 . _ -`` replaced by ``_``: ``hand-in/alice.ipynb`` -> ``alice``,
    ``hand-in/alice/01.ipynb`` -> ``alice--01``. A name that had a character replaced gets the
    first 8 hex digits of its path's SHA-256 appended (``Zoë`` -> ``Zo_-1a2b3c4d``), whatever
    else is handed in: names that would share an identifier (``Zoë`` and ``Zo_``, or ``Zoë`` in
    two Unicode normalisations) are all graded, and each keeps its identifier when graded alone.
    A symbolic link keeps its own name (it is not followed here; :func:`prepare` refuses it).

    Raises:
        SubmissionError: a path is neither a file nor a symbolic link, is given twice, or two
            identifiers are still the same (a file named like another's hashed identifier).
    """
    import hashlib

    from lstm_lessons.safe_text import one_line  # a file name is the hand-in's: shown safely

    paths = [Path(p) for p in paths]
    missing = [one_line(p) for p in paths if not (p.is_file() or p.is_symlink())]
    if missing:
        raise SubmissionError(f"Submission(s) not found or not a file: {', '.join(missing)}")
    absolute = [Path(os.path.abspath(p)) for p in paths]
    if len(set(absolute)) != len(absolute):
        raise SubmissionError("A submission is given twice: " + ", ".join(
            sorted({one_line(p) for p, a in zip(paths, absolute, strict=True) if absolute.count(a) > 1})))
    common = common_folder(paths)

    def digest(name: str) -> str:
        return hashlib.sha256(name.encode("utf-8", "surrogateescape")).hexdigest()[:8]

    ids = []
    for a in absolute:
        relative = a.relative_to(common)
        name = "--".join([*relative.parts[:-1], relative.name.removesuffix(".ipynb")])
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", name)
        # A name that had to change gets its hash whatever else is handed in, so that its id is
        # the same when graded alone and a regrade never replaces another student's row.
        ids.append(safe if safe == name else f"{safe}-{digest(str(relative))}")
    clashes = sorted({i for i in ids if ids.count(i) > 1})
    if clashes:
        raise SubmissionError(f"Submissions share the identifier(s) {clashes}; rename the files.")
    return ids


def given_ids(ids, paths) -> list[str]:
    """``ids``, one a submission of ``paths``, as
    :meth:`~lstm_lessons.instructor.grader.Grader.grade` takes them. A path that is missing or not
    a regular file is not refused here: it is that hand-in's ``refused`` status
    (:func:`read_hand_in`), so that it costs no other hand-in its grade.

    Raises:
        SubmissionError: the numbers differ, an identifier is empty or holds characters outside
            ``A-Z a-z 0-9 . _ + -``, or two are the same.
    """
    ids = [str(i) for i in ids]
    if len(ids) != len(paths):
        raise SubmissionError(f"{len(ids)} identifiers given for {len(paths)} submissions; give one each.")
    wrong = [i for i in ids if not re.fullmatch(r"[A-Za-z0-9._+-]+", i)]
    if wrong:
        raise SubmissionError(f"Identifier(s) {wrong!r} may hold only letters A-Z a-z, digits and . _ + -.")
    clashes = sorted({i for i in ids if ids.count(i) > 1})
    if clashes:
        raise SubmissionError(f"Submissions share the identifier(s) {clashes}.")
    return ids


def within(root, paths) -> Path:
    """``root`` as an absolute path (links not resolved), when it holds every one of ``paths``.

    Raises:
        SubmissionError: a path lies outside ``root``.
    """
    root = Path(os.path.abspath(root))
    outside = [str(p) for p in paths if not Path(os.path.abspath(p)).is_relative_to(root)]
    if outside:
        raise SubmissionError(f"Submission(s) {outside!r} lie outside the hand-ins folder {str(root)!r}.")
    return root


def common_folder(paths) -> Path:
    """The deepest folder holding all of ``paths`` (absolute, links not resolved): the folder the
    instructor collected the hand-ins in."""
    return Path(os.path.commonpath([Path(os.path.abspath(p)).parent for p in paths]))


def linked_folder(path, root) -> Path | None:
    """The first folder between ``root`` and the file ``path`` (``root`` itself not included)
    that is a symbolic link, or ``None``. A link *above* the collection folder is the
    instructor's own (``/tmp`` on macOS is one); a link below it came with the hand-ins."""
    path, root = Path(os.path.abspath(path)), Path(os.path.abspath(root))
    try:
        below = path.parent.relative_to(root).parts
    except ValueError:
        return None
    folder = root
    for part in below:
        folder = folder / part
        if folder.is_symlink():
            return folder
    return None


def lesson_of(notebook) -> str | None:
    """The lesson a notebook belongs to: its metadata ``lstm_lessons.lesson``, else the lesson
    of its exercise cells (when they all name one), else ``None``."""
    named = notebook.get("metadata", {}).get("lstm_lessons", {}).get("lesson")
    if isinstance(named, str):
        return named
    lessons = {EXERCISES[e].lesson for e in exercise_cells(notebook) if e in EXERCISES}
    return lessons.pop() if len(lessons) == 1 else None


DEFAULT_MAX_MB = 10.0
"""The largest hand-in read, in MiB (``--max-mb``): an executed lesson is under 0.5 MiB."""


def read_hand_in(path, max_mb: float = DEFAULT_MAX_MB, root=None) -> tuple[str | None, str]:
    """The bytes of a hand-in, or why it is refused: ``(text, "")`` or ``(None, reason)``.

    A symbolic link is not followed (``O_NOFOLLOW``: a link to another file on the instructor's
    disk would execute that file and show it in a feedback page), nor a folder between ``root``
    (the collection folder, :func:`common_folder`) and the file that is a link
    (:func:`linked_folder`); a file with other names on the disk (hard links) is not read
    either, since one of them may be another user's file; nor is a file larger than ``max_mb``
    MiB.
    """
    from lstm_lessons.safe_text import one_line

    if os.path.islink(path):          # also where the system has no O_NOFOLLOW
        return None, "a symbolic link: hand in the notebook itself"
    link = linked_folder(path, root) if root is not None else None
    if link is not None:
        return None, f"its folder {one_line(link.name)!r} is a symbolic link: hand in the notebook itself"
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    try:
        # O_NONBLOCK: a FIFO put in the file's place cannot make the grader wait for ever.
        descriptor = os.open(path, flags)
    except OSError as exc:
        if os.path.islink(path):
            return None, "a symbolic link: hand in the notebook itself"
        return None, f"it cannot be opened ({exc.strerror})"
    with os.fdopen(descriptor, "rb") as file:
        status = os.fstat(file.fileno())
        if not stat.S_ISREG(status.st_mode):
            return None, "not a regular file"
        if status.st_nlink > 1:
            return None, (f"the file has {status.st_nlink} names on this disk (hard links), one of "
                          f"which may be someone else's file: hand in a copy")
        size = status.st_size
        if size > max_mb * 2**20:
            return None, f"{size / 2**20:.1f} MiB, more than the limit of {max_mb:g} MiB (--max-mb)"
        raw = file.read(int(max_mb * 2**20) + 1)
    if len(raw) > max_mb * 2**20:   # grew while read
        return None, f"more than the limit of {max_mb:g} MiB (--max-mb)"
    return raw.decode("utf-8", errors="replace"), ""


def _json_type(value) -> str:
    """The JSON name of a value's type: ``object``, ``array``, ``string``, ``number``..."""
    for kinds, name in ((dict, "object"), (list, "array"), (str, "string"), (bool, "boolean"),
                        ((int, float), "number"), (type(None), "null")):
        if isinstance(value, kinds):
            return name
    return type(value).__name__


def prepare(path, lesson: str, max_mb: float = DEFAULT_MAX_MB, root=None) -> tuple[str, str, str | None]:
    """Check a submission and make the copy the grader executes.

    The copy has every output, execution count and papermill record removed, so nothing the
    student stored in the file (for example an edited exercise record) reaches the grader.

    Returns:
        ``("ready", "", notebook as JSON text)``, or ``("refused" | "not-a-notebook" |
        "wrong-lesson", message, None)``: refused is a symbolic link (the file, or a folder
        below ``root``), a file with hard links or a file over ``max_mb`` MiB
        (:func:`read_hand_in`).
    """
    text, refused = read_hand_in(path, max_mb, root)
    if text is None:
        return "refused", f"not read: {refused}", None
    try:
        notebook = nbformat.reads(text, as_version=4)
        if not isinstance(notebook.get("cells"), list):
            raise ValueError("no list of cells")
    except Exception as exc:  # noqa: BLE001 - any unreadable file is graded, not raised
        why = ("the file is not valid JSON" if "not appear to be JSON" in str(exc)
               else f"{type(exc).__name__}: {str(exc).strip()[:120]}")
        return "not-a-notebook", f"not a readable Jupyter notebook ({why})", None
    found = lesson_of(notebook)
    if found != lesson:
        why = (f"this notebook is for lesson {found!r}, not {lesson!r}" if found
               else f"this notebook names no lesson and has none of {lesson!r}'s exercises")
        return "wrong-lesson", why, None
    try:
        for cell in notebook.cells:
            cell.get("metadata", {}).pop("papermill", None)
            if cell.get("cell_type") == "code":
                cell.outputs, cell.execution_count = [], None
        notebook.metadata.pop("papermill", None)
        # What execution and the feedback page rely on: every cell a known type with text for
        # its source (a source that is an object would fail later, in the feedback page). The rest of
        # the schema is not enforced: Jupyter and other tools write small departures from it (a
        # kernelspec without display_name, outputs left on a Markdown cell) that run fine.
        for n, cell in enumerate(notebook.cells):
            if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw") \
                    or not isinstance(cell.get("source"), str):
                kind = cell.get("cell_type") if isinstance(cell, dict) else _json_type(cell)
                source = _json_type(cell.get("source")) if isinstance(cell, dict) else "none"
                raise ValueError(f"cell {n} ({kind!r:.40}) has a source of type {source}, not text")
        text = nbformat.writes(notebook)
    except Exception as exc:  # noqa: BLE001 - a malformed notebook is graded, not raised
        why = f"{type(exc).__name__}: {str(exc)[:120]}"
        return "not-a-notebook", f"not a well-formed Jupyter notebook ({why})", None
    return "ready", "", text
