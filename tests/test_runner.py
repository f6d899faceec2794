"""The headless runner on tiny lessons made here (no TensorFlow: a kernel start each)."""

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from lstm_lessons import cli, runner
from lstm_lessons.claims import read_claim_records
from lstm_lessons.params import ParameterError


def _lesson(folder, name, body, parameters="learning_rate = 0.1\nepochs = 3"):
    params = new_code_cell(parameters)
    params.metadata["tags"] = ["parameters"]
    nb = new_notebook(cells=[new_markdown_cell("# tiny"), params, new_code_cell(body)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, folder / f"{name}.ipynb")


@pytest.fixture
def lessons(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _lesson(folder, "01_good", "from lstm_lessons.claims import above, claim, is_true\n"
                               "claim('symptom_reproduced', 'lr high', above('rate', learning_rate, 0.05))\n"
                               "claim('fix_verified', 'three epochs', is_true('three', epochs == 3))")
    _lesson(folder, "02_broken", "x = 1\nraise RuntimeError('boom in the lesson')")
    return folder


def test_resolve_by_number_or_full_name(lessons):
    assert [p.stem for p in runner.resolve_lessons(["02", "01_good"], lessons)] == ["02_broken", "01_good"]
    assert [p.stem for p in runner.resolve_lessons([], lessons)] == ["01_good", "02_broken"]


def test_fetch_lessons_copies_the_lessons_and_keeps_a_file_that_is_there(lessons, tmp_path):
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "02_broken.ipynb").write_text("my answers")
    done = runner.fetch_lessons(mine, notebooks_dir=lessons)
    assert done == {"copied": [mine / "01_good.ipynb"], "kept": [mine / "02_broken.ipynb"]}
    assert (mine / "01_good.ipynb").read_bytes() == (lessons / "01_good.ipynb").read_bytes()
    assert (mine / "02_broken.ipynb").read_text() == "my answers"
    new = tmp_path / "new"
    assert runner.fetch_lessons(new, ["02"], lessons)["copied"] == [new / "02_broken.ipynb"]
    (tmp_path / "a-file").write_text("")
    with pytest.raises(NotADirectoryError, match="folder=.*a-file.*is a file"):
        runner.fetch_lessons(tmp_path / "a-file", notebooks_dir=lessons)
    with pytest.raises(runner.LessonNotFoundError, match="'07'"):
        runner.fetch_lessons(mine, ["07"], lessons)
    (tmp_path / "empty").mkdir()
    with pytest.raises(runner.LessonNotFoundError, match="No lesson.*notebooks_dir=.*empty"):
        runner.fetch_lessons(mine, notebooks_dir=tmp_path / "empty")


def test_unknown_lesson_is_an_error_listing_the_lessons(lessons):
    with pytest.raises(runner.LessonNotFoundError, match=r"'07'.*01_good, 02_broken"):
        runner.resolve_lessons(["07"], lessons)


def test_unknown_parameter_is_an_error_before_running(lessons, tmp_path):
    expected = r"Unknown parameter.*learnig_rate.*accepts: learning_rate, epochs"
    with pytest.raises(ParameterError, match=expected):
        runner.run_lessons(["01"], {"learnig_rate": 0.1}, tmp_path / "out", notebooks_dir=lessons)
    assert not (tmp_path / "out").exists()


def test_bad_value_is_an_error_before_running(lessons, tmp_path):
    with pytest.raises(ParameterError, match=r"learning_rate=-1 is not allowed"):
        runner.run_lessons(["01"], {"learning_rate": -1}, tmp_path / "out", notebooks_dir=lessons)
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_failing_lesson_is_reported_and_the_others_still_run(lessons, tmp_path):
    out = tmp_path / "out"
    results = runner.run_lessons(["02", "01"], {"epochs": 3}, out, progress=False,
                                 notebooks_dir=lessons)
    broken, good = results
    assert broken.status == "error"
    # Cell 3 of the executed notebook: papermill inserts the injected parameters at 2.
    assert broken.error["cell"] == 3 and broken.error["ename"] == "RuntimeError"
    assert broken.error["first_line"] == "x = 1"
    assert "boom in the lesson" in broken.error["evalue"]
    assert good.status == "passed" and good.claims == {"symptom_reproduced": True, "fix_verified": True}
    summary = json.loads((out / "summary.json").read_text())
    assert [row["lesson"] for row in summary["lessons"]] == ["02_broken", "01_good"]
    assert summary["lessons"][1]["claims"]["fix_verified"] is True
    assert summary["lessons"][1]["seconds"] > 0
    assert (out / "01_good.ipynb").exists() and (out / "02_broken.ipynb").exists()
    table = (out / "summary.md").read_text()
    assert "| 02_broken | error |" in table and "boom in the lesson" in table


@pytest.mark.slow
def test_parameters_reach_the_notebook_and_claims_come_from_outputs(lessons, tmp_path):
    result, = runner.run_lessons(["01"], {"learning_rate": 0.01}, tmp_path, progress=False,
                                 notebooks_dir=lessons)
    assert result.status == "claims_failed"
    assert result.claims == {"symptom_reproduced": False, "fix_verified": True}
    # Each claim keeps its checks, with the measured value, the bound and the margin.
    records = read_claim_records(nbformat.read(result.output, as_version=4))
    assert records["symptom_reproduced"]["checks"] == [
        {"quantity": "rate", "value": 0.01, "relation": ">", "bound": 0.05, "holds": False,
         "margin": pytest.approx(-0.8)}]


def test_what_a_lesson_writes_to_a_relative_path_lands_in_the_output_folder(tmp_path):
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _lesson(folder, "01_logs", "from pathlib import Path\n"
                               "Path('logs').mkdir()\n"
                               "(Path('logs') / 'run.csv').write_text('epoch,loss')")
    out = tmp_path / "build"
    result, = runner.run_lessons(["01"], {}, out, progress=False, notebooks_dir=folder)
    assert result.error is None
    assert (out / "logs" / "run.csv").read_text() == "epoch,loss"
    assert sorted(p.name for p in folder.iterdir()) == ["01_logs.ipynb"]   # nothing beside the lessons


@pytest.mark.slow
def test_cli_exit_codes_and_messages(lessons, tmp_path, capsys):
    base = ["run", "--notebooks", str(lessons), "--out", str(tmp_path), "--no-progress"]
    assert cli.main(base + ["01"]) == 0
    assert "01_good: passed" in capsys.readouterr().out
    assert cli.main(base + ["01", "02"]) == 1
    out = capsys.readouterr().out
    assert "02_broken: error" in out and "failed in cell 2: RuntimeError: boom" in out


def test_cli_usage_errors_exit_2(lessons, tmp_path, capsys):
    base = ["run", "--notebooks", str(lessons), "--out", str(tmp_path)]
    assert cli.main(base + ["01", "-p", "learning_rate", "-1"]) == 2
    assert "learning_rate=-1 is not allowed" in capsys.readouterr().err
    assert cli.main(base + ["99"]) == 2
    assert "Unknown lesson '99'" in capsys.readouterr().err
    assert cli.main(base + ["--timeout", "0"]) == 2
    assert cli.main(["list", "--notebooks", str(lessons)]) == 0
    assert capsys.readouterr().out.split() == ["01_good", "02_broken"]


@pytest.mark.parametrize(("text", "value"), [("-1", -1), ("1e-3", 0.001), ("True", True),
                                             ("sunspots", "sunspots"), ("24", 24)])
def test_parse_value(text, value):
    assert cli.parse_value(text) == value and type(cli.parse_value(text)) is type(value)
