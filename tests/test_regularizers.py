"""NumPy regularizers and constraints: hand-computed values, equality with Keras' built-ins,
gradients against central finite differences and ``tf.GradientTape``, and bad input.

Tolerances: finite differences ||g - fd|| / ||g + fd|| < 1e-7; against Keras 1e-6 relative in
float32 and 3e-8 in float64, because Keras passes its factor through float32 even for float64
weights (``ops.cast(0.07, "float64")`` first makes a float32 tensor; ``L1`` stores a float32
tensor): 0.07 becomes 0.0700000003, 4e-9 relative. Constraints match Keras to 1e-12 in float64.
"""

from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest
import tensorflow as tf

from optreg import constraints as C
from optreg import regularizers as R

W_HAND = np.array([[1.0, -2.0], [0.0, 3.0]])  # sum|w| = 6, sum w^2 = 14


def random_weights(shape=(30, 20), dtype="float64", seed=0):
    w = np.random.default_rng(seed).normal(size=shape).astype(dtype)
    w.flat[::7] = 0.0  # exact zeros: L1's subgradient must be 0 there
    return w


# --- regularizers -------------------------------------------------------------------------------
def test_penalties_by_hand():
    assert R.L1(0.1)(W_HAND) == pytest.approx(0.6, rel=1e-15)
    assert R.L2(0.1)(W_HAND) == pytest.approx(1.4, rel=1e-15)  # no 1/2: 0.1 * 14
    assert R.L1L2(l1=0.1, l2=0.2)(W_HAND) == pytest.approx(0.6 + 2.8, rel=1e-15)
    np.testing.assert_allclose(R.L1(0.1).gradient(W_HAND), [[0.1, -0.1], [0.0, 0.1]])
    np.testing.assert_allclose(R.L2(0.1).gradient(W_HAND), [[0.2, -0.4], [0.0, 0.6]])


def test_keras_defaults():
    assert R.L1().l1 == 0.01 and R.L2().l2 == 0.01
    assert (R.L1L2().l1, R.L1L2().l2) == (0.0, 0.0)
    assert R.L1(None).l1 == 0.01 and R.L1L2(None, 0.5).get_config() == {"l1": 0.0, "l2": 0.5}
    for ours, theirs in [
        (R.L1, keras.regularizers.L1),
        (R.L2, keras.regularizers.L2),
        (R.L1L2, keras.regularizers.L1L2),
    ]:
        assert ours().get_config() == pytest.approx(theirs().get_config(), rel=1e-7)


REGS = [
    (R.L1, keras.regularizers.L1, {"l1": 0.03}),
    (R.L2, keras.regularizers.L2, {"l2": 0.07}),
    (R.L1L2, keras.regularizers.L1L2, {"l1": 0.03, "l2": 0.07}),
    (R.L1L2, keras.regularizers.L1L2, {"l2": 0.5}),
    (R.L1L2, keras.regularizers.L1L2, {}),
]
REG_IDS = [f"{r[0].__name__}-{r[2]}" for r in REGS]


@pytest.mark.parametrize("ours, theirs, kwargs", REGS, ids=REG_IDS)
@pytest.mark.parametrize("dtype, rtol", [("float64", 3e-8), ("float32", 1e-6)])
def test_penalty_equals_keras(ours, theirs, kwargs, dtype, rtol):
    w = random_weights(dtype=dtype)
    expected = float(theirs(**kwargs)(tf.constant(w)))
    assert ours(**kwargs)(w) == pytest.approx(expected, rel=rtol, abs=1e-30)


@pytest.mark.parametrize("ours, theirs, kwargs", REGS, ids=REG_IDS)
def test_gradient_equals_gradient_tape(ours, theirs, kwargs):
    w = random_weights()
    var = tf.Variable(w)
    with tf.GradientTape() as tape:
        penalty = theirs(**kwargs)(var)
    expected = tape.gradient(penalty, var)
    expected = np.zeros_like(w) if expected is None else expected.numpy()  # L1L2(0, 0)
    np.testing.assert_allclose(ours(**kwargs).gradient(w), expected, rtol=3e-8, atol=1e-15)


@pytest.mark.parametrize("ours, theirs, kwargs", REGS[:4], ids=REG_IDS[:4])
def test_gradient_matches_central_differences(ours, theirs, kwargs):
    reg = ours(**kwargs)
    w = random_weights(shape=(6, 5))
    w[w == 0.0] = 0.3  # |w| has a kink at 0: differentiate away from it
    h = 1e-6
    fd = np.zeros_like(w)
    for i in np.ndindex(w.shape):
        step = np.zeros_like(w)
        step[i] = h
        fd[i] = (reg(w + step) - reg(w - step)) / (2 * h)
    g = reg.gradient(w)
    assert np.linalg.norm(g - fd) / np.linalg.norm(g + fd) < 1e-7


def test_l2_is_weight_decay():
    """One SGD step on the penalty alone multiplies the weights by 1 - 2 * lr * l2."""
    w, lr, l2 = random_weights(), 0.1, 0.05
    np.testing.assert_allclose(w - lr * R.L2(l2).gradient(w), (1 - 2 * lr * l2) * w, rtol=1e-15)


def test_gradient_keeps_shape_dtype_and_input():
    w = random_weights(dtype="float32")
    before = w.copy()
    g = R.L1L2(0.1, 0.1).gradient(w)
    assert g.shape == w.shape and g.dtype == np.float32
    np.testing.assert_array_equal(w, before)


def test_config_round_trip_and_get():
    reg = R.L1L2(l1=0.2, l2=0.3)
    clone = R.L1L2.from_config(reg.get_config())
    assert clone(W_HAND) == reg(W_HAND)
    assert R.get({"class_name": "L1L2", "config": reg.get_config()})(W_HAND) == reg(W_HAND)
    assert isinstance(R.get("l1"), R.L1) and isinstance(R.get("L2"), R.L2)
    assert isinstance(R.get("l1_l2"), R.L1L2) and R.get(None) is None
    assert R.get(reg) is reg
    with pytest.raises(ValueError, match="identifier"):
        R.get("l3")


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: R.L1(-0.1), "l1 must be >= 0"),
        (lambda: R.L2(-1), "l2 must be >= 0"),
        (lambda: R.L1L2(l1=0.1, l2=-0.1), "l2 must be >= 0"),
        (lambda: R.L1(float("nan")), "l1 must be finite"),
        (lambda: R.L2(float("inf")), "l2 must be finite"),
        (lambda: R.L1("0.1"), "l1 must be a real number"),
    ],
)
def test_bad_factors(make, match):
    with pytest.raises(ValueError, match=match):
        make()


# --- constraints --------------------------------------------------------------------------------
def test_max_norm_by_hand():
    w = np.array([[3.0, 0.3, 0.0], [4.0, 0.4, 0.0]])  # column norms 5, 0.5, 0
    out = C.MaxNorm(max_value=2.0)(w)
    eps = C.EPSILON
    np.testing.assert_allclose(out[:, 0], np.array([3.0, 4.0]) * 2.0 / (eps + 5.0), rtol=1e-15)
    np.testing.assert_allclose(out[:, 1], np.array([0.3, 0.4]) * 0.5 / (eps + 0.5), rtol=1e-15)
    np.testing.assert_array_equal(out[:, 2], 0.0)
    np.testing.assert_allclose(np.linalg.norm(out, axis=0), [2.0, 0.5, 0.0], rtol=1e-6)
    assert w[0, 0] == 3.0  # a projected copy: the input is unchanged


CONSTRAINTS = [
    (C.MaxNorm, keras.constraints.MaxNorm, {}, (30, 20)),
    (C.MaxNorm, keras.constraints.MaxNorm, {"max_value": 3.0, "axis": 1}, (30, 20)),
    (C.MaxNorm, keras.constraints.MaxNorm, {"max_value": 1.5, "axis": [0, 1, 2]}, (3, 3, 4, 8)),
    (C.UnitNorm, keras.constraints.UnitNorm, {}, (30, 20)),
    (C.UnitNorm, keras.constraints.UnitNorm, {"axis": [0, 1, 2]}, (3, 3, 4, 8)),
    (C.NonNeg, keras.constraints.NonNeg, {}, (30, 20)),
]
CONSTRAINT_IDS = [f"{c[0].__name__}-{c[2]}" for c in CONSTRAINTS]


@pytest.mark.parametrize("ours, theirs, kwargs, shape", CONSTRAINTS, ids=CONSTRAINT_IDS)
@pytest.mark.parametrize("dtype, rtol", [("float64", 1e-12), ("float32", 1e-6)])
def test_constraint_equals_keras(ours, theirs, kwargs, shape, dtype, rtol):
    # Scale so that some weight vectors are above max_value and some below.
    w = random_weights(shape, dtype) * np.linspace(0.05, 0.8, shape[-1]).astype(dtype)
    expected = keras.ops.convert_to_numpy(theirs(**kwargs)(tf.constant(w)))
    out = ours(**kwargs)(w)
    assert out.dtype == np.dtype(dtype)
    np.testing.assert_allclose(out, expected, rtol=rtol, atol=1e-7 * rtol)


@pytest.mark.parametrize("axis", [0, 1, [0, 1, 2]])
def test_max_norm_bounds_every_norm(axis):
    w = random_weights((3, 3, 4, 8)) * 5
    out = C.MaxNorm(max_value=1.0, axis=axis)(w)
    axes = tuple(axis) if isinstance(axis, list) else axis
    norms_before = np.sqrt(np.sum(w**2, axis=axes))
    norms_after = np.sqrt(np.sum(out**2, axis=axes))
    assert np.all(norms_after <= 1.0 + 1e-12)
    small = norms_before <= 1.0
    np.testing.assert_allclose(norms_after[small], norms_before[small], rtol=1e-6)


def test_constraint_defaults_mirror_keras():
    sig = inspect.signature(keras.constraints.MaxNorm).parameters
    c = C.MaxNorm()
    assert (c.max_value, c.axis) == (sig["max_value"].default, sig["axis"].default)
    assert C.MaxNorm.from_config(C.MaxNorm(3.0, [0, 1]).get_config()).get_config() == {
        "max_value": 3.0,
        "axis": [0, 1],
    }


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: C.MaxNorm(max_value=0), "max_value must be > 0"),
        (lambda: C.MaxNorm(max_value=-1.0), "max_value must be > 0"),
        (lambda: C.MaxNorm(axis=1.5), "axis must be an integer"),
        (lambda: C.MaxNorm(axis=[]), "axis must be an integer"),
        (lambda: C.UnitNorm(axis="0"), "axis must be an integer"),
    ],
)
def test_bad_constraint_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()
