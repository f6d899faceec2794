"""What watching training live costs: each lesson run with its live views redrawn while the
models train, and with each view drawn once, at its end.

``.venv/bin/python benchmarks/live_overhead.py [--lessons 01 05 08] [--repeats 2]``

Runs every lesson (or those named) headlessly, as ``lstm-lessons run`` does, alternating the
two settings of ``LSTM_LESSONS_LIVE`` (``ll.live.LIVE_ENV``): ``live``, how a student in
JupyterLab runs a lesson (a view redraws while its runs train, at most every
``ll.live.MIN_INTERVAL`` s and with at most ``ll.live.DRAWING_SHARE`` of the time spent
drawing), and ``final`` (each view drawn once, at its end; what ``lstm-lessons run`` and the
grader do). Both keep the same final image, so the difference is the cost of the redraws while
training. The table gives each lesson's median wall time in each setting and the difference
in per cent of the ``final`` time (target: below 5 %). The order of the two settings
alternates from one repeat to the next, so a machine getting busier favours neither.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import pandas as pd

from lstm_lessons.live import LIVE_ENV
from lstm_lessons.runner import resolve_lessons, run_lesson

SETTINGS = ("live", "final")


def timed(path: Path, setting: str, out: Path) -> float:
    os.environ[LIVE_ENV] = setting
    result = run_lesson(path, out / setting, progress=False)
    if result.status != "passed":
        raise SystemExit(f"{path.stem} did not pass with {LIVE_ENV}={setting}: {result.status} {result.error}")
    return result.seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="*", default=[], help="lesson names or numbers (default: all)")
    parser.add_argument("--repeats", type=int, default=2, help="runs of each lesson in each setting (default 2)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="live-overhead-") as folder:
        for path in resolve_lessons(args.lessons):
            times: dict[str, list[float]] = {setting: [] for setting in SETTINGS}
            for repeat in range(args.repeats):
                for setting in SETTINGS if repeat % 2 == 0 else SETTINGS[::-1]:
                    times[setting].append(timed(path, setting, Path(folder)))
            live, final = statistics.median(times["live"]), statistics.median(times["final"])
            rows.append({"lesson": path.stem[:2], "live s": live, "final s": final,
                         "overhead %": (live / final - 1) * 100,
                         "runs live": ", ".join(f"{t:.1f}" for t in times["live"]),
                         "runs final": ", ".join(f"{t:.1f}" for t in times["final"])})
            print(f"{path.stem}: live {live:.1f} s, final {final:.1f} s", flush=True)
    table = pd.DataFrame(rows).set_index("lesson")
    print()
    print(table.to_string(float_format=lambda v: f"{v:.1f}"))
    live, final = table["live s"].sum(), table["final s"].sum()
    print(f"\nall lessons: live {live:.1f} s, final {final:.1f} s, overhead {(live / final - 1) * 100:+.1f} % "
          f"(target: below 5 %)")


if __name__ == "__main__":
    main()
