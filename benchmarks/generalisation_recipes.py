"""Which fixes for overfitting help on ItalyPowerDemand, and on how many seeds: the data behind
lesson 05's table and claims.

``.venv/bin/python benchmarks/generalisation_recipes.py [--seeds 1-10] [--jobs 2]
[--recipes baseline dropout ...] [--learning-rate 5e-3] [--epochs 70] [--out build/generalisation-recipes]``

Trains every recipe of :data:`RECIPES` through ``ll.generalisation.train`` (the lesson's own
code: 46 training days, 21 validation days, full-batch Adam) once per seed, and cross-validates
it with ``ll.generalisation.cross_validate`` (:data:`FOLDS` stratified folds of the 67 training
and validation days, seeded with the same seed). Prints one Markdown table: per recipe the mean
and range over seeds of the returned model's validation loss, of its cross-validated held-out
loss (the mean over the folds), its test loss and test accuracy (the archive's 1029 test days),
the share of seeds on which the doctor reports ``overfitting`` (and ``overfitting`` alone), and
on how many seeds the recipe's validation, held-out and test losses are below the baseline's of
the same seed; then
the recipe a choice on each criterion would make. Every loss is the data term (no L2 penalty).

The choice is made on the cross-validated held-out loss, never on the test days: a recipe with
early stopping picked its epoch on the same 21 validation days its validation loss is measured
on, so that loss flatters it; each fold's held-out days took no part in any choice.
The test columns are there to see, afterwards, whether the choice held up. The per-run rows are
written to ``OUT/runs.csv``. Jobs run in separate processes (TensorFlow is not fork-safe).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from claims_margin import parse_seeds  # beside this script

BASELINE = {}
RECIPES = {
    "baseline": BASELINE,
    "2 units (underfit)": {"units": 2},
    "dropout 0.3 + recurrent 0.3": {"dropout": 0.3, "recurrent_dropout": 0.3},
    "L2 1e-3": {"l2": 1e-3},
    "AdamW, weight decay 1.0": {"weight_decay": 1.0},
    "8 units": {"units": 8},
    "early stopping, patience 10": {"patience": 10},
    "early stopping, patience 20": {"patience": 20},
    "jitter 0.2": {"augmentation": "jitter", "augmentation_sigma": 0.2},
    "magnitude scaling 0.2": {"augmentation": "magnitude_scale", "augmentation_sigma": 0.2},
    "time warp 0.2": {"augmentation": "time_warp", "augmentation_sigma": 0.2},
    "dropout + early stopping 10": {"dropout": 0.3, "recurrent_dropout": 0.3, "patience": 10},
    "time warp + early stopping 10": {"augmentation": "time_warp", "augmentation_sigma": 0.2,
                                      "patience": 10},
    "time warp + dropout": {"augmentation": "time_warp", "augmentation_sigma": 0.2, "dropout": 0.3,
                            "recurrent_dropout": 0.3},
    "time warp + early stopping 20": {"augmentation": "time_warp", "augmentation_sigma": 0.2,
                                      "patience": 20},
}
"""Each recipe as the fields it changes in ``ll.generalisation.Recipe()``."""

FOLDS = 3
"""Folds of each seed's cross-validation, as in the lesson."""


def run_one(seed: int, names: list[str], learning_rate: float = 5e-3, epochs: int = 70) -> list[dict]:
    """Train the named recipes for one seed (inside a worker process), each with ``learning_rate``
    and ``epochs`` (the lesson's by default; other values sweep the baseline's settings)."""
    import lstm_lessons as ll

    task = ll.generalisation.italy_power_task()
    recipes = {name: ll.generalisation.Recipe(**RECIPES[name], learning_rate=learning_rate, epochs=epochs)
               for name in names}
    folds = ll.generalisation.cross_validate(recipes, task, folds=FOLDS, seed=seed, jobs=1)
    held_out = folds.groupby("recipe")["held-out loss"].mean()
    rows = []
    for name in names:
        start = time.perf_counter()
        run = ll.generalisation.train(recipes[name], task, seed, name)
        rows.append({"seed": seed, "recipe": name, "seconds": time.perf_counter() - start,
                     "epochs": len(run.history["loss"]), "best epoch": run.best_epoch,
                     "val loss": run.val_loss, "held-out loss": held_out[name], "test loss": run.test_loss,
                     "test accuracy": run.test_accuracy,
                     "overfitting": "overfitting" in ll.doctor.diagnose(run.history).names,
                     "doctor": " ".join(ll.doctor.diagnose(run.history).names)})
    return rows


def summary(runs: pd.DataFrame) -> pd.DataFrame:
    base = runs[runs["recipe"] == "baseline"].set_index("seed")
    rows = []
    for name, group in runs.groupby("recipe", sort=False):
        group = group.set_index("seed")
        seeds = group.index.intersection(base.index)
        spread = {col: f"{group[col].mean():.3f} ({group[col].min():.3f}-{group[col].max():.3f})"
                  for col in ("val loss", "held-out loss", "test loss", "test accuracy")}
        below = {col: (group.loc[seeds, col] < base.loc[seeds, col]).sum()
                 for col in ("test loss", "val loss", "held-out loss")}
        alone = (group["doctor"].fillna("") == "overfitting").mean()
        rows.append({"recipe": name, **spread,
                     "doctor: overfitting": f"{group['overfitting'].mean():.0%}",
                     "doctor: overfitting only": f"{alone:.0%}",
                     "test loss below baseline": f"{below['test loss']}/{len(seeds)}",
                     "val loss below baseline": f"{below['val loss']}/{len(seeds)}",
                     "held-out loss below baseline": f"{below['held-out loss']}/{len(seeds)}",
                     "seconds": f"{group['seconds'].mean():.1f}"})
    return pd.DataFrame(rows).set_index("recipe")


def markdown(frame: pd.DataFrame) -> str:
    """A DataFrame as a Markdown table (index first), without pandas' optional ``tabulate``."""
    header = [frame.index.name or "", *frame.columns]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join([str(i), *map(str, row)]) + " |"
              for i, row in zip(frame.index, frame.values, strict=True)]
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", default="1-10")
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--recipes", nargs="*", default=list(RECIPES), choices=list(RECIPES))
    parser.add_argument("--learning-rate", type=float, default=5e-3, help="every recipe's (default 5e-3)")
    parser.add_argument("--epochs", type=int, default=70, help="every recipe's (default 70)")
    parser.add_argument("--out", default="build/generalisation-recipes")
    parser.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    out = Path(args.out).resolve()
    names = args.recipes if "baseline" in args.recipes else ["baseline", *args.recipes]
    if args.worker is not None:
        pd.DataFrame(run_one(args.worker, names, args.learning_rate, args.epochs)).to_csv(
            out / f"seed-{args.worker}.csv", index=False)
        return 0
    out.mkdir(parents=True, exist_ok=True)
    pending, running = parse_seeds(args.seeds), []
    while pending or running:
        while pending and len(running) < args.jobs:
            seed = pending.pop(0)
            command = [sys.executable, __file__, "--worker", str(seed), "--out", str(out),
                       "--learning-rate", str(args.learning_rate), "--epochs", str(args.epochs),
                       "--recipes", *names]
            running.append(subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        running[0].wait()
        running = [p for p in running if p.poll() is None]
    runs = pd.concat([pd.read_csv(out / f"seed-{s}.csv") for s in parse_seeds(args.seeds)
                      if (out / f"seed-{s}.csv").exists()])
    runs.to_csv(out / "runs.csv", index=False)
    print(markdown(summary(runs)))
    means = runs.groupby("recipe")[["val loss", "held-out loss", "test loss"]].mean()
    for column in means:
        print(f"lowest mean {column}: {means[column].idxmin()} ({means[column].min():.3f})")
    print("(the choice is the held-out loss's; the test loss only shows afterwards whether it held up)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
