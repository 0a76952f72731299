r"""Weight penalties in NumPy, equal to ``keras.regularizers``.

A regularizer adds a penalty :math:`\Omega(W)` to the loss, so training minimizes
:math:`L(W) + \Omega(W)` and the gradient gains :math:`\nabla\Omega(W)`:

* ``L1(l1)``: :math:`\Omega = \lambda_1 \sum |w|`, subgradient :math:`\lambda_1\,\mathrm{sign}(w)`
  (0 at :math:`w = 0`, as TensorFlow's gradient of ``abs``). A constant pull towards 0 drives
  small weights exactly to 0: sparse models.
* ``L2(l2)``: :math:`\Omega = \lambda_2 \sum w^2`, gradient :math:`2\lambda_2 w`. A pull
  proportional to the weight ("weight decay"): with plain SGD and rate :math:`\eta` each step
  multiplies :math:`w` by :math:`1 - 2\eta\lambda_2` before the loss gradient step.
  **Keras has no 1/2**: many textbooks write :math:`\tfrac{\lambda}{2}\|w\|^2` so that the
  gradient is :math:`\lambda w`; Keras' ``L2(l2)`` equals that textbook penalty with
  :math:`\lambda = 2\,\text{l2}`.
* ``L1L2(l1, l2)``: the sum of both (elastic net).

Defaults are Keras': ``L1(l1=0.01)``, ``L2(l2=0.01)``, ``L1L2(l1=0.0, l2=0.0)``; ``None`` means
the default, as in Keras. Factors must be finite and ``>= 0``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from optreg._validation import check_non_negative, resolve_identifier
from optreg.hyperparameters import Declared, Hyperparameter

__all__ = ["Regularizer", "L1", "L2", "L1L2", "check_factor", "factor", "get"]


def check_factor(name: str, value: Any, default: float) -> float:
    """A penalty factor: ``None`` (meaning ``default``) or a finite number ``>= 0``.

    Shared with ``optreg.keras.regularizers`` so both twins reject the same inputs.
    """
    return default if value is None else check_non_negative(name, value)


def factor(name: str, default: float, description: str) -> Hyperparameter:
    """The declaration of a penalty factor (``None`` stands for its default, as in Keras)."""
    return Hyperparameter(
        name,
        default,
        ">= 0 (None: the default)",
        description,
        check_with=lambda name, value: check_factor(name, value, default),
    )


class Regularizer(Declared):
    """Base class: ``reg(w) -> float`` penalty, ``reg.gradient(w) -> ndarray`` its gradient."""

    def __call__(self, w: ArrayLike) -> float:
        raise NotImplementedError

    def gradient(self, w: ArrayLike) -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Regularizer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """:math:`\\Omega(w) = \\text{l1} \\sum |w| + \\text{l2} \\sum w^2` (elastic net; no 1/2)."""

    hyperparameters = (
        factor("l1", 0.0, "factor of the sum of `abs(w)`"),
        factor("l2", 0.0, "factor of `sum w^2`"),
    )

    def __call__(self, w: ArrayLike) -> float:
        """The penalty ``l1 sum |w| + l2 sum w^2``."""
        w = np.asarray(w)
        return float(self.l1 * np.sum(np.abs(w)) + self.l2 * np.sum(w**2))

    def gradient(self, w: ArrayLike) -> np.ndarray:
        """Its gradient ``l1 sign(w) + 2 l2 w`` (subgradient 0 at w = 0), shaped like ``w``."""
        w = np.asarray(w)
        return self.l1 * np.sign(w) + 2 * self.l2 * w


class L1(L1L2):
    """:math:`\\Omega(w) = \\text{l1} \\sum |w|`: ``L1L2(l1, 0)`` under its Keras name."""

    hyperparameters = (factor("l1", 0.01, "factor of the sum of `abs(w)`"),)
    l2 = 0.0


class L2(L1L2):
    """:math:`\\Omega(w) = \\text{l2} \\sum w^2` (no 1/2, as in Keras): ``L1L2(0, l2)``."""

    hyperparameters = (factor("l2", 0.01, "factor of `sum w^2`"),)
    l1 = 0.0


_BY_NAME: dict[str, type[Regularizer]] = {
    "L1": L1,
    "L2": L2,
    "L1L2": L1L2,
    "l1": L1,
    "l2": L2,
    "l1l2": L1L2,
    "l1_l2": L1L2,
}


def get(identifier: Any) -> Regularizer | None:
    """A regularizer from a name (``"l1"``, ``"L2"``, ``"l1_l2"``), a ``{"class_name",
    "config"}`` dict, a class or an instance. ``None`` gives ``None``."""
    return resolve_identifier(identifier, _BY_NAME, Regularizer, "regularizer")
