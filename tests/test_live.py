"""The live view (``ll.live``): what it records and marks, the one image a notebook keeps, and
runs in worker processes showing up in the view of the notebook that waits for them."""

import base64
import hashlib
import os
import time

import matplotlib

matplotlib.use("Agg")
import nbformat  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from lstm_lessons import experiments, live  # noqa: E402
from lstm_lessons.doctor import diagnose  # noqa: E402
from lstm_lessons.plots import PALETTE, run_color  # noqa: E402

OVERFITTING = {"loss": [1.0 / (epoch + 1) for epoch in range(30)],
               "val_loss": [1.0 - 0.06 * epoch if epoch < 10 else 0.46 + 0.05 * (epoch - 9)
                            for epoch in range(30)]}
"""A run whose validation loss falls for 10 epochs, then climbs while the training loss falls."""


def feed(view, label, history, epochs=None):
    """Send ``history`` to ``view`` the way a fit's callback does, epoch by epoch."""
    view.begin(label, epochs or len(history["loss"]))
    for epoch in range(len(history["loss"])):
        view.epoch(label, {key: values[epoch] for key, values in history.items()})
    view.end(label)


def mark_lines(figure) -> list[float]:
    return sorted(line.get_xdata()[0] for line in figure.axes[0].get_lines()
                  if (line.get_gid() or "").startswith("mark "))


def test_the_doctors_findings_are_marked_at_the_epochs_it_reports():
    view = live.LiveView("overfitting", show=False)
    feed(view, "too large", OVERFITTING)
    reported = [(s.epoch, s.name) for s in diagnose(OVERFITTING).symptoms if s.epoch is not None]
    assert any(epoch > 1 for epoch, _ in reported), reported     # a finding that starts mid-run
    assert [(epoch, name) for _, epoch, name in view.marks] == reported
    figure = view.figure()
    assert mark_lines(figure) == sorted(epoch for epoch, _ in reported)
    names = {text.get_text() for text in figure.axes[0].texts}
    assert {name for _, name in reported} <= names


@pytest.mark.slow
def test_with_a_training_doctor_the_marks_are_its_diagnosis():
    from lstm_lessons import models
    from lstm_lessons.doctor import TrainingDoctor

    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 5, 1)).astype("float32")
    y = (x[:, -1, :] * 0.5).astype("float32")
    doctor = TrainingDoctor(x, y, verbose=False)
    view = live.LiveView("a learning rate far too small", show=False)
    models.build_lstm_regressor(5, units=4, learning_rate=1e-7).fit(
        x, y, validation_data=(x, y), epochs=6, batch_size=16, verbose=0,
        callbacks=[view.callback("tiny", doctor=doctor), doctor])   # the view first: order does not matter
    assert doctor.diagnosis.names == ["stagnant_loss"]
    assert view.marks == [("tiny", s.epoch, s.name) for s in doctor.diagnosis.symptoms]
    assert view.histories["tiny"]["loss"] == pytest.approx(doctor.history["loss"])
    assert mark_lines(view.figure()) == [s.epoch for s in doctor.diagnosis.symptoms]


def test_the_x_axis_spans_the_planned_epochs_and_ticks_whole_epochs_only():
    view = live.LiveView(show=False)
    feed(view, "early", {"loss": [1.0, 0.8, 0.7], "val_loss": [1.1, 0.9, 0.85]}, epochs=40)
    ax = view.figure().axes[0]
    assert ax.get_xlim() == (0.5, 40.5)
    ticks = [t for t in ax.get_xticks() if 0.5 <= t <= 40.5]
    assert ticks and all(float(t).is_integer() for t in ticks)


def test_a_restarted_run_starts_its_curves_over_and_non_finite_values_leave_gaps():
    view = live.LiveView(show=False)
    feed(view, "run", {"loss": [1.0, 2.0, 3.0]})
    feed(view, "run", {"loss": [0.5, float("nan"), float("inf")]})
    assert view.histories["run"]["loss"][0] == 0.5 and len(view.histories["run"]["loss"]) == 3
    assert view.png().startswith(b"\x89PNG")          # no warning, no error: gaps where not finite


def test_finished_runs_and_levels_are_drawn_beside_the_new_one():
    view = live.LiveView("accuracy", metric="accuracy", log=False, validation_only=True,
                         runs={"before": {"accuracy": [0.5, 0.6], "val_accuracy": [0.7, 0.8]}},
                         levels={"majority rate": 0.89})
    feed(view, "after", {"loss": [0.9, 0.5], "accuracy": [0.5, 0.9], "val_accuracy": [0.9, 0.95]})
    labels = [line.get_label() for line in view.figure().axes[0].get_lines()]
    assert labels == ["majority rate", "before (validation)", "after (validation)"]


def test_bad_settings_are_refused_naming_the_value():
    with pytest.raises(ValueError, match="metric=''"):
        live.LiveView(metric="")
    with pytest.raises(ValueError, match="runs must be a dict"):
        live.LiveView(runs=[1, 2])
    with pytest.raises(ValueError, match=r"runs\['a'\] must be a Keras History"):
        live.LiveView(runs={"a": [1.0]})


def test_the_png_is_the_same_bytes_for_the_same_runs():
    first, second = live.LiveView("same", show=False), live.LiveView("same", show=False)
    for view in (first, second):
        feed(view, "same run", OVERFITTING)
    assert first.png() == second.png()


def _train(label: str, epochs: int, fail: bool = False, delay: float = 0.0) -> str:
    """A stand-in for a lesson's ``train`` (module level: the workers import it): reports its
    epochs like ``ll.live.reporter``'s callback, trains nothing."""
    time.sleep(delay)
    live.report(label, "begin", epochs=epochs)
    for epoch in range(epochs):
        live.report(label, "epoch", logs={"loss": 1.0 / (epoch + 1)})
    live.report(label, "end")
    if fail:
        raise RuntimeError(f"{label} failed")
    return f"{label} from {os.getpid()}"


@pytest.mark.parametrize("jobs", [1, 2])
def test_runs_in_worker_processes_show_up_in_the_view_of_the_process_that_waits(jobs):
    calls = [{"label": f"run {i}", "epochs": 3 + i} for i in range(4)]
    with live.LiveView(show=False) as view:
        results = experiments.train_many(_train, calls, jobs=jobs)
    assert [r.split(" from ")[0] for r in results] == [c["label"] for c in calls]
    where = {int(r.split(" from ")[1]) for r in results}
    assert (where == {os.getpid()}) == (jobs == 1)
    epochs_shown = {label: len(history["loss"]) for label, history in view.histories.items()}
    assert epochs_shown == {call["label"]: call["epochs"] for call in calls}
    assert live.active() is None
    # Without a view nothing is relayed, and the same results come back.
    assert [r.split(" from ")[0] for r in experiments.train_many(_train, calls, jobs=jobs)] == \
        [c["label"] for c in calls]


def test_the_view_lists_and_colours_the_runs_in_the_order_of_the_calls_not_of_their_start():
    labels = [f"ordered run {i}" for i in range(4)]
    calls = [{"label": label, "epochs": 2, "delay": 1.5 if i == 0 else 0.0} for i, label in enumerate(labels)]
    with live.LiveView(show=False) as view:      # run 0 starts last: its worker waits first
        experiments.train_many(_train, calls, jobs=2, label=lambda call: call["label"])
    assert list(view.histories) == labels
    first = PALETTE.index(run_color(labels[0]))
    assert [run_color(label) for label in labels] == [PALETTE[(first + i) % len(PALETTE)] for i in range(4)]


def test_a_workers_error_reaches_the_notebook_and_the_view_keeps_what_came_before():
    calls = [{"label": "fine", "epochs": 2}, {"label": "broken", "epochs": 2, "fail": True}]
    with pytest.raises(RuntimeError, match="broken failed"), live.LiveView(show=False) as view:
        experiments.train_many(_train, calls, jobs=2)
    assert len(view.histories["broken"]["loss"]) == 2


LIVE_CELL = '''
import time, lstm_lessons as ll
view = ll.live.LiveView("kernel test")
for label in ("a", "b"):
    view.begin(label, 16)
for epoch in range(16):
    for k, label in enumerate(("a", "b")):
        view.epoch(label, {"loss": 1 / (epoch + 1 + k), "val_loss": 1.3 / (epoch + 1 + k) + 0.01 * epoch})
    time.sleep(0.3)
for label in ("a", "b"):
    view.end(label)
print("draws", view.draws)
'''


@pytest.mark.slow
def test_a_notebook_keeps_one_image_per_view_the_same_drawn_live_or_only_at_the_end(tmp_path):
    """In a real kernel (nbclient, as papermill runs lessons): the view redraws while the
    cell runs, and the executed notebook keeps one image, byte for byte the one drawn when the
    view is only drawn at its end (``LSTM_LESSONS_LIVE=final``, how the runner and the grader
    run lessons); nothing on standard error, no widget state."""
    from nbclient import NotebookClient

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(f"import os; os.environ[{live.LIVE_ENV!r}] = 'live'"),
                      nbformat.v4.new_code_cell(LIVE_CELL),
                      nbformat.v4.new_code_cell(f"os.environ[{live.LIVE_ENV!r}] = 'final'"),
                      nbformat.v4.new_code_cell(LIVE_CELL)]
    NotebookClient(notebook, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    images = []
    for cell in (notebook.cells[1], notebook.cells[3]):
        kinds = [(o.output_type, o.get("name")) for o in cell.outputs]
        assert kinds == [("display_data", None), ("stream", "stdout")], kinds
        images.append(base64.b64decode(cell.outputs[0].data["image/png"]))
    live_draws = int(notebook.cells[1].outputs[1].text.split()[1])
    final_draws = int(notebook.cells[3].outputs[1].text.split()[1])
    assert live_draws >= 2 and final_draws == 1, (live_draws, final_draws)
    assert hashlib.sha256(images[0]).digest() == hashlib.sha256(images[1]).digest()
    assert "widgets" not in notebook.metadata


def test_with_many_runs_the_findings_are_named_in_the_legend():
    view = live.LiveView(show=False)
    for k in range(live.NAMED_AT_THE_LINE + 1):
        feed(view, f"run {k}", OVERFITTING)
    ax = view.figure().axes[0]
    assert not ax.texts                                          # no names piled up at the lines
    legend = [text.get_text() for text in ax.get_legend().get_texts()]
    found = "; ".join(f"{s.name} from epoch {s.epoch}" for s in diagnose(OVERFITTING).symptoms
                      if s.epoch is not None)
    assert f"run 0 (training): {found}" in legend, legend
    assert "run 0 (validation)" in legend


def test_with_more_runs_than_colours_the_view_is_a_table_of_their_progress():
    view = live.LiveView(show=False)
    labels = [f"table run {k}" for k in range(live.CURVES_UP_TO + 1)]
    for label in labels:
        feed(view, label, OVERFITTING, epochs=40)
    ax = view.figure().axes[0]
    assert not ax.get_lines()
    cells = ax.tables[0].get_celld()
    text = {position: cell.get_text().get_text() for position, cell in cells.items()}
    rows = {text[row, 0]: [text[row, col] for col in range(1, 6)] for row in range(1, len(labels) + 1)}
    found = "; ".join(f"{s.name} from epoch {s.epoch}" for s in diagnose(OVERFITTING).symptoms
                      if s.epoch is not None)
    loss, val_loss = OVERFITTING["loss"], OVERFITTING["val_loss"]
    assert rows[labels[0]] == ["30 / 40", f"{loss[-1]:.3g}", f"{val_loss[-1]:.3g}", f"{min(val_loss):.3g}",
                               found]
    assert list(rows) == labels
