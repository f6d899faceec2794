"""How long each part of the test suite takes: a table from the JUnit files ``make test`` writes.

Usage: ``.venv/bin/python benchmarks/suite_time.py [JUNIT ...]`` (default: ``build/test-results.xml``
and ``build/test-results-serial.xml``)

``make test`` runs two pytest sessions: everything but the ``serial`` tests on two pytest-xdist
workers (``build/test-results.xml``), then the ``serial`` tests alone
(``build/test-results-serial.xml``). This script groups their test cases into the parts of the
suite (unit tests, the lessons under nbval, the seed runs through the grader, the grader's
corpus tests, the JupyterLab test...) and prints the number of tests and the seconds of each
(setup and teardown included, as pytest reports them). On two workers these seconds add up to
about twice the wall time; the wall time of each session, as pytest reports it, is printed below
the table.
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path

import pandas as pd

PARTS = (
    ("lessons under nbval (seed 1)", lambda case: ".ipynb" in case),
    ("seed 2 + the solution through the grader", lambda case: "test_lessons_over_seeds" in case),
    ("lessons in JupyterLab (Chromium)", lambda case: "test_lab" in case),
    ("grader: corpus, sandbox, limits, Ctrl-C",
     lambda case: any(name in case for name in ("test_grader", "test_integrity", "test_sandbox"))),
    ("grader on a Dask cluster (scheduler and two workers)", lambda case: "test_cluster" in case),
    ("lesson 01 with bad parameters", lambda case: "test_01_learning_rate_oscillation" in case),
)
"""Each part and how to recognise its test cases (by ``classname``); the rest are unit tests."""


def parts(*junits: Path) -> pd.DataFrame:
    """Tests and seconds of each part, slowest first, with a total row."""
    counts, seconds = defaultdict(int), defaultdict(float)
    cases = [case for junit in junits for case in ElementTree.parse(junit).getroot().iter("testcase")]
    for case in cases:
        name = case.get("classname", "") + "::" + case.get("name", "")
        part = next((label for label, belongs in PARTS if belongs(name)), "unit tests (no whole lesson)")
        counts[part] += 1
        seconds[part] += float(case.get("time", 0))
    table = pd.DataFrame({"tests": pd.Series(counts), "seconds": pd.Series(seconds)})
    table = table.sort_values("seconds", ascending=False)
    table.loc["total"] = [table["tests"].sum(), table["seconds"].sum()]
    table["minutes"] = table["seconds"] / 60
    return table.astype({"tests": int})


def wall_seconds(junit: Path) -> float:
    """The session's duration as pytest wrote it (the ``testsuite`` element's ``time``)."""
    return float(next(ElementTree.parse(junit).getroot().iter("testsuite")).get("time", 0))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("junit", nargs="*", type=Path,
                        default=[Path("build/test-results.xml"), Path("build/test-results-serial.xml")],
                        help="JUnit XML files of pytest runs (default: both of `make test`)")
    args = parser.parse_args()
    missing = [str(path) for path in args.junit if not path.is_file()]
    if missing:
        parser.error(f"{', '.join(missing)} not found: run `make test` first (it writes them)")
    print(parts(*args.junit).to_string(float_format=lambda v: f"{v:.1f}"))
    walls = {path.name: wall_seconds(path) / 60 for path in args.junit}
    print("wall time, minutes: " + ", ".join(f"{name} {m:.1f}" for name, m in walls.items())
          + f"; total {sum(walls.values()):.1f}")


if __name__ == "__main__":
    main()
