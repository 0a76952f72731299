"""Quantile normalization: each feature mapped through its empirical distribution function.

Standardization keeps a feature's shape: a skewed feature stays skewed and an outlier stays far
out. Quantile normalization replaces every value by its estimated quantile level, so that each
transformed feature is (nearly) uniform on [0, 1] on the training data, whatever its
distribution. Like standardization, it is fitted on the training set only and applied unchanged
to new data; values outside the training range map to 0 or 1. The names follow scikit-learn's
``QuantileTransformer(n_quantiles=..., output_distribution="uniform")``.
"""

from __future__ import annotations

import numpy as np

from optreg._validation import check_int

__all__ = ["QuantileTransformer"]


class QuantileTransformer:
    """Per-feature map ``x -> F_hat(x)`` onto [0, 1], ``F_hat`` interpolating training quantiles.

    Args:
        n_quantiles: number of quantile levels stored per feature (an integer >= 2); fewer than
            the training samples makes the map piecewise linear between them.
    """

    def __init__(self, n_quantiles: int = 1000) -> None:
        self.n_quantiles = check_int("n_quantiles", n_quantiles, 2)
        self.quantiles_: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> QuantileTransformer:
        """Store ``n_quantiles`` quantiles of each column of the 2-D training array ``x``."""
        x = _two_dimensional(x)
        levels = np.linspace(0.0, 1.0, min(self.n_quantiles, len(x)))
        self.references_ = levels
        self.quantiles_ = np.quantile(x, levels, axis=0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Each column through its fitted distribution function; values in [0, 1]."""
        if self.quantiles_ is None:
            raise ValueError("QuantileTransformer is not fitted: call fit(x_train) first")
        x = _two_dimensional(x)
        if x.shape[1] != self.quantiles_.shape[1]:
            raise ValueError(
                f"x has {x.shape[1]} features, the transformer was fitted on "
                f"{self.quantiles_.shape[1]}"
            )
        columns = [
            _quantile_levels(x[:, j], self.quantiles_[:, j], self.references_)
            for j in range(x.shape[1])
        ]
        return np.stack(columns, axis=1)

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        return self.fit(x).transform(x)


def _quantile_levels(column: np.ndarray, quantiles: np.ndarray, levels: np.ndarray) -> np.ndarray:
    # A value repeated in the training data spans several levels: map it to the middle of its
    # span, by averaging the interpolations from below and from above (as scikit-learn does).
    from_below = np.interp(column, quantiles, levels)
    from_above = -np.interp(-column, -quantiles[::-1], -levels[::-1])
    return 0.5 * (from_below + from_above)


def _two_dimensional(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or len(x) == 0:
        raise ValueError(
            f"x must be a non-empty 2-D array (samples, features), got shape {x.shape}"
        )
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite (no NaN or infinity)")
    return x
