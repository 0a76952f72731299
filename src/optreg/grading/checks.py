"""What an instructor's hidden-test file uses (``autograder/hidden/aNN_name.py``).

A hidden test is a plain function taking ``student`` (the student's functions by name, called
in the sandbox: :class:`optreg.grading.student.Student`) and decorated with :func:`grades`,
which names the nbgrader test cell it decides and the points that cell is worth. It fails by
raising ``AssertionError`` (a bare ``assert`` works), usually through :func:`check`,
:func:`close` or :func:`equal`, whose messages the student reads in the feedback. Everything
it receives from ``student`` is plain data decoded by the grader, so NumPy, ``==`` and
``optreg`` itself can be used on it freely.
"""

from __future__ import annotations

import contextlib
import contextvars

import numpy as np

# True while a hidden test runs: failure messages then name the case and the kind of error,
# never the expected values nor what the student's code returned (which can encode the
# hidden inputs); see :func:`hidden_mode`.
_HIDDEN = contextvars.ContextVar("optreg_hidden_checks", default=False)


@contextlib.contextmanager
def hidden_mode():
    """Within: :func:`close`, :func:`equal` and :func:`as_array` describe failures without
    showing values (used by the grader around hidden tests)."""
    token = _HIDDEN.set(True)
    try:
        yield
    finally:
        _HIDDEN.reset(token)


class Failed(AssertionError):
    """A failed check; its message is the student's feedback."""


def grades(grade_id: str, points: float):
    """Mark a hidden test as deciding nbgrader cell ``grade_id``, worth ``points``."""
    if not isinstance(grade_id, str) or not grade_id:
        raise ValueError(f"grade_id must be a non-empty string, got {grade_id!r}")
    if not isinstance(points, int | float) or points <= 0:
        raise ValueError(f"points must be a positive number, got {points!r}")

    def mark(test):
        test.grade_id, test.points = grade_id, points
        return test

    return mark


def check(condition, message: str) -> None:
    """Fail with ``message`` unless ``condition`` is true."""
    if not condition:
        raise Failed(message)


def _show(values: np.ndarray) -> str:
    flat = values.ravel()
    text = ", ".join(f"{v:.6g}" for v in flat[:6].tolist())
    return "[" + text + (", ...]" if flat.size > 6 else "]")


def _describe(value) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:120] + "..."


def as_array(got, what: str) -> np.ndarray:
    """``got`` as a float array, or a failure saying what it was instead."""
    try:
        array = np.asarray(got, dtype=float)
    except (TypeError, ValueError):
        if _HIDDEN.get():
            raise Failed(
                f"{what}: expected numbers on a hidden case, got a value of type "
                f"{type(got).__name__}"
            ) from None
        raise Failed(f"{what}: expected numbers, got {_describe(got)}") from None
    return array


def close(got, want, what: str, rtol: float = 1e-7, atol: float = 1e-12) -> None:
    """Fail unless ``got`` equals ``want`` elementwise within ``atol + rtol * |want|``.

    Shapes must agree; NaN matches only NaN, an infinity only the same infinity."""
    want = np.asarray(want, dtype=float)
    if got is None or isinstance(got, str | bool):
        shown = type(got).__name__ if _HIDDEN.get() else _describe(got)
        raise Failed(
            f"{what}: expected {'a number' if want.ndim == 0 else 'an array'}, got {shown}"
        )
    got = as_array(got, what)
    if got.shape != want.shape:
        raise Failed(f"{what}: expected shape {want.shape}, got shape {got.shape}")
    with np.errstate(invalid="ignore", over="ignore"):
        ok = (got == want) | (np.abs(got - want) <= atol + rtol * np.abs(want))
    ok |= np.isnan(got) & np.isnan(want)
    if not ok.all() and _HIDDEN.get():
        with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
            error = np.abs(got - want) / np.maximum(np.abs(want), atol + 1e-300)
        worst = float(np.nanmax(np.where(ok, 0.0, error), initial=0.0))
        worst_text = f"{worst:.2g}" if np.isfinite(worst) and worst > 0 else "not a number"
        if want.ndim == 0:  # a scalar is a scalar: no shape, no count of values
            raise Failed(f"{what}: wrong value on a hidden case, relative error {worst_text}")
        raise Failed(
            f"{what}: wrong values on a hidden case: shape {got.shape} as expected, "
            f"{int((~ok).sum())} of {ok.size} values wrong, largest relative error "
            f"{worst_text}"
        )
    if not ok.all() and want.ndim == 0:
        raise Failed(f"{what}: expected {float(want):.8g}, got {float(got):.8g}")
    if not ok.all():
        i = int(np.flatnonzero(~ok.ravel())[0])
        raise Failed(
            f"{what}: expected {_show(want)} but got {_show(got)} (first difference at "
            f"flat index {i}: expected {want.ravel()[i]:.8g}, got {got.ravel()[i]:.8g})"
        )


def _same(got, want) -> bool:
    if isinstance(got, np.ndarray) or isinstance(want, np.ndarray):
        try:
            return bool(np.array_equal(np.asarray(got), np.asarray(want), equal_nan=True))
        except (TypeError, ValueError):
            try:
                return bool(np.array_equal(np.asarray(got), np.asarray(want)))
            except (TypeError, ValueError):
                return False
    if isinstance(want, list | tuple):
        return (
            isinstance(got, list | tuple)
            and len(got) == len(want)
            and all(_same(g, w) for g, w in zip(got, want, strict=True))
        )
    if isinstance(want, dict):
        return (
            isinstance(got, dict)
            and got.keys() == want.keys()
            and all(_same(got[k], want[k]) for k in want)
        )
    if isinstance(got, list | tuple | dict):
        return False
    if isinstance(got, float) and isinstance(want, float) and got != got and want != want:
        return True
    return bool(got == want)


def equal(got, want, what: str) -> None:
    """Fail unless ``got`` equals ``want`` exactly (lists and tuples alike, arrays elementwise)."""
    if not _same(got, want):
        if _HIDDEN.get():
            raise Failed(
                f"{what}: wrong value on a hidden case (got a value of type "
                f"{type(got).__name__}{_size(got)})"
            )
        raise Failed(f"{what}: expected {_describe(want)}, got {_describe(got)}")


def _size(value) -> str:
    if isinstance(value, np.ndarray):
        return f", shape {value.shape}"
    if isinstance(value, list | tuple | dict | str):
        return f", length {len(value)}"
    return ""


def pure(function, *args, **kwargs):
    """Call the student's ``function`` and fail if it modified any argument in place.

    The grader's own arguments are never changed by a call (the references are computed from
    them); what is compared is the state the worker reports its copies were left in. That is
    the student's process's word: it can only cost the point (a lying worker keeps it, and it
    still needs the values the grader checks)."""
    before = [np.copy(a) if isinstance(a, np.ndarray) else _copy(a) for a in args]
    value = function(*args, **kwargs)
    params = function.student.last.params
    after = function.student.last.after[0] if function.student.last.after else []
    after = list(after) + list(args[len(after) :]) if type(after) is list else list(args)
    for i, (old, new) in enumerate(zip(before, after[: len(before)], strict=True)):
        if old is not _SKIP and not _same(new, old):
            name = params[i] if i < len(params) else f"number {i + 1}"
            raise Failed(
                f"{function.name} modified its argument {name} in place: return new "
                "arrays (or lists) instead"
            )
    return value


_SKIP = object()


def _copy(value):
    import copy

    if isinstance(value, np.random.Generator) or callable(value):
        return _SKIP  # a generator is meant to advance; a function is not data
    return copy.deepcopy(value)


def returns_copy(function, what: str) -> None:
    """Fail if the latest call of ``function`` returned a view of (or the same array as) one of
    its inputs.

    Memory sharing is only visible inside the student's process, so this is the worker's word:
    it can only cost a point, never give one (a lying worker keeps at most the point of a
    function whose values the grader verified)."""
    check(
        not function.student.last.shares_memory,
        f"{what} must return a new array: its result shares memory with the input (return a "
        "copy, not a view)",
    )
