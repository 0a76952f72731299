"""NumPy activations against ``keras.activations`` and their derivatives against central finite
differences (float64, ||g - fd|| / ||g + fd|| < 1e-7, kinks excluded) and ``tf.GradientTape``.

Tolerances against Keras in float64 are 1e-12 relative, except where TensorFlow's float64 kernels
use float32 constants: ``leaky_relu`` stores its slope as float32 (0.2 -> 0.20000000298, relative
1.5e-8) and ``gelu`` rounds 1/sqrt(2) and sqrt(2/pi) to float32, which moves its far-left tail
(values ~1e-9) by up to 1e-6 relative, 1e-8 absolute. GELU is also checked against an exact
per-element float64 reference (``math.erfc``) at 1e-13.
"""

from __future__ import annotations

import inspect
import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from optreg import activations as A

# A float64 grid over [-6, 6] that avoids the kink at 0 by more than the finite-difference step.
GRID = np.linspace(-6.0, 6.0, 1201) + 0.0037
H = 1e-5

# (rtol, atol) against TensorFlow's float64 kernels; see the module docstring.
KERAS_TOL = {"leaky_relu": (3e-8, 1e-15), "gelu": (2e-6, 1e-8)}

ELEMENTWISE = [
    ("sigmoid", {}),
    ("tanh", {}),
    ("relu", {}),
    ("leaky_relu", {}),
    ("leaky_relu", {"negative_slope": 0.05}),
    ("elu", {}),
    ("elu", {"alpha": 0.7}),
    ("selu", {}),
    ("gelu", {}),
    ("gelu", {"approximate": True}),
    ("swish", {}),
    ("silu", {}),
    ("softplus", {}),
]
IDS = [f"{n}-{kw}" if kw else n for n, kw in ELEMENTWISE]


def ours(name):
    return A.get(name)


def keras_fn(name):
    return getattr(keras.activations, name)


def rel_err(a, b):
    return np.linalg.norm(a - b) / np.linalg.norm(a + b)


@pytest.mark.parametrize("name, kwargs", ELEMENTWISE, ids=IDS)
def test_values_equal_keras(name, kwargs):
    f, _ = ours(name)
    rtol, atol = KERAS_TOL.get(name, (1e-12, 1e-15))
    expected = keras.ops.convert_to_numpy(keras_fn(name)(tf.constant(GRID), **kwargs))
    np.testing.assert_allclose(f(GRID, **kwargs), expected, rtol=rtol, atol=atol)
    x32 = GRID.astype(np.float32)
    y32 = f(x32, **kwargs)
    assert y32.dtype == np.float32
    expected32 = keras.ops.convert_to_numpy(keras_fn(name)(tf.constant(x32), **kwargs))
    np.testing.assert_allclose(y32, expected32, rtol=2e-6, atol=1e-6)


@pytest.mark.parametrize("name, kwargs", ELEMENTWISE, ids=IDS)
def test_derivative_matches_central_differences(name, kwargs):
    f, f_grad = ours(name)
    fd = (f(GRID + H, **kwargs) - f(GRID - H, **kwargs)) / (2 * H)
    assert rel_err(f_grad(GRID, **kwargs), fd) < 1e-7


@pytest.mark.parametrize("name, kwargs", ELEMENTWISE, ids=IDS)
def test_derivative_matches_gradient_tape(name, kwargs):
    _, f_grad = ours(name)
    x = tf.Variable(GRID)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(keras_fn(name)(x, **kwargs))
    rtol, atol = KERAS_TOL.get(name, (1e-10, 1e-14))
    np.testing.assert_allclose(
        f_grad(GRID, **kwargs), tape.gradient(y, x).numpy(), rtol=rtol, atol=atol
    )


def test_gelu_equals_an_exact_reference():
    def phi(t):  # standard normal CDF, accurate in both tails
        return 0.5 * math.erfc(-t / math.sqrt(2.0))

    exact = np.array([t * phi(t) for t in GRID])

    def pdf(t):
        return math.exp(-t * t / 2) / math.sqrt(2 * math.pi)

    exact_grad = np.array([phi(t) + t * pdf(t) for t in GRID])
    np.testing.assert_allclose(A.gelu(GRID), exact, rtol=1e-13, atol=1e-300)
    np.testing.assert_allclose(A.gelu_grad(GRID), exact_grad, rtol=1e-13, atol=1e-300)


@pytest.mark.parametrize(
    "name, left, right",
    [
        ("relu", 0.0, 1.0),
        ("leaky_relu", 0.2, 1.0),
        ("elu", 1.0, 1.0),
        ("selu", A.SELU_SCALE * A.SELU_ALPHA, A.SELU_SCALE),
    ],
)
def test_one_sided_derivatives_at_the_kink(name, left, right):
    _, f_grad = ours(name)
    np.testing.assert_allclose(f_grad(np.array([-1e-9, 1e-9])), [left, right], rtol=1e-8)


def test_keras_defaults_are_mirrored():
    for name in ("leaky_relu", "elu", "gelu"):
        ours_sig = inspect.signature(getattr(A, name)).parameters
        keras_sig = inspect.signature(keras_fn(name)).parameters
        for arg in ("negative_slope", "alpha", "approximate"):
            if arg in keras_sig:
                assert ours_sig[arg].default == keras_sig[arg].default, (name, arg)
    assert A.SELU_ALPHA == pytest.approx(1.67326324, abs=1e-8)
    assert A.SELU_SCALE == pytest.approx(1.05070098, abs=1e-8)


def test_no_overflow_for_large_inputs():
    x = np.array([-1000.0, -50.0, 0.0, 50.0, 1000.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(A.sigmoid(x), [0.0, np.exp(-50.0), 0.5, 1.0, 1.0], rtol=1e-12)
        np.testing.assert_allclose(
            A.softplus(x), [0.0, np.exp(-50.0), np.log(2), 50.0, 1000.0], rtol=1e-12
        )
        np.testing.assert_allclose(A.softmax(np.array([1000.0, 1000.0])), [0.5, 0.5])
        assert np.all(np.isfinite(A.elu(x))) and np.all(np.isfinite(A.swish_grad(x)))


# --- softmax -----------------------------------------------------------------------------------
@pytest.fixture
def logits():
    return np.random.default_rng(0).normal(scale=3.0, size=(4, 5, 6))


@pytest.mark.parametrize("axis", [-1, 1, 0])
def test_softmax_equals_keras(logits, axis):
    expected = keras.ops.convert_to_numpy(keras.activations.softmax(tf.constant(logits), axis=axis))
    s = A.softmax(logits, axis=axis)
    np.testing.assert_allclose(s, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(s.sum(axis=axis), 1.0, rtol=1e-14)
    np.testing.assert_allclose(A.softmax(logits + 500.0, axis=axis), s, rtol=1e-12)  # shift


def test_softmax_jacobian_matches_central_differences(logits):
    x = logits[0, 0]
    n = x.size
    fd = np.empty((n, n))
    for j in range(n):
        step = np.zeros(n)
        step[j] = H
        fd[:, j] = (A.softmax(x + step) - A.softmax(x - step)) / (2 * H)  # column j: ds/dx_j
    jac = A.softmax_grad(x)
    assert jac.shape == (n, n)
    assert rel_err(jac, fd) < 1e-7
    np.testing.assert_allclose(jac.sum(axis=0), 0.0, atol=1e-15)  # sum_i s_i = 1 for every x


def test_softmax_vector_jacobian_product(logits):
    dy = np.random.default_rng(1).normal(size=logits.shape)
    jac = A.softmax_grad(logits)  # (..., n, n)
    via_jacobian = np.einsum("...i,...ij->...j", dy, jac)
    np.testing.assert_allclose(A.softmax_vjp(logits, dy), via_jacobian, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(A.vjp("softmax", logits, dy), via_jacobian, rtol=1e-12, atol=1e-15)

    x = tf.Variable(logits)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.constant(dy) * keras.activations.softmax(x))
    np.testing.assert_allclose(
        A.softmax_vjp(logits, dy), tape.gradient(y, x).numpy(), rtol=1e-10, atol=1e-14
    )


def test_softmax_along_another_axis(logits):
    dy = np.random.default_rng(2).normal(size=logits.shape)
    x = tf.Variable(logits)
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(tf.constant(dy) * keras.activations.softmax(x, axis=1))
    np.testing.assert_allclose(
        A.softmax_vjp(logits, dy, axis=1), tape.gradient(y, x).numpy(), rtol=1e-10, atol=1e-14
    )
    assert A.softmax_grad(logits, axis=1).shape == (4, 6, 5, 5)


# --- look-up and bad input -----------------------------------------------------------------------
def test_get_and_vjp():
    assert A.get("relu") == (A.relu, A.relu_grad)
    assert A.get(None) == (A.linear, A.linear_grad)
    dy = np.arange(GRID.size, dtype=float)
    np.testing.assert_allclose(A.vjp("tanh", GRID, dy), (1 - np.tanh(GRID) ** 2) * dy)
    with pytest.raises(ValueError, match="name must be one of"):
        A.get("sigmoidal")


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: A.leaky_relu(GRID, negative_slope=-0.1), "negative_slope must be >= 0"),
        (lambda: A.leaky_relu_grad(GRID, negative_slope=-0.1), "negative_slope must be >= 0"),
        (lambda: A.elu(GRID, alpha=0.0), "alpha must be > 0"),
        (lambda: A.elu_grad(GRID, alpha=-1.0), "alpha must be > 0"),
    ],
)
def test_bad_arguments(call, match):
    with pytest.raises(ValueError, match=match):
        call()
