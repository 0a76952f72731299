"""Sparse weights: the proximal step of the L1 penalty, and pruning by magnitude.

A plain (sub)gradient step on ``l1 * |w|`` moves every weight by ``lr * l1`` towards zero and
jumps over it, so small weights end up oscillating around zero instead of at it. Exact zeros come
from one of two routes:

* the *proximal* step of the L1 penalty (soft thresholding, as in ISTA and lasso solvers): after
  the gradient step on the data loss, ``w <- sign(w) * max(|w| - lr * l1, 0)``;
* *pruning*: set the smallest weights (by magnitude) to zero, after training or gradually during
  it, as the TensorFlow Model Optimization Toolkit's ``prune_low_magnitude`` does, and keep them
  at zero with a mask while fine-tuning.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from optreg._validation import check_non_negative, check_range

__all__ = ["apply_masks", "magnitude_masks", "soft_threshold", "sparsity"]


def soft_threshold(w: np.ndarray, threshold: float) -> np.ndarray:
    """The proximal operator of ``threshold * |w|``: ``sign(w) * max(|w| - threshold, 0)``."""
    threshold = check_non_negative("threshold", threshold)
    w = np.asarray(w)
    return np.sign(w) * np.maximum(np.abs(w) - threshold, 0.0)


def magnitude_masks(weights: Sequence[np.ndarray], sparsity: float) -> list[np.ndarray]:
    """Boolean masks that keep the largest-magnitude ``1 - sparsity`` of each array.

    Each array is pruned on its own (per layer, as TF-MOT does); ties at the threshold are pruned
    together, so at least ``sparsity`` of each array is masked out.
    """
    sparsity = check_range("sparsity", sparsity, 0.0, 1.0, high_inclusive=False)
    masks = []
    for w in weights:
        magnitude = np.abs(np.asarray(w))
        n_pruned = int(np.floor(sparsity * magnitude.size))
        if n_pruned == 0:
            masks.append(np.ones(magnitude.shape, dtype=bool))
            continue
        threshold = np.partition(magnitude.ravel(), n_pruned - 1)[n_pruned - 1]
        masks.append(magnitude > threshold)
    return masks


def apply_masks(weights: Sequence[np.ndarray], masks: Sequence[np.ndarray]) -> None:
    """Zero, in place, every weight whose mask is False (call it after each fine-tuning step)."""
    if len(weights) != len(masks):
        raise ValueError(f"masks must match weights: {len(masks)} masks for {len(weights)} arrays")
    for w, mask in zip(weights, masks, strict=True):
        if np.shape(mask) != np.shape(w):
            raise ValueError(f"mask shape {np.shape(mask)} does not match weight {np.shape(w)}")
        w[~mask] = 0


def sparsity(weights: Sequence[np.ndarray]) -> float:
    """The fraction of weights that are exactly zero, over all arrays together."""
    total = sum(np.size(w) for w in weights)
    if total == 0:
        raise ValueError("weights must hold at least one value")
    return sum(int(np.count_nonzero(np.asarray(w) == 0)) for w in weights) / total
