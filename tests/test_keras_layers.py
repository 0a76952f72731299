"""optreg.keras.layers normalization and dropout layers.

Compared with Keras' built-in layers (forward, moving statistics over several training calls,
gradients via ``tf.GradientTape``), with their NumPy twins in ``optreg.normalization`` and
``optreg.regularization``, and with binomial statistics for dropout. Also: serialization and
the shared argument checks.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import optreg.normalization as np_norm
import optreg.regularization as np_reg
from optreg.keras.layers.dropout import Dropout, MCDropout
from optreg.keras.layers.normalization import BatchNormalization, LayerNormalization

RNG = np.random.default_rng(11)


def _copy_weights(src, dst):
    for a, b in zip(src.weights, dst.weights, strict=True):
        assert a.shape == b.shape
        b.assign(a)


def _random_gamma_beta(layer):
    layer.gamma.assign(RNG.normal(1.0, 0.5, layer.gamma.shape).astype("float32"))
    layer.beta.assign(RNG.normal(0.0, 0.5, layer.beta.shape).astype("float32"))


def _grads(layer, x, w, training, with_output=False):
    """d sum(w * layer(x)) / d (x, gamma, beta), with a GradientTape (and the output)."""
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        y = layer(xt, training=training)
        loss = tf.reduce_sum(w * y)
    grads = [g.numpy() for g in tape.gradient(loss, [xt, layer.gamma, layer.beta])]
    return (grads, y.numpy()) if with_output else grads


# ---------------------------------------------------------------- batch normalization


@pytest.mark.parametrize("shape,axis", [((16, 5), -1), ((6, 4, 4, 3), -1), ((6, 3, 7), 1)])
def test_batchnorm_equals_keras_builtin(shape, axis):
    ours = BatchNormalization(axis=axis, momentum=0.7)
    ref = keras.layers.BatchNormalization(axis=axis, momentum=0.7)
    ours.build(shape)
    ref.build(shape)
    _random_gamma_beta(ours)
    _copy_weights(ours, ref)
    assert [w.name for w in ours.weights] == [w.name for w in ref.weights]
    assert [w.trainable for w in ours.weights] == [w.trainable for w in ref.weights]
    for step in range(5):
        x = RNG.normal(step, 1 + step, shape).astype("float32")
        np.testing.assert_allclose(
            ours(x, training=True), ref(x, training=True), rtol=1e-5, atol=1e-5
        )
    np.testing.assert_allclose(ours.moving_mean.numpy(), ref.moving_mean.numpy(), rtol=1e-6)
    np.testing.assert_allclose(ours.moving_variance.numpy(), ref.moving_variance.numpy(), rtol=1e-6)
    assert not np.allclose(ours.moving_mean.numpy(), 0)  # the statistics did move
    x = RNG.normal(1, 2, shape).astype("float32")
    np.testing.assert_allclose(ours(x), ref(x), rtol=1e-5, atol=1e-5)
    w = RNG.normal(0, 1, shape).astype("float32")
    for training in (True, False):
        for g, g_ref in zip(_grads(ours, x, w, training), _grads(ref, x, w, training), strict=True):
            np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("training", [True, False])
def test_batchnorm_equals_numpy_twin(training):
    shape = (12, 3, 3, 4)
    ours = BatchNormalization(momentum=0.5, epsilon=1e-2)
    twin = np_norm.BatchNormalization(momentum=0.5, epsilon=1e-2)
    ours.build(shape)
    twin.build(shape, dtype="float64")
    _random_gamma_beta(ours)
    twin.params["gamma"][...] = ours.gamma.numpy()
    twin.params["beta"][...] = ours.beta.numpy()
    for _ in range(3):
        x = RNG.normal(2, 3, shape).astype("float32")
        ours(x, training=True)
        twin.forward(x.astype("float64"), training=True)
    np.testing.assert_allclose(twin.moving_mean, ours.moving_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(twin.moving_variance, ours.moving_variance.numpy(), rtol=1e-5)
    x = RNG.normal(1, 2, shape).astype("float32")
    w = RNG.normal(0, 1, shape).astype("float32")
    (dx, dgamma, dbeta), y = _grads(ours, x, w, training, with_output=True)
    np.testing.assert_allclose(
        twin.forward(x.astype("float64"), training=training), y, rtol=1e-4, atol=2e-5
    )
    np.testing.assert_allclose(twin.moving_mean, ours.moving_mean.numpy(), rtol=1e-5)
    np.testing.assert_allclose(twin.backward(w.astype("float64")), dx, rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(twin.grads["gamma"], dgamma, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(twin.grads["beta"], dbeta, rtol=1e-5, atol=1e-5)


def test_batchnorm_frozen_layer_runs_in_inference_mode():
    layer = BatchNormalization()
    x = RNG.normal(3, 2, (8, 4)).astype("float32")
    layer(x, training=True)
    layer.trainable = False
    before = layer.moving_mean.numpy().copy()
    np.testing.assert_allclose(layer(x, training=True), layer(x, training=False))
    np.testing.assert_array_equal(layer.moving_mean.numpy(), before)


def test_batchnorm_and_layernorm_fit_like_builtins():
    """The same model trained by ``fit`` with ours or Keras' layers ends with the same weights."""
    x = RNG.normal(0, 1, (64, 6)).astype("float32")
    y = RNG.normal(0, 1, (64, 1)).astype("float32")

    def model(bn, ln):
        keras.utils.set_random_seed(0)
        return keras.Sequential(
            [keras.Input((6,)), keras.layers.Dense(8), bn, ln, keras.layers.Dense(1)]
        )

    ours = model(BatchNormalization(momentum=0.8), LayerNormalization())
    ref = model(keras.layers.BatchNormalization(momentum=0.8), keras.layers.LayerNormalization())
    for m in (ours, ref):
        m.compile(optimizer=keras.optimizers.SGD(0.05), loss="mse")
        m.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    for a, b in zip(ours.get_weights(), ref.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_normalization_under_mixed_precision_equals_builtins():
    x = RNG.normal(3, 2, (16, 4)).astype("float32")
    pairs = [
        (
            BatchNormalization(dtype="mixed_float16"),
            keras.layers.BatchNormalization(dtype="mixed_float16"),
        ),
        (
            LayerNormalization(dtype="mixed_float16"),
            keras.layers.LayerNormalization(dtype="mixed_float16"),
        ),
    ]
    for ours, ref in pairs:
        y, y_ref = ours(x, training=True), ref(x, training=True)
        assert y.dtype == y_ref.dtype == "float16"
        np.testing.assert_allclose(
            np.asarray(y, "float32"), np.asarray(y_ref, "float32"), atol=1e-3
        )
        assert ours.weights[0].dtype == ref.weights[0].dtype == "float32"
    np.testing.assert_allclose(
        pairs[0][0].moving_mean.numpy(), pairs[0][1].moving_mean.numpy(), rtol=1e-6
    )


# ---------------------------------------------------------------- layer normalization


@pytest.mark.parametrize("shape,axis", [((10, 6), -1), ((4, 5, 3), -1), ((3, 4, 2, 2), [1, 3])])
def test_layernorm_equals_keras_builtin_and_numpy_twin(shape, axis):
    ours = LayerNormalization(axis=axis)
    ref = keras.layers.LayerNormalization(axis=axis)
    ours.build(shape)
    ref.build(shape)
    _random_gamma_beta(ours)
    _copy_weights(ours, ref)
    x = RNG.normal(2, 3, shape).astype("float32")
    w = RNG.normal(0, 1, shape).astype("float32")
    np.testing.assert_allclose(ours(x), ref(x), rtol=1e-5, atol=1e-5)
    grads = _grads(ours, x, w, True)
    for g, g_ref in zip(grads, _grads(ref, x, w, True), strict=True):
        np.testing.assert_allclose(g, g_ref, rtol=1e-4, atol=1e-4)
    twin = np_norm.LayerNormalization(axis=axis)
    twin.build(shape, dtype="float64")
    twin.params["gamma"][...] = ours.gamma.numpy()
    twin.params["beta"][...] = ours.beta.numpy()
    np.testing.assert_allclose(twin.forward(x.astype("float64")), ours(x), rtol=1e-4, atol=2e-5)
    np.testing.assert_allclose(twin.backward(w.astype("float64")), grads[0], rtol=1e-3, atol=1e-4)
    np.testing.assert_allclose(twin.grads["gamma"], grads[1], rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(twin.grads["beta"], grads[2], rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------- dropout


@pytest.mark.parametrize("rate", [0.2, 0.5])
def test_dropout_statistics_match_builtin_and_numpy_twin(rate):
    n = 100_000
    x = np.ones((10, n // 10), dtype="float32")
    tolerance = 5 * math.sqrt(rate * (1 - rate) / n)  # 5 sd of a binomial fraction
    outputs = {
        "ours": np.asarray(Dropout(rate, seed=1)(x, training=True)),
        "keras": np.asarray(keras.layers.Dropout(rate, seed=1)(x, training=True)),
        "numpy": np_reg.Dropout(rate, seed=1).forward(x, training=True),
    }
    for name, y in outputs.items():
        assert abs(np.mean(y == 0) - rate) < tolerance, name
        np.testing.assert_allclose(y[y != 0], 1 / (1 - rate), rtol=1e-6, err_msg=name)
        assert abs(y.mean() - 1) < 5 * math.sqrt(rate / (1 - rate) / n), name


def test_dropout_gradient_is_the_scaled_mask():
    layer = Dropout(0.4, seed=3)
    x = tf.constant(RNG.uniform(1, 2, (50, 20)).astype("float32"))
    w = RNG.normal(0, 1, (50, 20)).astype("float32")
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = layer(x, training=True)
        loss = tf.reduce_sum(w * y)
    mask = y.numpy() / x.numpy()  # 0 or 1/keep_prob, since x > 0
    np.testing.assert_allclose(tape.gradient(loss, x).numpy(), w * mask, rtol=1e-6)
    dropped, kept = np.isclose(mask, 0), np.isclose(mask, 1 / 0.6)
    assert np.all(dropped | kept) and dropped.any() and kept.any()


def test_dropout_inference_identity_seeds_and_noise_shape():
    x = RNG.normal(0, 1, (8, 3, 3, 4)).astype("float32")
    np.testing.assert_array_equal(Dropout(0.5)(x), x)
    a, b = Dropout(0.5, seed=42), Dropout(0.5, seed=42)
    np.testing.assert_array_equal(a(x, training=True), b(x, training=True))  # same seed
    assert not np.array_equal(a(x, training=True), a(x, training=True))  # fresh masks
    y = np.asarray(
        Dropout(0.5, noise_shape=(None, 1, 1, None), seed=0)(np.ones_like(x), training=True)
    )
    np.testing.assert_array_equal(y, np.broadcast_to(y[:, :1, :1, :], y.shape))


def test_mcdropout_is_active_at_inference_and_dropout_is_not():
    x = RNG.normal(0, 1, (4, 30)).astype("float32")

    def model(layer):
        keras.utils.set_random_seed(1)
        return keras.Sequential(
            [keras.Input((30,)), keras.layers.Dense(16), layer, keras.layers.Dense(1)]
        )

    plain = model(Dropout(0.5, seed=2))
    mc = model(MCDropout(0.5, seed=2))
    np.testing.assert_array_equal(plain.predict(x, verbose=0), plain.predict(x, verbose=0))
    np.testing.assert_array_equal(plain(x), plain(x, training=False))
    assert not np.allclose(mc.predict(x, verbose=0), mc.predict(x, verbose=0))
    assert not np.allclose(mc(x, training=False), mc(x, training=False))
    # MC estimate: its mean approaches the deterministic prediction (dropout's expectation
    # is the identity and the last layer is linear): 100 passes, 5 standard errors
    mean, std = np_reg.mc_dropout_predict(mc, x, n_samples=100)
    np.testing.assert_array_less(np.abs(mean - plain(x).numpy()), 5 * std / math.sqrt(100))
    assert np.all(std > 0)


# ---------------------------------------------------------------- serialization and checks


def test_layers_serialize_and_reload(tmp_path):
    x = RNG.normal(0, 1, (32, 5)).astype("float32")
    model = keras.Sequential(
        [
            keras.Input((5,)),
            keras.layers.Dense(6),
            BatchNormalization(momentum=0.6, epsilon=1e-2),
            LayerNormalization(axis=-1, epsilon=1e-4),
            Dropout(0.3, seed=4),
            MCDropout(0.2, noise_shape=(None, 6), seed=5),
            keras.layers.Dense(2),
        ]
    )
    model.compile(optimizer="sgd", loss="mse")
    model.fit(x, np.zeros((32, 2), "float32"), epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    for layer, other in zip(model.layers, loaded.layers, strict=True):
        assert type(layer) is type(other)
        assert layer.get_config() == other.get_config()
    for a, b in zip(model.get_weights(), loaded.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    bn = loaded.layers[1]
    assert (bn.momentum, bn.epsilon) == (0.6, 1e-2)
    assert loaded.layers[4].noise_shape == (None, 6)
    assert BatchNormalization.from_config(model.layers[1].get_config()).momentum == 0.6


@pytest.mark.parametrize(
    "make,match",
    [
        (lambda m: m.BatchNormalization(momentum=1.5), r"momentum must be in \[0, 1\]"),
        (lambda m: m.BatchNormalization(epsilon=0.0), "epsilon must be > 0"),
        (lambda m: m.LayerNormalization(epsilon=-1.0), "epsilon must be > 0"),
    ],
)
def test_normalization_bad_arguments_same_as_numpy_twin(make, match):
    import optreg.keras.layers.normalization as keras_norm

    for module in (np_norm, keras_norm):
        with pytest.raises(ValueError, match=match):
            make(module)


@pytest.mark.parametrize("rate", [1.0, -0.2])
def test_dropout_bad_rate_same_as_numpy_twin(rate):
    for cls in (Dropout, MCDropout, np_reg.Dropout):
        with pytest.raises(ValueError, match=r"rate must be in \[0, 1\)"):
            cls(rate)


def test_batchnorm_bad_axis():
    with pytest.raises(ValueError, match="axis"):
        BatchNormalization(axis=2).build((4, 3))
