"""What watching training live costs: each lesson run with its live views redrawn while the
models train, and with each view drawn once, at its end.

``.venv/bin/python benchmarks/live_overhead.py [--lessons 01 05 08] [--repeats 2]``

Runs every lesson (or those named) headlessly, as ``lstm-lessons run`` does, alternating the
two settings of ``LSTM_LESSONS_LIVE`` (``ll.live.LIVE_ENV``): ``live``, how a student in
JupyterLab runs a lesson (a view redraws while its runs train, at most every
``ll.live.MIN_INTERVAL`` s and with at most ``ll.live.DRAWING_SHARE`` of the time spent
drawing), and ``final`` (each view drawn once, at its end; what ``lstm-lessons run`` and the
grader do). Both keep the same final image, so the difference is the cost of the redraws while
training. The table gives each lesson's median wall time in each setting, the difference in per
cent of the ``final`` time, and, measured inside the kernel (``ll.live.drawing_seconds``, printed
by a cell added at the end of a copy of the lesson), the seconds the views spent drawing and how
many images they drew, in each setting, and the live setting's drawing time in per cent of its
wall time: the redraws' share, free of the machine's run-to-run noise that the wall times carry
(target for both: below 5 %). The order of the two settings alternates from one repeat to the
next, so a machine getting busier favours neither.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path

import nbformat
import pandas as pd

from lstm_lessons.live import LIVE_ENV
from lstm_lessons.runner import resolve_lessons, run_lesson

SETTINGS = ("live", "final")
MARK = "LIVE-DRAWING"


def timed(path: Path, setting: str, out: Path) -> tuple[float, float, int]:
    """Wall seconds of the lesson, and the seconds its views spent drawing and their images."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells.append(nbformat.v4.new_code_cell(
        f"import lstm_lessons as ll\nprint({MARK!r}, *ll.live.drawing_seconds())"))
    copy = out / "lessons" / path.name
    copy.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, copy)
    os.environ[LIVE_ENV] = setting
    result = run_lesson(copy, out / setting, progress=False)
    if result.status != "passed":
        raise SystemExit(f"{path.stem} did not pass with {LIVE_ENV}={setting}: "
                         f"{result.status} {result.error}")
    printed = nbformat.read(result.output, as_version=4).cells[-1].outputs[0].text.split()
    return result.seconds, float(printed[1]), int(printed[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lessons", nargs="*", default=[], help="lesson names or numbers (default: all)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="runs of each lesson in each setting (default 2)")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="live-overhead-") as folder:
        for path in resolve_lessons(args.lessons):
            times: dict[str, list[float]] = {setting: [] for setting in SETTINGS}
            drawing: dict[str, list[tuple[float, int]]] = {setting: [] for setting in SETTINGS}
            for repeat in range(args.repeats):
                for setting in SETTINGS if repeat % 2 == 0 else SETTINGS[::-1]:
                    seconds, spent, images = timed(path, setting, Path(folder))
                    times[setting].append(seconds)
                    drawing[setting].append((spent, images))
            live, final = statistics.median(times["live"]), statistics.median(times["final"])
            spent_live = statistics.median(s for s, _ in drawing["live"])
            spent_final = statistics.median(s for s, _ in drawing["final"])
            rows.append({"lesson": path.stem[:2], "live s": live, "final s": final,
                         "wall difference %": (live / final - 1) * 100,
                         "drawing s live": spent_live, "images live": drawing["live"][0][1],
                         "drawing s final": spent_final, "images final": drawing["final"][0][1],
                         "drawing % of live": spent_live / live * 100,
                         "runs live": ", ".join(f"{t:.1f}" for t in times["live"]),
                         "runs final": ", ".join(f"{t:.1f}" for t in times["final"])})
            print(f"{path.stem}: live {live:.1f} s ({spent_live:.2f} s drawing), final {final:.1f} s "
                  f"({spent_final:.2f} s drawing)", flush=True)
    table = pd.DataFrame(rows).set_index("lesson")
    print()
    print(table.to_string(float_format=lambda v: f"{v:.1f}"))
    live, final = table["live s"].sum(), table["final s"].sum()
    extra = table["drawing s live"].sum() - table["drawing s final"].sum()
    print(f"\nall lessons: live {live:.1f} s, final {final:.1f} s, wall difference "
          f"{(live / final - 1) * 100:+.1f} %; drawing {table['drawing s live'].sum():.1f} s live, "
          f"{table['drawing s final'].sum():.1f} s final: the redraws while training took {extra:.1f} s, "
          f"{extra / live * 100:.1f} % of the live time (target: below 5 %)")


if __name__ == "__main__":
    main()
