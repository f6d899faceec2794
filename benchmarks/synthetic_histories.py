"""Labelled synthetic training histories: the doctor's exam.

Each case is a history shaped like a real run (losses decay exponentially towards a floor,
with multiplicative noise) plus the set of symptoms a careful reader would name. The cases
cover clean runs at several noise levels, U-shaped validation curves, single upticks,
oscillation at several amplitudes, training losses thrown back up, plateaus from the start and
after learning, NaN midway, gradient spikes and vanishing layers, a classifier stuck on one
class, a validation set far better than training, and runs from 3 to 1,000 epochs.
``tests/test_doctor.py`` requires the doctor to get every case right;
``benchmarks/doctor_accuracy.py`` reports precision and recall per symptom.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from lstm_lessons.subsets import SubsetReport


@dataclass(frozen=True)
class LabelledHistory:
    """A synthetic history, the options to diagnose it with, and the symptoms it should get."""

    name: str
    history: dict[str, list[float]]
    expected: frozenset[str]
    options: dict = field(default_factory=dict)


def _decay(n, start, floor, rate, rng, noise):
    epochs = np.arange(n)
    clean = floor + (start - floor) * np.exp(-rate * epochs)
    return clean * np.exp(rng.normal(0, noise, n))


def _run(n, rng, noise=0.02, rate=None, start=1.0, floor=0.05, gap=1.2):
    rate = rate if rate is not None else 5.0 / n
    train = _decay(n, start, floor, rate, rng, noise)
    val = _decay(n, start * 1.1, floor * gap, rate, rng, noise)
    return {"loss": train, "val_loss": val}


def _report(errors: dict) -> SubsetReport:
    table = pd.DataFrame({"count": [250] * len(errors), "loss": list(errors.values())},
                         index=pd.Index(list(errors), name="year"))
    overall = pd.Series({"count": 250 * len(errors), "loss": np.mean(list(errors.values()))})
    return SubsetReport(table, overall, "loss")


def _cases(rng) -> list[tuple]:
    cases = []
    for noise in (0.0, 0.01, 0.03, 0.05):
        cases.append((f"clean, noise {noise:.0%}", _run(40, rng, noise), set()))
    # Decreasing but noisy: validation noise of 8 % on a steep decay.
    run = _run(60, rng, 0.02, rate=0.08, floor=0.001)
    run["val_loss"] = run["val_loss"] * np.exp(rng.normal(0, 0.08, 60))
    cases.append(("decreasing, noisy validation (8 %)", run, set()))
    # U-shaped validation curves: minimum at several places, rise of 20 % to 100 %.
    for n, turn, rise in ((40, 15, 0.5), (60, 30, 0.25), (30, 10, 1.0), (100, 40, 0.4)):
        run = _run(n, rng, 0.01, rate=8.0 / n)
        epochs = np.arange(n)
        run["loss"] = run["loss"] * np.exp(-0.5 * np.clip(epochs - turn, 0, None) / n)  # keeps falling
        after = epochs > turn
        rising = run["val_loss"][turn] * (1 + rise * (epochs[after] - turn) / (n - 1 - turn))
        run["val_loss"][after] = rising * np.exp(rng.normal(0, 0.01, after.sum()))
        cases.append((f"U-shaped validation, turn at {turn} of {n}, rise {rise:.0%}", run, {"overfitting"}))
    # One uptick at the end is not overfitting.
    run = _run(40, rng, 0.01)
    run["val_loss"][-1] *= 1.3
    cases.append(("single uptick of 30 % in the last epoch", run, set()))
    run = _run(40, rng, 0.01)
    run["val_loss"][25] *= 1.5
    cases.append(("single spike of 50 % midway", run, set()))
    # Oscillation around a level that stopped improving, at several amplitudes.
    for amplitude in (0.15, 0.3, 0.6, 1.0):
        run = _run(40, rng, 0.01, rate=0.5)
        signs = np.where(rng.random(40) < 0.7, 1.0, -1.0) * np.where(np.arange(40) % 2 == 0, 1.0, -1.0)
        run["val_loss"] = run["val_loss"] * np.exp(amplitude / 2 * signs)
        cases.append((f"oscillating validation, swings of {amplitude:.0%}", run, {"oscillating_loss"}))
    run = _run(40, rng, 0.01, rate=0.5)
    run["val_loss"] = run["val_loss"] * np.exp(0.01 * np.where(np.arange(40) % 2 == 0, 1.0, -1.0))
    cases.append(("zig-zag of 2 % (too small to matter)", run, set()))
    # Training loss thrown back up (a step too large for the minimum), in two shapes.
    for rise in (0.2, 0.5):
        run = _run(40, rng, 0.01, rate=0.3)
        drift = np.exp(np.log1p(rise) * np.clip(np.arange(40) - 20, 0, None) / 19)
        run["loss"], run["val_loss"] = run["loss"] * drift, run["val_loss"] * drift
        cases.append((f"training loss creeping back up by {rise:.0%}", run, {"unstable_training"}))
    run = _run(40, rng, 0.01, rate=0.3)
    excursion = np.ones(40)
    excursion[12:20] = np.array([2.0, 3.0, 3.0, 2.5, 2.0, 1.6, 1.3, 1.1])
    run["loss"], run["val_loss"] = run["loss"] * excursion, run["val_loss"] * excursion
    cases.append(("training loss thrown 3x up midway, then recovering", run, {"unstable_training"}))
    run = _run(40, rng, 0.01, rate=0.3)
    run["loss"][20] *= 1.5
    cases.append(("one epoch of training loss 50 % up (a bad epoch, not instability)", run, set()))
    run = _run(40, rng, 0.0, rate=0.3)
    run["loss"] = run["loss"] * np.exp(np.log(1.06) * np.clip(np.arange(40) - 20, 0, None) / 19)
    cases.append(("training loss 6 % up at the end (below the line)", run, set()))
    # Plateaus.
    flat = {"loss": 1.0 * np.exp(rng.normal(0, 0.005, 30)),
            "val_loss": 1.1 * np.exp(rng.normal(0, 0.005, 30))}
    cases.append(("plateau from the first epoch", flat, {"stagnant_loss"}))
    slow = {"loss": np.linspace(1.0, 0.95, 50), "val_loss": np.linspace(1.1, 1.05, 50)}
    cases.append(("5 % decrease in 50 epochs", slow, {"stagnant_loss"}))
    cases.append(("plateau after learning", _run(80, rng, 0.005, rate=0.3), set()))
    # Non-finite values.
    run = _run(30, rng, 0.01)
    run["loss"][12:] = np.nan
    run["val_loss"][12:] = np.nan
    cases.append(("NaN from epoch 13", run, {"non_finite_loss"}))
    run = _run(30, rng, 0.01)
    run["val_loss"][20] = np.inf
    cases.append(("inf validation loss at epoch 21", run, {"non_finite_loss"}))
    # Very long and very short runs.
    cases.append(("1,000 epochs, clean", _run(1000, rng, 0.01, rate=0.01), set()))
    run = _run(1000, rng, 0.01, rate=0.02)
    after = np.arange(1000) > 400
    run["val_loss"][after] = run["val_loss"][400] * (1 + 0.8 * (np.arange(1000)[after] - 400) / 599)
    cases.append(("1,000 epochs, overfitting from 400", run, {"overfitting"}))
    cases.append(("3 epochs, learning", _run(3, rng, 0.0, rate=1.0), set()))
    cases.append(("3 epochs, stagnant", {"loss": [1.0, 0.99, 0.985], "val_loss": [1.1, 1.09, 1.09]},
                  {"stagnant_loss"}))
    cases.append(("1 epoch", {"loss": [0.8], "val_loss": [0.9]}, set()))
    # Gradients.
    run = _run(30, rng, 0.01)
    run["grad_norm/lstm"] = _decay(30, 1.0, 0.1, 0.2, rng, 0.1)
    run["grad_norm/dense"] = _decay(30, 0.5, 0.05, 0.2, rng, 0.1)
    cases.append(("healthy gradients", run, set()))
    run = {k: np.array(v, dtype=float) for k, v in run.items()}
    run["grad_norm/lstm"][18] = 5e3
    cases.append(("gradient spike at epoch 19", run, {"exploding_gradients"}))
    run = _run(30, rng, 0.01)
    run["grad_norm/lstm"] = 1e-9 * np.exp(rng.normal(0, 0.1, 30))
    run["grad_norm/dense"] = _decay(30, 0.5, 0.05, 0.2, rng, 0.1)
    cases.append(("vanishing LSTM gradient", run, {"vanishing_gradients"}))
    run = _run(30, rng, 0.01)
    run["update_ratio/lstm"] = np.full(30, 2e-3)
    run["update_ratio/lstm"][7] = 1.6
    cases.append(("weights move by 1.6x their size in an epoch (allowed)", run, set()))
    run = {k: np.array(v, dtype=float) for k, v in run.items()}
    run["grad_norm/lstm"] = _decay(30, 1.0, 0.1, 0.2, rng, 0.1)
    run["grad_norm/lstm"][9] = np.inf
    cases.append(("infinite gradient norm at epoch 10", run, {"exploding_gradients"}))
    # A classifier stuck on the majority class.
    n = 20
    stuck = {"loss": _decay(n, 0.7, 0.3, 0.5, rng, 0.005), "accuracy": np.r_[0.6, np.full(n - 1, 0.9)],
             "val_loss": _decay(n, 0.7, 0.31, 0.5, rng, 0.005),
             "val_accuracy": np.r_[0.7, np.full(n - 1, 0.916)]}
    cases.append(("classifier at the majority rate", stuck, {"constant_predictions"}))
    learning = {"loss": _decay(n, 0.7, 0.05, 0.3, rng, 0.01),
                "accuracy": np.clip(np.linspace(0.6, 0.99, n) + rng.normal(0, 0.005, n), 0, 1),
                "val_loss": _decay(n, 0.7, 0.08, 0.3, rng, 0.01),
                "val_accuracy": np.clip(np.linspace(0.6, 0.97, n) + rng.normal(0, 0.005, n), 0, 1)}
    cases.append(("classifier learning", learning, set()))
    # Validation far better than training.
    run = _run(30, rng, 0.01)
    run["val_loss"] = run["loss"] * 0.1
    cases.append(("validation 10x better than training", run, {"suspected_leakage"}))
    run = _run(30, rng, 0.01)
    run["val_loss"] = run["loss"] * 0.5
    cases.append(("validation 2x better than training (a calmer period)", run, set()))
    # Options: monitored keys and per-group reports.
    no_val = {"loss": _decay(20, 1.0, 0.05, 0.3, rng, 0.01)}
    cases.append(("checkpoint monitors val_loss, fit had no validation data", no_val,
                  {"missing_monitor_key"}, {"monitors": ["val_loss"]}))
    cases.append(("checkpoint monitors val_acc, Keras logged val_accuracy", _run(20, rng, 0.01),
                  {"missing_monitor_key"}, {"monitors": ["val_acc"]}))
    cases.append(("monitored key present", _run(20, rng, 0.01), set(), {"monitors": ["val_loss"]}))
    cases.append(("worst year 5x the best", _run(20, rng, 0.01), {"subset_disparity"},
                  {"subsets": _report({2013: 1.8, 2014: 1.5, 2015: 2.7, 2016: 7.6})}))
    cases.append(("years within 1.3x", _run(20, rng, 0.01), set(),
                  {"subsets": _report({2013: 1.04, 2014: 0.92, 2015: 1.13, 2016: 1.0})}))
    return cases


def labelled_histories(seeds=(0, 1, 2, 3, 4)) -> list[LabelledHistory]:
    """Every case, once per seed (the noise differs), as :class:`LabelledHistory` objects."""
    out = []
    for seed in seeds:
        rng = np.random.default_rng(seed)
        for name, history, expected, *options in _cases(rng):
            out.append(LabelledHistory(f"{name} [seed {seed}]",
                                       {k: [float(v) for v in values] for k, values in history.items()},
                                       frozenset(expected), options[0] if options else {}))
    return out
