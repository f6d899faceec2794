"""Lesson 01's own tests: run headlessly through papermill with bad parameters, it stops before
training; its plateau exercise counts with Keras's own callback.

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


def test_the_plateau_schedule_is_counted_by_keras_own_callback():
    """Epochs with no improvement until ReduceLROnPlateau brings 0.3 to at most 0.013: cuts
    times max(patience, 1), by Keras's count; the lesson's (0.5, 1) takes 5, outside 6 to 12."""
    import math

    from lstm_lessons.lessons.lesson01_learning_rate_oscillation.exercises import (
        FASTEST_DESCENT,
        SLOWEST_DESCENT,
        epochs_to_stable_rate,
    )

    assert epochs_to_stable_rate(0.5, 1) == epochs_to_stable_rate(0.5, 0) == 5 < FASTEST_DESCENT
    assert FASTEST_DESCENT <= epochs_to_stable_rate(0.3, 3) == 9 < epochs_to_stable_rate(0.5, 2) == 10
    assert epochs_to_stable_rate(0.5, 2) <= SLOWEST_DESCENT < epochs_to_stable_rate(0.5, 3) == 15
    assert epochs_to_stable_rate(0.9, 10) == math.inf   # 30 cuts of 10 epochs: not within the run
