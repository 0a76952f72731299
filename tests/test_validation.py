"""The shared argument checks: every message names the argument and the allowed range."""

from __future__ import annotations

import math

import pytest

from optreg import _validation as v


@pytest.mark.parametrize(
    "check, value, message",
    [
        (v.check_positive, 0, r"lr must be > 0, got 0"),
        (v.check_positive, -1e-3, r"lr must be > 0"),
        (v.check_positive, math.nan, r"lr must be finite"),
        (v.check_positive, "0.1", r"lr must be a real number"),
        (v.check_positive, True, r"lr must be a real number"),
        (v.check_non_negative, -1, r"lr must be >= 0"),
        (v.check_unit_interval_open_right, 1.0, r"lr must be in \[0, 1\), got 1.0"),
        (v.check_unit_interval_open_right, -0.1, r"lr must be in \[0, 1\)"),
        (v.check_optional_positive, 0.0, r"lr must be > 0"),
    ],
)
def test_out_of_range_values_name_the_argument_and_range(check, value, message):
    with pytest.raises(ValueError, match=message):
        check("lr", value)


def test_accepted_values_come_back_as_floats():
    assert v.check_positive("x", 3) == 3.0 and isinstance(v.check_positive("x", 3), float)
    assert v.check_unit_interval_open_right("x", 0) == 0.0
    assert v.check_optional_positive("x", None) is None
    assert v.check_range("x", 1, 0, 1) == 1.0
    with pytest.raises(ValueError, match=r"x must be in \(0, 1\]"):
        v.check_range("x", 0, 0, 1, low_inclusive=False)


def test_integers_and_choices():
    assert v.check_int("patience", 0) == 0
    with pytest.raises(ValueError, match="patience must be an integer >= 0, got -1"):
        v.check_int("patience", -1)
    with pytest.raises(ValueError, match="patience must be an integer >= 0"):
        v.check_int("patience", 1.5)
    with pytest.raises(ValueError, match=r"mode must be one of \['min', 'max'\], got 'avg'"):
        v.check_choice("mode", "avg", ["min", "max"])


def test_learning_rate_is_a_positive_float_or_a_schedule():
    def schedule(step):
        return 0.1

    assert v.check_learning_rate(schedule) is schedule
    assert v.check_learning_rate(0.5) == 0.5
    with pytest.raises(ValueError, match="learning_rate must be > 0"):
        v.check_learning_rate(0)


def test_sequences():
    assert v.check_increasing("boundaries", [1, 2, 5]) == [1.0, 2.0, 5.0]
    with pytest.raises(ValueError, match="strictly increasing, got 2.0 then 2.0"):
        v.check_increasing("boundaries", [1, 2, 2])
    with pytest.raises(ValueError, match="boundaries must be a non-empty"):
        v.check_increasing("boundaries", [])
    with pytest.raises(ValueError, match="values must have length 3, got 2"):
        v.check_length("values", [1, 2], 3)


def test_a_declared_class_derives_signature_checks_config_and_table():
    import inspect

    from optreg.hyperparameters import REQUIRED, Declared, Hyperparameter

    class Clip(Declared):
        """Clip to [low, high]."""

        hyperparameters = (
            Hyperparameter("low", REQUIRED, "real", "lower bound"),
            Hyperparameter("high", 1.0, "real", "upper bound"),
            Hyperparameter("strict", False, "True or False", "reject equal bounds"),
        )

        @classmethod
        def check_together(cls, values):
            if values["low"] > values["high"]:
                raise ValueError(f"low must be <= high, got {values['low']} > {values['high']}")
            return values

        def __post_init__(self):
            self.width = self.high - self.low

    assert str(inspect.signature(Clip)) == "(low, high=1.0, strict=False) -> None"
    clip = Clip(0, high=2)
    assert (clip.low, clip.high, clip.strict, clip.width) == (0.0, 2.0, False, 2.0)
    assert isinstance(clip.low, float) and Clip(**clip.get_config()).get_config() == {
        "low": 0.0, "high": 2.0, "strict": False}  # fmt: skip
    with pytest.raises(TypeError, match="low"):
        Clip()
    with pytest.raises(ValueError, match="strict must be True or False, got 1"):
        Clip(0, strict=1)
    with pytest.raises(ValueError, match="high must be finite"):
        Clip(0, float("inf"))
    with pytest.raises(ValueError, match="low must be <= high"):
        Clip(3)
    assert "| `low` | required | real | lower bound |" in Clip.__doc__
    with pytest.raises(ValueError, match="allowed must be one of"):
        Hyperparameter("x", 0, "sort of positive", "no such range")
