"""Lesson 01 run headlessly through papermill with bad parameters: it stops before training.

(Its claims for seeds 2 and 3, and its CSVLogger files read by ``lstm-lessons doctor``, are
tested in ``test_lessons_over_seeds.py``; every value rule is unit-tested in ``test_params.py``.)
"""

import papermill
import pytest
from papermill.exceptions import PapermillExecutionError

from lstm_lessons.runner import NOTEBOOKS_DIR

LESSON = NOTEBOOKS_DIR / "01_learning_rate_oscillation.ipynb"


def _run(tmp_path, **parameters):
    papermill.execute_notebook(str(LESSON), str(tmp_path / LESSON.name), parameters=parameters,
                               kernel_name="python3", cwd=str(NOTEBOOKS_DIR), progress_bar=False)


@pytest.mark.slow
@pytest.mark.parametrize(("parameters", "named"), [
    ({"learning_rate": -1}, "learning_rate=-1"),
    ({"seed": 1.5}, "seed=1.5"),
])
def test_bad_parameters_stop_the_lesson_before_training(tmp_path, parameters, named):
    with pytest.raises(PapermillExecutionError) as info:
        _run(tmp_path, **parameters)
    error = info.value
    assert error.ename == "ParameterError" and named in error.evalue
    assert "validate_parameters" in error.source  # the validation cell, before any fit()
