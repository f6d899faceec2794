"""How many submissions the grader handles a minute: on this machine with 1, 2 and 4 workers, and
on a Dask cluster.

Usage: ``.venv/bin/python benchmarks/grading_throughput.py [--lesson 01] [--copies N]
[--workers 1 2 4] [--scheduler ADDRESS | --local-cluster K]``

Each run grades ``N`` copies of the lesson's reference solution (every copy executes the whole
lesson in its own kernel) into a fresh folder and times the whole ``Grader.grade`` call,
including the grader's own checks of the answers (identical copies share one check per
exercise, as a class whose answers agree would). The table gives wall time, submissions per
minute, seconds of one submission's execution (its kernel's wall time, the mean over the
copies), and whether every copy got full marks and the same grade as on this machine alone.
On a 2-core machine more than 2 workers only adds contention: each kernel's TensorFlow already
uses every core.

``--scheduler ADDRESS`` adds a run on that Dask cluster (its workers must have this hand-out
installed); ``--local-cluster K`` starts a real ``dask scheduler`` and ``K`` one-thread
``dask worker`` processes on 127.0.0.1 for the run, the same path on one machine.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pandas as pd

from lstm_lessons.instructor import solution_notebook
from lstm_lessons.instructor.grader import Grader, default_workers
from lstm_lessons.runner import resolve_lessons


@contextmanager
def local_cluster(workers: int, folder: Path):
    """A real ``dask scheduler`` and ``workers`` one-thread ``dask worker`` processes on 127.0.0.1;
    yields the scheduler's address."""
    from distributed import Client

    scheduler_file = folder / "scheduler.json"
    log = (folder / "dask.log").open("wb")
    dask = [sys.executable, "-m", "dask"]
    processes = [subprocess.Popen([*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                                   "--scheduler-file", str(scheduler_file)], stdout=log, stderr=log,
                                  start_new_session=True)]
    try:
        while not (scheduler_file.exists() and scheduler_file.stat().st_size):
            time.sleep(0.1)
        worker = [*dask, "worker", "--scheduler-file", str(scheduler_file), "--nthreads", "1",
                  "--no-dashboard"]
        processes += [subprocess.Popen([*worker, "--name", f"worker-{i}"], stdout=log, stderr=log,
                                       start_new_session=True) for i in range(1, workers + 1)]
        address = json.loads(scheduler_file.read_text())["address"]
        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=300)
        yield address
    finally:
        for process in reversed(processes):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@contextmanager
def existing_cluster(address: str):
    yield address


def run(label: str, paths: list[Path], out: Path, **options) -> tuple[dict, dict]:
    grader = Grader(options.pop("lesson"), out, progress=False, **options)
    try:
        start = time.perf_counter()
        grades = grader.grade(paths)
        seconds = time.perf_counter() - start
    finally:
        grader.close()
    row = {"run": label, "workers": grader.workers, "submissions": len(paths), "seconds": round(seconds, 1),
           "submissions/min": round(len(paths) / seconds * 60, 2),
           "s / execution": round(sum(g.seconds or 0 for g in grades) / len(grades), 1),
           "all full marks": all(g.total == g.max_total for g in grades)}
    return row, {g.id: (g.status, g.points, g.total) for g in grades}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lesson", default="01", help="lesson name or number (default 01)")
    parser.add_argument("--copies", type=int, default=4, help="submissions per run (default 4)")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4],
                        help="worker counts on this machine (default 1 2 4)")
    cluster = parser.add_mutually_exclusive_group()
    cluster.add_argument("--scheduler", help="also grade on the Dask cluster of this scheduler")
    cluster.add_argument("--local-cluster", type=int, metavar="K",
                         help="also grade on a Dask scheduler with K workers started on 127.0.0.1")
    args = parser.parse_args()
    lesson = resolve_lessons([args.lesson])[0]
    rows, grades = [], {}
    with tempfile.TemporaryDirectory(prefix="grading-benchmark-") as folder:
        hand_in = Path(folder) / "hand-in"
        hand_in.mkdir()
        solved = solution_notebook(lesson)
        paths = [hand_in / f"student{n:02d}.ipynb" for n in range(1, args.copies + 1)]
        for path in paths:
            nbformat.write(solved, path)
        for workers in args.workers:
            out = Path(folder) / f"grades-{workers}"
            row, grades[workers] = run(f"this machine, {workers} worker(s)", paths, out, lesson=args.lesson,
                                       workers=workers)
            rows.append(row)
        if args.scheduler or args.local_cluster:
            with (local_cluster(args.local_cluster, Path(folder)) if args.local_cluster
                  else existing_cluster(args.scheduler)) as address:
                row, on_cluster = run(f"Dask cluster {address}", paths, Path(folder) / "grades-cluster",
                                      lesson=args.lesson, scheduler=address)
            row["same grades as this machine"] = all(g == on_cluster for g in grades.values())
            rows.append(row)
    print(f"Grading {lesson.stem}, {args.copies} copies of the reference solution; this machine has "
          f"{default_workers()} CPU core(s):\n")
    print(pd.DataFrame(rows).to_string(index=False))


if __name__ == "__main__":
    main()
