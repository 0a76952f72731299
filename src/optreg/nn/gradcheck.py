"""Numerical gradient check of a model's ``backward``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from optreg._validation import check_non_negative, check_positive
from optreg.nn.layers import Sequential
from optreg.nn.losses import get_loss

__all__ = ["gradient_check", "numerical_gradient", "relative_error"]


# --------------------------------------------------------------------------------------------
# Numerical gradient check
# --------------------------------------------------------------------------------------------


def relative_error(analytic: np.ndarray, numeric: np.ndarray, atol: float = 0.0) -> float:
    """``||a - n|| / (||a|| + ||n||)``, or 0 when both norms are ``<= atol`` (both zero: they
    agree)."""
    denominator = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    if denominator <= atol:
        return 0.0
    return float(np.linalg.norm(analytic - numeric) / denominator)


def numerical_gradient(f: Callable[[], float], array: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences ``(f(a + eps e_i) - f(a - eps e_i)) / (2 eps)``, perturbing ``array``
    in place entry by entry (and restoring it): ``f`` reads ``array``."""
    grad = np.zeros_like(array)
    for i in np.ndindex(array.shape):
        old = array[i]
        array[i] = old + eps
        f_plus = f()
        array[i] = old - eps
        f_minus = f()
        array[i] = old
        grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def gradient_check(
    model_or_f: Any,
    x: np.ndarray,
    y: np.ndarray | None = None,
    loss: Any = None,
    eps: float = 1e-6,
    training: bool = True,
    atol: float = 1e-8,
) -> float:
    """Largest relative error ``||a - n|| / (||a|| + ||n||)`` between analytic gradients ``a``
    and central differences ``n`` (with step ``eps``), in float64.

    * ``model_or_f`` a :class:`Sequential` (or any layer): checks the gradient of
      ``loss(y, model.forward(x, training)) + penalties`` with respect to every parameter array
      and to ``x`` (the max over them is returned). The layers must be float64 (build them with
      ``dtype="float64"``). Random layers (dropout) draw the same mask in every forward: the
      state of each layer's ``rng`` is replayed.
    * ``model_or_f`` a function ``f(x) -> (value, gradient)``: checks the gradient with respect
      to ``x``.

    Below about 1e-7 the analytic gradient is right up to the finite-difference error. An array
    whose analytic and numerical gradients both have norm ``<= atol`` counts as matching: its
    true gradient is zero (e.g. the bias of a Dense layer followed by batch normalization,
    which removes any constant shift) and a ratio of round-off errors would mean nothing.
    """
    eps = check_positive("eps", eps)
    atol = check_non_negative("atol", atol)
    x = np.array(x, dtype=np.float64)
    if not hasattr(model_or_f, "forward"):
        if y is not None or loss is not None:
            raise ValueError("y and loss are only for models; f(x) must return (value, grad)")
        _, analytic = model_or_f(x)
        numeric = numerical_gradient(lambda: float(model_or_f(x)[0]), x, eps)
        return relative_error(np.asarray(analytic, dtype=np.float64), numeric, atol)

    model = model_or_f if isinstance(model_or_f, Sequential) else Sequential([model_or_f])
    loss = get_loss(loss if loss is not None else "mse")
    if not model.built:
        model.build((None, *x.shape[1:]))
    for p in model.params:
        if p.dtype != np.float64:
            raise ValueError(f"gradient_check needs float64 parameters, got {p.dtype}")
    rngs = [
        layer.rng
        for layer in model.layers
        if isinstance(getattr(layer, "rng", None), np.random.Generator)
    ]
    states = [r.bit_generator.state for r in rngs]

    def objective() -> tuple[float, np.ndarray]:
        for r, s in zip(rngs, states, strict=True):
            r.bit_generator.state = s
        out = model.forward(x, training=training)
        value, d_out = loss(y, out)
        return value + model.regularization_loss(), d_out

    _, d_out = objective()
    analytic_x = model.backward(d_out)
    analytic = [g.copy() for g in model.grads]
    errors = [relative_error(analytic_x, numerical_gradient(lambda: objective()[0], x, eps), atol)]
    for p, a in zip(model.params, analytic, strict=True):
        errors.append(relative_error(a, numerical_gradient(lambda: objective()[0], p, eps), atol))
    return max(errors)
