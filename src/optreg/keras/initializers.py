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
:func:`~optreg.initializers.variance_scaling_spread`) and the declarations of the arguments
(signature, checks, ``get_config``) are shared with the NumPy twins: the two cannot disagree on
a fan or accept different arguments. Only the sampling differs: here it goes through
``keras.random``, so it runs on the backend's device.
"""

from __future__ import annotations

import random as python_random
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from optreg import initializers
from optreg.hyperparameters import Declared, Hyperparameter, replaced
from optreg.initializers import (
    check_seed,
    check_shape,
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


def _check_keras_seed(name: str, seed: Any) -> Any:
    """As the NumPy twin, or a ``keras.random.SeedGenerator`` (or its serialized dict)."""
    if isinstance(seed, dict | keras.random.SeedGenerator):
        return seed
    return check_seed(name, seed)


#: Keras' seed: also a ``SeedGenerator``, which gives new values at every call
SEED = Hyperparameter(
    "seed", None, "integer >= 0, SeedGenerator or None", "None: drawn once", _check_keras_seed
)


class _Initializer(Declared, keras.initializers.Initializer):
    """Takes the declaration of the NumPy twin of the same name (with Keras' seed)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        numpy_twin = getattr(initializers, cls.__name__, None)
        if "hyperparameters" not in vars(cls) and numpy_twin is not None:
            cls.hyperparameters = numpy_twin.hyperparameters
        cls.hyperparameters = replaced(cls.hyperparameters, SEED)
        super().__init_subclass__(**kwargs)


@_register
class Zeros(_Initializer):
    """All zeros."""

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        return ops.zeros(check_shape(shape), dtype=dtype or keras.config.floatx())


@_register
class Ones(_Initializer):
    """All ones."""

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        return ops.ones(check_shape(shape), dtype=dtype or keras.config.floatx())


@_register
class Constant(_Initializer):
    """Every entry equal to the scalar ``value``."""

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        return ops.full(check_shape(shape), self.value, dtype=dtype or keras.config.floatx())


class _RandomInitializer(_Initializer):
    """Seed handling as in Keras: an int (or ``None``: an int drawn once here) gives the same
    values at every call; a ``keras.random.SeedGenerator`` gives new values at every call."""

    hyperparameters = (SEED,)

    def __post_init__(self) -> None:
        self._init_seed = seed = self.seed
        if isinstance(seed, dict):
            seed = keras.saving.deserialize_keras_object(seed)
        self.seed = python_random.randint(1, int(1e9)) if seed is None else seed

    def get_config(self) -> dict[str, Any]:
        seed = keras.saving.serialize_keras_object(self._init_seed)
        return {**Declared.get_config(self), "seed": seed}


@_register
class RandomNormal(_RandomInitializer):
    """``w ~ N(mean, stddev**2)``."""

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        return keras.random.normal(
            check_shape(shape), self.mean, self.stddev, _float_dtype(dtype), self.seed
        )


@_register
class TruncatedNormal(_RandomInitializer):
    """``N(mean, stddev**2)`` with values beyond 2 standard deviations re-drawn; the result's
    standard deviation is ``0.8796 * stddev``."""

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        return keras.random.truncated_normal(
            check_shape(shape), self.mean, self.stddev, _float_dtype(dtype), self.seed
        )


@_register
class RandomUniform(_RandomInitializer):
    """``w ~ U[minval, maxval)``."""

    check_together = initializers.RandomUniform.check_together

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        return keras.random.uniform(
            check_shape(shape), self.minval, self.maxval, _float_dtype(dtype), self.seed
        )


@_register
class VarianceScaling(_RandomInitializer):
    """Zero-mean weights with ``Var(w) = scale / n``.

    ``n`` is ``fan_in``, ``fan_out`` or their average (``mode``). The spread comes from
    ``variance_scaling_spread``: a uniform ``[-limit, limit]`` with ``limit = sqrt(3 scale / n)``
    (a uniform's variance is ``limit**2 / 3``), or a normal with ``stddev = sqrt(scale / n)``,
    divided by 0.8796 before truncating at 2 stddev, since the truncation shrinks the standard
    deviation by exactly that factor.
    """

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


class _FixedVarianceScaling(VarianceScaling):
    """A named recipe ``(scale, mode, distribution)``; only the seed and fan axes vary."""

    def __post_init__(self) -> None:
        numpy_twin = getattr(initializers, type(self).__name__)
        self.scale, self.mode, self.distribution = numpy_twin._recipe  # declared once, there
        super().__post_init__()


@_register
class GlorotUniform(_FixedVarianceScaling):
    """``U(-r, r)``, ``r = sqrt(6 / (fan_in + fan_out))``: ``Var(w) = 2 / (fan_in + fan_out)``."""


@_register
class GlorotNormal(_FixedVarianceScaling):
    """Truncated normal with ``Var(w) = 2 / (fan_in + fan_out)`` after truncation."""


@_register
class HeNormal(_FixedVarianceScaling):
    """Truncated normal with ``Var(w) = 2 / fan_in`` (ReLU keeps half of the variance)."""


@_register
class HeUniform(_FixedVarianceScaling):
    """``U(-r, r)``, ``r = sqrt(6 / fan_in)``: ``Var(w) = 2 / fan_in``."""


@_register
class LecunNormal(_FixedVarianceScaling):
    """Truncated normal with ``Var(w) = 1 / fan_in`` (for SELU)."""


@_register
class LecunUniform(_FixedVarianceScaling):
    """``U(-r, r)``, ``r = sqrt(3 / fan_in)``: ``Var(w) = 1 / fan_in``."""


@_register
class Orthogonal(_RandomInitializer):
    """``gain`` times a (semi-)orthogonal matrix from the QR factorization of a Gaussian matrix.

    The kernel is viewed as ``(prod(shape[:-1]), shape[-1])``; ``Q`` of ``A = QR`` with its
    columns multiplied by ``sign(diag(R))`` is uniformly distributed over orthogonal matrices.
    """

    def __call__(self, shape: Sequence[int], dtype: Any = None) -> Any:
        shape, dtype = check_shape(shape), _float_dtype(dtype)
        flat_shape, transpose = orthogonal_flat_shape(shape)
        a = keras.random.normal(flat_shape, dtype=dtype, seed=self.seed)
        q, r = ops.qr(a)
        q = q * ops.sign(ops.diagonal(r))
        if transpose:
            q = ops.transpose(q)
        return self.gain * ops.reshape(q, shape)
