"""The training doctor: rules on labelled histories, input handling, rendering, CLI, callback."""

import json
import subprocess
import sys

import numpy as np
import pytest
from synthetic_histories import labelled_histories  # benchmarks/, put on sys.path by conftest.py

from lstm_lessons.doctor import SYMPTOMS, HistoryError, diagnose, load_history
from lstm_lessons.doctor.rules import RULES


def test_vocabulary_is_the_fixed_list():
    assert set(SYMPTOMS) == set(RULES) == {
        "stagnant_loss", "oscillating_loss", "unstable_training", "overfitting", "non_finite_loss",
        "exploding_gradients", "vanishing_gradients", "constant_predictions", "suspected_leakage",
        "missing_monitor_key", "subset_disparity"}


@pytest.mark.parametrize("case", labelled_histories(), ids=lambda c: c.name)
def test_every_labelled_history_gets_exactly_its_symptoms(case):
    assert set(diagnose(case.history, **case.options).names) == case.expected


def test_symptoms_carry_epoch_evidence_explanation_and_lesson():
    history = {"loss": [1.0, 0.5, float("nan"), float("nan")], "val_loss": [1.1, 0.6, 0.6, float("nan")]}
    (symptom,) = diagnose(history).symptoms
    assert symptom.name == "non_finite_loss" and symptom.epoch == 3
    assert symptom.evidence == {"key": "loss", "value": "nan"}
    assert "nan" in symptom.explanation and symptom.lesson == "02_stagnant_loss"


def test_text_and_json_rendering():
    sick = diagnose({"loss": [1.0, 0.99, 0.98, 0.98]})
    text = str(sick)
    assert text.startswith("Diagnosis of 4 epochs: 1 symptom\n- stagnant_loss from epoch 1:")
    data = json.loads(sick.to_json())
    assert data["healthy"] is False and data["n_epochs"] == 4 and data["keys"] == ["loss"]
    (symptom,) = data["symptoms"]
    assert symptom["name"] == "stagnant_loss" and symptom["evidence"]["improvement"] < 0.1
    healthy = diagnose({"loss": [1.0, 0.5, 0.2]})
    assert healthy.healthy and str(healthy) == "Diagnosis of 3 epochs: no symptoms found."
    assert json.loads(healthy.to_json())["symptoms"] == []


def test_monitors_and_subsets_options():
    diagnosis = diagnose({"loss": [1.0, 0.5, 0.2]}, monitors=["val_loss", "loss"])
    assert diagnosis.names == ["missing_monitor_key"]
    assert diagnosis.symptoms[0].evidence["missing"] == ["val_loss"]
    assert diagnose({"loss": [1.0, 0.5, 0.2]}, monitors="val_acc").names == ["missing_monitor_key"]

    class Report:
        metric, worst, best = "mape", 2016, 2014

        def __init__(self, ratio):
            self.ratio = ratio

        def disparity(self):
            return self.ratio

    assert diagnose({"loss": [1.0, 0.5]}, subsets=Report(5.1)).names == ["subset_disparity"]
    assert diagnose({"loss": [1.0, 0.5]}, subsets=Report(1.2)).healthy


def test_unknown_option_is_named():
    with pytest.raises(TypeError, match=r"\['monitor'\].*allowed: \['monitors', 'subsets'\]"):
        diagnose({"loss": [1.0]}, monitor="val_loss")


# -- reading histories ------------------------------------------------------------------------

class _FakeHistory:
    def __init__(self, history):
        self.history = history


def test_reads_keras_history_dict_csv_and_json(tmp_path):
    data = {"loss": [1.0, 0.5, 0.25], "val_loss": [1.2, 0.7, float("nan")]}
    csv = tmp_path / "log.csv"
    csv.write_text("epoch,loss,val_loss\n0,1.0,1.2\n1,0.5,0.7\n2,0.25,nan\n")   # as CSVLogger writes
    js = tmp_path / "log.json"
    js.write_text(json.dumps({"loss": [1.0, 0.5, 0.25], "val_loss": [1.2, 0.7, None]}))
    for source in (_FakeHistory(data), data, csv, str(csv), js):
        history = load_history(source)
        assert sorted(history) == ["loss", "val_loss"]
        np.testing.assert_array_equal(history["loss"], [1.0, 0.5, 0.25])
        assert np.isnan(history["val_loss"][2])


@pytest.mark.parametrize(("source", "message"), [
    ({}, "empty: it has no keys"),
    ({"loss": []}, "hold no epochs"),
    ({"loss": [1.0, 0.5], "val_loss": [1.0]}, "lengths differ: {'loss': 2, 'val_loss': 1}"),
    ({"loss": [1.0, "high"]}, "'loss' holds a non-numeric value at epoch 2: 'high'"),
    ({"loss": [1.0, [0.5]]}, "non-numeric value at epoch 2"),
    ({"loss": 0.5}, "must be a list of per-epoch values"),
    ({"acc": [0.5, 0.6]}, "no 'loss' key.*Keys found: \\['acc'\\]"),
    (42, "Received int"),
])
def test_bad_histories_get_clear_errors(source, message):
    with pytest.raises(HistoryError, match=message):
        diagnose(source)


def test_a_history_without_loss_is_read_when_no_loss_is_needed():
    # A plot of accuracies (LiveView's runs=) needs no loss; the doctor does.
    history = load_history({"accuracy": [0.5, 0.6]}, require_loss=False)
    np.testing.assert_array_equal(history["accuracy"], [0.5, 0.6])
    with pytest.raises(HistoryError, match="no 'loss' key"):
        load_history({"accuracy": [0.5, 0.6]})


def test_bad_files_get_clear_errors(tmp_path):
    with pytest.raises(HistoryError, match="is a directory"):
        load_history(tmp_path)
    with pytest.raises(HistoryError, match="No such file"):
        load_history(tmp_path / "missing.csv")
    (tmp_path / "log.txt").write_text("loss\n1\n")
    with pytest.raises(HistoryError, match="suffix '.txt'"):
        load_history(tmp_path / "log.txt")
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(HistoryError, match="holds a JSON list"):
        load_history(tmp_path / "list.json")
    (tmp_path / "broken.json").write_text("{loss: ")
    with pytest.raises(HistoryError, match="not valid JSON"):
        load_history(tmp_path / "broken.json")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(HistoryError, match="not a readable CSV"):
        load_history(tmp_path / "empty.csv")


# -- command line ------------------------------------------------------------------------------

def _cli(*args):
    return subprocess.run([sys.executable, "-m", "lstm_lessons", "doctor", *map(str, args)],
                          capture_output=True, text=True)


def test_cli_exit_codes_text_and_json(tmp_path):
    healthy, sick = tmp_path / "healthy.json", tmp_path / "sick.csv"
    healthy.write_text(json.dumps({"loss": [1.0, 0.4, 0.2], "val_loss": [1.1, 0.5, 0.3]}))
    sick.write_text("epoch,loss\n0,1.0\n1,nan\n")
    result = _cli(healthy)
    assert result.returncode == 0 and "no symptoms found" in result.stdout
    result = _cli(sick)
    assert result.returncode == 1 and "non_finite_loss from epoch 2" in result.stdout
    result = _cli(sick, "--json")
    assert result.returncode == 1 and json.loads(result.stdout)["symptoms"][0]["name"] == "non_finite_loss"
    result = _cli(tmp_path)
    assert result.returncode == 2 and "is a directory" in result.stderr and not result.stdout
    (tmp_path / "bad.json").write_text(json.dumps({"loss": [1.0], "val_loss": [1.0, 2.0]}))
    result = _cli(tmp_path / "bad.json")
    assert result.returncode == 2 and "lengths differ" in result.stderr


# -- real runs from elsewhere --------------------------------------------------------------------

HISTORIES = __import__("pathlib").Path(__file__).resolve().parent.parent / "benchmarks" / "histories"
LABELS = json.loads((HISTORIES / "labels.json").read_text())


@pytest.mark.parametrize("name", sorted(LABELS))
def test_real_histories_from_elsewhere_get_their_labels(name):
    assert diagnose(HISTORIES / name).names == LABELS[name]["expected"]


def test_a_climb_through_swings_is_overfitting_not_oscillation():
    # Lesson 05's shape: a validation set of 21 days makes the curve zig-zag by 10-20 % while it
    # climbs from its best; the training loss keeps falling. The climb is what matters.
    rng = np.random.default_rng(3)
    epochs = np.arange(60)
    loss = 0.7 * np.exp(-epochs / 8) + 0.003
    val = np.where(epochs < 25, 0.7 * np.exp(-epochs / 8) + 0.12, 0.12 + 0.004 * (epochs - 25))
    val = val * np.exp(rng.choice([-0.12, 0.12], 60))
    found = diagnose({"loss": loss, "val_loss": val})
    assert found.names == ["overfitting"]
    epoch = next(s.epoch for s in found.symptoms if s.name == "overfitting")
    assert 25 < epoch < 50


def test_constant_validation_accuracy_of_a_memorising_model_is_not_constant_predictions():
    # 20 of 21 validation days right for 30 epochs, while training accuracy reaches 1: not stuck.
    n = 40
    history = {"loss": np.geomspace(0.7, 0.01, n), "val_loss": np.geomspace(0.7, 0.15, n),
               "accuracy": np.r_[np.linspace(0.5, 1.0, 10), np.ones(n - 10)],
               "val_accuracy": np.r_[np.linspace(0.5, 20 / 21, 10), np.full(n - 10, 20 / 21)]}
    assert "constant_predictions" not in diagnose(history).names


def test_a_run_that_blew_up_in_its_first_epoch_is_diagnosed_without_a_numpy_warning():
    import warnings

    nan = [float("nan")]
    history = {"loss": nan, "grad_norm/simple_rnn": nan, "grad_norm/dense": nan}
    with warnings.catch_warnings():
        warnings.simplefilter("error")      # numpy's "All-NaN slice encountered" would raise here
        names = diagnose(history).names
    # The NaN norms come from NaN weights: a consequence, named once, as non_finite_loss.
    assert set(names) == {"non_finite_loss"}


def test_a_gradient_that_spikes_before_the_loss_turns_nan_is_exploding():
    history = {"loss": [1.0, 0.9, 0.8, 0.7, float("nan")],
               "grad_norm/lstm": [0.5, 0.4, 0.45, 300.0, float("nan")]}
    diagnosis = diagnose(history)
    assert {s.name: s.epoch for s in diagnosis.symptoms} == {"exploding_gradients": 4, "non_finite_loss": 5}
