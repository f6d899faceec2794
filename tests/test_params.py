import re

import pytest

from lstm_lessons.params import ParameterError, check_values, validate_parameters

GOOD = dict(learning_rate=0.05, epochs=30, seed=0, lookback=24, units=32, batch_size=64)


def test_good_parameters_pass_through_unchanged():
    assert validate_parameters(n_train_steps=1974, **GOOD) == GOOD


@pytest.mark.parametrize(
    ("name", "value", "allowed"),
    [
        ("learning_rate", -1, "0 < value <= 1"),
        ("learning_rate", 0, "0 < value <= 1"),
        ("learning_rate", float("nan"), "0 < value <= 1"),
        ("learning_rate", "0.01", "0 < value <= 1"),
        ("epochs", 0, "1 <= value <= 1000"),
        ("epochs", 2.5, "an integer"),
        ("seed", 1.5, "an integer"),
        ("seed", True, "an integer"),
        ("seed", -3, "0 <= value"),
        ("batch_size", 0, "1 <= value"),
        ("units", 5000, "value <= 1024"),
    ],
)
def test_bad_value_names_parameter_value_and_range(name, value, allowed):
    with pytest.raises(ParameterError) as info:
        validate_parameters(**{**GOOD, name: value})
    message = str(info.value)
    assert f"{name}={value!r}" in message and allowed in message
    assert message.count("is not allowed") == 1


def test_lookback_longer_than_training_series():
    with pytest.raises(ParameterError, match=r"lookback=3000 .*1974 steps.*value <= 1973"):
        validate_parameters(n_train_steps=1974, **{**GOOD, "lookback": 3000})


def test_lookback_plus_horizon_must_fit():
    with pytest.raises(ParameterError, match="value <= 8"):
        validate_parameters(n_train_steps=10, lookback=9, horizon=2)
    assert validate_parameters(n_train_steps=10, lookback=8, horizon=2)["lookback"] == 8


def test_every_problem_is_reported_in_one_message():
    with pytest.raises(ParameterError) as info:
        validate_parameters(learning_rate=-1, epochs=0, seed=0)
    assert "learning_rate=-1" in str(info.value) and "epochs=0" in str(info.value)


def test_unknown_names_are_not_checked_here():
    assert check_values({"smoothing_months": "anything"}) == []


def test_lesson_specific_rules():
    assert validate_parameters(small_learning_rate=1e-6, minority_examples=10)
    with pytest.raises(ParameterError, match="minority_examples=21"):
        validate_parameters(minority_examples=21)
    with pytest.raises(ParameterError, match="small_learning_rate=0"):
        validate_parameters(small_learning_rate=0)



def test_a_lessons_own_rules_live_in_its_folder_and_may_not_shadow_another():
    from lstm_lessons import lessons, params

    own = lessons.parameter_rules(params.RULES)
    assert {"small_learning_rate", "minority_examples", "folds", "padded_length"} <= set(own)
    assert not set(own) & set(params.RULES) and params.rules() == {**params.RULES, **own}
    with pytest.raises(ValueError, match="rule for parameter 'folds', which ll.params.RULES already has"):
        lessons.parameter_rules({**params.RULES, "folds": params.RULES["epochs"]})


def test_choice_accepts_only_its_options_by_type_and_value():
    from lstm_lessons.params import Choice

    rule = Choice(("ffill", "time"), meaning="gap filling")
    assert rule.check("fill", "ffill") is None
    message = rule.check("fill", "linear")
    assert message == "fill='linear' is not allowed: fill (gap filling) must be one of 'ffill', 'time'."
    flags = Choice((True, False), meaning="restore")
    assert flags.check("restore", True) is None and flags.check("restore", 1) is not None


def test_require_returns_the_value_as_the_rules_type_and_names_what_is_allowed():
    import math

    import numpy as np

    from lstm_lessons.params import RULES, Rule, require

    jobs = require("jobs", np.int64(3), Rule(int, 1))
    assert jobs == 3 and type(jobs) is int
    assert type(require("sigma", 1, Rule(float, 0.0, 1.0))) is float
    with pytest.raises(ValueError) as error:
        require("knots", 0, Rule(int, 1, meaning="points of the random warp"))
    assert str(error.value) == ("knots=0 is not allowed: knots (points of the random warp) must be an "
                                "integer with value >= 1.")
    for bad in (True, 2.5, "3", None):
        with pytest.raises(ValueError, match="is not allowed"):
            require("knots", bad, Rule(int, 1))
    allowed = "far=120 is not allowed: far must be an integer with 1 <= value < 120."
    with pytest.raises(ValueError, match=re.escape(allowed)):
        require("far", 120, Rule(int, 1, 120, high_inclusive=False))
    # Integer bounds are written out whole, not as 4.29497e+09.
    with pytest.raises(ValueError, match=r"0 <= value <= 4294967295\."):
        require("seed", 2**32, RULES["seed"])
    with pytest.raises(ValueError, match=r"0 < value < 1\."):
        require("validation", math.nan, Rule(float, 0.0, 1.0, low_inclusive=False, high_inclusive=False))
