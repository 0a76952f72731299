"""Input standardization, batch normalization and layer normalization in NumPy.

Three ways of keeping activations centred and scaled:

* :class:`Standardizer` / :func:`standardize` rescale the *inputs* once, before training, with
  statistics fitted on the training set only (applying them unchanged to validation and test data
  avoids leaking information from those sets into the model).
* :class:`BatchNormalization` normalizes each feature over the *batch* inside the network
  (Ioffe and Szegedy, 2015), with moving statistics for inference.
  :func:`fuse_dense` folds an inference-mode BN layer into the Dense layer before it.
* :class:`LayerNormalization` normalizes each *sample* over its features (Ba et al., 2016): it
  does the same thing at training and at inference time and needs no moving statistics.

The layers follow the package's layer protocol: ``forward(x, training=False)``, ``backward(dy)``
(returns ``dx`` and fills ``grads``), and ``params``/``grads`` dicts with the same keys. Their
arguments and defaults are those of ``keras.layers.BatchNormalization`` and
``keras.layers.LayerNormalization``; parameters are created on the first ``forward`` (or by
``build(shape)``) in the input's floating dtype.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from numbers import Integral
from typing import Any

import numpy as np

from optreg.hyperparameters import Declared, Hyperparameter

__all__ = [
    "Standardizer",
    "standardize",
    "BatchNormalization",
    "LayerNormalization",
    "GroupNormalization",
    "RMSNormalization",
    "fuse_dense",
    "normalization_input_gradient",
]


# --------------------------------------------------------------------------------------------
# The declarations (the Keras twins in ``optreg.keras.layers`` take them too)
# --------------------------------------------------------------------------------------------


def _check_feature_axis(name: str, value: Any) -> int:
    """One axis, an int (the features' or the channels' axis)."""
    if isinstance(value, bool) or not isinstance(value, Integral):
        raise ValueError(f"{name} must be an int (the channels' axis), got {value!r}")
    return int(value)


def _check_axes(name: str, value: Any) -> int | list[int]:
    """An int or a non-empty sequence of ints (the normalized axes)."""
    is_int = lambda a: isinstance(a, Integral) and not isinstance(a, bool)  # noqa: E731
    if is_int(value):
        return int(value)
    if isinstance(value, list | tuple) and value and all(is_int(a) for a in value):
        return [int(a) for a in value]
    raise ValueError(f"{name} must be an int or a non-empty list of ints, got {value!r}")


def _check_groups(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or (value <= 0 and value != -1):
        raise ValueError(f"{name} must be an integer >= 1 or -1, got {value!r}")
    return value


AXIS = Hyperparameter("axis", -1, "an int", "the features' axis", _check_feature_axis)
AXES = Hyperparameter("axis", -1, "int or list of ints", "the normalized axes", _check_axes)
EPSILON = Hyperparameter("epsilon", 1e-3, "> 0", "added to the variance")
CENTER = Hyperparameter("center", True, "True or False", "learn an offset `beta`")
SCALE = Hyperparameter("scale", True, "True or False", "learn a scale `gamma`")


class _Layer(Declared):
    """The layer protocol's attributes: ``params``/``grads`` (created by ``build``), ``built``."""

    def __post_init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.built = False
        self._cache: tuple | None = None


def _normalized_axes(axis: int | Sequence[int], ndim: int, name: str = "axis") -> tuple[int, ...]:
    """Turn ``axis`` (an int or a sequence, negative allowed) into sorted non-negative axes."""
    axes = [axis] if isinstance(axis, (int, np.integer)) else list(axis)
    if not axes:
        raise ValueError(f"{name} must name at least one axis")
    result = []
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"{name}={axis!r} is out of range for an input with {ndim} dims")
        result.append(int(a) % ndim)
    if len(set(result)) != len(result):
        raise ValueError(f"{name}={axis!r} repeats an axis")
    return tuple(sorted(result))


def _float_array(x: np.ndarray, name: str = "x") -> np.ndarray:
    x = np.asarray(x)
    if not np.issubdtype(x.dtype, np.floating):
        if not np.issubdtype(x.dtype, np.number):
            raise ValueError(f"{name} must be a numeric array, got dtype {x.dtype}")
        x = x.astype(np.float32)
    return x


def _check_same_shape(name: str, value: np.ndarray, expected: tuple[int, ...]) -> None:
    if value.shape != expected:
        raise ValueError(f"{name} must have shape {expected}, got {value.shape}")


def _checked_forward(forward: Callable) -> Callable:
    """The entry checks of a layer's ``forward``: ``x`` becomes a float array, the layer is
    built on first use, and ``x`` must have the shape the layer was built for."""

    @functools.wraps(forward)
    def checked_forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = _float_array(x)
        if not self.built:
            self.build(x.shape, dtype=x.dtype)
        self._check_input_shape(x.shape)
        self._input_shape = x.shape
        return forward(self, x, training)

    return checked_forward


def _checked_backward(backward: Callable) -> Callable:
    """The entry checks of a layer's ``backward``: after a ``forward``, ``dy`` shaped as its x."""

    @functools.wraps(backward)
    def checked_backward(self, dy: np.ndarray) -> np.ndarray:
        if self._cache is None:
            raise RuntimeError("call forward before backward")
        dy = np.asarray(dy)
        _check_same_shape("dy", dy, self._input_shape)
        return backward(self, dy)

    return checked_backward


def normalization_input_gradient(
    dx_hat: np.ndarray, x_hat: np.ndarray, inv_std: np.ndarray, axes: tuple[int, ...]
) -> np.ndarray:
    """Gradient through ``x_hat = (x - mean(x)) * inv_std`` with mean and variance over ``axes``.

    Because the mean and the variance depend on every element they are computed from, the
    gradient is not just ``dx_hat * inv_std``; it also loses its mean and its component along
    ``x_hat``:

        dx = inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat))

    (means over ``axes``). Batch normalization uses it with the batch axes, layer
    normalization with the feature axes.
    """
    mean_dx_hat = dx_hat.mean(axis=axes, keepdims=True)
    mean_dx_hat_x_hat = (dx_hat * x_hat).mean(axis=axes, keepdims=True)
    return inv_std * (dx_hat - mean_dx_hat - x_hat * mean_dx_hat_x_hat)


# --------------------------------------------------------------------------------------------
# Standardization of the inputs
# --------------------------------------------------------------------------------------------


class Standardizer(Declared):
    """Rescale inputs to zero mean and unit variance with statistics fitted on training data.

        mean = mean(x_train),   std = sqrt(var(x_train))     (over ``axis``, the sample axis)
        transform(x) = (x - mean) / max(std, epsilon)

    A feature that is constant on the training set (``std = 0``) would divide by zero; like
    ``keras.layers.Normalization``, the divisor is floored at ``epsilon`` (Keras' default
    ``1e-7``), so such a feature becomes ``0`` on the training data. Unlike Keras'
    ``Normalization``, whose ``axis`` names the axes *kept*, ``axis`` here names the axes
    *reduced* (NumPy's convention): ``axis=0`` gives one mean and one std per feature.
    """

    hyperparameters = (
        Hyperparameter("axis", 0, "int or list of ints", "the axes reduced", lambda _, v: v),
        Hyperparameter("epsilon", 1e-7, "> 0", "the floor of the divisor"),
    )

    def __post_init__(self) -> None:
        self.mean: np.ndarray | None = None
        self.std: np.ndarray | None = None

    def fit(self, x: np.ndarray) -> Standardizer:
        """Compute ``mean`` and ``std`` of ``x`` over ``axis``; return ``self``."""
        x = _float_array(x)
        axes = _normalized_axes(self.axis, x.ndim)
        if any(x.shape[a] == 0 for a in axes):
            raise ValueError("x must contain at least one sample to fit on")
        self._axes = axes
        self.mean = x.mean(axis=axes, keepdims=True)
        self.std = x.std(axis=axes, keepdims=True)
        return self

    def _check_fitted(self, x: np.ndarray) -> None:
        if self.mean is None:
            raise RuntimeError("call fit(x_train) before transform")
        kept = [a for a in range(self.mean.ndim) if a not in self._axes]
        if x.ndim != self.mean.ndim or any(x.shape[a] != self.mean.shape[a] for a in kept):
            raise ValueError(
                f"x must have the feature shape the Standardizer was fitted on "
                f"(statistics of shape {self.mean.shape}), got x of shape {x.shape}"
            )

    def transform(self, x: np.ndarray) -> np.ndarray:
        """``(x - mean) / max(std, epsilon)`` with the fitted statistics (no refitting)."""
        x = _float_array(x)
        self._check_fitted(x)
        return ((x - self.mean) / np.maximum(self.std, self.epsilon)).astype(x.dtype, copy=False)

    def inverse_transform(self, z: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform`: ``z * max(std, epsilon) + mean``."""
        z = _float_array(z, "z")
        self._check_fitted(z)
        return (z * np.maximum(self.std, self.epsilon) + self.mean).astype(z.dtype, copy=False)

    def fit_transform(self, x: np.ndarray) -> np.ndarray:
        """``fit(x)`` then ``transform(x)``."""
        return self.fit(x).transform(x)


def standardize(
    train: np.ndarray,
    *others: np.ndarray,
    axis: int | Sequence[int] = 0,
    epsilon: float = 1e-7,
) -> tuple:
    """Standardize ``train`` with its own statistics and each of ``others`` with the same ones.

    Returns ``(train_std, *others_std, standardizer)``; the fitted :class:`Standardizer` holds
    ``mean`` and ``std`` and can transform new data later::

        x_train, x_valid, x_test, scaler = standardize(x_train, x_valid, x_test)
    """
    scaler = Standardizer(axis=axis, epsilon=epsilon).fit(train)
    return (scaler.transform(train), *(scaler.transform(x) for x in others), scaler)


# --------------------------------------------------------------------------------------------
# Batch normalization
# --------------------------------------------------------------------------------------------


class BatchNormalization(_Layer):
    """Batch normalization, with Keras' arguments, defaults and moving-statistics update.

    Training (``training=True``), with the mean and the *biased* variance over every axis but
    ``axis`` (the batch and, for images, the spatial axes):

        mu = mean(x),   var = mean((x - mu)**2)
        x_hat = (x - mu) / sqrt(var + epsilon)
        y = gamma * x_hat + beta
        moving_mean     <- momentum * moving_mean     + (1 - momentum) * mu
        moving_variance <- momentum * moving_variance + (1 - momentum) * var

    Inference (``training=False``) uses ``moving_mean`` and ``moving_variance`` instead of
    ``mu`` and ``var``, so the layer is a fixed affine map per feature.

    Keras' conventions, which differ from the paper: ``momentum`` weighs the *old* moving value
    (PyTorch's ``momentum=0.1`` is Keras' ``0.9``); the moving variance is fed the biased batch
    variance (the paper uses the unbiased ``m/(m-1)`` estimate); ``epsilon`` defaults to 1e-3.
    """

    hyperparameters = (
        AXIS,
        Hyperparameter("momentum", 0.99, "[0, 1]", "weight of the old moving statistics"),
        EPSILON,
        CENTER,
        SCALE,
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        self.moving_mean: np.ndarray | None = None
        self.moving_variance: np.ndarray | None = None

    def build(self, input_shape: Sequence[int], dtype: np.dtype | str = "float32") -> None:
        """Create ``gamma`` (ones), ``beta`` (zeros) and the moving statistics (zeros, ones)."""
        ndim = len(input_shape)
        (feature_axis,) = _normalized_axes(self.axis, ndim)
        n_features = int(input_shape[feature_axis])
        self._ndim, self._feature_axis = ndim, feature_axis
        self._reduce_axes = tuple(a for a in range(ndim) if a != feature_axis)
        self._n_features = n_features
        if self.scale:
            self.params["gamma"] = np.ones(n_features, dtype=dtype)
        if self.center:
            self.params["beta"] = np.zeros(n_features, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.moving_mean = np.zeros(n_features, dtype=dtype)
        self.moving_variance = np.ones(n_features, dtype=dtype)
        self.built = True

    def _broadcast(self, v: np.ndarray) -> np.ndarray:
        """Reshape a per-feature vector so that it broadcasts along ``axis``."""
        shape = [1] * self._ndim
        shape[self._feature_axis] = self._n_features
        return v.reshape(shape)

    def _gamma_beta(self, dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
        gamma = self.params.get("gamma", np.ones(self._n_features, dtype=dtype))
        beta = self.params.get("beta", np.zeros(self._n_features, dtype=dtype))
        return self._broadcast(gamma), self._broadcast(beta)

    def _check_input_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) != self._ndim or shape[self._feature_axis] != self._n_features:
            raise ValueError(
                f"x must have {self._ndim} dims and {self._n_features} features on axis "
                f"{self.axis}, got shape {shape}"
            )

    @_checked_forward
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        if training:
            mu = x.mean(axis=self._reduce_axes)
            var = x.var(axis=self._reduce_axes)  # biased, as Keras (tf.nn.moments)
            self.moving_mean = self.momentum * self.moving_mean + (1 - self.momentum) * mu
            self.moving_variance = self.momentum * self.moving_variance + (1 - self.momentum) * var
        else:
            mu, var = self.moving_mean, self.moving_variance
        inv_std = self._broadcast(1.0 / np.sqrt(var + self.epsilon))
        x_hat = (x - self._broadcast(mu)) * inv_std
        gamma, beta = self._gamma_beta(x.dtype)
        self._cache = (bool(training), x_hat, inv_std, gamma)
        return (gamma * x_hat + beta).astype(x.dtype, copy=False)

    @_checked_backward
    def backward(self, dy: np.ndarray) -> np.ndarray:
        """Gradients of the last ``forward``: fills ``grads`` and returns ``dx``.

        dgamma = sum(dy * x_hat),   dbeta = sum(dy)      (over the batch axes)
        training:  dx = gamma * inv_std * (dy - mean(dy) - x_hat * mean(dy * x_hat))
        inference: dx = gamma * inv_std * dy             (the statistics are constants)
        """
        training, x_hat, inv_std, gamma = self._cache
        if self.scale:
            self.grads["gamma"] = (dy * x_hat).sum(axis=self._reduce_axes)
        if self.center:
            self.grads["beta"] = dy.sum(axis=self._reduce_axes)
        dx_hat = dy * gamma
        if training:
            return normalization_input_gradient(dx_hat, x_hat, inv_std, self._reduce_axes)
        return dx_hat * inv_std


def _check_fuse_args(
    kernel: np.ndarray, bias: np.ndarray | None, bn: BatchNormalization
) -> tuple[np.ndarray, np.ndarray]:
    """``fuse_dense``'s checks; the kernel as a float array, the bias (zeros for None)."""
    kernel = _float_array(kernel, "kernel")
    if kernel.ndim != 2:
        raise ValueError(f"kernel must be 2-D (inputs, units), got shape {kernel.shape}")
    units = kernel.shape[1]
    if not bn.built:
        raise ValueError("bn must be built (call bn.build(shape) or bn.forward) before fusing")
    if bn._ndim != 2 or bn._feature_axis != 1 or bn._n_features != units:
        raise ValueError(
            f"bn must normalize the last axis of (batch, {units}) inputs to fuse with a "
            f"kernel of shape {kernel.shape}"
        )
    bias = np.zeros(units, kernel.dtype) if bias is None else _float_array(bias, "bias")
    _check_same_shape("bias", bias, (units,))
    return kernel, bias


def fuse_dense(
    kernel: np.ndarray, bias: np.ndarray | None, bn: BatchNormalization
) -> tuple[np.ndarray, np.ndarray]:
    """Fold an inference-mode BN layer into the Dense layer ``y = x @ kernel + bias`` before it.

    At inference BN is the per-unit affine map ``z = s * (y - moving_mean) + beta`` with
    ``s = gamma / sqrt(moving_variance + epsilon)``, so one Dense layer computes both:

        kernel' = kernel * s        (each column j scaled by s_j)
        bias'   = s * (bias - moving_mean) + beta

    ``bias=None`` stands for a Dense layer without bias (``use_bias=False``, common before BN).
    Only valid for a BN layer normalizing the last axis, i.e. the Dense layer's units.
    """
    kernel, bias = _check_fuse_args(kernel, bias, bn)
    units = kernel.shape[1]
    gamma = bn.params.get("gamma", np.ones(units, kernel.dtype))
    beta = bn.params.get("beta", np.zeros(units, kernel.dtype))
    s = gamma / np.sqrt(bn.moving_variance + bn.epsilon)
    return kernel * s, s * (bias - bn.moving_mean) + beta


# --------------------------------------------------------------------------------------------
# Layer normalization
# --------------------------------------------------------------------------------------------


class LayerNormalization(_Layer):
    """Layer normalization, with Keras' arguments and defaults (``epsilon=1e-3`` in Keras 3).

    Each sample is normalized over the axes ``axis`` (by default its last axis, the features):

        mu = mean(x),   var = mean((x - mu)**2)          (over ``axis``, per sample)
        y = gamma * (x - mu) / sqrt(var + epsilon) + beta

    ``gamma`` and ``beta`` have the shape of the normalized axes. The computation is the same
    at training and inference time: there are no moving statistics, and the layer does not
    depend on the batch size.
    """

    hyperparameters = (AXES, EPSILON, CENTER, SCALE)

    def build(self, input_shape: Sequence[int], dtype: np.dtype | str = "float32") -> None:
        """Create ``gamma`` (ones) and ``beta`` (zeros) of the normalized axes' shape."""
        ndim = len(input_shape)
        self._ndim = ndim
        self._norm_axes = _normalized_axes(self.axis, ndim)
        self._other_axes = tuple(a for a in range(ndim) if a not in self._norm_axes)
        self._param_shape = tuple(int(input_shape[a]) for a in self._norm_axes)
        if self.scale:
            self.params["gamma"] = np.ones(self._param_shape, dtype=dtype)
        if self.center:
            self.params["beta"] = np.zeros(self._param_shape, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.built = True

    def _broadcast(self, v: np.ndarray) -> np.ndarray:
        shape = [1] * self._ndim
        for a, n in zip(self._norm_axes, self._param_shape, strict=True):
            shape[a] = n
        return v.reshape(shape)

    def _check_input_shape(self, shape: tuple[int, ...]) -> None:
        normalized = tuple(shape[a] for a in self._norm_axes) if len(shape) == self._ndim else ()
        if normalized != self._param_shape:
            raise ValueError(
                f"x must have shape {self._param_shape} on axes {self._norm_axes}, "
                f"got shape {shape}"
            )

    @_checked_forward
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Same computation for ``training=True`` and ``False`` (accepted for the protocol)."""
        mu = x.mean(axis=self._norm_axes, keepdims=True)
        var = x.var(axis=self._norm_axes, keepdims=True)
        inv_std = 1.0 / np.sqrt(var + self.epsilon)
        x_hat = (x - mu) * inv_std
        gamma = self._broadcast(self.params["gamma"]) if self.scale else 1.0
        beta = self._broadcast(self.params["beta"]) if self.center else 0.0
        self._cache = (x_hat, inv_std, gamma)
        return (gamma * x_hat + beta).astype(x.dtype, copy=False)

    @_checked_backward
    def backward(self, dy: np.ndarray) -> np.ndarray:
        """``dgamma = sum(dy * x_hat)``, ``dbeta = sum(dy)`` over the other axes, and

        dx = inv_std * (dx_hat - mean(dx_hat) - x_hat * mean(dx_hat * x_hat)),
        dx_hat = dy * gamma,   means over ``axis`` (per sample).
        """
        x_hat, inv_std, gamma = self._cache
        if self.scale:
            self.grads["gamma"] = (dy * x_hat).sum(axis=self._other_axes).reshape(self._param_shape)
        if self.center:
            self.grads["beta"] = dy.sum(axis=self._other_axes).reshape(self._param_shape)
        return normalization_input_gradient(dy * gamma, x_hat, inv_std, self._norm_axes)


# --------------------------------------------------------------------------------------------
# Group (and instance) normalization, RMS normalization
# --------------------------------------------------------------------------------------------
class GroupNormalization(_Layer):
    """Group normalization (Wu & He, 2018), with Keras' arguments and defaults.

    The ``C`` channels (axis ``axis``) are split into ``groups`` groups of ``C / groups``; each
    sample is normalized per group, over the group's channels and every other non-batch axis::

        mu_g, var_g = mean, variance of x[b, ..., channels of group g]     (per sample b)
        y = gamma * (x - mu_g) / sqrt(var_g + epsilon) + beta              (gamma, beta: C)

    ``groups=1`` is layer normalization over all the sample's axes; ``groups=-1`` (one channel
    per group) is instance normalization (Ulyanov et al., 2016). Like layer normalization it
    does not depend on the batch: it works with batches of 1 or 2 where batch normalization's
    statistics are noise (detection, segmentation, video).
    """

    hyperparameters = (
        Hyperparameter("groups", 32, "integer >= 1 or -1", "groups of channels", _check_groups),
        Hyperparameter("axis", -1, "an int", "the channels' axis", _check_feature_axis),
        EPSILON,
        CENTER,
        SCALE,
    )

    def build(self, input_shape: Sequence[int], dtype: np.dtype | str = "float32") -> None:
        """``gamma`` (ones) and ``beta`` (zeros), one per channel."""
        (self._channel_axis,) = _normalized_axes(self.axis, len(input_shape))
        channels = int(input_shape[self._channel_axis])
        groups = channels if self.groups == -1 else self.groups
        if channels % groups:
            raise ValueError(f"the {channels} channels must split into groups={groups} evenly")
        self._groups, self._shape = groups, tuple(input_shape)
        if self.scale:
            self.params["gamma"] = np.ones(channels, dtype=dtype)
        if self.center:
            self.params["beta"] = np.zeros(channels, dtype=dtype)
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.built = True

    def _check_input_shape(self, shape: tuple[int, ...]) -> None:
        if shape[1:] != self._shape[1:]:
            raise ValueError(f"x must have shape (batch, *{self._shape[1:]}), got shape {shape}")

    def _grouped(self, x: np.ndarray) -> np.ndarray:
        """Channels last, split: ``(batch, ..., groups, channels per group)``."""
        x = np.moveaxis(x, self._channel_axis, -1)
        return x.reshape(*x.shape[:-1], self._groups, -1)

    def _ungrouped(self, x: np.ndarray) -> np.ndarray:
        return np.moveaxis(x.reshape(*x.shape[:-2], -1), -1, self._channel_axis)

    @_checked_forward
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        xg = self._grouped(x)
        axes = (*range(1, xg.ndim - 2), xg.ndim - 1)  # all but the batch and the group axes
        mu = xg.mean(axis=axes, keepdims=True)
        inv_std = 1.0 / np.sqrt(xg.var(axis=axes, keepdims=True) + self.epsilon)
        x_hat = self._ungrouped((xg - mu) * inv_std)
        gamma = self._per_channel(self.params["gamma"]) if self.scale else 1.0
        beta = self._per_channel(self.params["beta"]) if self.center else 0.0
        self._cache = (x_hat, inv_std, gamma, axes)
        return (gamma * x_hat + beta).astype(x.dtype, copy=False)

    def _per_channel(self, v: np.ndarray) -> np.ndarray:
        shape = [1] * len(self._shape)
        shape[self._channel_axis] = v.size
        return v.reshape(shape)

    @_checked_backward
    def backward(self, dy: np.ndarray) -> np.ndarray:
        """``dgamma = sum(dy * x_hat)``, ``dbeta = sum(dy)`` over all but the channels, and the
        input gradient of ``normalization_input_gradient`` with the means over each group."""
        x_hat, inv_std, gamma, axes = self._cache
        others = tuple(a for a in range(dy.ndim) if a != self._channel_axis)
        if self.scale:
            self.grads["gamma"] = (dy * x_hat).sum(axis=others)
        if self.center:
            self.grads["beta"] = dy.sum(axis=others)
        dx_hat, x_hat = self._grouped(dy * gamma), self._grouped(x_hat)
        return self._ungrouped(normalization_input_gradient(dx_hat, x_hat, inv_std, axes))


class RMSNormalization(_Layer):
    """RMS normalization (Zhang & Sennrich, 2019), as ``keras.layers.RMSNormalization``::

        y = scale * x / sqrt(mean(x^2) + epsilon)          (mean over ``axis``, per sample)

    Layer normalization without the centring (no mean, no ``beta``): one reduction instead of
    two, the same results in practice; the norm of today's transformers (T5, LLaMA).
    Backward, with ``x_hat = x r`` and ``r = 1 / sqrt(mean(x^2) + epsilon)``::

        dscale = sum(dy * x_hat) over the other axes ;  dx = r (dx_hat - x_hat mean(dx_hat x_hat))
    """

    hyperparameters = (AXES, Hyperparameter("epsilon", 1e-6, "> 0", "added to the mean square"))

    def build(self, input_shape: Sequence[int], dtype: np.dtype | str = "float32") -> None:
        self._shape = tuple(input_shape)
        self._norm_axes = _normalized_axes(self.axis, len(input_shape))
        self._other_axes = tuple(a for a in range(len(input_shape)) if a not in self._norm_axes)
        self._param_shape = tuple(int(input_shape[a]) for a in self._norm_axes)
        self.params["scale"] = np.ones(self._param_shape, dtype=dtype)
        self.grads = {"scale": np.zeros_like(self.params["scale"])}
        self.built = True

    def _check_input_shape(self, shape: tuple[int, ...]) -> None:
        if len(shape) != len(self._shape) or any(
            shape[a] != self._shape[a] for a in self._norm_axes
        ):
            raise ValueError(
                f"x must have shape {self._param_shape} on axes {self._norm_axes}, "
                f"got shape {shape}"
            )

    def _broadcast(self, v: np.ndarray) -> np.ndarray:
        return np.expand_dims(v, self._other_axes)

    @_checked_forward
    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        r = 1.0 / np.sqrt(np.mean(x**2, axis=self._norm_axes, keepdims=True) + self.epsilon)
        x_hat = x * r
        self._cache = (x_hat, r)
        return (self._broadcast(self.params["scale"]) * x_hat).astype(x.dtype, copy=False)

    @_checked_backward
    def backward(self, dy: np.ndarray) -> np.ndarray:
        x_hat, r = self._cache
        self.grads["scale"] = (dy * x_hat).sum(axis=self._other_axes)
        dx_hat = dy * self._broadcast(self.params["scale"])
        return r * (dx_hat - x_hat * (dx_hat * x_hat).mean(axis=self._norm_axes, keepdims=True))
