"""The live view (``ll.live``): what it records and marks, the one image a notebook keeps, and
runs in worker processes showing up in the view of the notebook that waits for them."""

import base64
import hashlib
import os
import time
import warnings

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
    with warnings.catch_warnings():
        warnings.simplefilter("error")                 # no warning, no error: gaps where not finite
        assert view.png().startswith(b"\x89PNG")


def test_a_key_logged_only_in_some_epochs_leaves_gaps_and_the_doctor_still_reads_the_run():
    view = live.LiveView(show=False)
    view.begin("every other epoch", 4)
    for epoch in range(4):            # fit(validation_freq=2): val_loss at epochs 2 and 4 only
        validation = {"val_loss": 0.9} if epoch % 2 else {}
        view.epoch("every other epoch", {"loss": 1.0 / (epoch + 1), **validation})
    history = view.histories["every other epoch"]
    assert len(history["loss"]) == len(history["val_loss"]) == 4
    assert np.isnan(history["val_loss"][0]) and history["val_loss"][1] == 0.9
    assert view.marks == [] and view.png().startswith(b"\x89PNG")


def test_a_log_axis_spans_at_least_a_decade_so_a_small_fall_looks_small():
    view = live.LiveView(show=False)
    feed(view, "stagnant", {"loss": [1.000e5, 0.995e5, 0.990e5, 0.985e5]})
    low, high = view.figure().axes[0].get_ylim()
    assert high / low == pytest.approx(10)


def test_a_metric_the_logs_lack_is_named_in_the_figure():
    view = live.LiveView(metric="mae", show=False)
    feed(view, "run", {"loss": [1.0, 0.5], "val_loss": [1.1, 0.6]})
    assert [t.get_text() for t in view.figure().axes[0].texts] == [
        "no 'mae' in the logs received; they hold loss, val_loss"]


def test_finished_runs_and_levels_are_drawn_beside_the_new_one():
    view = live.LiveView("accuracy", metric="accuracy", log=False, validation_only=True,
                         runs={"before": {"accuracy": [0.5, 0.6], "val_accuracy": [0.7, 0.8]}},
                         levels={"majority rate": 0.89})
    feed(view, "after", {"loss": [0.9, 0.5], "accuracy": [0.5, 0.9], "val_accuracy": [0.9, 0.95]})
    labels = [line.get_label() for line in view.figure().axes[0].get_lines()]
    assert labels == ["majority rate", "before (validation)", "after (validation)"]


def test_bad_settings_are_refused_naming_the_value(monkeypatch):
    with pytest.raises(ValueError, match="metric=''"):
        live.LiveView(metric="")
    with pytest.raises(ValueError, match=r"levels\['majority'\] must be a number.*'high'"):
        live.LiveView(levels={"majority": "high"})
    with pytest.raises(ValueError, match=r"runs\['a'\]: Every key needs one value an epoch"):
        live.LiveView(runs={"a": {"loss": [1.0, 0.5], "val_loss": [1.0]}})
    monkeypatch.setenv(live.LIVE_ENV, "sometimes")
    with pytest.raises(ValueError, match="LSTM_LESSONS_LIVE=.sometimes."):
        live.LiveView()
    monkeypatch.setenv(live.LIVE_ENV, "final")
    with pytest.raises(ValueError, match="runs must be a dict"):
        live.LiveView(runs=[1, 2])
    with pytest.raises(ValueError, match=r"runs\['a'\]: Expected a Keras History"):
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


def test_runs_of_one_view_need_labels_of_their_own_before_anything_trains():
    calls = [{"label": "same", "epochs": 2}, {"label": "other", "epochs": 2}, {"label": "same", "epochs": 2}]
    with pytest.raises(ValueError, match=r"\{'same': \[0, 2\]\}"), live.LiveView(show=False) as view:
        experiments.train_many(_train, calls, jobs=1, label=lambda call: call["label"])
    assert view.histories == {}


def test_a_workers_error_reaches_the_notebook_and_the_view_keeps_what_came_before():
    calls = [{"label": "fine", "epochs": 2}, {"label": "broken", "epochs": 2, "fail": True}]
    with pytest.raises(RuntimeError, match="broken failed"), live.LiveView(show=False) as view:
        experiments.train_many(_train, calls, jobs=2)
    assert len(view.histories["broken"]["loss"]) == 2


LIVE_CELL = '''
view = ll.live.LiveView("kernel test")
for label in ("a", "b"):
    view.begin(label, 24)
for epoch in range(24):
    for k, label in enumerate(("a", "b")):
        view.epoch(label, {"loss": 1 / (epoch + 1 + k), "val_loss": 1.3 / (epoch + 1 + k) + 0.01 * epoch})
    time.sleep(pause)
    if epoch == 11:
        view.end("a")      # a run that ends before the other
view.end("b")
print("draws", view.draws)
'''

STOPPED_CELL = '''
stopped = ll.live.LiveView("a fit that raised")
stopped.begin("c", 10)
for epoch in range(4):
    stopped.epoch("c", {"loss": 1 / (epoch + 1)})
print("training...")
raise RuntimeError("the fit raised at epoch 5")    # Keras then calls no on_train_end
'''


QUICK_LAST_CELL = f'''
os.environ[{live.LIVE_ENV!r}] = "live"
ll.live.DRAWING_SHARE = 1.0          # redraw every MIN_INTERVAL
quickly = ll.live.LiveView("last drawn quickly")
quickly.begin("q", 2)
quickly.epoch("q", {{"loss": 1.0}})   # drawn at once, in full
time.sleep(ll.live.MIN_INTERVAL + 1.0)  # longer than a draw, even on a busy machine
quickly.epoch("q", {{"loss": 1e-5}})  # drawn quickly: the first image's margins, other tick labels
quickly.end("q")
print(quickly.draws)
'''


@pytest.mark.slow
def test_a_notebook_keeps_one_image_per_view_the_same_drawn_live_or_only_at_the_end(tmp_path):
    """In a real kernel (nbclient, as papermill runs lessons): the view redraws while its cell
    runs, and the executed notebook keeps one image, byte for byte the one drawn when the view
    is only drawn when the cell ends (``LSTM_LESSONS_LIVE=final``, how the runner and the grader
    run lessons): once, though its two runs end apart. A cell whose training raised still ends
    with the image of every epoch received; a view used again in a later cell shows there, and
    leaves the earlier cell's image as it was. Nothing on standard error, no widget."""
    from nbclient import NotebookClient

    def sha(code: str) -> str:
        return f"print(hashlib.sha256({code}).hexdigest())"

    notebook = nbformat.v4.new_notebook()
    setup = (f"import hashlib, os, time\nos.environ[{live.LIVE_ENV!r}] = 'live'\n"
             f"import lstm_lessons as ll\npause = 0.3")
    notebook.cells = [nbformat.v4.new_code_cell(setup),
                      nbformat.v4.new_code_cell(LIVE_CELL),                       # 1
                      nbformat.v4.new_code_cell(sha("view.png()")),               # 2
                      nbformat.v4.new_code_cell(f"os.environ[{live.LIVE_ENV!r}] = 'final'; pause = 0"),
                      nbformat.v4.new_code_cell(LIVE_CELL),                       # 4
                      nbformat.v4.new_code_cell("print(view.draws)"),             # 5
                      nbformat.v4.new_code_cell(STOPPED_CELL),                    # 6
                      nbformat.v4.new_code_cell(sha("stopped.png()")),            # 7
                      nbformat.v4.new_code_cell("view.begin('d', 3); view.epoch('d', {'loss': 0.5})"),  # 8
                      nbformat.v4.new_code_cell(QUICK_LAST_CELL),                  # 9
                      nbformat.v4.new_code_cell("print(quickly.draws)\n" + sha("quickly.png()"))]  # 10
    NotebookClient(notebook, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    cells = notebook.cells

    def image(cell) -> bytes:
        shown = [o for o in cell.outputs if "image/png" in o.get("data", {})]
        assert len(shown) == 1, [o.output_type for o in cell.outputs]
        return base64.b64decode(shown[0].data["image/png"])

    for k in (1, 4):
        kinds = [(o.output_type, o.get("name")) for o in cells[k].outputs]
        assert kinds == [("display_data", None), ("stream", "stdout")], kinds
    live_draws = int(cells[1].outputs[1].text.split()[1])
    during, after = int(cells[4].outputs[1].text.split()[1]), int(cells[5].outputs[0].text)
    # live: drawn at least twice while the cell ran (its print comes before the cell's last draw);
    # final: not while it ran, once when it ended
    assert live_draws >= 2 and (during, after) == (0, 1), (live_draws, during, after)
    assert hashlib.sha256(image(cells[1])).hexdigest() == cells[2].outputs[0].text.strip()
    assert image(cells[1]) == image(cells[4])        # and cell 8, which used cell 4's view again, left it
    # The cell that raised: its view, before what it printed, drawn with every epoch when it ended.
    assert [o.output_type for o in cells[6].outputs] == ["display_data", "stream", "error"]
    assert hashlib.sha256(image(cells[6])).hexdigest() == cells[7].outputs[0].text.strip()
    assert image(cells[8]).startswith(b"\x89PNG")
    # The last image drawn in the cell reused earlier margins: the cell's end draws it in full.
    draws_after, digest = "".join(o.text for o in cells[10].outputs if o.output_type == "stream").split()
    assert cells[9].outputs[1].text.strip() == "2" and draws_after == "3"
    assert hashlib.sha256(image(cells[9])).hexdigest() == digest
    outputs = [o for cell in cells for o in cell.outputs]
    assert not [o for o in outputs if o.get("name") == "stderr"]
    assert not [o for o in outputs if any("widget" in mime for mime in o.get("data", {}))]


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
