r"""Weight constraints in NumPy, with Keras 3's semantics.

A constraint is a projection applied to a weight tensor after each optimizer step:
``w <- c(w)`` returns a projected copy.

``MaxNorm(max_value=2, axis=0)`` (max-norm regularization, Srebro et al.; used with dropout by
Srivastava et al., 2014) bounds the L2 norm of each weight vector: the norm is taken over
``axis`` (for a ``Dense`` kernel ``(n_in, n_out)``, ``axis=0`` gives one norm per unit over its
incoming weights; for a ``Conv2D`` kernel use ``axis=[0, 1, 2]``, one norm per filter). Keras
computes, with :math:`\epsilon = 10^{-7}` (``keras.config.epsilon()``),

.. math:: w \leftarrow w \cdot \frac{\min(\|w\|, c)}{\epsilon + \|w\|}.

Vectors longer than :math:`c` are scaled to norm :math:`c`; shorter ones are (up to the tiny
factor :math:`\|w\|/(\epsilon + \|w\|)`) unchanged, and a zero vector stays zero.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from optreg.hyperparameters import Declared, Hyperparameter

__all__ = ["Constraint", "MaxNorm", "NonNeg", "UnitNorm", "EPSILON", "check_axis"]

#: Keras' default fuzz factor, ``keras.config.epsilon()``.
EPSILON = 1e-7


def check_axis(axis: Any) -> int | list[int]:
    """An integer axis or a non-empty list of integer axes (shared with the Keras twins)."""
    axes = [axis] if isinstance(axis, Integral) else axis
    if (
        not isinstance(axes, Sequence)
        or not axes
        or any(isinstance(a, bool) or not isinstance(a, Integral) for a in axes)
    ):
        raise ValueError(f"axis must be an integer or a non-empty list of integers, got {axis!r}")
    return int(axis) if isinstance(axis, Integral) else [int(a) for a in axis]


def _axis_tuple(axis: int | list[int]) -> int | tuple[int, ...]:
    return axis if isinstance(axis, int) else tuple(axis)


def _norms(w: np.ndarray, axis: int | list[int]) -> np.ndarray:
    return np.sqrt(np.sum(np.square(w), axis=_axis_tuple(axis), keepdims=True))


#: the declarations (the Keras twins in ``optreg.keras.constraints`` take them too)
AXIS = Hyperparameter(
    "axis", 0, "int or list of ints", "the axes of each vector's norm", lambda _, v: check_axis(v)
)
MAX_VALUE = Hyperparameter("max_value", 2, "> 0", "the largest norm")


class Constraint(Declared):
    """Base class: ``c(w) -> ndarray``, a projected copy of ``w`` (the identity here)."""

    def __call__(self, w: ArrayLike) -> np.ndarray:
        return np.array(w, copy=True)

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Constraint:
        return cls(**config)


class MaxNorm(Constraint):
    """Rescale each weight vector (norm over ``axis``) whose L2 norm exceeds ``max_value``."""

    hyperparameters = (MAX_VALUE, AXIS)

    def __call__(self, w: ArrayLike) -> np.ndarray:
        w = np.asarray(w)
        norms = _norms(w, self.axis)
        desired = np.clip(norms, 0, self.max_value)
        return w * (desired / (EPSILON + norms))


class NonNeg(Constraint):
    """Clip negative weights to 0: :math:`w \\leftarrow \\max(w, 0)`."""

    def __call__(self, w: ArrayLike) -> np.ndarray:
        return np.maximum(np.asarray(w), 0)


class UnitNorm(Constraint):
    """Scale every weight vector (norm over ``axis``) to unit L2 norm: ``w / (eps + ||w||)``."""

    hyperparameters = (AXIS,)

    def __call__(self, w: ArrayLike) -> np.ndarray:
        w = np.asarray(w)
        return w / (EPSILON + _norms(w, self.axis))
