r"""Weight initializers in NumPy, with Keras 3's names, arguments and defaults.

Why the scale of the initial weights matters
--------------------------------------------
A dense unit computes :math:`z = \sum_{i=1}^{n_\text{in}} w_i x_i`. With weights and inputs
independent, zero-mean, the variance of a sum of independent products is the sum of the variances:

.. math:: \operatorname{Var}(z) = n_\text{in}\, \operatorname{Var}(w)\, \operatorname{Var}(x).

So the signal keeps its variance through the layer (forward pass) only if
:math:`\operatorname{Var}(w) = 1/n_\text{in}`. The same argument on the backward pass, where the
gradient of an input sums over the :math:`n_\text{out}` units it feeds, asks for
:math:`\operatorname{Var}(w) = 1/n_\text{out}`.

*fan-in* (``n_in``) is the number of inputs that feed one output unit; *fan-out* (``n_out``) is the
number of outputs each input feeds. For a ``Dense`` kernel of shape ``(n_in, n_out)`` they are the
two dimensions. For a convolution kernel ``(kh, kw, c_in, c_out)`` each output value sees a
receptive field of ``kh * kw`` positions over ``c_in`` channels, so
``fan_in = kh * kw * c_in`` and ``fan_out = kh * kw * c_out`` (:func:`compute_fans`).

The initializers of the course satisfy one condition or a compromise:

=============  =============================================  =======================
name           :math:`\operatorname{Var}(w)`                  made for
=============  =============================================  =======================
LeCun          :math:`1/n_\text{in}`                          SELU (self-normalizing)
Glorot/Xavier  :math:`2/(n_\text{in}+n_\text{out})`           tanh, sigmoid, softmax
He/Kaiming     :math:`2/n_\text{in}`                          ReLU and its variants
=============  =============================================  =======================

He's factor 2 compensates ReLU zeroing half of its inputs: :math:`E[\mathrm{relu}(z)^2] =
\operatorname{Var}(z)/2` for a symmetric :math:`z`.

All of them are :class:`VarianceScaling` with ``Var(w) = scale / n`` where ``n`` is the fan of
``mode`` (``fan_in``, ``fan_out`` or ``fan_avg = (fan_in + fan_out) / 2``):

* ``distribution="uniform"``: :math:`U(-r, r)` has variance :math:`r^2/3`, so
  :math:`r = \sqrt{3\,\text{scale}/n}` (Glorot uniform: :math:`r = \sqrt{6/(n_\text{in} +
  n_\text{out})}`; He uniform: :math:`r = \sqrt{6/n_\text{in}}`).
* ``distribution="truncated_normal"`` (Keras' default, and what Keras' ``*Normal`` variance
  scaling initializers use): draws from :math:`N(0, \sigma^2)` and re-draws values beyond
  :math:`2\sigma`. Truncation shrinks the variance: for a standard normal cut to
  :math:`[-2, 2]`, :math:`\operatorname{Var} = 1 - 2\cdot 2\,\varphi(2)/(\Phi(2) - \Phi(-2))
  = 0.7737\ldots`, whose square root is ``0.87962566103423978``. Keras therefore draws with
  :math:`\sigma = \sqrt{\text{scale}/n} / 0.8796...` so that the *truncated* weights have the
  intended standard deviation :math:`\sqrt{\text{scale}/n}`.
* ``distribution="untruncated_normal"``: :math:`N(0, \text{scale}/n)` directly.

Every initializer is a callable ``init(shape, dtype="float32") -> ndarray``. Random ones take a
``seed`` and, like Keras' initializers seeded with an integer (or unseeded: Keras then picks a
seed once at construction), return the same values on every call. Values are drawn with NumPy's
``Generator``; they follow the same distributions as Keras' but are not bit-for-bit equal.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np

from optreg._validation import check_choice, check_int, resolve_identifier
from optreg.hyperparameters import Declared, Hyperparameter

__all__ = [
    "Initializer",
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
    "compute_fans",
    "get",
    "TRUNCATED_NORMAL_STDDEV_FACTOR",
]

#: Standard deviation of a standard normal truncated to [-2, 2] (Keras' rescaling constant).
TRUNCATED_NORMAL_STDDEV_FACTOR = 0.87962566103423978

MODES = ("fan_in", "fan_out", "fan_avg")
DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")


# ---------------------------------------------------------------------------------------------
# Shared checks and formulas (the Keras twins in ``optreg.keras.initializers`` call these too)
# ---------------------------------------------------------------------------------------------
def check_shape(shape: int | Sequence[int]) -> tuple[int, ...]:
    """A shape is an int or a sequence of positive ints; returns it as a tuple."""
    dims = (shape,) if isinstance(shape, Integral) else tuple(shape)
    for i, dim in enumerate(dims):
        if isinstance(dim, bool) or not isinstance(dim, Integral) or dim <= 0:
            raise ValueError(f"shape[{i}] must be an integer > 0, got {dim!r} in shape {shape!r}")
    return tuple(int(d) for d in dims)


def check_seed(name: str, seed: Any) -> int | None:
    """``None`` or an integer ``>= 0``."""
    return None if seed is None else check_int(name, seed, minimum=0)


def check_finite(name: str, value: Any) -> float:
    """A finite real number (a mean, a bound)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real number, got {value!r}")
    return float(value)


def check_distribution(name: str, value: Any) -> str:
    """One of :data:`DISTRIBUTIONS`; like Keras, ``"normal"`` (any case) means
    ``"truncated_normal"``."""
    if isinstance(value, str):
        value = value.lower()
        value = "truncated_normal" if value == "normal" else value
    return check_choice(name, value, DISTRIBUTIONS)


def check_axes(name: str, axes: Any) -> list[int] | None:
    """``None`` or a list of integer axes (Keras uses the fan axes only when both are given)."""
    if axes is not None and (
        isinstance(axes, str)
        or not isinstance(axes, Sequence)
        or any(isinstance(a, bool) or not isinstance(a, Integral) for a in axes)
    ):
        raise ValueError(f"{name} must be None or a list of integers, got {axes!r}")
    return None if axes is None else [int(a) for a in axes]


def check_uniform_bounds(values: dict[str, Any]) -> dict[str, Any]:
    """``minval < maxval``."""
    if not values["minval"] < values["maxval"]:
        raise ValueError(
            f"minval must be < maxval, got minval={values['minval']!r}, maxval={values['maxval']!r}"
        )
    return values


def check_constant(name: str, value: Any) -> float:
    """A finite real scalar (Keras' ``Constant`` accepts scalars only)."""
    if isinstance(value, bool) or not isinstance(value, Real) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite real scalar, got {value!r}")
    return value


def check_float_dtype(dtype: Any) -> np.dtype:
    """Random initializers produce floating-point tensors only."""
    dt = np.dtype(dtype)
    if dt.kind != "f":
        raise ValueError(f"dtype must be a floating-point dtype, got {dtype!r}")
    return dt


def compute_fans(
    shape: Sequence[int],
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> tuple[int, int]:
    """``(fan_in, fan_out)`` of a weight shape, as Keras computes them.

    * ``()``: a scalar, ``(1, 1)``.
    * ``(n,)``: a bias or a vector, ``(n, n)``.
    * ``(n_in, n_out)``: a ``Dense`` kernel.
    * ``(*receptive_field, c_in, c_out)``: a convolution kernel (1-D, 2-D, 3-D...). Each output
      value is a sum over ``prod(receptive_field) * c_in`` inputs (fan-in), and each input value
      is used by ``prod(receptive_field) * c_out`` outputs (fan-out).

    With both ``input_axes`` and ``output_axes`` given (Keras 3.15's option for kernels such as
    ``EinsumDense``), the fans are the products of the sizes along those axes.
    """
    shape = tuple(shape)
    if input_axes is not None and output_axes is not None:
        return math.prod(shape[a] for a in input_axes), math.prod(shape[a] for a in output_axes)
    if len(shape) == 0:
        return 1, 1
    if len(shape) == 1:
        return shape[0], shape[0]
    if len(shape) == 2:
        return shape[0], shape[1]
    receptive_field = math.prod(shape[:-2])
    return shape[-2] * receptive_field, shape[-1] * receptive_field


def variance_scaling_spread(
    shape: Sequence[int],
    scale: float,
    mode: str,
    distribution: str,
    input_axes: Sequence[int] | None = None,
    output_axes: Sequence[int] | None = None,
) -> float:
    """The spread parameter to draw with: the normal's ``stddev`` or the uniform's ``limit``.

    ``Var(w) = scale / n`` with ``n`` the fan chosen by ``mode`` (at least 1, as in Keras):

    * ``truncated_normal``: ``stddev = sqrt(scale / n) / 0.8796...`` (undoes the truncation's
      shrinkage, see the module docstring);
    * ``untruncated_normal``: ``stddev = sqrt(scale / n)``;
    * ``uniform``: ``limit = sqrt(3 * scale / n)`` since ``Var(U(-r, r)) = r**2 / 3``.
    """
    fan_in, fan_out = compute_fans(shape, input_axes, output_axes)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[mode]
    variance = scale / max(1.0, n)
    if distribution == "truncated_normal":
        return math.sqrt(variance) / TRUNCATED_NORMAL_STDDEV_FACTOR
    if distribution == "untruncated_normal":
        return math.sqrt(variance)
    return math.sqrt(3.0 * variance)


def orthogonal_flat_shape(shape: Sequence[int]) -> tuple[int, int, bool]:
    """Keras flattens a kernel to ``(rows, cols) = (prod(shape[:-1]), shape[-1])``.

    Returns the shape of the tall Gaussian matrix to factorize, ``(max, min)``, and whether the
    result must be transposed (more columns than rows: then the rows come out orthonormal).
    """
    if len(shape) < 2:
        raise ValueError(
            f"shape must have at least 2 dimensions for Orthogonal, got {tuple(shape)!r}"
        )
    rows, cols = math.prod(shape[:-1]), shape[-1]
    return (max(rows, cols), min(rows, cols)), rows < cols


# ---------------------------------------------------------------------------------------------
# Initializers
# ---------------------------------------------------------------------------------------------
#: the declarations, shared with the Keras twins (``optreg.keras.initializers``)
SEED = Hyperparameter("seed", None, "integer >= 0 or None", "None: drawn once", check_seed)
NORMAL = (
    Hyperparameter("mean", 0.0, "finite", "the mean", check_finite),
    Hyperparameter("stddev", 0.05, "> 0", "the standard deviation (before truncation)"),
    SEED,
)
FAN_AXES = (
    Hyperparameter("input_axes", None, "list of ints or None", "axes of fan_in", check_axes),
    Hyperparameter("output_axes", None, "list of ints or None", "axes of fan_out", check_axes),
)


class Initializer(Declared):
    """Base class: ``init(shape, dtype="float32") -> ndarray``; ``get_config``/``from_config``."""

    def __call__(self, shape: int | Sequence[int], dtype: Any = "float32") -> np.ndarray:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> Initializer:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    """All zeros."""

    def __call__(self, shape: int | Sequence[int], dtype: Any = "float32") -> np.ndarray:
        return np.zeros(check_shape(shape), dtype=dtype)


class Ones(Initializer):
    """All ones."""

    def __call__(self, shape: int | Sequence[int], dtype: Any = "float32") -> np.ndarray:
        return np.ones(check_shape(shape), dtype=dtype)


class Constant(Initializer):
    """Every entry equal to the scalar ``value``."""

    hyperparameters = (Hyperparameter("value", 0.0, "finite scalar", "the value", check_constant),)

    def __call__(self, shape: int | Sequence[int], dtype: Any = "float32") -> np.ndarray:
        return np.full(check_shape(shape), self.value, dtype=dtype)


class RandomInitializer(Initializer):
    """Holds the seed. Each call restarts a ``numpy.random.Generator`` from it, so repeated calls
    return the same values, as a Keras initializer seeded with an integer does. Unseeded
    (``seed=None``), a seed is drawn once at construction, as Keras does."""

    hyperparameters = (SEED,)

    def __post_init__(self) -> None:
        if self.seed is None:  # draw once: repeated calls give the same values, as in Keras
            self._seed = int(np.random.SeedSequence().entropy % 2**63)
        else:
            self._seed = self.seed

    def _rng(self) -> np.random.Generator:
        return np.random.default_rng(self._seed)


def _truncated_standard_normal(rng: np.random.Generator, shape: tuple[int, ...]) -> np.ndarray:
    """Standard normal samples with every value outside ``[-2, 2]`` re-drawn (about 4.6%)."""
    z = rng.standard_normal(shape)
    outside = np.abs(z) > 2.0
    while outside.any():
        z[outside] = rng.standard_normal(int(outside.sum()))
        outside = np.abs(z) > 2.0
    return z


class RandomNormal(RandomInitializer):
    """:math:`w \\sim N(\\text{mean}, \\text{stddev}^2)`."""

    hyperparameters = NORMAL

    def __call__(self, shape: int | Sequence[int], dtype: Any = "float32") -> np.ndarray:
        shape, dtype = check_shape(shape), check_float_dtype(dtype)
        z = self._rng().standard_normal(shape)
        return (self.mean + self.stddev * z).astype(dtype)


class TruncatedNormal(RandomInitializer):
    """:math:`N(\\text{mean}, \\text{stddev}^2)` with values beyond ``2 * stddev`` from the mean
    re-drawn. The result's standard deviation is ``0.8796 * stddev`` (no rescaling here, as in
    Keras' ``TruncatedNormal``; :class:`VarianceScaling` does rescale)."""

    hyperparameters = NORMAL

    def __call__(self, shape: int | Sequence[int], dtype: Any = "float32") -> np.ndarray:
        shape, dtype = check_shape(shape), check_float_dtype(dtype)
        z = _truncated_standard_normal(self._rng(), shape)
        return (self.mean + self.stddev * z).astype(dtype)


class RandomUniform(RandomInitializer):
    """:math:`w \\sim U[\\text{minval}, \\text{maxval})`."""

    hyperparameters = (
        Hyperparameter("minval", -0.05, "finite, < maxval", "the lower bound", check_finite),
        Hyperparameter("maxval", 0.05, "finite", "the upper bound (excluded)", check_finite),
        SEED,
    )

    @classmethod
    def check_together(cls, values: dict[str, Any]) -> dict[str, Any]:
        return check_uniform_bounds(values)

    def __call__(self, shape: int | Sequence[int], dtype: Any = "float32") -> np.ndarray:
        shape, dtype = check_shape(shape), check_float_dtype(dtype)
        w = self._rng().uniform(self.minval, self.maxval, size=shape).astype(dtype)
        # Rounding to float32 can land exactly on maxval; keep Keras' half-open interval.
        return np.minimum(w, np.nextafter(dtype.type(self.maxval), dtype.type(self.minval)))


class VarianceScaling(RandomInitializer):
    """Zero-mean weights with ``Var(w) = scale / n``, ``n`` the fan chosen by ``mode``.

    See the module docstring for the derivation and :func:`variance_scaling_spread` for the
    three distributions (``truncated_normal`` is rescaled by ``1 / 0.8796...`` before truncation
    so the truncated weights have standard deviation ``sqrt(scale / n)``).
    """

    hyperparameters = (
        Hyperparameter("scale", 1.0, "> 0", "`Var(w) = scale / n`"),
        Hyperparameter(
            "mode",
            "fan_in",
            "fan_in, fan_out or fan_avg",
            "the fan `n`",
            lambda name, value: check_choice(name, value, MODES),
        ),
        Hyperparameter(
            "distribution",
            "truncated_normal",
            " or ".join(DISTRIBUTIONS),
            "what is drawn",
            check_distribution,
        ),
        SEED,
        *FAN_AXES,
    )

    def __call__(self, shape: int | Sequence[int], dtype: Any = "float32") -> np.ndarray:
        shape, dtype = check_shape(shape), check_float_dtype(dtype)
        spread = variance_scaling_spread(
            shape, self.scale, self.mode, self.distribution, self.input_axes, self.output_axes
        )
        rng = self._rng()
        if self.distribution == "truncated_normal":
            w = spread * _truncated_standard_normal(rng, shape)
        elif self.distribution == "untruncated_normal":
            w = spread * rng.standard_normal(shape)
        else:
            w = rng.uniform(-spread, spread, size=shape)
        return w.astype(dtype)


class _FixedVarianceScaling(VarianceScaling):
    """A named variance-scaling recipe: ``scale``, ``mode`` and ``distribution`` are fixed; only
    ``seed`` and the fan axes are configurable (as in Keras)."""

    _recipe: tuple[float, str, str]
    hyperparameters = (SEED, *FAN_AXES)

    def __post_init__(self) -> None:
        self.scale, self.mode, self.distribution = self._recipe
        super().__post_init__()


class GlorotUniform(_FixedVarianceScaling):
    """Glorot/Xavier uniform: :math:`U(-r, r)`, :math:`r = \\sqrt{6/(n_{in} + n_{out})}`,
    so :math:`\\operatorname{Var}(w) = r^2/3 = 2/(n_{in} + n_{out})`."""

    _recipe = (1.0, "fan_avg", "uniform")


class GlorotNormal(_FixedVarianceScaling):
    """Glorot/Xavier normal: truncated normal with standard deviation
    :math:`\\sqrt{2/(n_{in} + n_{out})}` after truncation."""

    _recipe = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_FixedVarianceScaling):
    """He/Kaiming normal: truncated normal with :math:`\\operatorname{Var}(w) = 2/n_{in}`."""

    _recipe = (2.0, "fan_in", "truncated_normal")


class HeUniform(_FixedVarianceScaling):
    """He/Kaiming uniform: :math:`U(-r, r)` with :math:`r = \\sqrt{6/n_{in}}`
    (:math:`\\operatorname{Var}(w) = 2/n_{in}`)."""

    _recipe = (2.0, "fan_in", "uniform")


class LecunNormal(_FixedVarianceScaling):
    """LeCun normal: truncated normal with :math:`\\operatorname{Var}(w) = 1/n_{in}` (for SELU)."""

    _recipe = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_FixedVarianceScaling):
    """LeCun uniform: :math:`U(-r, r)` with :math:`r = \\sqrt{3/n_{in}}`
    (:math:`\\operatorname{Var}(w) = 1/n_{in}`)."""

    _recipe = (1.0, "fan_in", "uniform")


class Orthogonal(RandomInitializer):
    """A (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2014).

    The kernel is flattened to ``(rows, cols) = (prod(shape[:-1]), shape[-1])``. A Gaussian
    matrix of shape ``(max, min)`` is factorized ``A = QR``; multiplying the columns of ``Q`` by
    ``sign(diag(R))`` makes ``Q`` uniformly (Haar) distributed. With ``rows >= cols`` the columns
    are orthonormal (``W^T W = gain^2 I``), otherwise the rows are (``W W^T = gain^2 I``).
    Orthogonal matrices preserve norms, so signals neither explode nor vanish through linear
    layers.
    """

    hyperparameters = (Hyperparameter("gain", 1.0, "> 0", "the factor of the matrix"), SEED)

    def __call__(self, shape: int | Sequence[int], dtype: Any = "float32") -> np.ndarray:
        shape, dtype = check_shape(shape), check_float_dtype(dtype)
        flat_shape, transpose = orthogonal_flat_shape(shape)
        a = self._rng().standard_normal(flat_shape)
        q, r = np.linalg.qr(a)
        q *= np.sign(np.diag(r))
        if transpose:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(dtype)


# ---------------------------------------------------------------------------------------------
# Look-up by name, as ``keras.initializers.get``
# ---------------------------------------------------------------------------------------------
_CLASSES = (
    Zeros,
    Ones,
    Constant,
    RandomNormal,
    RandomUniform,
    TruncatedNormal,
    VarianceScaling,
    GlorotUniform,
    GlorotNormal,
    HeNormal,
    HeUniform,
    LecunNormal,
    LecunUniform,
    Orthogonal,
)


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


_BY_NAME: dict[str, type[Initializer]] = {c.__name__: c for c in _CLASSES}
_BY_NAME.update({_snake_case(c.__name__): c for c in _CLASSES})
_BY_NAME.update({"normal": RandomNormal, "uniform": RandomUniform, "zero": Zeros, "one": Ones})


def get(identifier: Any) -> Initializer | None:
    """An initializer from a name (``"he_normal"``, ``"HeNormal"``), a ``{"class_name",
    "config"}`` dict, a class (instantiated with its defaults), or an instance/callable
    (returned unchanged). ``None`` gives ``None``."""
    return resolve_identifier(identifier, _BY_NAME, Initializer, "initializer")
