"""Losses: ``loss(y_true, y_pred) -> (value, dvalue/dy_pred)``, averaged over the batch."""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["SoftmaxCrossEntropy", "MeanSquaredError", "get_loss"]


# --------------------------------------------------------------------------------------------
# Losses: ``loss(y_true, y_pred) -> (value, dvalue/dy_pred)``, averaged over the batch
# --------------------------------------------------------------------------------------------


class SoftmaxCrossEntropy:
    r"""Softmax and cross-entropy fused, for integer labels and logits.

    Keras: ``SparseCategoricalCrossentropy(from_logits=True)``. With :math:`p = \mathrm{softmax}(z)`
    over the last axis and labels :math:`y_i`,

    .. math:: L = -\frac1N \sum_i \log p_{i, y_i}, \qquad
              \frac{\partial L}{\partial z_{ik}} = \frac{p_{ik} - [k = y_i]}{N}.

    Fusing the two gives this simple gradient and avoids ``log(0)``: the log-probabilities are
    computed as ``z - max(z) - log(sum(exp(z - max(z))))``.
    """

    def __call__(self, y_true: np.ndarray, logits: np.ndarray) -> tuple[float, np.ndarray]:
        logits = np.asarray(logits)
        labels = np.asarray(y_true).reshape(-1).astype(np.intp, copy=False)
        n = len(logits)
        if logits.ndim != 2 or len(labels) != n:
            raise ValueError(
                f"expected logits (batch, classes) and batch labels, got {logits.shape} "
                f"and {np.shape(y_true)}"
            )
        rows = np.arange(n)
        shifted = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        sums = p.sum(axis=1, keepdims=True)
        log_likelihood = shifted[rows, labels] - np.log(sums[:, 0])
        p /= sums
        p[rows, labels] -= 1.0
        p /= n
        return -float(log_likelihood.mean(dtype=np.float64)), p

    @staticmethod
    def accuracy(y_true: np.ndarray, logits: np.ndarray) -> float:
        """Fraction of rows whose largest logit is at the label."""
        hits = np.count_nonzero(np.argmax(logits, axis=-1) == np.asarray(y_true).reshape(-1))
        return hits / len(logits)


class MeanSquaredError:
    r"""Mean squared error, Keras' ``MeanSquaredError``:

    .. math:: L = \frac1{n} \sum (\hat y - y)^2, \qquad \frac{\partial L}{\partial \hat y}
              = \frac{2 (\hat y - y)}{n}

    with :math:`n` the number of entries. Labels of shape ``(batch,)`` are matched with
    predictions of shape ``(batch, 1)``.
    """

    accuracy = None

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, np.ndarray]:
        y_pred = np.asarray(y_pred)
        y_true = np.asarray(y_true, dtype=y_pred.dtype)
        if y_true.ndim == y_pred.ndim - 1:
            y_true = y_true[..., None]
        if y_true.shape != y_pred.shape:
            raise ValueError(f"y_true shape {y_true.shape} does not match y_pred {y_pred.shape}")
        error = y_pred - y_true
        return float(np.mean(error * error, dtype=np.float64)), error * (2.0 / error.size)


_LOSSES = {
    "sparse_categorical_crossentropy": SoftmaxCrossEntropy,
    "softmax_cross_entropy": SoftmaxCrossEntropy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
}


def get_loss(loss: Any) -> Any:
    """A loss object from a name (``"sparse_categorical_crossentropy"``, ``"mse"``) or as is."""
    if isinstance(loss, str):
        if loss not in _LOSSES:
            raise ValueError(f"loss must be one of {sorted(_LOSSES)!r}, got {loss!r}")
        return _LOSSES[loss]()
    if not callable(loss):
        raise ValueError(f"loss must be a name or a callable (y_true, y_pred), got {loss!r}")
    return loss
