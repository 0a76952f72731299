"""Batch and layer normalization as Keras 3 layers, written from the equations with ``keras.ops``.

Twins of ``optreg.normalization.BatchNormalization`` and ``LayerNormalization`` (same
arguments, defaults and argument checks), meant to be read next to them. They reproduce
``keras.layers.BatchNormalization``/``LayerNormalization`` (without renorm, masking or
synchronized statistics) to float32 round-off.
"""

from __future__ import annotations

import keras
from keras import ops

from optreg.normalization import (
    check_batch_normalization_args,
    check_group_normalization_args,
    check_layer_normalization_args,
)

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


def _check_axis(axis) -> int | list[int]:
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


@keras.saving.register_keras_serializable(package="optreg")
class BatchNormalization(keras.layers.Layer):
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

    def __init__(
        self,
        axis: int = -1,
        momentum: float = 0.99,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        moving_mean_initializer="zeros",
        moving_variance_initializer="ones",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.momentum, self.epsilon = check_batch_normalization_args(momentum, epsilon)
        self.axis = int(axis)
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.moving_mean_initializer = keras.initializers.get(moving_mean_initializer)
        self.moving_variance_initializer = keras.initializers.get(moving_variance_initializer)

    def build(self, input_shape) -> None:
        self._broadcast_shape, (feature_axis,) = _feature_shape_and_axes(input_shape, self.axis)
        self._reduction_axes = tuple(a for a in range(len(input_shape)) if a != feature_axis)
        shape = (input_shape[feature_axis],)

        def weight(name, initializer, trainable):
            return self.add_weight(
                shape=shape,
                name=name,
                initializer=initializer,
                trainable=trainable,
                autocast=False,
            )

        self.gamma = weight("gamma", self.gamma_initializer, True) if self.scale else None
        self.beta = weight("beta", self.beta_initializer, True) if self.center else None
        self.moving_mean = weight("moving_mean", self.moving_mean_initializer, False)
        self.moving_variance = weight("moving_variance", self.moving_variance_initializer, False)

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

        y = (x - broadcast(mu)) * broadcast(ops.rsqrt(var + self.epsilon))
        if self.scale:
            y = y * broadcast(self.gamma)
        if self.center:
            y = y + broadcast(self.beta)
        return ops.cast(y, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": keras.initializers.serialize(self.beta_initializer),
            "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
            "moving_mean_initializer": keras.initializers.serialize(self.moving_mean_initializer),
            "moving_variance_initializer": keras.initializers.serialize(
                self.moving_variance_initializer
            ),
        }


@keras.saving.register_keras_serializable(package="optreg")
class LayerNormalization(keras.layers.Layer):
    """Layer normalization (Ba et al., 2016): each sample normalized over ``axis``.

        mu, var = mean(x), mean((x - mu)**2)                 (over ``axis``, per sample)
        y = gamma * (x - mu) / sqrt(var + epsilon) + beta

    Same computation at training and inference; ``epsilon`` defaults to 1e-3 as in Keras 3.
    """

    def __init__(
        self,
        axis: int | list[int] = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.epsilon = check_layer_normalization_args(epsilon)
        self.axis = _check_axis(axis)
        self.supports_masking = True  # the mask passes through, as in Keras' LayerNormalization
        self.center = bool(center)
        self.scale = bool(scale)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        # As Keras' LayerNormalization: under mixed precision, float32 inputs are not rounded
        # to float16 before the statistics are computed.
        self.autocast = False

    def build(self, input_shape) -> None:
        self._broadcast_shape, self._norm_axes = _feature_shape_and_axes(input_shape, self.axis)
        shape = tuple(input_shape[a] for a in self._norm_axes)
        self.gamma = (
            self.add_weight(
                shape=shape, name="gamma", initializer=self.gamma_initializer, autocast=False
            )
            if self.scale
            else None
        )
        self.beta = (
            self.add_weight(
                shape=shape, name="beta", initializer=self.beta_initializer, autocast=False
            )
            if self.center
            else None
        )

    def call(self, inputs, training=None):
        x = _upcast(inputs)
        mu = ops.mean(x, axis=self._norm_axes, keepdims=True)
        var = ops.var(x, axis=self._norm_axes, keepdims=True)
        y = (x - mu) * ops.rsqrt(var + self.epsilon)
        if self.scale:
            y = y * ops.reshape(ops.cast(self.gamma, x.dtype), self._broadcast_shape)
        if self.center:
            y = y + ops.reshape(ops.cast(self.beta, x.dtype), self._broadcast_shape)
        return ops.cast(y, self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": keras.initializers.serialize(self.beta_initializer),
            "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
        }


@keras.saving.register_keras_serializable(package="optreg")
class GroupNormalization(keras.layers.Layer):
    """Group normalization (instance normalization with ``groups=-1``); equations in
    ``optreg.normalization.GroupNormalization``::

        mu_g, var_g over each sample's group g (its channels and the other non-batch axes)
        y = gamma * (x - mu_g) / sqrt(var_g + epsilon) + beta
    """

    def __init__(
        self,
        groups: int = 32,
        axis: int = -1,
        epsilon: float = 1e-3,
        center: bool = True,
        scale: bool = True,
        beta_initializer="zeros",
        gamma_initializer="ones",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        self.groups, self.axis, self.epsilon = check_group_normalization_args(groups, axis, epsilon)
        self.center, self.scale = bool(center), bool(scale)
        self.beta_initializer = keras.initializers.get(beta_initializer)
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.supports_masking = True

    def build(self, input_shape) -> None:
        self._channel_axis = self.axis % len(input_shape)
        channels = input_shape[self._channel_axis]
        self._groups = channels if self.groups == -1 else self.groups
        if channels % self._groups:
            raise ValueError(
                f"the {channels} channels must split into groups={self._groups} evenly"
            )

        def weight(name, initializer):
            return self.add_weight(shape=(channels,), name=name, initializer=initializer)

        self.gamma = weight("gamma", self.gamma_initializer) if self.scale else None
        self.beta = weight("beta", self.beta_initializer) if self.center else None

    def call(self, inputs):
        x = ops.moveaxis(_upcast(inputs), self._channel_axis, -1)
        shape = ops.shape(x)
        xg = ops.reshape(x, (*shape[:-1], self._groups, shape[-1] // self._groups))
        axes = (*range(1, len(xg.shape) - 2), len(xg.shape) - 1)  # not batch, not group
        mu, var = ops.moments(xg, axes=axes, keepdims=True)
        y = ops.reshape((xg - mu) * ops.rsqrt(var + self.epsilon), shape)
        if self.scale:
            y = y * ops.cast(self.gamma, y.dtype)
        if self.center:
            y = y + ops.cast(self.beta, y.dtype)
        return ops.cast(ops.moveaxis(y, -1, self._channel_axis), self.compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "groups": self.groups,
            "axis": self.axis,
            "epsilon": self.epsilon,
            "center": self.center,
            "scale": self.scale,
            "beta_initializer": keras.initializers.serialize(self.beta_initializer),
            "gamma_initializer": keras.initializers.serialize(self.gamma_initializer),
        }


@keras.saving.register_keras_serializable(package="optreg")
class RMSNormalization(keras.layers.Layer):
    """RMS normalization; equations in ``optreg.normalization.RMSNormalization``::

    y = scale * x / sqrt(mean(x^2 over axis) + epsilon)
    """

    def __init__(self, axis: int | list[int] = -1, epsilon: float = 1e-6, **kwargs) -> None:
        super().__init__(**kwargs)
        self.axis = _check_axis(axis)
        self.epsilon = check_layer_normalization_args(epsilon)
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

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}
