import matplotlib

matplotlib.use("Agg")
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lstm_lessons import plots  # noqa: E402
from lstm_lessons.training import RangeTestResult  # noqa: E402


def test_run_color_is_stable_per_label():
    first = plots.run_color("lesson-run-a")
    assert plots.run_color("lesson-run-b") != first
    assert plots.run_color("lesson-run-a") == first


def test_plot_histories_draws_training_solid_and_validation_dashed():
    runs = {"fast": {"loss": [1.0, 0.5, 0.2], "val_loss": [1.1, 0.6, 0.4]},
            "slow": {"loss": [1.0, 0.9, 0.8]}}
    ax = plots.plot_histories(runs)
    styles = {line.get_label(): (line.get_linestyle(), line.get_color()) for line in ax.get_lines()}
    assert styles["fast (training)"][0] == "-" and styles["fast (validation)"][0] == "--"
    assert styles["fast (training)"][1] == styles["fast (validation)"][1] == plots.run_color("fast")
    assert "slow (validation)" not in styles
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "epoch"


def test_plot_histories_names_the_missing_metric():
    with pytest.raises(KeyError, match=r"'mae'.*Keys: \['loss'\]"):
        plots.plot_histories({"run": {"loss": [1.0]}}, metric="mae")
    with pytest.raises(KeyError, match=r"'val_loss'.*Keys: \['loss'\]"):
        plots.plot_histories({"run": {"loss": [1.0]}}, validation_only=True)


def test_plot_histories_can_draw_the_validation_curves_alone():
    runs = {"weighted": {"accuracy": [0.5, 0.9], "val_accuracy": [0.8, 0.95]}}
    ax = plots.plot_histories(runs, metric="accuracy", log=False, validation_only=True)
    assert [(line.get_label(), line.get_linestyle()) for line in ax.get_lines()] == [
        ("weighted (validation)", "--")]


@pytest.mark.parametrize("repeats", [1, 3])
def test_plot_lr_range_test_marks_the_suggestion(repeats):
    rates = np.geomspace(1e-4, 1, 20)
    curves = np.array([np.linspace(1, 0.1, 20) * (1 + k / 10) for k in range(repeats)])
    suggestions = np.array([0.01, 0.02, 0.03][:repeats])
    result = RangeTestResult(rates, curves, curves, curves[0], suggestions, 0.01, "valley")
    ax = plots.plot_lr_range_test(result)
    assert ax.get_xscale() == "log"
    assert any(line.get_xdata()[0] == 0.01 for line in ax.get_lines())
    labels = [line.get_label() for line in ax.get_lines()]
    # Several repeats: each one's curve (faint) and its own suggestion (a tick) are drawn too.
    assert labels.count("each repeat's suggestion") == (repeats > 1)
    assert len(ax.get_lines()) == repeats + 2 + (repeats > 1)


def test_plot_series_marks_split_boundaries():
    s = pd.Series(np.arange(10.0), index=pd.date_range("2000-01-01", periods=10, freq="MS"), name="x")
    ax = plots.plot_series(s, splits=(6, 8))
    assert len(ax.get_lines()) == 3 and ax.get_ylabel() == "x"


def test_gradient_norm_plot_draws_each_layer_of_each_run():
    runs = {"a": {"loss": [1, 2], "grad_norm/lstm": [1e-4, 1e-5], "grad_norm/forecast": [10, 20]},
            "b": {"grad_norm/lstm": [1.0, 0.5], "grad_norm/forecast": [1.0, 0.4]}}
    ax = plots.plot_gradient_norms(runs)
    assert len(ax.lines) == 4 and ax.get_yscale() == "log"
    with pytest.raises(KeyError, match="GradientNormLogger"):
        plots.plot_gradient_norms({"c": {"loss": [1.0]}})


def test_subset_plot_draws_one_bar_per_group_and_run():
    from lstm_lessons.subsets import SubsetReport

    table = pd.DataFrame({"count": [5, 5, 5], "loss": [1.0, 2.0, 4.0]},
                         index=pd.Index([2014, 2015, 2016], name="year"))
    report = SubsetReport(table, pd.Series({"count": 15, "loss": 7 / 3}), "loss")
    ax = plots.plot_subsets({"one": report, "two": report})
    assert len(ax.patches) == 6 and [t.get_text() for t in ax.get_xticklabels()] == ["2014", "2015", "2016"]
    assert "4.0x" in ax.get_legend().get_texts()[0].get_text()


def test_a_font_list_without_the_math_fonts_prints_nothing(tmp_path):
    """The findfont fallback messages that reached committed notebooks stay out of stderr."""
    import subprocess
    import sys

    script = f"""
import matplotlib
matplotlib.use("Agg")
from matplotlib import font_manager
font_manager.fontManager.ttflist = [f for f in font_manager.fontManager.ttflist if f.name == "DejaVu Sans"]
from lstm_lessons import plots
ax = plots.plot_histories({{"run": {{"loss": [1.0, 0.1, 0.01], "val_loss": [1.0, 0.2, 0.05]}}}})
ax.figure.savefig({str(tmp_path / "figure.png")!r})
"""
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "figure.png").stat().st_size > 0
    assert run.stderr == ""
    # Without the package the same figure logs the fallback (the test would catch a regression).
    undone = "import logging\nlogging.getLogger('matplotlib.font_manager').setLevel(logging.WARNING)\n"
    bare = script.replace("from lstm_lessons import plots\n", "from lstm_lessons import plots\n" + undone)
    assert "findfont: Font family" in subprocess.run([sys.executable, "-c", bare], capture_output=True,
                                                     text=True).stderr


def test_estimates_plot_marks_persistence_on_each_validation_bar():
    table = pd.DataFrame({"validation RMSE": [22.0, 17.0], "test RMSE": [20.0, 21.0],
                          "persistence validation RMSE": [25.0, 21.0]},
                         index=["leak-free", "shuffled windows"])
    ax = plots.plot_estimates(table)
    marks = [c for c in ax.collections if c.get_label() == "persistence on the same windows"]
    assert len(marks) == 1
    segments = marks[0].get_segments()
    assert [s[0][1] for s in segments] == [25.0, 21.0]            # at persistence's RMSE
    assert segments[0][0][0] < segments[0][1][0] <= 0             # over the first validation bar
    assert ax.get_ylim()[1] == pytest.approx(1.1 * 25.0)          # room for the highest mark
    with_test = plots.plot_estimates(table.assign(**{"persistence test RMSE": [23.0, 23.0]}))
    marks = [c for c in with_test.collections if c.get_label() == "persistence on the same windows"]
    assert sorted(s[0][1] for s in marks[0].get_segments()) == [21.0, 23.0, 23.0, 25.0]
    plain = plots.plot_estimates(table.drop(columns="persistence validation RMSE"))
    assert not [c for c in plain.collections if c.get_label().startswith("persistence")]


def test_batch_norm_plot_draws_the_finite_norms_and_marks_the_first_non_finite_batch():
    from lstm_lessons import gradient_flow

    BatchTrace = gradient_flow.BatchTrace

    traces = {"exploding": BatchTrace(np.array([88.0, np.inf]), np.array([7e3, np.nan])),
              "healthy": BatchTrace(np.ones(3), np.array([0.4, 0.5, 0.45]))}
    ax = plots.plot_batch_norms(traces)
    lines = {line.get_label(): line for line in ax.get_lines()}
    assert list(lines["exploding"].get_xdata()) == [1]
    assert list(lines["healthy"].get_ydata()) == [0.4, 0.5, 0.45]
    mark = lines["exploding: not finite at batch 2"]
    assert list(mark.get_xdata()) == [2] and mark.get_ydata()[0] > 7e3       # above every finite norm
    assert "healthy: not finite" not in " ".join(lines) and ax.get_yscale() == "log"
    import matplotlib.pyplot as plt

    plt.close("all")
