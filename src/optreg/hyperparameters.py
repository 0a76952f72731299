"""One declaration per hyperparameter: name, default, allowed range, description.

An algorithm lists its hyperparameters once, as a tuple of ``Hyperparameter``; its constructor's
signature, the argument checks, ``get_config`` and the documentation's tables are derived from
that tuple (for the NumPy class and its Keras twin alike), so they cannot disagree::

    hyperparameters = (
        Hyperparameter("learning_rate", 0.001, "> 0 or schedule", "step size"),
        Hyperparameter("beta_1", 0.9, "[0, 1)", "decay rate of the mean m"),
    )

``allowed`` is one of the keys of ``CHECKS``; its check raises ``ValueError`` naming the
argument and the range, and returns the value converted (``float``, ``bool``).
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from optreg._validation import (
    _number,
    check_int,
    check_learning_rate,
    check_non_negative,
    check_optional_positive,
    check_positive,
    check_range,
    check_unit_interval_open_right,
)

__all__ = [
    "CHECKS",
    "REQUIRED",
    "Declared",
    "Hyperparameter",
    "checked",
    "replaced",
    "signature",
    "table",
]


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def _check_optional_non_negative(name: str, value: Any) -> float | None:
    return None if value is None else check_non_negative(name, value)


def _check_non_positive(name: str, value: Any) -> float:
    if _number(name, value) > 0:
        raise ValueError(f"{name} must be <= 0, got {value!r}")
    return float(value)


def _check_negative(name: str, value: Any) -> float:
    if _number(name, value) >= 0:
        raise ValueError(f"{name} must be < 0, got {value!r}")
    return float(value)


def _check_patterns(name: str, value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{name} must be a list of regular expressions or None, got {value!r}")
    return list(value)


#: allowed range (as the tables print it) -> check(name, value) returning the converted value
CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "> 0": check_positive,
    ">= 0": check_non_negative,
    "[0, 1)": check_unit_interval_open_right,
    "True or False": _check_bool,
    "> 0 or None": check_optional_positive,
    ">= 0 or None": _check_optional_non_negative,
    "> 0 or schedule": lambda name, value: check_learning_rate(value),
    "(0, 1]": lambda name, value: check_range(name, value, 0.0, 1.0, low_inclusive=False),
    "<= 0": _check_non_positive,
    "< 0": _check_negative,
    "real": _number,
    "integer >= 0": check_int,
    "regexes or None": _check_patterns,
    "[0, 1]": lambda name, value: check_range(name, value, 0.0, 1.0),
    "integer >= 1 or None": lambda name, value: (
        None if value is None else check_int(name, value, 1)
    ),
    "integer >= 2": lambda name, value: check_int(name, value, 2),
    "integer >= 2 or None": lambda name, value: (
        None if value is None else check_int(name, value, 2)
    ),
}


#: the default of an argument that has none (Keras' ``ExponentialDecay(initial_learning_rate,
#: decay_steps, decay_rate)``)
REQUIRED = inspect.Parameter.empty


@dataclass(frozen=True)
class Hyperparameter:
    """A constructor argument of an algorithm, declared once.

    ``check_with(name, value)``, when given, replaces ``CHECKS[allowed]`` (a range the table
    states in words, such as a Keras initializer or one of a few names).
    """

    name: str
    default: Any
    allowed: str
    description: str
    check_with: Callable[[str, Any], Any] | None = None

    def __post_init__(self) -> None:
        if self.check_with is None and self.allowed not in CHECKS:
            raise ValueError(f"allowed must be one of {list(CHECKS)}, got {self.allowed!r}")

    def check(self, value: Any, owner: str) -> Any:
        """The value, converted, or ``ValueError`` naming the argument and its allowed range."""
        if self.check_with is not None:
            return self.check_with(self.name, value)
        if value is None and self.allowed in ("> 0", ">= 0", "[0, 1)", "(0, 1]", "<= 0", "< 0"):
            where = self.allowed if self.allowed[0] in "<>" else f"in {self.allowed}"
            raise ValueError(f"{self.name} must be a number {where} for {owner}, got None")
        return CHECKS[self.allowed](self.name, value)


def signature(
    declared: Iterable[Hyperparameter],
    var_keyword: bool = False,
    extra: Iterable[inspect.Parameter] | None = None,
) -> inspect.Signature:
    """``(self, <declared, with their defaults>, name=None[, **kwargs])``, as Keras writes them
    (``extra`` replaces ``name=None``: a schedule's ``name="ExponentialDecay"``, or nothing)."""
    kind = inspect.Parameter.POSITIONAL_OR_KEYWORD
    parameters = [inspect.Parameter("self", kind)]
    parameters += [inspect.Parameter(h.name, kind, default=h.default) for h in declared]
    parameters += [inspect.Parameter("name", kind, default=None)] if extra is None else extra
    if var_keyword:
        parameters.append(inspect.Parameter("kwargs", inspect.Parameter.VAR_KEYWORD))
    return inspect.Signature(parameters, return_annotation=None)


def replaced(declared: Iterable[Hyperparameter], *new: Hyperparameter) -> tuple:
    """``declared`` with the hyperparameters named as those of ``new`` replaced by them (a Keras
    twin's check of an argument where Keras raises another error)."""
    by_name = {h.name: h for h in new}
    return tuple(by_name.get(h.name, h) for h in declared)


def table(declared: Iterable[Hyperparameter]) -> str:
    """A Markdown table of the declaration (the pages and the docstrings show it)."""
    rows = ["| argument | default | allowed | meaning |", "|---|---|---|---|"]
    rows += [
        f"| `{h.name}` | {'required' if h.default is REQUIRED else f'`{h.default!r}`'} "
        f"| {h.allowed} | {h.description} |"
        for h in declared
    ]
    return "\n".join(rows)


def checked(**allowed: str | Callable[[str, Any], Any]) -> Callable[[Callable], Callable]:
    """Check a function's named arguments at its entry, against a range of ``CHECKS`` or with
    a ``check(name, value)`` returning the converted value::

        @checked(clipnorm="> 0")
        def clip_by_norm(grad, clipnorm): ...   # the body sees clipnorm as a float > 0
    """

    def decorate(function: Callable) -> Callable:
        parameters = inspect.signature(function)

        @functools.wraps(function)
        def checked_function(*args: Any, **kwargs: Any) -> Any:
            bound = parameters.bind(*args, **kwargs)
            bound.apply_defaults()
            for name, check in allowed.items():
                check = CHECKS[check] if isinstance(check, str) else check
                bound.arguments[name] = check(name, bound.arguments[name])
            return function(*bound.args, **bound.kwargs)

        return checked_function

    return decorate


class Declared:
    """A class whose constructor is its declaration: ``hyperparameters`` gives the signature of
    ``__init__`` (``inspect.signature`` shows it), the argument checks, the attributes of the
    same names, ``get_config`` and the table appended to the class's docstring::

        class L1L2(Declared):
            hyperparameters = (
                Hyperparameter("l1", 0.0, ">= 0", "factor of sum |w|"),
                Hyperparameter("l2", 0.0, ">= 0", "factor of sum w^2"),
            )

    ``extra_parameters()`` are the signature's parameters after the declared ones that are not
    hyperparameters (a name, Keras' ``**kwargs``): they go to ``init_base(**extra)``, called
    before the attributes are set (a Keras twin passes them to its Keras base class).
    ``check_together(values)`` checks what involves several arguments (``minval < maxval``),
    after each was checked alone; ``__post_init__()`` sets up the rest (empty parameters...).
    """

    hyperparameters: tuple[Hyperparameter, ...] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        extra = cls.extra_parameters()
        sig = signature(cls.hyperparameters, extra=extra)

        def __init__(self: Declared, *args: Any, **kwargs: Any) -> None:
            Declared._declared_init(self, sig, args, kwargs)

        __init__.__signature__ = sig
        __init__.__qualname__ = f"{cls.__qualname__}.__init__"
        __init__.__doc__ = f"Arguments: see ``{cls.__name__}``."
        cls.__init__ = __init__
        if cls.hyperparameters:
            heading = "Arguments (derived from ``hyperparameters``):"
            table_ = table(cls.hyperparameters).replace("\n", "\n    ")
            cls.__doc__ = f"{cls.__doc__ or ''}\n\n    {heading}\n\n    {table_}\n"

    def _declared_init(self, sig: inspect.Signature, args: tuple, kwargs: dict) -> None:
        bound = sig.bind(self, *args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        del values["self"]
        extra = {p.name: values.pop(p.name) for p in self.extra_parameters()}
        owner = type(self).__name__
        checked = {h.name: h.check(values[h.name], owner) for h in self.hyperparameters}
        checked = self.check_together(checked)
        self.init_base(**extra)
        for name, value in checked.items():
            setattr(self, name, value)
        self.__post_init__()

    @classmethod
    def extra_parameters(cls) -> list[inspect.Parameter]:
        """The signature's parameters after the declared ones (none by default)."""
        return []

    @classmethod
    def check_together(cls, values: dict[str, Any]) -> dict[str, Any]:
        """The checks that involve several arguments (none by default); returns ``values``."""
        return values

    def init_base(self, **extra: Any) -> None:
        """Receives the ``extra_parameters`` (a Keras twin: its base class's ``__init__``)."""

    def __post_init__(self) -> None:
        """Everything else the constructor sets up (nothing by default)."""

    def get_config(self) -> dict[str, Any]:
        """The constructor's arguments (``cls(**config)`` rebuilds the object)."""
        return {h.name: getattr(self, h.name) for h in self.hyperparameters}
