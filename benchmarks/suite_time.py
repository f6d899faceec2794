"""How long each part of the test suite takes: a table from the JUnit file ``make test`` writes.

Usage: ``.venv/bin/python benchmarks/suite_time.py [build/test-results.xml]``

``make test`` runs one pytest session with ``--junitxml=build/test-results.xml``; this script
groups its test cases into the parts of the suite (unit tests, the lessons under nbval, the
seed runs through the grader, the grader's corpus tests, the JupyterLab test...) and prints
the number of tests and the seconds of each (setup and teardown included, as pytest reports
them). Wall time of the whole session is the sum plus pytest's own collection.
"""

from __future__ import annotations

import argparse
import xml.etree.ElementTree as ElementTree
from collections import defaultdict
from pathlib import Path

import pandas as pd

PARTS = (
    ("lessons under nbval (seed 1)", lambda case: ".ipynb" in case),
    ("seeds 2-3 + solutions through the grader", lambda case: "test_lessons_over_seeds" in case),
    ("lessons in JupyterLab (Chromium)", lambda case: "test_lab" in case),
    ("grader: corpus, sandbox, limits, Ctrl-C",
     lambda case: any(name in case for name in ("test_grader", "test_integrity", "test_sandbox"))),
    ("lesson 01 with bad parameters", lambda case: "test_lesson01" in case),
)
"""Each part and how to recognise its test cases (by ``classname``); the rest are unit tests."""


def parts(junit: Path) -> pd.DataFrame:
    """Tests and seconds of each part, slowest first, with a total row."""
    counts, seconds = defaultdict(int), defaultdict(float)
    for case in ElementTree.parse(junit).getroot().iter("testcase"):
        name = case.get("classname", "") + "::" + case.get("name", "")
        part = next((label for label, belongs in PARTS if belongs(name)), "unit tests (no whole lesson)")
        counts[part] += 1
        seconds[part] += float(case.get("time", 0))
    table = pd.DataFrame({"tests": pd.Series(counts), "seconds": pd.Series(seconds)})
    table = table.sort_values("seconds", ascending=False)
    table.loc["total"] = [table["tests"].sum(), table["seconds"].sum()]
    table["minutes"] = table["seconds"] / 60
    return table.astype({"tests": int})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("junit", nargs="?", default="build/test-results.xml", type=Path,
                        help="the JUnit XML file of a pytest run (default: build/test-results.xml)")
    args = parser.parse_args()
    if not args.junit.is_file():
        parser.error(f"{args.junit} not found: run `make test` first (it writes build/test-results.xml)")
    print(parts(args.junit).to_string(float_format=lambda v: f"{v:.1f}"))


if __name__ == "__main__":
    main()
