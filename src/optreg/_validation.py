"""Argument checks shared by the NumPy classes and their Keras twins.

Every check raises ``ValueError`` naming the argument and its allowed range, so that a student
sees the same message whichever implementation they call. Checks return the validated value,
converted to ``float``/``int``, so callers can write ``self.rho = check_open01("rho", rho)``.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from numbers import Integral, Real
from typing import Any


def _number(name: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{name} must be a real number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


def check_positive(name: str, value: Any) -> float:
    """``value > 0``."""
    v = _number(name, value)
    if v <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return v


def check_non_negative(name: str, value: Any) -> float:
    """``value >= 0``."""
    v = _number(name, value)
    if v < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return v


def check_range(
    name: str,
    value: Any,
    low: float,
    high: float,
    *,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """``low <= value <= high`` with each bound inclusive or not; the message shows the interval."""
    v = _number(name, value)
    ok_low = v >= low if low_inclusive else v > low
    ok_high = v <= high if high_inclusive else v < high
    if not (ok_low and ok_high):
        left, right = "[" if low_inclusive else "(", "]" if high_inclusive else ")"
        interval = f"{left}{low:g}, {high:g}{right}"
        raise ValueError(f"{name} must be in {interval}, got {value!r}")
    return v


def check_unit_interval_open_right(name: str, value: Any) -> float:
    """``0 <= value < 1``: momentum, beta_1, beta_2, rho, dropout rate."""
    return check_range(name, value, 0.0, 1.0, high_inclusive=False)


def check_int(name: str, value: Any, minimum: int = 0) -> int:
    """An integer ``>= minimum`` (patience, steps, seeds...)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_optional_positive(name: str, value: Any) -> float | None:
    """``None`` or ``value > 0`` (clipnorm, clipvalue, global_clipnorm)."""
    return None if value is None else check_positive(name, value)


def check_learning_rate(value: Any) -> float | Callable[[int], float]:
    """A float > 0 or a schedule (any callable of the step, e.g. ``optreg.schedules.*``)."""
    if callable(value):
        return value
    return check_positive("learning_rate", value)


def check_increasing(name: str, values: Sequence[Any]) -> list[float]:
    """A non-empty sequence of strictly increasing numbers (schedule boundaries)."""
    values = [_number(f"{name}[{i}]", v) for i, v in enumerate(values)]
    if not values:
        raise ValueError(f"{name} must be a non-empty, strictly increasing sequence")
    for i in range(1, len(values)):
        if values[i] <= values[i - 1]:
            raise ValueError(
                f"{name} must be strictly increasing, got {values[i - 1]!r} then {values[i]!r}"
            )
    return values


def check_length(name: str, values: Sequence[Any], length: int) -> list[Any]:
    """A sequence of exactly ``length`` items (schedule values, one more than boundaries)."""
    values = list(values)
    if len(values) != length:
        raise ValueError(f"{name} must have length {length}, got {len(values)}")
    return values


def check_choice(name: str, value: Any, choices: Sequence[Any]) -> Any:
    """``value`` is one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {list(choices)!r}, got {value!r}")
    return value


def resolve_identifier(identifier: Any, by_name: Mapping[str, type], base: type, kind: str) -> Any:
    """Keras-style ``get``: ``None``, a name in ``by_name``, a ``{"class_name", "config"}`` dict,
    a subclass of ``base`` (instantiated with its defaults), or an instance/callable (unchanged).
    """
    if identifier is None:
        return None
    if isinstance(identifier, str):
        return by_name[check_choice("identifier", identifier, sorted(by_name))]()
    if isinstance(identifier, dict):
        name = check_choice("identifier", identifier.get("class_name"), sorted(by_name))
        return by_name[name].from_config(identifier.get("config", {}))
    if inspect.isclass(identifier) and issubclass(identifier, base):
        return identifier()
    if callable(identifier):
        return identifier
    raise ValueError(f"Could not interpret {kind} identifier: {identifier!r}")
