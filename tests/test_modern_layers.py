"""CosineDecayRestarts, the new activations and Maxout: NumPy, Keras twins, Keras' built-ins.

Schedules: equal to ``keras.optimizers.schedules.CosineDecayRestarts`` at every step of several
restart periods (float32 round-off, rtol 1e-5). Activations: equal to ``keras.activations`` in
float32 and float64; derivatives equal to central differences (float64, away from the kinks)
and to TensorFlow's autodiff (everywhere, kinks included). Maxout: backward checked by central
differences (float64, relative error < 1e-7) and the Keras twin equal to the NumPy layer.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from optreg import activations as A
from optreg import schedules as S
from optreg.keras import activations as KA
from optreg.keras import layers as KL
from optreg.keras import schedules as KS
from optreg.nn.gradcheck import numerical_gradient, relative_error

# --------------------------------------------------------------------------------------------
# CosineDecayRestarts
# --------------------------------------------------------------------------------------------
RESTARTS = [
    {"initial_learning_rate": 0.1, "first_decay_steps": 10},
    {"initial_learning_rate": 0.1, "first_decay_steps": 10, "t_mul": 1.0, "m_mul": 0.5,
     "alpha": 0.1},
    {"initial_learning_rate": 0.05, "first_decay_steps": 7, "t_mul": 1.5, "m_mul": 0.8,
     "alpha": 0.01},
    {"initial_learning_rate": 1.0, "first_decay_steps": 20, "t_mul": 3.0, "m_mul": 0.9},
]  # fmt: skip


@pytest.mark.parametrize(
    "kwargs", RESTARTS, ids=lambda k: "-".join(f"{a}={v}" for a, v in k.items())
)
def test_cosine_decay_restarts_equals_keras(kwargs):
    steps = np.arange(0, 400)
    theirs = keras.optimizers.schedules.CosineDecayRestarts(**kwargs)
    twin = KS.CosineDecayRestarts(**kwargs)
    ours = S.CosineDecayRestarts(**kwargs)
    expected = np.array([float(theirs(s)) for s in steps])
    np.testing.assert_allclose([float(twin(s)) for s in steps], expected, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose([ours(s) for s in steps], expected, rtol=1e-5, atol=1e-7)
    assert twin.get_config() == ours.get_config()
    config = theirs.get_config()
    assert S.CosineDecayRestarts(**config).get_config() == {**ours.get_config(), **config}
    assert (
        keras.optimizers.schedules.deserialize(
            keras.optimizers.schedules.serialize(twin)
        ).get_config()
        == twin.get_config()
    )


def test_cosine_decay_restarts_restarts_where_sgdr_says():
    """Periods of 10, 20, 40 steps (t_mul = 2): the rate is eta0 at 0, 10, 30, 70."""
    schedule = S.CosineDecayRestarts(0.1, 10, t_mul=2.0, m_mul=0.5, alpha=0.0)
    for start, peak in ((0, 0.1), (10, 0.05), (30, 0.025), (70, 0.0125)):
        assert schedule(start) == pytest.approx(peak)
        assert schedule(start - 1) < 0.1 * peak if start else True  # just before: near 0
    assert schedule(5) == pytest.approx(0.05)  # half-way through the first period
    with pytest.raises(ValueError, match="first_decay_steps must be > 0"):
        S.CosineDecayRestarts(0.1, 0)
    with pytest.raises(ValueError, match="t_mul must be > 0"):
        KS.CosineDecayRestarts(0.1, 10, t_mul=0.0)


# --------------------------------------------------------------------------------------------
# Activations
# --------------------------------------------------------------------------------------------
NEW_ACTIVATIONS = ["relu6", "hard_sigmoid", "hard_silu", "hard_swish", "softsign", "mish",
                   "celu", "log_sigmoid"]  # fmt: skip
KINKS = {"relu6": [0.0, 6.0], "hard_sigmoid": [-3.0, 3.0], "hard_silu": [-3.0, 3.0],
         "hard_swish": [-3.0, 3.0], "celu": [0.0],
         "softsign": [0.0]}  # fmt: skip  # softsign: smooth at 0, but |x|'s 2nd derivative jumps
X = np.concatenate([np.linspace(-9, 9, 181), [-40.0, -3.0, 0.0, 3.0, 6.0, 40.0]])


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_activation_equals_keras(name, dtype):
    x = X.astype(dtype)
    expected = np.asarray(getattr(keras.activations, name)(x))
    tolerance = 1e-6 if dtype == "float32" else 1e-12
    np.testing.assert_allclose(getattr(A, name)(x), expected, rtol=tolerance, atol=tolerance)
    np.testing.assert_allclose(np.asarray(getattr(KA, name)(x)), expected, rtol=tolerance,
                               atol=tolerance)  # fmt: skip
    assert getattr(A, name)(x).dtype == x.dtype


@pytest.mark.parametrize("name", NEW_ACTIVATIONS)
def test_activation_derivative_equals_central_differences_and_autodiff(name):
    f, f_grad = A.get(name)
    x = X[np.all(np.abs(X[:, None] - np.array(KINKS.get(name, [np.inf]))[None]) > 1e-3, axis=1)]
    eps = 1e-6
    numeric = (f(x + eps) - f(x - eps)) / (2 * eps)
    np.testing.assert_allclose(f_grad(x), numeric, rtol=1e-7, atol=1e-8)
    tensor = tf.constant(X)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        y = getattr(keras.activations, name)(tensor)
    autodiff = tape.gradient(y, tensor).numpy()
    if name == "celu":  # TF's max(x, 0) and min(x, 0) both pass the gradient at x = 0: 1 + 1
        assert set(autodiff[X == 0].tolist()) == {2.0} and f_grad(np.array([0.0])).tolist() == [1.0]
        autodiff[X == 0] = 1.0  # the derivative is 1 on both sides
    np.testing.assert_allclose(f_grad(X), autodiff, rtol=1e-10, atol=1e-12)


def test_activation_shapes_as_described():
    assert A.hard_sigmoid(np.array([-3.0, 0.0, 3.0])).tolist() == [0.0, 0.5, 1.0]
    assert A.relu6(np.array([-1.0, 7.0])).tolist() == [0.0, 6.0]
    assert np.all(np.abs(A.softsign(X)) < 1)
    assert A.mish(np.linspace(-5, 0, 5001)).min() == pytest.approx(-0.3088, abs=1e-4)
    np.testing.assert_allclose(A.log_sigmoid(np.array([-800.0])), [-800.0])  # no log(0)
    for alpha in (0.5, 2.0):  # celu's derivative is continuous at 0 for every alpha
        assert A.celu_grad(np.array([-1e-9, 1e-9]), alpha) == pytest.approx([1.0, 1.0])
    assert A.hard_swish is A.hard_silu


def test_keras_twin_activations_serialize_in_a_model(tmp_path):
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(4, activation=KA.mish),
                              keras.layers.Dense(2, activation=KA.celu)])  # fmt: skip
    path = tmp_path / "m.keras"
    model.save(path)
    x = np.random.default_rng(0).normal(size=(5, 3))
    np.testing.assert_allclose(keras.models.load_model(path).predict(x, verbose=0),
                               model.predict(x, verbose=0), rtol=1e-6)  # fmt: skip


# --------------------------------------------------------------------------------------------
# Maxout
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("pieces", [1, 2, 4])
def test_maxout_backward_equals_central_differences(pieces):
    rng = np.random.default_rng(pieces)
    layer = A.Maxout(units=3, pieces=pieces, bias_initializer="random_normal", seed=1,
                     dtype="float64")  # fmt: skip
    x = rng.normal(size=(6, 5))
    r = rng.normal(size=(6, 3))  # loss = sum(r * y)

    def loss():
        return float(np.sum(r * layer.forward(x)))

    loss()
    dx = layer.backward(r)
    analytic = {"x": dx, **{k: v.copy() for k, v in layer.grads.items()}}
    numeric = {"x": numerical_gradient(loss, x),
               **{k: numerical_gradient(loss, v) for k, v in layer.params.items()}}  # fmt: skip
    for key in analytic:
        assert relative_error(analytic[key], numeric[key]) < 1e-7, key
    assert layer.params["kernel"].shape == (5, pieces, 3) and layer.params["bias"].shape == (
        pieces, 3)  # fmt: skip


def test_maxout_is_the_max_of_its_affine_maps_and_can_be_relu_or_abs():
    layer = A.Maxout(units=1, pieces=2, dtype="float64")
    layer.build((1, 1))
    x = np.linspace(-2, 2, 9)[:, None]
    layer.params["kernel"][...] = np.array([1.0, 0.0]).reshape(1, 2, 1)  # max(x, 0): ReLU
    np.testing.assert_allclose(layer.forward(x), np.maximum(x, 0))
    layer.params["kernel"][...] = np.array([1.0, -1.0]).reshape(1, 2, 1)  # max(x, -x): |x|
    np.testing.assert_allclose(layer.forward(x), np.abs(x))


def test_maxout_keras_twin_equals_numpy_forward_and_gradients():
    rng = np.random.default_rng(0)
    ours = A.Maxout(units=4, pieces=3, bias_initializer="random_normal", seed=2, dtype="float64")
    x = rng.normal(size=(8, 5))
    y = ours.forward(x)
    dy = rng.normal(size=y.shape)
    dx = ours.backward(dy)
    twin = KL.Maxout(units=4, pieces=3, dtype="float64")
    twin.build((None, 5))
    twin.set_weights([ours.params["kernel"], ours.params["bias"]])
    tensor = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(tensor)
        out = twin(tensor)
        loss = tf.reduce_sum(out * dy)
    grads = tape.gradient(loss, [tensor, *twin.trainable_weights])
    np.testing.assert_allclose(out.numpy(), y, rtol=1e-12)
    for a, b in zip(grads, [dx, ours.grads["kernel"], ours.grads["bias"]], strict=True):
        np.testing.assert_allclose(a.numpy(), b, rtol=1e-10, atol=1e-12)
    restored = KL.Maxout.from_config(twin.get_config())
    assert restored.get_config() == twin.get_config()
    with pytest.raises(ValueError, match="pieces must be an integer >= 1"):
        KL.Maxout(3, pieces=0)
    with pytest.raises(ValueError, match="pieces must be an integer >= 1"):
        A.Maxout(3, pieces=0)
