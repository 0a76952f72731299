"""Keras 3 twins of the activations of ``optreg.activations`` that the course adds to Keras'
classics, written from their equations with ``keras.ops`` (the NumPy twins' docstrings give the
equations and derivatives; gradients come from the backend's autodiff).

Registered (``"optreg>relu6"``, ...), so ``Dense(..., activation=optreg.keras.activations.mish)``
saves and loads; each equals ``keras.activations.<name>`` (tests/test_modern_layers.py).
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

__all__ = [
    "relu6",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "softsign",
    "mish",
    "celu",
    "log_sigmoid",
]

_register = keras.saving.register_keras_serializable(package="optreg")


@_register
def relu6(x: Any) -> Any:
    """min(max(0, x), 6)."""
    return ops.minimum(ops.maximum(x, 0.0), 6.0)


@_register
def hard_sigmoid(x: Any) -> Any:
    """relu6(x + 3) / 6."""
    return relu6(x + 3.0) / 6.0


@_register
def hard_silu(x: Any) -> Any:
    """x hard_sigmoid(x) (hard swish)."""
    return x * hard_sigmoid(x)


hard_swish = hard_silu


@_register
def softsign(x: Any) -> Any:
    """x / (1 + |x|)."""
    return x / (1.0 + ops.abs(x))


@_register
def mish(x: Any) -> Any:
    """x tanh(softplus(x))."""
    return x * ops.tanh(ops.softplus(x))


@_register
def celu(x: Any, alpha: float = 1.0) -> Any:
    """max(0, x) + alpha (exp(min(0, x) / alpha) - 1)."""
    return ops.maximum(x, 0.0) + alpha * ops.expm1(ops.minimum(x, 0.0) / alpha)


@_register
def log_sigmoid(x: Any) -> Any:
    """log sigmoid(x) = -softplus(-x)."""
    return -ops.softplus(-x)
