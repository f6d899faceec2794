"""A class's roster, and which hand-in is whose.

The roster is a CSV file with a header row; its columns, in any order (names compared without
case, spaces, ``-`` or ``_``; where several are given, the first listed in :data:`COLUMNS` is
used): ``id``, ``name`` (or ``first name`` and ``last name``), ``login`` and/or ``email``, and an
optional ``section``. A gradebook exported from Canvas (``SIS User ID``, ``Student``,
``SIS Login ID``, ``Section``; its ``Points Possible`` row is skipped) or Moodle (``ID number``,
``First name``, ``Last name``, ``Email address``) reads as one. Each student needs an id and a
login or an e-mail address; the **key** that finds their hand-ins and names their grades is the
login, or, without one, the e-mail address, up to any ``@``, in lower case.

A hand-in (a ``.ipynb`` file below the hand-ins folder) is a student's when

- it lies in a folder per student: the first folder below the hand-ins folder is the key
  (``hand-ins/alice/01_learning_rate_oscillation.ipynb``); or
- it lies in the hand-ins folder itself and its name is the key, a ``_``, ``-`` or ``.``, then the
  lesson's number, with or without ``lesson`` before it (``hand-ins/alice_01_leakage.ipynb``,
  ``hand-ins/alice-lesson01.ipynb``): a stranger's ``li_wei_01.ipynb`` is not the student ``li``'s.

Names are compared without case. The lesson is the first two-digit number in the file's name that
stands alone (``01_learning_rate_oscillation.ipynb``, ``lesson03.ipynb``; the ``2024`` of
``2024_lesson03.ipynb`` is not one). The grader then checks that the notebook is that lesson's
(``wrong-lesson`` otherwise). Jupyter's autosaves in ``.ipynb_checkpoints/`` folders, and the
``__MACOSX/`` folders and ``._*`` files that macOS's archives add, are not hand-ins. Every other
notebook that cannot be given to one student and one lesson is listed in :attr:`Matching.unmatched`
with the reason (a folder that is a symbolic link too), and every student with no hand-in of a
lesson in :attr:`Matching.missing`: nothing is dropped silently.
"""

from __future__ import annotations

import csv
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from lstm_lessons.safe_text import one_line

KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._+-]*")
"""What a key (a login, or an e-mail address's part before ``@``) may hold: it becomes a file
name and a grade's identifier, and an LMS matches it as it is (a leading ``-``, ``+``, ``=`` or
``@`` would make a spreadsheet read it as a formula)."""
FORMULA_START = ("=", "+", "-", "@")
"""What an id may not start with: a spreadsheet reads such a cell as a formula, and the exports
make it text by a leading ``'`` (:func:`lstm_lessons.safe_text.csv_text`), which no LMS matches."""
COLUMNS = {"id": ("sisuserid", "studentid", "idnumber", "id"), "name": ("name", "fullname", "student"),
           "login": ("login", "username", "sisloginid"), "email": ("email", "emailaddress"),
           "section": ("section",), "first": ("firstname",), "last": ("lastname", "surname")}
"""Each roster column and the header names accepted for it, in order of preference (compared
without case, spaces, ``-`` and ``_``): Canvas's export has both ``ID`` (its own user id) and
``SIS User ID`` (the institution's), and the second is the student id."""
SKIPPED_ROWS = ("Points Possible",)
"""Rows whose name is one of these are not students (Canvas's gradebook export has one)."""
LESSON_NUMBER = re.compile(r"(?<![0-9])([0-9]{2})(?![0-9])")
FLAT_NAME = re.compile(r"(?:lesson[ _-]?)?[0-9]{2}(?![0-9])", re.IGNORECASE)
"""What follows the key and its separator in the name of a hand-in in the hand-ins folder itself."""
NOT_HAND_INS = (".ipynb_checkpoints", "__MACOSX")
"""Folders whose notebooks are not hand-ins: Jupyter's autosaves, macOS's archive metadata."""


class RosterError(ValueError):
    """The roster file cannot be read as a roster: the message names the file, the line and the value."""


@dataclass(frozen=True)
class Student:
    """One row of the roster.

    Attributes:
        id: the institution's student id (the LMS exports identify the student by it, or by ``email``).
        name: the student's name as the roster gives it.
        login: the login, ``""`` when the roster has none.
        email: the e-mail address, ``""`` when the roster has none.
        section: the section, ``""`` when the roster has none.
    """

    id: str
    name: str
    login: str = ""
    email: str = ""
    section: str = ""

    @property
    def key(self) -> str:
        """What finds the student's hand-ins and names their grades: the login, else the e-mail
        address, up to any ``@``, in lower case."""
        return (self.login or self.email).partition("@")[0].lower()


@dataclass
class Matching:
    """Which hand-in is whose (:func:`match_hand_ins`).

    Attributes:
        hand_ins: ``{lesson: {student key: path}}``, one hand-in a student and lesson.
        unmatched: ``[(path, why)]``: the notebooks (and linked folders) given to no student and
            lesson.
        missing: ``{lesson: [student key]}``: the students who handed in no notebook of a lesson,
            in roster order (one who handed in two is in ``unmatched``, not here).
    """

    hand_ins: dict[str, dict[str, Path]] = field(default_factory=dict)
    unmatched: list[tuple[Path, str]] = field(default_factory=list)
    missing: dict[str, list[str]] = field(default_factory=dict)


def _columns(header: list[str]) -> dict[str, int]:
    """``{column: index}`` of the roster columns in ``header``, the most preferred name of each."""
    simple = [re.sub(r"[\s_-]", "", h).lower() for h in header]
    return {name: simple.index(found) for name, accepted in COLUMNS.items()
            if (found := next((a for a in accepted if a in simple), None)) is not None}


def read_roster(path) -> list[Student]:
    """The students of the roster CSV file ``path`` (UTF-8, a BOM allowed), in its order.

    Raises:
        RosterError: the file is missing or unreadable, a required column is missing, a row has
            no id or no key, an id starts with one of :data:`FORMULA_START`, a key holds characters
            outside ``A-Z a-z 0-9 . _ + -`` or does not start with a letter or digit, or two
            students share an id or a key (keys compared without case).
    """
    path = Path(path)
    try:
        with path.open(newline="", encoding="utf-8-sig") as f:
            rows = list(csv.reader(f))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise RosterError(f"roster={str(path)!r} cannot be read as a CSV file ({exc}).") from exc
    if not rows:
        raise RosterError(f"roster={str(path)!r} is empty; expected a header row ({', '.join(COLUMNS)}).")
    where = _columns(rows[0])
    lacking = [c for c in ("id", "name") if c not in where and (c != "name" or "first" not in where)]
    if lacking or not {"login", "email"} & where.keys():
        lacking += [] if {"login", "email"} & where.keys() else ["login or email"]
        raise RosterError(f"roster={str(path)!r} has no column {' and no column '.join(lacking)} in its "
                          f"header {one_line(rows[0])}; expected id, name, login and/or email, and "
                          f"optionally section.")
    students, ids, keys = [], {}, {}
    for line, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        cells = {name: row[i].strip() if i < len(row) else "" for name, i in where.items()}
        name = cells.get("name") or " ".join(filter(None, (cells.get("first"), cells.get("last"))))
        if name in SKIPPED_ROWS:
            continue
        student = Student(cells["id"], name, cells.get("login", ""), cells.get("email", ""),
                          cells.get("section", ""))
        place = f"roster={str(path)!r}, line {line}"
        if not student.id:
            raise RosterError(f"{place}: the student {one_line(student.name)!r} has no id.")
        if not student.key:
            raise RosterError(f"{place}: the student {student.id!r} has neither a login nor an e-mail "
                              f"address.")
        if student.id.startswith(FORMULA_START):
            raise RosterError(f"{place}: the id {one_line(student.id)!r} starts with "
                              f"{student.id[0]!r}, which a spreadsheet reads as a formula.")
        if not KEY.fullmatch(student.key):
            raise RosterError(f"{place}: the key {one_line(student.key)!r} (the login, or the e-mail "
                              f"address, up to any '@') may hold only letters A-Z a-z, digits and "
                              f". _ + -, and starts with a letter or digit.")
        for seen, value, what in ((ids, student.id, "id"), (keys, student.key, "login")):
            if value in seen:
                raise RosterError(f"{place}: the {what} {one_line(value)!r} is also on line {seen[value]}.")
            seen[value] = line
        students.append(student)
    return students


def lesson_number(name: str) -> str | None:
    """The first two-digit number in ``name`` that no other digit touches (``"01"`` of
    ``01_learning_rate_oscillation.ipynb``), or ``None``."""
    found = LESSON_NUMBER.search(name)
    return found.group(1) if found else None


def _owner(relative: Path, keys: set[str]) -> tuple[str | None, str]:
    """(the student key a hand-in at ``relative`` belongs to or ``None``, the rest of its name to
    read the lesson from)."""
    if len(relative.parts) > 1:
        key = relative.parts[0].lower()
        return (key if key in keys else None), relative.name
    name = relative.name.lower()
    fitting = [k for k in keys if name.startswith(k) and name[len(k):len(k) + 1] in ("_", "-", ".")
               and FLAT_NAME.match(name, len(k) + 1)]
    if not fitting:
        return None, relative.name
    key = max(fitting, key=len)
    return key, relative.name[len(key) + 1:]


def match_hand_ins(folder, students: list[Student], lessons: dict[str, str]) -> Matching:
    """Give each notebook below ``folder`` to a student and a lesson (see the module docstring).

    Args:
        folder: the hand-ins folder; a folder below it that is a symbolic link is not followed,
            and is listed.
        students: the roster (:func:`read_roster`).
        lessons: ``{two-digit number: lesson name}`` of the course's lessons
            (``{"01": "01_learning_rate_oscillation"}``).

    Raises:
        NotADirectoryError: ``folder`` is not a folder.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise NotADirectoryError(f"hand-ins folder {str(folder)!r} is not a folder.")
    keys = {s.key for s in students}
    found: dict[tuple[str, str], list[Path]] = {}
    matching = Matching()
    for top, folders, files in os.walk(folder):
        for name in sorted(folders):
            if (Path(top) / name).is_symlink():
                matching.unmatched.append((Path(top) / name, "a symbolic link to a folder, not followed: "
                                                              "hand in the notebooks themselves"))
        folders[:] = sorted(f for f in folders if f not in NOT_HAND_INS)
        for name in sorted(files):
            if not name.lower().endswith(".ipynb") or name.startswith("._"):
                continue
            path = Path(top) / name
            relative = path.relative_to(folder)
            key, rest = _owner(relative, keys)
            number = lesson_number(rest)
            if key is None:
                who = relative.parts[0] if len(relative.parts) > 1 else relative.name
                why = f"no student on the roster has the login of {one_line(who)!r}"
                if len(relative.parts) == 1:
                    why = f"its name is no roster login, '_', then a lesson number ({one_line(who)!r})"
                matching.unmatched.append((path, why))
            elif number is None or number not in lessons:
                matching.unmatched.append((path, "its name holds the number of no lesson with exercises "
                                                 f"({', '.join(lessons)})"))
            else:
                found.setdefault((lessons[number], key), []).append(path)
    twice = set()
    for (lesson, key), paths in sorted(found.items()):
        if len(paths) == 1:
            matching.hand_ins.setdefault(lesson, {})[key] = paths[0]
        else:
            twice.add((lesson, key))
            names = ", ".join(one_line(p.relative_to(folder)) for p in paths)
            matching.unmatched += [(p, f"{key} handed in {len(paths)} notebooks of lesson {lesson[:2]} "
                                       f"({names}): neither is graded; keep one") for p in paths]
    for lesson in lessons.values():
        handed = matching.hand_ins.setdefault(lesson, {})
        matching.missing[lesson] = [s.key for s in students
                                    if s.key not in handed and (lesson, s.key) not in twice]
    return matching
