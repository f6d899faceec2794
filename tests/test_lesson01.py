"""Lesson 01 run headlessly through papermill, with parameters other than its defaults."""

import nbformat
import papermill
import pytest
from papermill.exceptions import PapermillExecutionError

from lstm_lessons.claims import read_claims
from lstm_lessons.runner import NOTEBOOKS_DIR

LESSON = NOTEBOOKS_DIR / "01_learning_rate_oscillation.ipynb"


def _run(tmp_path, **parameters):
    output = tmp_path / LESSON.name
    papermill.execute_notebook(str(LESSON), str(output), parameters=parameters,
                               kernel_name="python3", cwd=str(NOTEBOOKS_DIR), progress_bar=False)
    return nbformat.read(str(output), as_version=4)


@pytest.mark.slow
def test_lesson_runs_with_other_parameters_and_reports_its_claims(tmp_path):
    nb = _run(tmp_path, seed=3, epochs=25, units=24, batch_size=32)
    injected = [c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert len(injected) == 1 and "seed = 3" in injected[0].source
    printed = "".join(o.get("text", "") for o in nb.cells[3].outputs)  # the validation cell
    assert "'seed': 3" in printed and "'epochs': 25" in printed and "'units': 24" in printed
    claims = read_claims(nb)
    assert set(claims) == {"symptom_reproduced", "fix_verified", "doctor_agrees"}
    assert all(claims.values()), claims


@pytest.mark.slow
@pytest.mark.parametrize(("parameters", "named"), [
    ({"learning_rate": -1}, "learning_rate=-1"),
    ({"epochs": 0}, "epochs=0"),
    ({"lookback": 5000}, "lookback=5000"),
    ({"seed": 1.5}, "seed=1.5"),
])
def test_bad_parameters_stop_the_lesson_before_training(tmp_path, parameters, named):
    with pytest.raises(PapermillExecutionError) as info:
        _run(tmp_path, **parameters)
    error = info.value
    assert error.ename == "ParameterError" and named in error.evalue
    assert "validate_parameters" in error.source  # the validation cell, before any fit()


@pytest.mark.slow
def test_doctor_command_on_the_lessons_csvlogger_files(tmp_path):
    import subprocess
    import sys

    logs = tmp_path / "logs"
    _run(tmp_path, log_dir=str(logs))
    failing = subprocess.run([sys.executable, "-m", "lstm_lessons", "doctor", str(logs / "01_failing.csv")],
                             capture_output=True, text=True)
    assert failing.returncode == 1, failing.stderr
    assert failing.stdout.splitlines()[1].startswith("- oscillating_loss from epoch")
    assert "1 symptom" in failing.stdout
    fixed = subprocess.run([sys.executable, "-m", "lstm_lessons", "doctor", str(logs / "01_fixed.csv"),
                            "--json"], capture_output=True, text=True)
    assert fixed.returncode == 0, fixed.stdout
    assert '"healthy": true' in fixed.stdout
