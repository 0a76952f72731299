"""Keras 3 weight constraints written with ``keras.ops``: twins of ``optreg.constraints``.

Keras applies a layer's ``kernel_constraint`` after every optimizer step:
``w <- c(w)``. ``MaxNorm(max_value, axis)`` computes one L2 norm per weight vector (over
``axis``) and rescales ``w * min(norm, max_value) / (epsilon + norm)``, with
``epsilon = keras.config.epsilon()``. The arguments' declarations
(signature, checks, ``get_config``) are the NumPy twins'.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from optreg import constraints
from optreg.hyperparameters import Declared

__all__ = ["MaxNorm", "NonNeg", "UnitNorm"]

_register = keras.saving.register_keras_serializable(package="optreg")


def _norms(w: Any, axis: int | list[int]) -> Any:
    axis = axis if isinstance(axis, int) else tuple(axis)
    return ops.sqrt(ops.sum(ops.square(w), axis=axis, keepdims=True))


@_register
class MaxNorm(Declared, keras.constraints.Constraint):
    """Rescale each weight vector whose L2 norm (over ``axis``) exceeds ``max_value``."""

    hyperparameters = constraints.MaxNorm.hyperparameters

    def __call__(self, w: Any) -> Any:
        w = ops.convert_to_tensor(w)
        norms = _norms(w, self.axis)
        desired = ops.clip(norms, 0.0, self.max_value)
        return w * (desired / (keras.config.epsilon() + norms))


@_register
class NonNeg(keras.constraints.Constraint):
    """``max(w, 0)``."""

    def __call__(self, w: Any) -> Any:
        return ops.maximum(ops.convert_to_tensor(w), 0.0)


@_register
class UnitNorm(Declared, keras.constraints.Constraint):
    """``w / (epsilon + ||w||)`` with the norm over ``axis``."""

    hyperparameters = constraints.UnitNorm.hyperparameters

    def __call__(self, w: Any) -> Any:
        w = ops.convert_to_tensor(w)
        return w / (keras.config.epsilon() + _norms(w, self.axis))
