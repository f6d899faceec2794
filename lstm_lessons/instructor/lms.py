"""The course gradebook in the import formats of two learning-management systems: one column a
lesson, its total points (the plain ``gradebook.csv`` of :mod:`~lstm_lessons.instructor.course`
has every exercise).

A column a lesson with at least one grade. A student with no grade of it (no hand-in, one not
graded yet, or a ``grader-error``) gets a blank cell in both files, which both systems import as no
grade, replacing a grade entered there by hand (Canvas's importer counts a blank against a score
as a change; Moodle stores an empty value as no grade). Text cells are made safe for a spreadsheet
(:func:`lstm_lessons.safe_text.csv_text`).

**Canvas** (Gradebook > Import; Instructure's guide "How do I import grades in the Gradebook?",
https://community.canvaslms.com/t5/Instructor-Guide/How-do-I-import-grades-in-the-Gradebook/ta-p/807).
The header is ``Student, ID, SIS User ID, SIS Login ID, Section``, then a column an assignment:
the layout of Canvas's own gradebook export, the one its importer reads (Canvas's
``GradebookImporter``: the first cell must hold ``Student``, the second ``ID``, and the last
student column ``Section``). ``ID`` is Canvas's internal user id, which a roster does not have, so
it is left blank and Canvas finds the student by ``SIS User ID`` (the roster's id), then
``SIS Login ID`` (the login). A header that is no assignment's name (``Lesson 01: ...``) makes a
new assignment on import. The second row, ``Points Possible``, gives each assignment's points.

**Moodle** (Grades > Import > CSV file; Moodle's documentation "Grade import",
https://docs.moodle.org/en/Grade_import). The first row is the header; a row a student; comma
separated, UTF-8. On the import page, *Map from* names the column that finds the user and *Map to*
the user field it holds: ``ID number`` to ``useridnumber`` (the roster's id) or ``Email address``
to ``useremail``; each lesson column is then mapped to a new grade item (named by its header) or
an existing one. A blank cell imports as no grade.
"""

from __future__ import annotations

from lstm_lessons.instructor.report import csv_table
from lstm_lessons.safe_text import csv_text

CANVAS_STUDENT_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
"""The student columns of a Canvas gradebook import, in order."""
MOODLE_STUDENT_COLUMNS = ["ID number", "Email address", "Username", "Full name"]
"""The student columns of the Moodle file: the first two are the ones *Map from* can use."""


def assignment_name(lesson: str) -> str:
    """A lesson's column header in the LMS files: ``01_learning_rate_oscillation`` ->
    ``Lesson 01: learning rate oscillation``."""
    number, _, slug = lesson.partition("_")
    return f"Lesson {number}: {slug.replace('_', ' ')}"


def _points(book, lesson, student) -> str | int:
    total = book.exported_total(lesson, student)
    return "" if total is None else total


def canvas_csv(book) -> str:
    """The gradebook (:class:`~lstm_lessons.instructor.course.Gradebook`) as a Canvas gradebook
    import: :data:`CANVAS_STUDENT_COLUMNS`, a column a lesson (:func:`assignment_name`), the
    ``Points Possible`` row, then a row a student with its lesson totals."""
    lessons = book.graded_lessons
    rows = [[*CANVAS_STUDENT_COLUMNS, *map(assignment_name, lessons)],
            ["Points Possible", "", "", "", "", *(sum(book.lessons[lesson].values()) for lesson in lessons)]]
    for s in book.students:
        rows.append([csv_text(s.name), "", csv_text(s.id), csv_text(s.login), csv_text(s.section),
                     *(_points(book, lesson, s) for lesson in lessons)])
    return csv_table(rows)


def moodle_csv(book) -> str:
    """The gradebook as a Moodle grade import: :data:`MOODLE_STUDENT_COLUMNS`, then a column a
    lesson (:func:`assignment_name`) with its totals."""
    lessons = book.graded_lessons
    rows = [[*MOODLE_STUDENT_COLUMNS, *map(assignment_name, lessons)]]
    for s in book.students:
        rows.append([csv_text(s.id), csv_text(s.email), csv_text(s.login), csv_text(s.name),
                     *(_points(book, lesson, s) for lesson in lessons)])
    return csv_table(rows)


def plain_csv(book) -> str:
    """The lesson totals with the roster's columns: ``id, name, login, email, section``, a
    column a lesson (:func:`assignment_name`), ``total`` (a blank counts 0) and ``max_total``."""
    lessons = book.graded_lessons
    rows = [["id", "name", "login", "email", "section", *map(assignment_name, lessons), "total", "max_total"]]
    for s in book.students:
        rows.append([csv_text(v) for v in (s.id, s.name, s.key, s.email, s.section)]
                    + [_points(book, lesson, s) for lesson in lessons]
                    + [sum(book.exported_total(lesson, s) or 0 for lesson in lessons),
                       sum(sum(book.lessons[lesson].values()) for lesson in lessons)])
    return csv_table(rows)
