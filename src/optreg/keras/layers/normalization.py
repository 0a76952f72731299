"""Batch and layer normalization as Keras 3 layers, written from the equations with ``keras.ops``.

Twins of ``optreg.normalization.BatchNormalization`` and ``LayerNormalization`` (same
arguments, defaults and argument checks: the NumPy twins' declarations, plus Keras'
initializers), meant to be read next to them. They reproduce
``keras.layers.BatchNormalization``/``LayerNormalization`` (without renorm, masking or
synchronized statistics) to float32 round-off.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from optreg import normalization
from optreg.hyperparameters import Hyperparameter, replaced
from optreg.keras.layers._declared import DeclaredLayer

__all__ = ["BatchNormalization", "LayerNormalization", "GroupNormalization", "RMSNormalization"]


def _feature_shape_and_axes(input_shape, axis) -> tuple[list[int], tuple[int, ...]]:
    """Non-negative normalized axes and the broadcast shape of per-feature weights."""
    ndim = len(input_shape)
    axes = [axis] if isinstance(axis, int) else list(axis)
    for a in axes:
        if not -ndim <= a < ndim:
            raise ValueError(f"axis={axis!r} is out of range for an input with {ndim} dims")
    axes = tuple(sorted(a % ndim for a in axes))
    broadcast = [1] * ndim
    for a in axes:
        broadcast[a] = input_shape[a]
    return broadcast, axes


def _check_axis(name: str, axis: Any) -> int | list[int]:
    """An int or a list/tuple of ints (TypeError otherwise, as Keras' LayerNormalization)."""
    is_int = lambda a: isinstance(a, int) and not isinstance(a, bool)  # noqa: E731
    if is_int(axis):
        return axis
    if isinstance(axis, list | tuple) and axis and all(is_int(a) for a in axis):
        return list(axis)
    raise TypeError(
        f"Expected an int or a list/tuple of ints for the argument 'axis', but received: {axis!r}"
    )


def _upcast(inputs):
    """Statistics in float16 overflow easily: compute in at least float32, as Keras does."""
    return ops.cast(inputs, keras.backend.result_type(inputs.dtype, "float32"))


def _initializer(name: str, default: str) -> Hyperparameter:
    return Hyperparameter(
        name, default, "Keras initializer", "", lambda _, value: keras.initializers.get(value)
    )


#: the Keras layers' initializers of ``gamma`` and ``beta`` (NumPy's are ones and zeros)
GAMMA_BETA = (_initializer("beta_initializer", "zeros"), _initializer("gamma_initializer", "ones"))
#: a Keras twin's axis argument: an int or a list of ints, or TypeError as Keras
AXES = Hyperparameter("axis", -1, "int or list of ints", "the normalized axes", _check_axis)


class _Normalization(DeclaredLayer):
    """The NumPy twin's declaration (plus Keras' initializers and ``**kwargs``) gives the
    signature, the checks and ``get_config``; ``gamma``/``beta`` and ``gamma x_hat + beta`` are
    written here once."""

    def add_gamma_beta(self, shape: tuple, **options: Any) -> None:
        """``gamma`` (if ``scale``) and ``beta`` (if ``center``), of shape ``shape``."""
        self.gamma = self.beta = None
        if self.scale:
            init = self.gamma_initializer
            self.gamma = self.add_weight(shape=shape, name="gamma", initializer=init, **options)
        if self.center:
            init = self.beta_initializer
            self.beta = self.add_weight(shape=shape, name="beta", initializer=init, **options)

    def gamma_beta(self, x_hat: Any, shape: Any = None) -> Any:
        """``gamma * x_hat + beta`` (without ``gamma`` or ``beta`` if not kept), the weights
        reshaped to ``shape`` if given, in the layer's compute dtype."""
        y = x_hat

        def weight(v):
            v = ops.cast(v, x_hat.dtype)
            return v if shape is None else ops.reshape(v, shape)

        if self.scale:
            y = y * weight(self.gamma)
        if self.center:
            y = y + weight(self.beta)
        return ops.cast(y, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape


@keras.saving.register_keras_serializable(package="optreg")
class BatchNormalization(_Normalization):
    """Batch normalization (Ioffe and Szegedy, 2015) with Keras' moving statistics.

    Training (``training=True``), statistics over every axis but ``axis``:

        mu, var = mean(x), mean((x - mu)**2)                 (biased variance)
        y = gamma * (x - mu) / sqrt(var + epsilon) + beta
        moving_mean     <- momentum * moving_mean     + (1 - momentum) * mu
        moving_variance <- momentum * moving_variance + (1 - momentum) * var

    Inference uses ``moving_mean``/``moving_variance`` (non-trainable weights). As in Keras, a
    layer with ``trainable = False`` runs in inference mode even when ``training=True``, and
    the computation runs in at least float32 (mixed precision), the output in the layer's
    compute dtype.
    """

    hyperparameters = (
        *normalization.BatchNormalization.hyperparameters,
        *GAMMA_BETA,
        _initializer("moving_mean_initializer", "zeros"),
        _initializer("moving_variance_initializer", "ones"),
    )

    def build(self, input_shape) -> None:
        self._broadcast_shape, (feature_axis,) = _feature_shape_and_axes(input_shape, self.axis)
        self._reduction_axes = tuple(a for a in range(len(input_shape)) if a != feature_axis)
        shape = (input_shape[feature_axis],)
        self.add_gamma_beta(shape, autocast=False)

        def moving(name, initializer):
            return self.add_weight(
                shape=shape, name=name, initializer=initializer, trainable=False, autocast=False
            )

        self.moving_mean = moving("moving_mean", self.moving_mean_initializer)
        self.moving_variance = moving("moving_variance", self.moving_variance_initializer)

    def call(self, inputs, training=None):
        x = _upcast(inputs)
        if training and self.trainable:
            mu = ops.mean(x, axis=self._reduction_axes)
            var = ops.var(x, axis=self._reduction_axes)
            self.moving_mean.assign(self.momentum * self.moving_mean + (1 - self.momentum) * mu)
            self.moving_variance.assign(
                self.momentum * self.moving_variance + (1 - self.momentum) * var
            )
        else:
            mu, var = self.moving_mean, self.moving_variance

        def broadcast(v):
            return ops.reshape(ops.cast(v, x.dtype), self._broadcast_shape)

        x_hat = (x - broadcast(mu)) * broadcast(ops.rsqrt(var + self.epsilon))
        return self.gamma_beta(x_hat, self._broadcast_shape)


@keras.saving.register_keras_serializable(package="optreg")
class LayerNormalization(_Normalization):
    """Layer normalization (Ba et al., 2016): each sample normalized over ``axis``.

        mu, var = mean(x), mean((x - mu)**2)                 (over ``axis``, per sample)
        y = gamma * (x - mu) / sqrt(var + epsilon) + beta

    Same computation at training and inference; ``epsilon`` defaults to 1e-3 as in Keras 3.
    """

    hyperparameters = (
        *replaced(normalization.LayerNormalization.hyperparameters, AXES),
        *GAMMA_BETA,
    )

    def __post_init__(self) -> None:
        self.supports_masking = True  # the mask passes through, as in Keras' LayerNormalization
        # As Keras' LayerNormalization: under mixed precision, float32 inputs are not rounded
        # to float16 before the statistics are computed.
        self.autocast = False

    def build(self, input_shape) -> None:
        self._broadcast_shape, self._norm_axes = _feature_shape_and_axes(input_shape, self.axis)
        self.add_gamma_beta(tuple(input_shape[a] for a in self._norm_axes), autocast=False)

    def call(self, inputs, training=None):
        x = _upcast(inputs)
        mu = ops.mean(x, axis=self._norm_axes, keepdims=True)
        var = ops.var(x, axis=self._norm_axes, keepdims=True)
        x_hat = (x - mu) * ops.rsqrt(var + self.epsilon)
        return self.gamma_beta(x_hat, self._broadcast_shape)


@keras.saving.register_keras_serializable(package="optreg")
class GroupNormalization(_Normalization):
    """Group normalization (instance normalization with ``groups=-1``); equations in
    ``optreg.normalization.GroupNormalization``::

        mu_g, var_g over each sample's group g (its channels and the other non-batch axes)
        y = gamma * (x - mu_g) / sqrt(var_g + epsilon) + beta
    """

    hyperparameters = (*normalization.GroupNormalization.hyperparameters, *GAMMA_BETA)

    def __post_init__(self) -> None:
        self.supports_masking = True

    def build(self, input_shape) -> None:
        self._channel_axis = self.axis % len(input_shape)
        channels = input_shape[self._channel_axis]
        self._groups = channels if self.groups == -1 else self.groups
        if channels % self._groups:
            raise ValueError(
                f"the {channels} channels must split into groups={self._groups} evenly"
            )
        self.add_gamma_beta((channels,))

    def call(self, inputs):
        x = ops.moveaxis(_upcast(inputs), self._channel_axis, -1)  # channels last
        shape = ops.shape(x)
        xg = ops.reshape(x, (*shape[:-1], self._groups, shape[-1] // self._groups))
        axes = (*range(1, len(xg.shape) - 2), len(xg.shape) - 1)  # not batch, not group
        mu, var = ops.moments(xg, axes=axes, keepdims=True)
        x_hat = ops.reshape((xg - mu) * ops.rsqrt(var + self.epsilon), shape)
        return ops.moveaxis(self.gamma_beta(x_hat), -1, self._channel_axis)


@keras.saving.register_keras_serializable(package="optreg")
class RMSNormalization(_Normalization):
    """RMS normalization; equations in ``optreg.normalization.RMSNormalization``::

    y = scale * x / sqrt(mean(x^2 over axis) + epsilon)
    """

    hyperparameters = replaced(normalization.RMSNormalization.hyperparameters, AXES)

    def __post_init__(self) -> None:
        self.supports_masking = True

    def build(self, input_shape) -> None:
        self._broadcast_shape, self._norm_axes = _feature_shape_and_axes(input_shape, self.axis)
        shape = tuple(input_shape[a] for a in self._norm_axes)
        self.scale = self.add_weight(shape=shape, name="scale", initializer="ones")

    def call(self, inputs):
        x = _upcast(inputs)
        r = ops.rsqrt(ops.mean(ops.square(x), axis=self._norm_axes, keepdims=True) + self.epsilon)
        scale = ops.reshape(ops.cast(self.scale, x.dtype), self._broadcast_shape)
        return ops.cast(x * r * scale, self.compute_dtype)
