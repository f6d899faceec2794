"""Precision and recall of the training doctor, per symptom, on labelled histories.

Usage: ``.venv/bin/python benchmarks/doctor_accuracy.py [--seeds N]``

The histories come from `benchmarks/synthetic_histories.py` (clean runs at several noise
levels, U-shaped validation curves, single upticks, oscillation at several amplitudes,
plateaus, NaN midway, gradient spikes and vanishing layers, a classifier stuck on one class,
leakage-like validation curves, runs of 1 to 1,000 epochs, missing monitored keys and per-group
reports), each drawn with ``N`` noise seeds.
A symptom counts as a true positive when it is expected and found, a false positive when it
is found but not expected, a false negative when it is expected but not found.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from pathlib import Path

import pandas as pd
from synthetic_histories import labelled_histories  # beside this script

from lstm_lessons.doctor import SYMPTOMS, diagnose


def evaluate(seeds: int) -> tuple[pd.DataFrame, list[str], float]:
    cases = labelled_histories(range(seeds))
    counts = {name: Counter() for name in SYMPTOMS}
    mistakes = []
    start = time.perf_counter()
    for case in cases:
        found = set(diagnose(case.history, **case.options).names)
        for name in SYMPTOMS:
            expected, got = name in case.expected, name in found
            counts[name]["tp" if expected and got else "fp" if got else "fn" if expected else "tn"] += 1
        if found != case.expected:
            mistakes.append(f"{case.name}: expected {sorted(case.expected)}, found {sorted(found)}")
    seconds = time.perf_counter() - start
    rows = []
    for name, c in counts.items():
        predicted, actual = c["tp"] + c["fp"], c["tp"] + c["fn"]
        rows.append({"symptom": name, "cases with it": actual, "found": predicted,
                     "precision": c["tp"] / predicted if predicted else float("nan"),
                     "recall": c["tp"] / actual if actual else float("nan")})
    return pd.DataFrame(rows).set_index("symptom"), mistakes, seconds / len(cases)


HISTORIES = Path(__file__).resolve().parent / "histories"


def real_runs() -> list[str]:
    """One line per real third-party history (benchmarks/histories): label, finding, verdict."""
    labels = json.loads((HISTORIES / "labels.json").read_text())
    lines = []
    for name, label in sorted(labels.items()):
        found = diagnose(HISTORIES / name).names
        verdict = "right" if found == label["expected"] else "WRONG"
        expected = label["expected"] or "healthy"
        lines.append(f"  {name}: expected {expected}, found {found or 'healthy'} ({verdict})")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=10, help="noise seeds per case (default 10)")
    args = parser.parse_args()
    table, mistakes, per_case = evaluate(args.seeds)
    n_cases = len(labelled_histories(range(args.seeds)))
    print(f"Training doctor on {n_cases} labelled histories ({args.seeds} seeds), "
          f"{per_case * 1000:.1f} ms a diagnosis\n")
    print(table.to_string(float_format=lambda v: f"{v:.2f}", na_rep="n/a"))
    print(f"\nhistories diagnosed exactly right: {n_cases - len(mistakes)} of {n_cases}")
    for line in mistakes[:20]:
        print("  wrong:", line)
    print("\nReal runs from elsewhere (benchmarks/histories, Keras code examples):")
    print("\n".join(real_runs()))


if __name__ == "__main__":
    main()
