"""optreg.normalization: standardization, BatchNormalization, LayerNormalization, fuse_dense.

Checked against numerical gradients (central differences in float64), against Keras' built-in
layers (``keras.layers.BatchNormalization``/``LayerNormalization``/``Normalization``) and
against hand-derived values.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from optreg.normalization import (
    BatchNormalization,
    LayerNormalization,
    Standardizer,
    fuse_dense,
    standardize,
)

RNG = np.random.default_rng(20240601)


def numerical_grad(f, x: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """Central differences of the scalar function ``f`` at ``x`` (float64), entry by entry."""
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        f_plus = f()
        x[i] = old - h
        f_minus = f()
        x[i] = old
        grad[i] = (f_plus - f_minus) / (2 * h)
    return grad


def rel_error(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-300))


def randomize(layer, rng=RNG):
    """Give gamma and beta non-trivial values so that their gradients matter."""
    for name, p in layer.params.items():
        p[...] = rng.normal(1.0 if name == "gamma" else 0.0, 0.5, p.shape)


# ---------------------------------------------------------------- standardization


def test_standardizer_uses_train_statistics_only():
    train = RNG.normal(5.0, 3.0, (200, 4))
    test = RNG.normal(-2.0, 0.5, (50, 4))
    train_s, test_s, scaler = standardize(train, test)
    np.testing.assert_allclose(train_s.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(train_s.std(axis=0), 1, atol=1e-12)
    # The test set is mapped with the train statistics, not its own: no leakage.
    np.testing.assert_allclose(test_s, (test - train.mean(0)) / train.std(0), rtol=1e-12)
    assert np.all(np.abs(test_s.mean(axis=0)) > 1.0)
    assert np.all(test_s.std(axis=0) < 0.5)
    np.testing.assert_allclose(scaler.inverse_transform(test_s), test, rtol=1e-12)


def test_standardizer_hand_values_and_zero_variance():
    x = np.array([[1.0, 7.0], [3.0, 7.0]])
    s = Standardizer().fit(x)
    np.testing.assert_allclose(s.mean, [[2.0, 7.0]])
    np.testing.assert_allclose(s.std, [[1.0, 0.0]])
    # the constant column divides by epsilon instead of zero: finite, 0 on the training data
    np.testing.assert_allclose(s.transform(x), [[-1.0, 0.0], [1.0, 0.0]])
    np.testing.assert_allclose(s.transform(np.array([[2.0, 7.5]])), [[0.0, 0.5 / 1e-7]])


def test_standardizer_equals_keras_normalization_layer():
    train = RNG.normal(2.0, 4.0, (300, 3)).astype("float32")
    train[:, 2] = 1.5  # constant feature: both floor the std at 1e-7
    test = RNG.normal(0.0, 1.0, (20, 3)).astype("float32")
    layer = keras.layers.Normalization(axis=-1)
    layer.adapt(train)
    ours = Standardizer(axis=0).fit(train)
    np.testing.assert_allclose(ours.transform(test), layer(test).numpy(), rtol=1e-4, atol=1e-3)


def test_standardizer_image_axes_and_fit_transform():
    images = RNG.normal(0, 1, (10, 4, 4, 3)) * [1.0, 2.0, 3.0] + [0.0, 1.0, 2.0]
    s = Standardizer(axis=(0, 1, 2))
    z = s.fit_transform(images)
    assert s.mean.shape == (1, 1, 1, 3)
    np.testing.assert_allclose(z.mean(axis=(0, 1, 2)), 0, atol=1e-12)
    with pytest.raises(ValueError, match="x must have the feature shape"):
        s.transform(images[..., :2])


def test_standardizer_bad_input():
    with pytest.raises(ValueError, match="epsilon"):
        Standardizer(epsilon=0.0)
    s = Standardizer().fit(np.ones((5, 3)))
    with pytest.raises(ValueError, match="x must have the feature shape"):
        s.transform(np.ones((5, 4)))
    with pytest.raises(RuntimeError, match="fit"):
        Standardizer().transform(np.ones((2, 2)))


# ---------------------------------------------------------------- batch normalization


def test_batchnorm_training_forward_hand_values():
    x = np.array([[1.0, 2.0], [3.0, 6.0]])
    bn = BatchNormalization(momentum=0.5, epsilon=1e-3)
    y = bn.forward(x, training=True)
    # feature 0: mean 2, var 1;  feature 1: mean 4, var 4
    np.testing.assert_allclose(
        y, [[-1 / np.sqrt(1.001), -2 / np.sqrt(4.001)], [1 / np.sqrt(1.001), 2 / np.sqrt(4.001)]]
    )
    np.testing.assert_allclose(bn.moving_mean, [0.5 * 0 + 0.5 * 2, 0.5 * 0 + 0.5 * 4])
    np.testing.assert_allclose(bn.moving_variance, [0.5 * 1 + 0.5 * 1, 0.5 * 1 + 0.5 * 4])
    # inference: the fixed affine map of the moving statistics
    np.testing.assert_allclose(
        bn.forward(x, training=False), (x - [1.0, 2.0]) / np.sqrt(np.array([1.0, 2.5]) + 1e-3)
    )


@pytest.mark.parametrize("shape,axis", [((8, 5), -1), ((4, 3, 3, 2), -1), ((4, 3, 5), 1)])
@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_backward_numerical(shape, axis, training):
    x = RNG.normal(1.0, 2.0, shape)
    bn = BatchNormalization(axis=axis, momentum=0.9)
    bn.build(x.shape, dtype="float64")
    randomize(bn)
    bn.moving_mean = RNG.normal(0, 1, bn.moving_mean.shape)
    bn.moving_variance = RNG.uniform(0.5, 2.0, bn.moving_variance.shape)
    w = RNG.normal(0, 1, shape)
    saved = (bn.moving_mean.copy(), bn.moving_variance.copy())

    def loss():
        bn.moving_mean, bn.moving_variance = saved[0].copy(), saved[1].copy()
        return float(np.sum(w * bn.forward(x, training=training)))

    loss()
    dx = bn.backward(w)
    analytic = {"x": dx, **bn.grads}
    numeric = {"x": numerical_grad(loss, x)}
    for name, p in bn.params.items():
        numeric[name] = numerical_grad(loss, p)
    for name in ("x", "gamma", "beta"):
        assert rel_error(analytic[name], numeric[name]) < 1e-7, name


def _keras_bn_pair(shape, axis, momentum, epsilon, rng):
    """Our BN and Keras' with the same random gamma and beta."""
    ours = BatchNormalization(axis=axis, momentum=momentum, epsilon=epsilon)
    ours.build(shape, dtype="float64")
    randomize(ours, rng)
    ref = keras.layers.BatchNormalization(axis=axis, momentum=momentum, epsilon=epsilon)
    ref.build(shape)
    ref.gamma.assign(ours.params["gamma"].astype("float32"))
    ref.beta.assign(ours.params["beta"].astype("float32"))
    return ours, ref


@pytest.mark.parametrize("shape,axis", [((16, 6), -1), ((8, 4, 4, 3), -1), ((8, 3, 5), 1)])
def test_batchnorm_equals_keras_over_training_steps(shape, axis):
    ours, ref = _keras_bn_pair(shape, axis, momentum=0.8, epsilon=1e-3, rng=RNG)
    for step in range(6):
        x = RNG.normal(step, 1.0 + step, shape).astype("float32")
        y_ref = ref(x, training=True).numpy()
        y = ours.forward(x.astype("float64"), training=True)
        np.testing.assert_allclose(y, y_ref, rtol=1e-4, atol=2e-5)
        np.testing.assert_allclose(ours.moving_mean, ref.moving_mean.numpy(), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(
            ours.moving_variance, ref.moving_variance.numpy(), rtol=1e-5, atol=1e-5
        )
    x = RNG.normal(2.0, 3.0, shape).astype("float32")
    np.testing.assert_allclose(
        ours.forward(x.astype("float64")), ref(x, training=False).numpy(), rtol=1e-4, atol=2e-5
    )


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_gradients_equal_keras(training):
    shape = (10, 2, 2, 4)
    ours, ref = _keras_bn_pair(shape, -1, momentum=0.5, epsilon=1e-3, rng=RNG)
    warm_up = RNG.normal(1.0, 2.0, shape).astype("float32")  # non-trivial moving statistics
    ref(warm_up, training=True)
    ours.forward(warm_up.astype("float64"), training=True)
    x = RNG.normal(0.5, 1.5, shape).astype("float32")
    w = RNG.normal(0, 1, shape).astype("float32")
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        loss = tf.reduce_sum(w * ref(xt, training=training))
    dx_ref, dgamma_ref, dbeta_ref = tape.gradient(loss, [xt, ref.gamma, ref.beta])
    ours.forward(x.astype("float64"), training=training)
    dx = ours.backward(w.astype("float64"))
    np.testing.assert_allclose(dx, dx_ref.numpy(), rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(ours.grads["gamma"], dgamma_ref.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours.grads["beta"], dbeta_ref.numpy(), rtol=1e-5, atol=1e-5)


def test_batchnorm_without_center_and_scale():
    bn = BatchNormalization(center=False, scale=False)
    x = RNG.normal(3.0, 2.0, (50, 3))
    y = bn.forward(x, training=True)
    assert bn.params == {} and bn.grads == {}
    np.testing.assert_allclose(y.mean(axis=0), 0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=0), x.var(axis=0) / (x.var(axis=0) + 1e-3))


def test_batchnorm_keeps_float32_and_builds_lazily():
    bn = BatchNormalization()
    assert not bn.built
    y = bn.forward(np.ones((4, 3), dtype="float32"), training=True)
    assert bn.built and y.dtype == np.float32 and bn.params["gamma"].dtype == np.float32
    assert set(bn.params) == set(bn.grads) == {"gamma", "beta"}


def test_fuse_dense_equals_dense_then_batchnorm():
    kernel = RNG.normal(0, 1, (5, 4))
    bias = RNG.normal(0, 1, 4)
    bn = BatchNormalization(momentum=0.5)
    for _ in range(3):  # give it non-trivial moving statistics
        bn.forward(RNG.normal(2.0, 3.0, (32, 4)), training=True)
    randomize(bn)
    x = RNG.normal(0, 1, (7, 5))
    fused_kernel, fused_bias = fuse_dense(kernel, bias, bn)
    np.testing.assert_allclose(
        x @ fused_kernel + fused_bias, bn.forward(x @ kernel + bias), rtol=1e-12
    )
    kernel_nb, bias_nb = fuse_dense(kernel, None, bn)  # Dense(use_bias=False)
    np.testing.assert_allclose(x @ kernel_nb + bias_nb, bn.forward(x @ kernel), rtol=1e-12)


def test_fuse_dense_equals_keras_dense_batchnorm_model():
    dense = keras.layers.Dense(4)
    bn_ref = keras.layers.BatchNormalization(momentum=0.5)
    x = RNG.normal(0, 1, (64, 5)).astype("float32")
    bn_ref(dense(x), training=True)
    bn_ref(dense(x * 2 + 1), training=True)
    bn_ref.gamma.assign(RNG.normal(1, 0.5, 4).astype("float32"))
    bn_ref.beta.assign(RNG.normal(0, 0.5, 4).astype("float32"))
    bn = BatchNormalization(momentum=0.5)
    bn.build((None, 4))
    bn.params["gamma"][...] = bn_ref.gamma.numpy()
    bn.params["beta"][...] = bn_ref.beta.numpy()
    bn.moving_mean = bn_ref.moving_mean.numpy()
    bn.moving_variance = bn_ref.moving_variance.numpy()
    kernel, bias = fuse_dense(dense.kernel.numpy(), dense.bias.numpy(), bn)
    expected = bn_ref(dense(x[:8]), training=False).numpy()
    np.testing.assert_allclose(x[:8] @ kernel + bias, expected, rtol=1e-4, atol=1e-5)


def test_batchnorm_bad_input():
    for momentum in (-0.1, 1.5):
        with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\]"):
            BatchNormalization(momentum=momentum)
    with pytest.raises(ValueError, match="momentum must be finite"):
        BatchNormalization(momentum=float("nan"))
    for epsilon in (0.0, -1e-3):
        with pytest.raises(ValueError, match="epsilon must be > 0"):
            BatchNormalization(epsilon=epsilon)
    bn = BatchNormalization()
    bn.forward(np.ones((4, 3)), training=True)
    with pytest.raises(ValueError, match="x must have"):
        bn.forward(np.ones((4, 5)))
    before = bn.moving_mean.copy()
    with pytest.raises(ValueError, match="x must have"):
        bn.forward(np.ones((4, 5)), training=True)
    np.testing.assert_array_equal(bn.moving_mean, before)  # nothing half-applied
    with pytest.raises(ValueError, match="dy must have shape"):
        bn.backward(np.ones((5, 3)))
    with pytest.raises(RuntimeError, match="forward"):
        BatchNormalization().backward(np.ones((4, 3)))
    with pytest.raises(ValueError, match="axis"):
        BatchNormalization(axis=3).forward(np.ones((4, 3)))
    with pytest.raises(ValueError, match="kernel"):
        fuse_dense(np.ones((3, 5)), None, bn)


# ---------------------------------------------------------------- layer normalization


def test_layernorm_forward_hand_values():
    x = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 6.0]])
    y = LayerNormalization(epsilon=1e-3).forward(x)
    np.testing.assert_allclose(y[0], np.array([-1.0, 0.0, 1.0]) / np.sqrt(2 / 3 + 1e-3))
    np.testing.assert_allclose(y[1], np.array([-2.0, -2.0, 4.0]) / np.sqrt(8 + 1e-3))


@pytest.mark.parametrize("shape,axis", [((6, 5), -1), ((3, 4, 5), -1), ((3, 4, 2, 2), (1, 3))])
def test_layernorm_backward_numerical(shape, axis):
    x = RNG.normal(1.0, 2.0, shape)
    ln = LayerNormalization(axis=axis)
    ln.build(x.shape, dtype="float64")
    randomize(ln)
    w = RNG.normal(0, 1, shape)

    def loss():
        return float(np.sum(w * ln.forward(x, training=True)))

    loss()
    dx = ln.backward(w)
    analytic = {"x": dx, **ln.grads}
    numeric = {"x": numerical_grad(loss, x)}
    for name, p in ln.params.items():
        numeric[name] = numerical_grad(loss, p)
    for name in ("x", "gamma", "beta"):
        assert rel_error(analytic[name], numeric[name]) < 1e-7, name


@pytest.mark.parametrize("shape,axis", [((16, 6), -1), ((4, 5, 3), -1), ((3, 4, 2, 2), [1, 3])])
def test_layernorm_equals_keras_forward_and_gradients(shape, axis):
    ours = LayerNormalization(axis=axis)
    ours.build(shape, dtype="float64")
    randomize(ours)
    ref = keras.layers.LayerNormalization(axis=axis)
    ref.build(shape)
    assert ref.epsilon == ours.epsilon == 1e-3  # Keras 3's default
    ref.gamma.assign(ours.params["gamma"].astype("float32"))
    ref.beta.assign(ours.params["beta"].astype("float32"))
    x = RNG.normal(2.0, 3.0, shape).astype("float32")
    w = RNG.normal(0, 1, shape).astype("float32")
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y_ref = ref(xt, training=True)
        loss = tf.reduce_sum(w * y_ref)
    dx_ref, dgamma_ref, dbeta_ref = tape.gradient(loss, [xt, ref.gamma, ref.beta])
    y = ours.forward(x.astype("float64"), training=True)
    np.testing.assert_allclose(y, y_ref.numpy(), rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(
        ours.forward(x.astype("float64")), ref(x).numpy(), rtol=1e-4, atol=2e-5
    )
    ours.forward(x.astype("float64"), training=True)
    np.testing.assert_allclose(
        ours.backward(w.astype("float64")), dx_ref.numpy(), rtol=1e-3, atol=1e-4
    )
    np.testing.assert_allclose(ours.grads["gamma"], dgamma_ref.numpy(), rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(ours.grads["beta"], dbeta_ref.numpy(), rtol=1e-5, atol=1e-5)


def test_layernorm_bad_input():
    with pytest.raises(ValueError, match="epsilon must be > 0"):
        LayerNormalization(epsilon=0)
    ln = LayerNormalization()
    ln.forward(np.ones((2, 3)))
    with pytest.raises(ValueError, match="x must have shape"):
        ln.forward(np.ones((2, 4)))
    with pytest.raises(ValueError, match="dy must have shape"):
        ln.backward(np.ones((3, 3)))
    with pytest.raises(ValueError, match="axis"):
        LayerNormalization(axis=(1, 1)).forward(np.ones((2, 3)))
