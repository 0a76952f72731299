"""Keras 3 initializers written with ``keras.random``/``keras.ops``: twins of the NumPy ones.

Fan-in and fan-out, in one paragraph (the derivation is in ``optreg.initializers``):
a unit of a ``Dense`` layer sums ``fan_in`` products ``w_i * x_i``. If the terms are independent
and zero-mean, ``Var(sum) = fan_in * Var(w) * Var(x)``: the layer keeps the variance of its
input only when ``Var(w) = 1 / fan_in``. Backpropagation sums over the ``fan_out`` units an input
feeds, and keeps the gradient's variance when ``Var(w) = 1 / fan_out``. Glorot takes the
compromise ``Var(w) = 2 / (fan_in + fan_out)``; He doubles LeCun's ``1 / fan_in`` because ReLU
zeroes half of its inputs. For a ``Dense`` kernel ``(fan_in, fan_out)`` the fans are the two
dimensions; for a convolution kernel ``(kh, kw, c_in, c_out)`` every output sees a
``kh * kw * c_in`` receptive field: ``fan_in = kh*kw*c_in``, ``fan_out = kh*kw*c_out``.

The shape arithmetic (:func:`optreg.initializers.compute_fans`,
:func:`~optreg.initializers.variance_scaling_spread`) and the argument checks are shared with the
NumPy twins: the two cannot disagree on a fan or accept different arguments. Only the sampling
differs: here it goes through ``keras.random``, so it runs on the backend's device.
"""

from __future__ import annotations

import random as python_random
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from optreg._validation import check_positive
from optreg.initializers import (
    check_constant,
    check_fan_axes,
    check_normal_args,
    check_seed,
    check_shape,
    check_uniform_args,
    check_variance_scaling_args,
    orthogonal_flat_shape,
    variance_scaling_spread,
)

__all__ = [
    "Zeros",
    "Ones",
    "Constant",
    "RandomNormal",
    "RandomUniform",
    "TruncatedNormal",
    "VarianceScaling",
    "GlorotUniform",
    "GlorotNormal",
    "HeNormal",
    "HeUniform",
    "LecunNormal",
    "LecunUniform",
    "Orthogonal",
]

_register = keras.saving.register_keras_serializable(package="optreg")


def _float_dtype(dtype: Any) -> str:
    """``None`` means ``keras.config.floatx()``; random initializers need a float dtype."""
    dtype = keras.backend.standardize_dtype(dtype or keras.config.floatx())
    if "float" not in dtype:
        raise ValueError(f"dtype must be a floating-point dtype, got {dtype!r}")
    return dtype


@_register
class Zeros(keras.initializers.Initializer):
    """All zeros."""

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        return ops.zeros(check_shape(shape), dtype=dtype or keras.config.floatx())


@_register
class Ones(keras.initializers.Initializer):
    """All ones."""

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        return ops.ones(check_shape(shape), dtype=dtype or keras.config.floatx())


@_register
class Constant(keras.initializers.Initializer):
    """Every entry equal to the scalar ``value``."""

    def __init__(self, value: float = 0.0) -> None:
        self.value = check_constant(value)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        return ops.full(check_shape(shape), self.value, dtype=dtype or keras.config.floatx())

    def get_config(self) -> dict[str, Any]:
        return {"value": self.value}


class _RandomInitializer(keras.initializers.Initializer):
    """Seed handling as in Keras: an int (or ``None``: an int drawn once here) gives the same
    values at every call; a ``keras.random.SeedGenerator`` gives new values at every call."""

    def __init__(self, seed: int | keras.random.SeedGenerator | dict | None = None) -> None:
        self._init_seed = seed
        if isinstance(seed, dict):
            seed = keras.saving.deserialize_keras_object(seed)
        if seed is None:
            seed = python_random.randint(1, int(1e9))
        elif not isinstance(seed, keras.random.SeedGenerator):
            seed = check_seed(seed)
        self.seed = seed

    def get_config(self) -> dict[str, Any]:
        return {"seed": keras.saving.serialize_keras_object(self._init_seed)}


@_register
class RandomNormal(_RandomInitializer):
    """``w ~ N(mean, stddev**2)``."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Any = None) -> None:
        self.mean, self.stddev = check_normal_args(mean, stddev)
        super().__init__(seed)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        return keras.random.normal(
            check_shape(shape), self.mean, self.stddev, _float_dtype(dtype), self.seed
        )

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


@_register
class TruncatedNormal(_RandomInitializer):
    """``N(mean, stddev**2)`` with values beyond 2 standard deviations re-drawn; the result's
    standard deviation is ``0.8796 * stddev``."""

    def __init__(self, mean: float = 0.0, stddev: float = 0.05, seed: Any = None) -> None:
        self.mean, self.stddev = check_normal_args(mean, stddev)
        super().__init__(seed)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        return keras.random.truncated_normal(
            check_shape(shape), self.mean, self.stddev, _float_dtype(dtype), self.seed
        )

    def get_config(self) -> dict[str, Any]:
        return {"mean": self.mean, "stddev": self.stddev, **super().get_config()}


@_register
class RandomUniform(_RandomInitializer):
    """``w ~ U[minval, maxval)``."""

    def __init__(self, minval: float = -0.05, maxval: float = 0.05, seed: Any = None) -> None:
        self.minval, self.maxval = check_uniform_args(minval, maxval)
        super().__init__(seed)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        return keras.random.uniform(
            check_shape(shape), self.minval, self.maxval, _float_dtype(dtype), self.seed
        )

    def get_config(self) -> dict[str, Any]:
        return {"minval": self.minval, "maxval": self.maxval, **super().get_config()}


@_register
class VarianceScaling(_RandomInitializer):
    """Zero-mean weights with ``Var(w) = scale / n``.

    ``n`` is ``fan_in``, ``fan_out`` or their average (``mode``). The spread comes from
    ``variance_scaling_spread``: a uniform ``[-limit, limit]`` with ``limit = sqrt(3 scale / n)``
    (a uniform's variance is ``limit**2 / 3``), or a normal with ``stddev = sqrt(scale / n)``,
    divided by 0.8796 before truncating at 2 stddev, since the truncation shrinks the standard
    deviation by exactly that factor.
    """

    def __init__(
        self,
        scale: float = 1.0,
        mode: str = "fan_in",
        distribution: str = "truncated_normal",
        seed: Any = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ) -> None:
        self.scale, self.mode, self.distribution = check_variance_scaling_args(
            scale, mode, distribution
        )
        self.input_axes, self.output_axes = check_fan_axes(input_axes, output_axes)
        super().__init__(seed)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        shape, dtype = check_shape(shape), _float_dtype(dtype)
        # fan_in: inputs summed by one unit; fan_out: units fed by one input (shared formula).
        spread = variance_scaling_spread(
            shape, self.scale, self.mode, self.distribution, self.input_axes, self.output_axes
        )
        if self.distribution == "truncated_normal":
            return keras.random.truncated_normal(shape, 0.0, spread, dtype, self.seed)
        if self.distribution == "untruncated_normal":
            return keras.random.normal(shape, 0.0, spread, dtype, self.seed)
        return keras.random.uniform(shape, -spread, spread, dtype, self.seed)

    def get_config(self) -> dict[str, Any]:
        return {
            "scale": self.scale,
            "mode": self.mode,
            "distribution": self.distribution,
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
            **super().get_config(),
        }


class _FixedVarianceScaling(VarianceScaling):
    """A named recipe ``(scale, mode, distribution)``; only the seed and fan axes vary."""

    _recipe: tuple[float, str, str]

    def __init__(
        self,
        seed: Any = None,
        input_axes: Sequence[int] | None = None,
        output_axes: Sequence[int] | None = None,
    ) -> None:
        scale, mode, distribution = self._recipe
        super().__init__(scale, mode, distribution, seed, input_axes, output_axes)

    def get_config(self) -> dict[str, Any]:
        return {
            "seed": keras.saving.serialize_keras_object(self._init_seed),
            "input_axes": self.input_axes,
            "output_axes": self.output_axes,
        }


@_register
class GlorotUniform(_FixedVarianceScaling):
    """``U(-r, r)``, ``r = sqrt(6 / (fan_in + fan_out))``: ``Var(w) = 2 / (fan_in + fan_out)``."""

    _recipe = (1.0, "fan_avg", "uniform")


@_register
class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal with ``Var(w) = 2 / (fan_in + fan_out)`` after truncation."""

    _recipe = (1.0, "fan_avg", "truncated_normal")


@_register
class HeNormal(_FixedVarianceScaling):
    """Truncated normal with ``Var(w) = 2 / fan_in`` (ReLU keeps half of the variance)."""

    _recipe = (2.0, "fan_in", "truncated_normal")


@_register
class HeUniform(_FixedVarianceScaling):
    """``U(-r, r)``, ``r = sqrt(6 / fan_in)``: ``Var(w) = 2 / fan_in``."""

    _recipe = (2.0, "fan_in", "uniform")


@_register
class LecunNormal(_FixedVarianceScaling):
    """Truncated normal with ``Var(w) = 1 / fan_in`` (for SELU)."""

    _recipe = (1.0, "fan_in", "truncated_normal")


@_register
class LecunUniform(_FixedVarianceScaling):
    """``U(-r, r)``, ``r = sqrt(3 / fan_in)``: ``Var(w) = 1 / fan_in``."""

    _recipe = (1.0, "fan_in", "uniform")


@_register
class Orthogonal(_RandomInitializer):
    """``gain`` times a (semi-)orthogonal matrix from the QR factorization of a Gaussian matrix.

    The kernel is viewed as ``(prod(shape[:-1]), shape[-1])``; ``Q`` of ``A = QR`` with its
    columns multiplied by ``sign(diag(R))`` is uniformly distributed over orthogonal matrices.
    """

    def __init__(self, gain: float = 1.0, seed: Any = None) -> None:
        self.gain = check_positive("gain", gain)
        super().__init__(seed)

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        shape, dtype = check_shape(shape), _float_dtype(dtype)
        flat_shape, transpose = orthogonal_flat_shape(shape)
        a = keras.random.normal(flat_shape, dtype=dtype, seed=self.seed)
        q, r = ops.qr(a)
        q = q * ops.sign(ops.diagonal(r))
        if transpose:
            q = ops.transpose(q)
        return self.gain * ops.reshape(q, shape)

    def get_config(self) -> dict[str, Any]:
        return {"gain": self.gain, **super().get_config()}
