"""Keras 3 weight penalties written with ``keras.ops``: twins of ``optreg.regularizers``.

``L1(l1)``: ``l1 * sum(|w|)``; ``L2(l2)``: ``l2 * sum(w**2)`` (no 1/2, as Keras);
``L1L2(l1, l2)``: both. Keras adds the value to the model's loss (``model.losses``) and
differentiates it with the rest: ``d/dw = l1 * sign(w) + 2 * l2 * w``. The arguments, their
checks and ``get_config`` come from the NumPy twins' declarations.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from optreg import regularizers
from optreg.hyperparameters import Declared

__all__ = ["L1", "L2", "L1L2"]

_register = keras.saving.register_keras_serializable(package="optreg")


class _ElasticNet(Declared, keras.regularizers.Regularizer):
    """``l1 * sum(|w|) + l2 * sum(w**2)``, skipping a term whose factor is 0; the arguments are
    the NumPy twin's declaration."""

    l1: float = 0.0
    l2: float = 0.0

    def __call__(self, w: Any) -> Any:
        penalty = ops.convert_to_tensor(0.0, dtype=w.dtype)
        if self.l1:
            penalty += ops.cast(self.l1, w.dtype) * ops.sum(ops.abs(w))
        if self.l2:
            penalty += ops.cast(self.l2, w.dtype) * ops.sum(ops.square(w))
        return penalty


@_register
class L1(_ElasticNet):
    """``l1 * sum(|w|)``."""

    hyperparameters = regularizers.L1.hyperparameters


@_register
class L2(_ElasticNet):
    """``l2 * sum(w**2)``."""

    hyperparameters = regularizers.L2.hyperparameters


@_register
class L1L2(_ElasticNet):
    """``l1 * sum(|w|) + l2 * sum(w**2)``."""

    hyperparameters = regularizers.L1L2.hyperparameters
