"""What the TrainingDoctor callback costs: the same fit with and without it.

Usage: ``.venv/bin/python benchmarks/doctor_overhead.py [--repeats R] [--epochs E]``

The fit is lesson 01's fixed run (monthly sunspots, 6-month trailing mean, lookback 24, one
LSTM of 32 units, Adam at 0.03, batch 32). Runs alternate between the two settings so that
warm-up and machine noise fall on both; the table gives the median wall time of each and the
overhead in per cent (target: below 10 %).
"""

from __future__ import annotations

import argparse
import statistics
import time

import pandas as pd

import lstm_lessons as ll


def timed_fit(data, epochs: int, with_doctor: bool, seed: int) -> float:
    ll.training.seed_everything(seed)
    model = ll.models.build_lstm_regressor(data.lookback, units=32, learning_rate=0.03)
    callbacks = [ll.doctor.TrainingDoctor(data.x_train, data.y_train, verbose=False)] if with_doctor else []
    start = time.perf_counter()
    model.fit(data.x_train, data.y_train, validation_data=(data.x_val, data.y_val), epochs=epochs,
              batch_size=32, verbose=0, callbacks=callbacks)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="fits per setting (default 5)")
    parser.add_argument("--epochs", type=int, default=30, help="epochs per fit (default 30)")
    args = parser.parse_args()
    data = ll.data.make_forecasting_data(ll.data.load_sunspots(smoothing_months=6), lookback=24)  # lesson 01
    timed_fit(data, 2, True, 0)        # warm-up: TensorFlow's first graph compilations
    times = {False: [], True: []}
    for repeat in range(args.repeats):
        for with_doctor in (False, True):
            times[with_doctor].append(timed_fit(data, args.epochs, with_doctor, repeat))
    plain, doctor = statistics.median(times[False]), statistics.median(times[True])
    table = pd.DataFrame({
        "median s": [plain, doctor],
        "s per epoch": [plain / args.epochs, doctor / args.epochs],
        "runs (s)": [", ".join(f"{t:.2f}" for t in times[False]), ", ".join(f"{t:.2f}" for t in times[True])],
    }, index=pd.Index(["fit", "fit + TrainingDoctor"],
                      name=f"{args.epochs} epochs, {len(data.x_train)} windows"))
    print(table.to_string(float_format=lambda v: f"{v:.3f}"))
    print(f"\noverhead: {(doctor / plain - 1) * 100:+.1f} % (target: below 10 %)")
    per_epoch = callback_cost(data, args.epochs)
    print(f"the callback's own work, timed alone: {per_epoch * 1000:.1f} ms an epoch "
          f"= {per_epoch / (plain / args.epochs) * 100:.1f} % of a plain epoch "
          f"(wall-time differences of a few per cent between the two rows are machine noise)")


def callback_cost(data, epochs: int) -> float:
    """Seconds a TrainingDoctor spends at each epoch's boundaries, without the fit around it."""
    model = ll.models.build_lstm_regressor(data.lookback, units=32, learning_rate=0.03)
    model.fit(data.x_train[:64], data.y_train[:64], epochs=1, verbose=0)
    doctor = ll.doctor.TrainingDoctor(data.x_train, data.y_train, verbose=False)
    doctor.set_model(model)
    doctor.on_train_begin()
    logs = {"loss": 0.1, "val_loss": 0.2, "mae": 0.2, "val_mae": 0.3}
    doctor.on_epoch_begin(0)
    doctor.on_epoch_end(0, dict(logs))          # the first call traces the compiled probe
    start = time.perf_counter()
    for epoch in range(1, epochs + 1):
        doctor.on_epoch_begin(epoch)
        doctor.on_epoch_end(epoch, dict(logs))
    return (time.perf_counter() - start) / epochs


if __name__ == "__main__":
    main()
