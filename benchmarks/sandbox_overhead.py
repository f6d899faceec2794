"""What the bubblewrap sandbox costs per submission: the same hand-ins graded with and without it.

``.venv/bin/python benchmarks/sandbox_overhead.py [--lesson 01] [--copies 2] [--rounds 2]``

Grades ``copies`` copies of a lesson's reference solution with one worker, in the sandbox and
with ``--no-sandbox``, alternating the order over ``rounds`` rounds (so a machine getting
busier does not favour one side), and prints a table: each submission's execution time (the
kernel's run, where the sandbox is; ``Grade.seconds``) and the whole grading call (execution
plus the answer checks, which run outside the sandbox either way), as a median over the runs,
and the sandbox's extra time in percent.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
import pandas as pd

from lstm_lessons.instructor import solution_notebook
from lstm_lessons.instructor.grader import Grader
from lstm_lessons.runner import resolve_lessons


def grade_once(lesson: str, paths: list[Path], out: Path, sandbox: bool) -> tuple[list[float], float]:
    start = time.perf_counter()
    grades = Grader(lesson, out, workers=1, progress=False, sandbox=sandbox).grade(paths)
    total = time.perf_counter() - start
    if not all(g.total == g.max_total for g in grades):
        raise SystemExit(f"a copy did not get full marks (sandbox={sandbox}): {[g.message for g in grades]}")
    return [g.seconds for g in grades], total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="01", help="lesson name or number (default 01)")
    parser.add_argument("--copies", type=int, default=2, help="submissions per grading call (default 2)")
    parser.add_argument("--rounds", type=int, default=2, help="calls per mode (default 2)")
    args = parser.parse_args()
    lesson = resolve_lessons([args.lesson])[0]
    runs = {True: ([], []), False: ([], [])}
    with tempfile.TemporaryDirectory(prefix="sandbox-benchmark-") as folder:
        hand_in = Path(folder) / "hand-in"
        hand_in.mkdir()
        paths = [hand_in / f"student{n:02d}.ipynb" for n in range(1, args.copies + 1)]
        for path in paths:
            nbformat.write(solution_notebook(lesson), path)
        for n in range(args.rounds):
            for sandbox in ((True, False) if n % 2 == 0 else (False, True)):
                out = Path(folder) / f"grades-{n}-{sandbox}"
                executions, total = grade_once(args.lesson, paths, out, sandbox)
                runs[sandbox][0].extend(executions)
                runs[sandbox][1].append(total)
    rows = []
    for sandbox in (False, True):
        executions, totals = runs[sandbox]
        rows.append({"sandbox": "bwrap" if sandbox else "none (--no-sandbox)",
                     "execution s (median)": round(statistics.median(executions), 1),
                     "grading call s (median)": round(statistics.median(totals), 1),
                     "executions": len(executions)})
    plain, boxed = rows
    extra = 100 * (boxed["execution s (median)"] / plain["execution s (median)"] - 1)
    print(f"Grading {lesson.stem}: {args.copies} copies of the reference solution, 1 worker, "
          f"{args.rounds} rounds\n")
    print(pd.DataFrame(rows).to_string(index=False))
    print(f"\nThe sandbox adds {extra:+.1f} % to a submission's execution time.")


if __name__ == "__main__":
    main()
