"""The course gradebook: one folder of hand-ins for several lessons and a roster, graded into
one folder (``lstm-lessons grade HAND_INS --roster roster.csv --out DIR``).

What ``DIR`` holds, every file written atomically (:func:`lstm_lessons.files.write_atomically`):

- ``lessons/<lesson>/``: each lesson's grades as ``lstm-lessons grade`` writes them
  (``grades.csv``, ``results.json``, ``feedback/<login>.html``), one row a student, named by the
  student's key (:attr:`~lstm_lessons.instructor.roster.Student.key`);
- ``gradebook.csv``: a row a student of the roster, in its order; for each lesson a column per
  exercise, the lesson's total and its status; the course's total and the most there is;
- ``totals.csv``, ``canvas.csv``, ``moodle.csv``: the lesson totals as a plain table and in the
  import formats of Canvas and Moodle (:mod:`~lstm_lessons.instructor.lms`);
- ``hand-ins.csv``: the notebooks given to no student or lesson, the students with no hand-in of a
  lesson, and the grades of students no longer on the roster, each with the reason;
- ``similarity.csv`` and ``similarity/<lesson>.html``: pairs of hand-ins of a lesson whose own
  code is unusually similar (:mod:`~lstm_lessons.instructor.similarity`); they change no grade.

A run grades the hand-ins it is asked for (``students``, ``lessons``; default all) and rebuilds
the gradebook from every lesson's ``results.json``: a regrade of one student or one lesson
changes only its cells, and the grader reuses the earlier checks of answers it has seen.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

from lstm_lessons.files import write_atomically
from lstm_lessons.grading.registry import EXERCISES
from lstm_lessons.instructor.report import Grade, csv_table, read_earlier
from lstm_lessons.instructor.roster import Matching, Student, match_hand_ins, read_roster
from lstm_lessons.instructor.submissions import DEFAULT_MAX_MB
from lstm_lessons.runner import NOTEBOOKS_DIR, resolve_lessons
from lstm_lessons.safe_text import csv_text

LESSONS_FOLDER = "lessons"
"""``DIR/lessons/<lesson>/``: where each lesson's grades are written."""
NO_HAND_IN = "no hand-in"
"""The status of a lesson a student handed nothing in for (its points are blank, its total 0)."""
NOT_GRADED_YET = "not graded yet"
"""The status of a hand-in found but not graded (a run stopped before it, or not asked for)."""


class CourseError(ValueError):
    """A course run that cannot start: an unknown student, no lesson with exercises."""


@dataclass
class Gradebook:
    """The course's grades (:func:`build_gradebook`).

    Attributes:
        students: the roster, in its order.
        lessons: ``{lesson: {exercise id: points possible}}``, in lesson order.
        grades: ``{lesson: {student key: Grade}}`` (a student with no grade is absent).
        handed: ``{lesson: {student key}}``: who has a hand-in of the lesson now.
    """

    students: list[Student]
    lessons: dict[str, dict[str, int]]
    grades: dict[str, dict[str, Grade]]
    handed: dict[str, set[str]] = field(default_factory=dict)

    def status(self, lesson: str, student: Student) -> str:
        """The grade's status, else :data:`NOT_GRADED_YET` or :data:`NO_HAND_IN`."""
        grade = self.grade(lesson, student)
        if grade is not None:
            return grade.status
        return NOT_GRADED_YET if student.key in self.handed.get(lesson, ()) else NO_HAND_IN

    @property
    def graded_lessons(self) -> list[str]:
        """The lessons of :attr:`lessons` with at least one grade: the LMS files' columns."""
        return [lesson for lesson in self.lessons if self.grades.get(lesson)]

    def grade(self, lesson: str, student: Student) -> Grade | None:
        """The student's grade of ``lesson``, or ``None``."""
        return self.grades.get(lesson, {}).get(student.key)

    def lesson_total(self, lesson: str, student: Student) -> int | None:
        """The student's points in ``lesson``, ``None`` with no hand-in."""
        grade = self.grade(lesson, student)
        return None if grade is None else grade.total

    def exported_total(self, lesson: str, student: Student) -> int | None:
        """What the LMS files carry: :meth:`lesson_total`, but ``None`` for a ``grader-error`` too
        (a failure of the grader, not a grade: regrade it)."""
        grade = self.grade(lesson, student)
        return None if grade is None or grade.status == "grader-error" else grade.total

    def total(self, student: Student) -> int:
        """The student's points over every lesson (a lesson with no hand-in counts 0)."""
        return sum(self.lesson_total(lesson, student) or 0 for lesson in self.lessons)

    @property
    def max_total(self) -> int:
        """The most points there are over :attr:`lessons`."""
        return sum(sum(points.values()) for points in self.lessons.values())


def lesson_exercises(lesson: str) -> dict[str, int]:
    """``{exercise id: points}`` of ``lesson`` (its full name), in the registry's order."""
    return {e.id: e.points for e in EXERCISES.values() if e.lesson == lesson}


def graded_lessons(out) -> list[str]:
    """The lessons with a grades folder in ``out/lessons/`` (each holding a ``results.json``), sorted."""
    folder = Path(out) / LESSONS_FOLDER
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "results.json").is_file())


def build_gradebook(students: list[Student], out, lessons=(), handed=None) -> Gradebook:
    """The gradebook of ``students`` from every lesson graded into ``out`` (and ``lessons``, full
    names, even if none of their hand-ins is graded yet); ``handed``: ``{lesson: {student key}}``
    with a hand-in now.

    Raises:
        ResultsFileError: a lesson's ``results.json`` is not the grader's for that lesson.
    """
    names = sorted({*graded_lessons(out), *lessons})
    grades = {lesson: {g.id: g for g in read_earlier(Path(out) / LESSONS_FOLDER / lesson, lesson)}
              for lesson in names}
    return Gradebook(list(students), {lesson: lesson_exercises(lesson) for lesson in names}, grades,
                     {lesson: set(keys) for lesson, keys in (handed or {}).items()})


def gradebook_csv(book: Gradebook) -> str:
    """The whole gradebook as CSV: ``id, name, login, email, section``; for each lesson, its
    exercises' points, ``<NN> total`` and ``<NN> status`` (a grade's status, or
    :data:`NO_HAND_IN` or :data:`NOT_GRADED_YET` with blank points); then ``total`` and
    ``max_total``."""
    rows = []
    header = ["id", "name", "login", "email", "section"]
    for lesson, exercises in book.lessons.items():
        header += [*exercises, f"{lesson[:2]} total", f"{lesson[:2]} status"]
    rows.append([*header, "total", "max_total"])
    for student in book.students:
        row = [csv_text(v) for v in (student.id, student.name, student.key, student.email, student.section)]
        for lesson, exercises in book.lessons.items():
            grade = book.grade(lesson, student)
            if grade is None:
                row += [""] * len(exercises) + ["", book.status(lesson, student)]
            else:
                row += [grade.points.get(e, 0) for e in exercises] + [grade.total, csv_text(grade.status)]
        rows.append([*row, book.total(student), book.max_total])
    return csv_table(rows)


def hand_ins_csv(matching: Matching, folder: Path, book: Gradebook) -> str:
    """``hand-ins.csv``: ``what, lesson, hand-in or student, why`` for every notebook given to no
    student or lesson, every student with no hand-in of a lesson (saying whether an earlier
    run's grade of it is kept), and every grade of a student no longer on the roster."""
    names = {s.key: s.name for s in book.students}
    rows = [["what", "lesson", "hand-in or student", "why"]]
    for path, why in matching.unmatched:
        rows.append(["unmatched hand-in", "", csv_text(path.relative_to(folder)), csv_text(why)])
    for lesson, keys in matching.missing.items():
        for key in keys:
            why = f"{names[key]} handed in no notebook of lesson {lesson[:2]}"
            if key in book.grades.get(lesson, {}):
                why += "; the grade of an earlier run is kept"
            rows.append(["no hand-in", lesson, csv_text(key), csv_text(why)])
    for lesson in book.lessons:
        for student in book.students:
            if book.status(lesson, student) == NOT_GRADED_YET:
                rows.append([NOT_GRADED_YET, lesson, csv_text(student.key),
                             csv_text(f"{student.name}'s notebook of lesson {lesson[:2]} has no grade "
                                      f"yet: grade it (--student {student.key} --lesson {lesson[:2]})")])
    for lesson, grades in book.grades.items():
        for key in grades:
            if key not in names:
                rows.append(["grade of no student", lesson, csv_text(key),
                             "graded earlier, but no student on the roster has this login; not in "
                             "the gradebook"])
    return csv_table(rows)


@dataclass
class CourseRun:
    """What :func:`grade_course` did: the :class:`Gradebook`, the :class:`Matching` of the
    hand-ins, the lessons it was to grade (``asked``), the grades it made (``{lesson: [Grade]}``),
    what each lesson's grader had to say (``notices``: workers left out, machines that differ, a
    package changed and restored), the flagged similar pairs, and the lessons whose similarity
    report failed (``{lesson: why}``)."""

    gradebook: Gradebook
    matching: Matching
    asked: list[str]
    graded: dict[str, list[Grade]]
    notices: list[str]
    similar: list
    not_compared: dict[str, str]


def select_lessons(lessons=(), notebooks_dir: Path = NOTEBOOKS_DIR) -> dict[str, str]:
    """``{two-digit number: full name}`` of ``lessons`` (names or numbers; none: every lesson),
    keeping those with graded exercises.

    Raises:
        LessonNotFoundError: a name matches no lesson.
        CourseError: none of them has graded exercises.
    """
    paths = resolve_lessons(list(lessons), notebooks_dir)
    chosen = {p.stem[:2]: p.stem for p in paths if lesson_exercises(p.stem)}
    if not chosen:
        raise CourseError(f"None of the lessons {list(lessons)!r} has graded exercises.")
    return chosen


def grade_course(hand_ins, roster, out, lessons=(), students=(), similarity: bool = True,
                 notebooks_dir: Path = NOTEBOOKS_DIR, **grader_options) -> CourseRun:
    """Grade the hand-ins below ``hand_ins`` of the students on ``roster`` into ``out`` (see the
    module docstring), one :class:`~lstm_lessons.instructor.grader.Grader` a lesson.

    Args:
        hand_ins: the hand-ins folder (:mod:`~lstm_lessons.instructor.roster` says whose each is).
        roster: the roster CSV file, or the students (:func:`~lstm_lessons.instructor.roster.read_roster`).
        out: the course's output folder.
        lessons: the lessons to grade (names or numbers); default every lesson graded into
            ``out`` before or handed in. The gradebook, ``hand-ins.csv`` and the similarity
            report cover these and every lesson graded before.
        students: the keys of the students to grade (a regrade); default every student.
        similarity: write the similarity report.
        grader_options: passed to each lesson's ``Grader`` (``workers``, ``timeout``,
            ``sandbox``, ``scheduler``, ``max_mb``...).

    An interrupt (Ctrl-C) stops the grading as ``lstm-lessons grade`` stops; the gradebook and
    ``hand-ins.csv`` are then written from the grades recorded so far, and the interrupt raised
    again. Before a lesson's first hand-in runs, it also raises what
    :class:`~lstm_lessons.instructor.grader.Grader` raises (an unknown lesson, a limit that is not
    positive, no sandbox, a cluster that cannot be reached).

    Raises:
        RosterError: the roster cannot be read.
        CourseError: a key of ``students`` is not on the roster, a lesson asked for has no
            exercises, or no lesson is asked for and none is handed in or graded before.
        NotADirectoryError: ``hand_ins`` is not a folder.
        ResultsFileError: a lesson's ``results.json`` in ``out`` is not the grader's (before
            anything runs).
    """
    from lstm_lessons.instructor.cluster import MachinesDifferWarning
    from lstm_lessons.instructor.grader import Grader

    hand_ins, out = Path(hand_ins), Path(out)
    roster_students = read_roster(roster) if isinstance(roster, str | Path) else list(roster)
    keys = [s.key for s in roster_students]
    unknown = [k for k in students if k.lower() not in keys]
    if unknown:
        listed = ", ".join(keys[:10]) + ("..." if len(keys) > 10 else "")
        raise CourseError(f"student(s) {unknown!r} (--student): not on the roster (its logins: {listed}).")
    chosen = {k.lower() for k in students} or set(keys)
    matching = match_hand_ins(hand_ins, roster_students, select_lessons((), notebooks_dir))
    handed = [lesson for lesson, paths in matching.hand_ins.items() if paths]
    # The lessons to grade: those asked for, else every lesson graded before or handed in; the
    # course's lessons (the gradebook's, the lists'): those and every lesson graded before.
    asked = list(select_lessons(lessons, notebooks_dir).values()) if lessons else \
        sorted({*graded_lessons(out), *handed})
    course = sorted({*asked, *graded_lessons(out)})
    matching.hand_ins = {lesson: h for lesson, h in matching.hand_ins.items() if lesson in course}
    matching.missing = {lesson: k for lesson, k in matching.missing.items() if lesson in course}
    handed_keys = {lesson: set(h) for lesson, h in matching.hand_ins.items()}
    # Before anything runs: every lesson's earlier results must be readable.
    book = build_gradebook(roster_students, out, course, handed_keys)
    if not asked:
        write_atomically(out / "hand-ins.csv", hand_ins_csv(matching, hand_ins, book))
        raise CourseError(f"no notebook below {str(hand_ins)!r} is a roster student's hand-in of a lesson; "
                          f"{out / 'hand-ins.csv'} lists the notebooks found and why.")
    graded: dict[str, list[Grade]] = {}
    notices: list[str] = []
    try:
        for lesson in asked:
            mine = {k: p for k, p in matching.hand_ins[lesson].items() if k in chosen}
            if students:
                notices += [f"lesson {lesson[:2]}: {k} handed in no notebook of it" for k in
                            sorted({k.lower() for k in students} - set(mine))]
            if not mine:
                continue
            with warnings.catch_warnings():      # its text is the first of the runner's notices
                warnings.simplefilter("ignore", MachinesDifferWarning)
                grader = Grader(lesson, out / LESSONS_FOLDER / lesson, notebooks_dir=notebooks_dir,
                                **grader_options)
            with grader:
                notices += [f"lesson {lesson[:2]}: {n}" for n in grader.runner.notices]
                graded[lesson] = grader.grade(list(mine.values()), ids=list(mine), root=hand_ins)
                notices += [f"lesson {lesson[:2]}: the lstm_lessons package was changed while "
                            f"{', '.join(r['running']) or 'hand-ins'} ran ({'; '.join(r['changes'])}); "
                            f"restored before the checks" for r in grader.repairs]
    finally:
        book = write_gradebook(roster_students, out, course, handed_keys)
        write_atomically(out / "hand-ins.csv", hand_ins_csv(matching, hand_ins, book))
    similar, not_compared = [], {}
    if similarity:
        from lstm_lessons.instructor.similarity import write_similarity

        max_mb = grader_options.get("max_mb", DEFAULT_MAX_MB)
        similar, not_compared = write_similarity(matching.hand_ins, out, notebooks_dir, hand_ins, max_mb)
    return CourseRun(book, matching, asked, graded, notices, similar, not_compared)


def write_gradebook(students: list[Student], out, lessons=(), handed=None) -> Gradebook:
    """Build the gradebook (:func:`build_gradebook`) and write ``gradebook.csv``, ``totals.csv``,
    ``canvas.csv`` and ``moodle.csv`` into ``out``."""
    from lstm_lessons.instructor.lms import canvas_csv, moodle_csv, plain_csv

    out = Path(out)
    book = build_gradebook(students, out, lessons, handed)
    write_atomically(out / "gradebook.csv", gradebook_csv(book))
    write_atomically(out / "totals.csv", plain_csv(book))
    write_atomically(out / "canvas.csv", canvas_csv(book))
    write_atomically(out / "moodle.csv", moodle_csv(book))
    return book
