"""How long each exercise's check takes: the reference answer verified once, timed.

Usage: ``.venv/bin/python benchmarks/check_times.py [--exercises 01-plateau-schedule ...]``

A student waits this long after ``ll.grading.check``, and the grader spends it once per distinct
answer. Each exercise's reference (``solutions/answers/``) is verified with the grader's own
code (``lstm_lessons.grading.feedback.verify``, the task's seed) in this one process, after
TensorFlow's import, which a student's kernel has already paid. Prints a Markdown table: the
exercise, the wall time in seconds and the points, under where it ran
(``ll.machine.describe``). The times are this machine's under its load; compare them with each
other, not with another machine's.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    from lstm_lessons.grading.feedback import verify
    from lstm_lessons.instructor.solutions import declared_answers
    from lstm_lessons.machine import describe

    declared = declared_answers()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--exercises", nargs="*", default=sorted(declared),
                        help="exercise ids (default: every declared one)")
    exercises = parser.parse_args().exercises
    unknown = sorted(set(exercises) - set(declared))
    if unknown:
        parser.error(f"--exercises: unknown {unknown}; declared are {sorted(declared)}")
    from lstm_lessons._tf import keras  # noqa: F401 - TensorFlow's import, paid outside the table

    rows = []
    for exercise in exercises:
        start = time.perf_counter()
        result = verify(exercise, dict(declared[exercise]["reference"]))
        rows.append((exercise, time.perf_counter() - start, result.points, result.max_points))
    print(f"ran on: {describe()}\n")
    print("| exercise | seconds | points |\n|---|---|---|")
    for exercise, seconds, points, max_points in rows:
        print(f"| `{exercise}` | {seconds:.1f} | {points}/{max_points} |")


if __name__ == "__main__":
    main()
