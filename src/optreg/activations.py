r"""Activation functions and their derivatives in NumPy, matching ``keras.activations``.

Each function ``f(x)`` has a derivative ``f_grad(x)`` = :math:`f'(x)`, evaluated elementwise at
``x`` (the input, not the output), so a layer's backward pass is ``dx = f_grad(x) * dy``.
:func:`softmax` is the exception: it mixes the entries along ``axis``, so its derivative is a
Jacobian (:func:`softmax_grad`) and its backward pass a vector-Jacobian product
(:func:`softmax_vjp`). :func:`vjp` does the right thing for every name.

At the kinks (``relu``, ``leaky_relu``, ``elu`` and ``selu`` at 0) the derivative is taken from
the left for ``leaky_relu``/``elu``/``selu`` and as 0 for ``relu``, as TensorFlow's gradients do.

Arguments and defaults follow Keras 3: ``leaky_relu(x, negative_slope=0.2)``,
``elu(x, alpha=1.0)``, ``gelu(x, approximate=False)`` (exact erf form; Keras' *op*
``keras.ops.gelu`` defaults to the tanh approximation, the *activation* does not).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from numpy.typing import ArrayLike

from optreg._validation import check_non_negative, check_positive

__all__ = [
    "linear",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "elu",
    "selu",
    "gelu",
    "swish",
    "silu",
    "softplus",
    "softmax",
    "relu6",
    "hard_sigmoid",
    "hard_silu",
    "hard_swish",
    "softsign",
    "mish",
    "celu",
    "log_sigmoid",
    "linear_grad",
    "sigmoid_grad",
    "tanh_grad",
    "relu_grad",
    "leaky_relu_grad",
    "elu_grad",
    "selu_grad",
    "gelu_grad",
    "swish_grad",
    "silu_grad",
    "softplus_grad",
    "softmax_grad",
    "relu6_grad",
    "hard_sigmoid_grad",
    "hard_silu_grad",
    "hard_swish_grad",
    "softsign_grad",
    "mish_grad",
    "celu_grad",
    "log_sigmoid_grad",
    "softmax_vjp",
    "Maxout",
    "get",
    "vjp",
    "SELU_ALPHA",
    "SELU_SCALE",
]

#: SELU's constants (Klambauer et al., 2017), with Keras' digits.
SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946

_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_GELU_CUBIC = 0.044715


def _float_array(x: ArrayLike) -> np.ndarray:
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float64)


# --- identity --------------------------------------------------------------------------------
def linear(x: ArrayLike) -> np.ndarray:
    """:math:`f(x) = x` (no activation)."""
    return _float_array(x)


def linear_grad(x: ArrayLike) -> np.ndarray:
    """:math:`f'(x) = 1`."""
    return np.ones_like(_float_array(x))


# --- sigmoid and tanh ------------------------------------------------------------------------
def sigmoid(x: ArrayLike) -> np.ndarray:
    """:math:`\\sigma(x) = 1 / (1 + e^{-x})`, computed without overflow for large ``|x|``:
    ``exp`` only ever sees ``-|x|``."""
    x = _float_array(x)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e)).astype(x.dtype)


def sigmoid_grad(x: ArrayLike) -> np.ndarray:
    """:math:`\\sigma'(x) = \\sigma(x)(1 - \\sigma(x))`, at most 1/4: deep sigmoid nets see their
    gradients shrink by 4x per layer (vanishing gradients)."""
    s = sigmoid(x)
    return s * (1.0 - s)


def tanh(x: ArrayLike) -> np.ndarray:
    """:math:`\\tanh(x) = 2\\sigma(2x) - 1`, zero-centred."""
    return np.tanh(_float_array(x))


def tanh_grad(x: ArrayLike) -> np.ndarray:
    """:math:`\\tanh'(x) = 1 - \\tanh^2(x)`."""
    t = tanh(x)
    return 1.0 - t * t


# --- ReLU family -----------------------------------------------------------------------------
def relu(x: ArrayLike) -> np.ndarray:
    """:math:`\\max(0, x)`."""
    x = _float_array(x)
    return np.maximum(x, 0).astype(x.dtype)


def relu_grad(x: ArrayLike) -> np.ndarray:
    """1 for :math:`x > 0`, else 0 (0 at the kink, like TensorFlow)."""
    x = _float_array(x)
    return (x > 0).astype(x.dtype)


def leaky_relu(x: ArrayLike, negative_slope: float = 0.2) -> np.ndarray:
    """:math:`x` for :math:`x > 0`, else :math:`\\alpha x` with :math:`\\alpha` =
    ``negative_slope`` (Keras 3's default 0.2). The small slope keeps units from dying."""
    slope = check_non_negative("negative_slope", negative_slope)
    x = _float_array(x)
    return np.where(x > 0, x, slope * x).astype(x.dtype)


def leaky_relu_grad(x: ArrayLike, negative_slope: float = 0.2) -> np.ndarray:
    """1 for :math:`x > 0`, else ``negative_slope``."""
    slope = check_non_negative("negative_slope", negative_slope)
    x = _float_array(x)
    return np.where(x > 0, 1.0, slope).astype(x.dtype)


def elu(x: ArrayLike, alpha: float = 1.0) -> np.ndarray:
    """:math:`x` for :math:`x > 0`, else :math:`\\alpha(e^x - 1)` (smooth, saturates at
    :math:`-\\alpha`, pushing mean activations towards 0)."""
    alpha = check_positive("alpha", alpha)
    x = _float_array(x)
    return np.where(x > 0, x, alpha * np.expm1(np.minimum(x, 0))).astype(x.dtype)


def elu_grad(x: ArrayLike, alpha: float = 1.0) -> np.ndarray:
    """1 for :math:`x > 0`, else :math:`\\alpha e^x` (continuous at 0 only when alpha = 1)."""
    alpha = check_positive("alpha", alpha)
    x = _float_array(x)
    return np.where(x > 0, 1.0, alpha * np.exp(np.minimum(x, 0))).astype(x.dtype)


def selu(x: ArrayLike) -> np.ndarray:
    """:math:`\\lambda\\,\\mathrm{elu}_\\alpha(x)` with :data:`SELU_SCALE` :math:`\\lambda
    \\approx 1.0507` and :data:`SELU_ALPHA` :math:`\\alpha \\approx 1.6733`, the fixed point that
    keeps activations at mean 0 and variance 1 (with LeCun-normal weights)."""
    x = _float_array(x)
    return (SELU_SCALE * elu(x, SELU_ALPHA)).astype(x.dtype)


def selu_grad(x: ArrayLike) -> np.ndarray:
    """:math:`\\lambda` for :math:`x > 0`, else :math:`\\lambda\\alpha e^x`."""
    x = _float_array(x)
    return (SELU_SCALE * elu_grad(x, SELU_ALPHA)).astype(x.dtype)


# --- GELU, swish/SiLU, softplus --------------------------------------------------------------
_erfc = np.frompyfunc(math.erfc, 1, 1)  # exact erfc without SciPy (one C call per element)


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """:math:`\\Phi(x) = \\mathrm{erfc}(-x/\\sqrt 2) / 2`, in float64. The ``erfc`` form keeps
    full relative precision in the left tail, where ``(1 + erf(x/sqrt 2)) / 2`` cancels."""
    return 0.5 * _erfc(-np.asarray(x, np.float64) / math.sqrt(2.0)).astype(np.float64)


def _normal_pdf(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, np.float64)
    return np.exp(-0.5 * x * x) / math.sqrt(2.0 * math.pi)


def _gelu_tanh_arg(x: np.ndarray) -> np.ndarray:
    return _SQRT_2_OVER_PI * (x + _GELU_CUBIC * x**3)


def gelu(x: ArrayLike, approximate: bool = False) -> np.ndarray:
    """:math:`x\\,\\Phi(x)`, the input weighted by the probability that a standard normal is
    below it. ``approximate=True``: :math:`\\tfrac{x}{2}(1 + \\tanh(\\sqrt{2/\\pi}(x +
    0.044715 x^3)))`."""
    x = _float_array(x)
    if approximate:
        return (0.5 * x * (1.0 + np.tanh(_gelu_tanh_arg(x)))).astype(x.dtype)
    return (x * _normal_cdf(x)).astype(x.dtype)


def gelu_grad(x: ArrayLike, approximate: bool = False) -> np.ndarray:
    """Exact: :math:`\\Phi(x) + x\\varphi(x)`. Approximate, with :math:`u = \\sqrt{2/\\pi}(x +
    0.044715 x^3)`: :math:`\\tfrac12(1 + \\tanh u) + \\tfrac{x}{2}(1 - \\tanh^2 u)\\,
    \\sqrt{2/\\pi}(1 + 3 \\cdot 0.044715 x^2)`."""
    x = _float_array(x)
    if approximate:
        t = np.tanh(_gelu_tanh_arg(x))
        du_dx = _SQRT_2_OVER_PI * (1.0 + 3.0 * _GELU_CUBIC * x * x)
        return (0.5 * (1.0 + t) + 0.5 * x * (1.0 - t * t) * du_dx).astype(x.dtype)
    return (_normal_cdf(x) + x * _normal_pdf(x)).astype(x.dtype)


def swish(x: ArrayLike) -> np.ndarray:
    """:math:`x\\,\\sigma(x)` (also called SiLU)."""
    x = _float_array(x)
    return x * sigmoid(x)


def swish_grad(x: ArrayLike) -> np.ndarray:
    """:math:`\\sigma(x) + x\\sigma(x)(1 - \\sigma(x)) = \\sigma(x)(1 + x(1 - \\sigma(x)))`."""
    x = _float_array(x)
    s = sigmoid(x)
    return s * (1.0 + x * (1.0 - s))


silu = swish
silu_grad = swish_grad


def softplus(x: ArrayLike) -> np.ndarray:
    """:math:`\\log(1 + e^x)`, a smooth ReLU, computed as ``logaddexp(x, 0)`` (no overflow)."""
    x = _float_array(x)
    return np.logaddexp(x, 0).astype(x.dtype)


def softplus_grad(x: ArrayLike) -> np.ndarray:
    """:math:`\\sigma(x)`."""
    return sigmoid(x)


# --- more of Keras' activations: bounded, smooth, piecewise-linear -----------------------------
def relu6(x: ArrayLike) -> np.ndarray:
    r""":math:`\min(\max(0, x), 6)`: ReLU capped at 6 (MobileNet; robust in low precision)."""
    x = _float_array(x)
    return np.clip(x, 0, 6).astype(x.dtype)


def relu6_grad(x: ArrayLike) -> np.ndarray:
    r"""1 for :math:`0 < x < 6`, else 0 (0 at both kinks, like TensorFlow)."""
    x = _float_array(x)
    return ((x > 0) & (x < 6)).astype(x.dtype)


def hard_sigmoid(x: ArrayLike) -> np.ndarray:
    r""":math:`\mathrm{relu6}(x + 3) / 6`: 0 below -3, 1 above 3, the line ``x / 6 + 1/2``
    between: a sigmoid of straight pieces (Keras 3; Keras 2 used ``0.2 x + 0.5``)."""
    x = _float_array(x)
    return (relu6(x + 3) / 6).astype(x.dtype)


def hard_sigmoid_grad(x: ArrayLike) -> np.ndarray:
    r"""1/6 for :math:`-3 < x < 3`, else 0."""
    return relu6_grad(_float_array(x) + 3) / 6


def hard_silu(x: ArrayLike) -> np.ndarray:
    r""":math:`x\,\mathrm{hard\_sigmoid}(x)`, hard swish (MobileNetV3): swish without ``exp``."""
    x = _float_array(x)
    return x * hard_sigmoid(x)


def hard_silu_grad(x: ArrayLike) -> np.ndarray:
    r"""0 below -3, 1 above 3, :math:`(2x + 3) / 6` between (product rule)."""
    x = _float_array(x)
    return hard_sigmoid(x) + x * hard_sigmoid_grad(x)


hard_swish = hard_silu
hard_swish_grad = hard_silu_grad


def softsign(x: ArrayLike) -> np.ndarray:
    r""":math:`x / (1 + |x|)`: like tanh, in (-1, 1), but approaches its bounds polynomially
    (as :math:`1/x`), not exponentially, so it saturates more gently."""
    x = _float_array(x)
    return x / (1 + np.abs(x))


def softsign_grad(x: ArrayLike) -> np.ndarray:
    r""":math:`1 / (1 + |x|)^2`."""
    x = _float_array(x)
    return 1 / (1 + np.abs(x)) ** 2


def mish(x: ArrayLike) -> np.ndarray:
    r""":math:`x \tanh(\mathrm{softplus}(x))` (Misra, 2019): smooth, non-monotonic like swish,
    unbounded above, bounded below (minimum about -0.31)."""
    x = _float_array(x)
    return x * np.tanh(softplus(x))


def mish_grad(x: ArrayLike) -> np.ndarray:
    r""":math:`\tanh(\mathrm{sp}(x)) + x\,\sigma(x)(1 - \tanh^2(\mathrm{sp}(x)))`, since
    :math:`\mathrm{sp}' = \sigma`."""
    x = _float_array(x)
    t = np.tanh(softplus(x))
    return t + x * sigmoid(x) * (1 - t * t)


def celu(x: ArrayLike, alpha: float = 1.0) -> np.ndarray:
    r""":math:`\max(0, x) + \alpha(e^{\min(0, x)/\alpha} - 1)` (Barron, 2017): ELU rescaled
    so that its derivative is continuous at 0 for every alpha."""
    alpha = check_positive("alpha", alpha)
    x = _float_array(x)
    return (np.maximum(x, 0) + alpha * np.expm1(np.minimum(x, 0) / alpha)).astype(x.dtype)


def celu_grad(x: ArrayLike, alpha: float = 1.0) -> np.ndarray:
    r"""1 for :math:`x > 0`, :math:`e^{x/\alpha}` for :math:`x \le 0` (both 1 at 0).

    TensorFlow's autodiff of Keras' ``celu`` gives 2 at exactly 0 (``max(x, 0)`` and
    ``min(x, 0)`` each pass the gradient on a tie); the derivative is 1 on both sides."""
    alpha = check_positive("alpha", alpha)
    x = _float_array(x)
    return np.where(x > 0, 1.0, np.exp(np.minimum(x, 0) / alpha)).astype(x.dtype)


def log_sigmoid(x: ArrayLike) -> np.ndarray:
    r""":math:`\log \sigma(x) = -\mathrm{softplus}(-x)`, without computing :math:`\sigma`
    (whose log would be ``log(0) = -inf`` for large negative x)."""
    x = _float_array(x)
    return -softplus(-x)


def log_sigmoid_grad(x: ArrayLike) -> np.ndarray:
    r""":math:`1 - \sigma(x) = \sigma(-x)`."""
    return sigmoid(-_float_array(x))


# --- softmax ---------------------------------------------------------------------------------
def softmax(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """:math:`s_i = e^{x_i} / \\sum_j e^{x_j}` along ``axis``.

    Subtracting :math:`\\max_j x_j` first leaves the result unchanged (it cancels between
    numerator and denominator) and keeps ``exp`` from overflowing.
    """
    x = _float_array(x)
    e = np.exp(x - np.max(x, axis=axis, keepdims=True))
    return e / np.sum(e, axis=axis, keepdims=True)


def softmax_grad(x: ArrayLike, axis: int = -1) -> np.ndarray:
    """The Jacobian :math:`\\partial s_i / \\partial x_j = s_i(\\delta_{ij} - s_j)`.

    ``axis`` is moved last; the result has shape ``(..., n, n)`` with ``[..., i, j]`` =
    :math:`\\partial s_i / \\partial x_j`.
    """
    s = np.moveaxis(softmax(x, axis=axis), axis, -1)
    return s[..., :, None] * (np.eye(s.shape[-1], dtype=s.dtype) - s[..., None, :])


def softmax_vjp(x: ArrayLike, dy: ArrayLike, axis: int = -1) -> np.ndarray:
    """Backward pass :math:`dx_j = \\sum_i dy_i\\, \\partial s_i/\\partial x_j =
    s_j (dy_j - \\sum_i dy_i s_i)`, without forming the Jacobian."""
    s = softmax(x, axis=axis)
    return s * (dy - np.sum(dy * s, axis=axis, keepdims=True))


# --- look-up ---------------------------------------------------------------------------------
_ACTIVATIONS: dict[str, tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]] = {
    "linear": (linear, linear_grad),
    "sigmoid": (sigmoid, sigmoid_grad),
    "tanh": (tanh, tanh_grad),
    "relu": (relu, relu_grad),
    "leaky_relu": (leaky_relu, leaky_relu_grad),
    "elu": (elu, elu_grad),
    "selu": (selu, selu_grad),
    "gelu": (gelu, gelu_grad),
    "swish": (swish, swish_grad),
    "silu": (silu, silu_grad),
    "softplus": (softplus, softplus_grad),
    "softmax": (softmax, softmax_grad),
    "relu6": (relu6, relu6_grad),
    "hard_sigmoid": (hard_sigmoid, hard_sigmoid_grad),
    "hard_silu": (hard_silu, hard_silu_grad),
    "hard_swish": (hard_swish, hard_swish_grad),
    "softsign": (softsign, softsign_grad),
    "mish": (mish, mish_grad),
    "celu": (celu, celu_grad),
    "log_sigmoid": (log_sigmoid, log_sigmoid_grad),
}


def get(
    name: str | None,
) -> tuple[Callable[..., np.ndarray], Callable[..., np.ndarray]]:
    """``(f, f_grad)`` for an activation name (``None`` means ``"linear"``, as in Keras).

    For ``"softmax"`` the second item returns the Jacobian; use :func:`vjp` in a backward pass.
    """
    name = "linear" if name is None else name
    if name not in _ACTIVATIONS:
        raise ValueError(f"name must be one of {sorted(_ACTIVATIONS)!r}, got {name!r}")
    return _ACTIVATIONS[name]


def vjp(name: str | None, x: ArrayLike, dy: ArrayLike) -> np.ndarray:
    """Backward pass of activation ``name`` at input ``x``: ``dL/dx`` given ``dy = dL/df(x)``.

    Elementwise activations give ``f_grad(x) * dy``; softmax (along the last axis) gives
    :func:`softmax_vjp`.
    """
    f, f_grad = get(name)
    if f is softmax:
        return softmax_vjp(x, dy)
    return f_grad(x) * np.asarray(dy)


# --- maxout: an activation with its own weights ------------------------------------------------
class Maxout:
    """Maxout (Goodfellow et al., 2013): each unit is the largest of ``pieces`` affine maps::

        z[b, p, u] = x[b] @ kernel[:, p, u] + bias[p, u]        (p = 0 .. pieces - 1)
        y[b, u]    = max_p z[b, p, u]

    A maxout unit learns a convex piecewise-linear activation (with ``pieces=2`` it can be ReLU,
    leaky ReLU or ``|x|``); it never saturates, and its gradient flows through the winning piece
    only::

        dz[b, p, u]  = dy[b, u] if p is the winner of (b, u) else 0    (the first, on ties)
        d kernel     = x.T @ dz ;  d bias = sum of dz over the batch ;  dx = dz @ kernel.T

    The layer protocol of ``optreg.nn`` (``forward``, ``backward``, ``params``, ``grads``); its
    Keras twin is ``optreg.keras.layers.Maxout``. Memory and compute: ``pieces`` times a Dense
    layer's.
    """

    def __init__(
        self,
        units: int,
        pieces: int = 2,
        kernel_initializer: str = "glorot_uniform",
        bias_initializer: str = "zeros",
        seed: int | None = None,
        dtype: str = "float32",
    ) -> None:
        from optreg._validation import check_int

        self.units = check_int("units", units, minimum=1)
        self.pieces = check_int("pieces", pieces, minimum=1)
        self.kernel_initializer, self.bias_initializer = kernel_initializer, bias_initializer
        self.seed = seed
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"dtype must be a floating dtype, got {dtype!r}")
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.built = False

    def build(self, input_shape: tuple[int, ...]) -> None:
        """``kernel`` (features, pieces, units), initialized as a Dense kernel of
        ``pieces * units`` units, and ``bias`` (pieces, units)."""
        from optreg import initializers

        if len(input_shape) != 2:
            raise ValueError(f"Maxout expects inputs of shape (batch, features), got {input_shape}")
        features, p, u = int(input_shape[-1]), self.pieces, self.units
        kernel_init = initializers.get(self.kernel_initializer)
        if self.seed is not None and hasattr(kernel_init, "seed"):
            kernel_init = type(kernel_init).from_config(
                {**kernel_init.get_config(), "seed": self.seed}
            )
        kernel = np.asarray(kernel_init((features, p * u), dtype=self.dtype))
        self.params["kernel"] = kernel.reshape(features, p, u)
        self.params["bias"] = np.asarray(
            initializers.get(self.bias_initializer)((p, u), dtype=self.dtype)
        )
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.built = True

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = np.asarray(x, dtype=self.dtype)
        if not self.built:
            self.build(x.shape)
        z = np.einsum("bi,ipu->bpu", x, self.params["kernel"]) + self.params["bias"]
        winner = z.argmax(axis=1)  # (batch, units): the index of the largest piece
        self._cache = (x, winner)
        return np.take_along_axis(z, winner[:, None, :], axis=1)[:, 0, :]

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x, winner = self._cache
        dy = np.asarray(dy, dtype=self.dtype)
        dz = np.zeros((len(x), self.pieces, self.units), dtype=self.dtype)
        np.put_along_axis(dz, winner[:, None, :], dy[:, None, :], axis=1)  # the winner only
        self.grads["kernel"][...] = np.einsum("bi,bpu->ipu", x, dz)
        self.grads["bias"][...] = dz.sum(axis=0)
        return np.einsum("bpu,ipu->bi", dz, self.params["kernel"]) if input_grad else None
