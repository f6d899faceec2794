"""How many submissions the grader handles a minute, for 1, 2 and 4 workers.

Usage: ``.venv/bin/python benchmarks/grading_throughput.py [--lesson 01] [--copies N]
[--workers 1 2 4]``

Each run grades ``N`` copies of the lesson's reference solution (every copy executes the whole
lesson in its own kernel) into a fresh folder and times the whole ``Grader.grade`` call,
including the grader's own checks of the answers (identical copies share one check per
exercise, as a class whose answers agree would). The table gives wall time, submissions per
minute and whether every copy got full marks. On a 2-core machine more than 2 workers only
adds contention: each kernel's TensorFlow already uses every core.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import nbformat
import pandas as pd

from lstm_lessons.grader import solution_notebook
from lstm_lessons.grader.grader import Grader, default_workers
from lstm_lessons.runner import resolve_lessons


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="01", help="lesson name or number (default 01)")
    parser.add_argument("--copies", type=int, default=4, help="submissions per run (default 4)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4],
                        help="worker counts (default 1 2 4)")
    args = parser.parse_args()
    lesson = resolve_lessons([args.lesson])[0]
    rows = []
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as folder:
        hand_in = Path(folder) / "hand-in"
        hand_in.mkdir()
        solved = solution_notebook(lesson)
        paths = [hand_in / f"student{n:02d}.ipynb" for n in range(1, args.copies + 1)]
        for path in paths:
            nbformat.write(solved, path)
        for workers in args.workers:
            grader = Grader(args.lesson, Path(folder) / f"grades-{workers}", workers=workers, progress=False)
            start = time.perf_counter()
            grades = grader.grade(paths)
            seconds = time.perf_counter() - start
            rows.append({"workers": workers, "submissions": len(paths), "seconds": round(seconds, 1),
                         "submissions/min": round(len(paths) / seconds * 60, 2),
                         "all full marks": all(g.total == g.max_total for g in grades)})
    print(f"Grading {lesson.stem}, {args.copies} copies of the reference solution, on {default_workers()} "
          f"CPU core(s):\n")
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
