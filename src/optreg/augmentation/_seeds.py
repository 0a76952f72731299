"""Random generators from a seed, shared by the image and text augmentations."""

from __future__ import annotations

import numpy as np

__all__ = []


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
