"""Keras 3 weight penalties written with ``keras.ops``: twins of ``optreg.regularizers``.

``L1(l1)``: ``l1 * sum(|w|)``; ``L2(l2)``: ``l2 * sum(w**2)`` (no 1/2, as Keras);
``L1L2(l1, l2)``: both. Keras adds the value to the model's loss (``model.losses``) and
differentiates it with the rest: ``d/dw = l1 * sign(w) + 2 * l2 * w``. The argument checks are
``optreg.regularizers.check_factor``, shared with the NumPy twins.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from optreg.regularizers import check_factor

__all__ = ["L1", "L2", "L1L2"]

_register = keras.saving.register_keras_serializable(package="optreg")


class _ElasticNet(keras.regularizers.Regularizer):
    """``l1 * sum(|w|) + l2 * sum(w**2)``, skipping a term whose factor is 0."""

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
    """``l1 * sum(|w|)``; default ``l1=0.01``."""

    def __init__(self, l1: float = 0.01) -> None:
        self.l1 = check_factor("l1", l1, default=0.01)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1}


@_register
class L2(_ElasticNet):
    """``l2 * sum(w**2)``; default ``l2=0.01``."""

    def __init__(self, l2: float = 0.01) -> None:
        self.l2 = check_factor("l2", l2, default=0.01)

    def get_config(self) -> dict[str, Any]:
        return {"l2": self.l2}


@_register
class L1L2(_ElasticNet):
    """``l1 * sum(|w|) + l2 * sum(w**2)``; defaults ``l1=0.0, l2=0.0``."""

    def __init__(self, l1: float = 0.0, l2: float = 0.0) -> None:
        self.l1 = check_factor("l1", l1, default=0.0)
        self.l2 = check_factor("l2", l2, default=0.0)

    def get_config(self) -> dict[str, Any]:
        return {"l1": self.l1, "l2": self.l2}
