"""GroupNormalization (instance normalization as groups=-1) and RMSNormalization: NumPy forward
and backward (central differences, float64, relative error < 1e-7), Keras twins, and equality
with ``keras.layers.GroupNormalization`` / ``RMSNormalization`` (float32 round-off)."""

from __future__ import annotations

import inspect

import keras
import numpy as np
import pytest

from optreg import normalization as N
from optreg.keras import layers as KL
from optreg.nn.gradcheck import numerical_gradient, relative_error

GROUP_CASES = [  # (input shape, groups, axis)
    ((3, 8), 4, -1),
    ((2, 5, 6), 3, -1),
    ((2, 4, 3, 6), 2, -1),
    ((2, 4, 3, 6), -1, -1),  # instance normalization
    ((2, 4, 3, 6), 1, -1),  # one group: layer normalization over the whole sample
    ((2, 6, 5), 3, 1),  # channels first
]
RMS_CASES = [((3, 8), -1), ((2, 5, 6), -1), ((2, 4, 3, 6), [2, 3]), ((2, 4, 6), 1)]


def _layers(kind, case, dtype="float64"):
    if kind == "group":
        shape, groups, axis = case
        return shape, N.GroupNormalization(groups=groups, axis=axis), dict(groups=groups, axis=axis)
    shape, axis = case
    return shape, N.RMSNormalization(axis=axis), dict(axis=axis)


CASES = [("group", c) for c in GROUP_CASES] + [("rms", c) for c in RMS_CASES]
IDS = [f"{k}-{c}" for k, c in CASES]


@pytest.mark.parametrize(("kind", "case"), CASES, ids=IDS)
def test_backward_equals_central_differences(kind, case):
    shape, layer, _ = _layers(kind, case)
    rng = np.random.default_rng(0)
    x = rng.normal(size=shape) * 2 + 0.5
    r = rng.normal(size=shape)  # loss = sum(r * y)
    layer.forward(x)
    for name in layer.params:  # gamma, beta, scale away from their initial ones and zeros
        layer.params[name][...] = rng.normal(size=layer.params[name].shape)

    def loss():
        return float(np.sum(r * layer.forward(x)))

    loss()
    dx = layer.backward(r)
    analytic = {"x": dx, **{k: v.copy() for k, v in layer.grads.items()}}
    numeric = {"x": numerical_gradient(loss, x),
               **{k: numerical_gradient(loss, v) for k, v in layer.params.items()}}  # fmt: skip
    for key in analytic:
        assert relative_error(analytic[key], numeric[key]) < 1e-7, key


@pytest.mark.parametrize(("kind", "case"), CASES, ids=IDS)
def test_numpy_and_twin_equal_keras(kind, case):
    shape, ours, kwargs = _layers(kind, case)
    builtin_cls = (
        keras.layers.GroupNormalization if kind == "group" else keras.layers.RMSNormalization
    )
    twin_cls = KL.GroupNormalization if kind == "group" else KL.RMSNormalization
    rng = np.random.default_rng(1)
    x = (rng.normal(size=shape) * 3 + 1).astype("float32")
    builtin, twin = builtin_cls(**kwargs), twin_cls(**kwargs)
    builtin.build(shape)
    twin.build(shape)
    weights = [rng.normal(size=w.shape).astype("float32") for w in builtin.get_weights()]
    builtin.set_weights(weights)
    twin.set_weights(weights)
    ours.build(shape, dtype="float32")
    for name, w in zip(ours.params, weights, strict=True):  # gamma, beta / scale: Keras' order
        ours.params[name][...] = w
    if kind == "rms" and case[1] == 1:  # Keras 3.15 does not broadcast scale on a middle axis
        with pytest.raises(Exception, match="Incompatible shapes"):
            builtin(x)
        r = 1 / np.sqrt((x.astype("float64") ** 2).mean(axis=1, keepdims=True) + 1e-6)
        expected = x * r * weights[0][None, :, None]  # the formula instead
    else:
        expected = np.asarray(builtin(x))
    np.testing.assert_allclose(np.asarray(twin(x)), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ours.forward(x), expected, rtol=1e-5, atol=1e-5)
    assert [w.shape for w in twin.weights] == [w.shape for w in builtin.weights]
    restored = twin_cls.from_config(twin.get_config())
    assert restored.get_config() == twin.get_config()


def test_instance_and_group_normalization_statistics():
    x = np.random.default_rng(2).normal(size=(3, 5, 5, 8)) * 4 + 2
    instance = N.GroupNormalization(groups=-1, epsilon=1e-12).forward(x)
    np.testing.assert_allclose(instance.mean(axis=(1, 2)), 0, atol=1e-12)  # per sample, channel
    np.testing.assert_allclose(instance.std(axis=(1, 2)), 1, rtol=1e-9)
    grouped = N.GroupNormalization(groups=2, epsilon=1e-12).forward(x).reshape(3, 5, 5, 2, 4)
    np.testing.assert_allclose(grouped.mean(axis=(1, 2, 4)), 0, atol=1e-12)
    # independent of the batch: a sample's output is the same alone or in a batch
    alone = N.GroupNormalization(groups=2).forward(x[:1])
    np.testing.assert_allclose(alone, N.GroupNormalization(groups=2).forward(x)[:1], rtol=1e-12)
    rms = N.RMSNormalization(epsilon=1e-12).forward(x)
    np.testing.assert_allclose(np.sqrt((rms**2).mean(axis=-1)), 1, rtol=1e-9)


def test_arguments_and_defaults_are_keras():
    plumbing = {"self", "kwargs", "beta_initializer", "gamma_initializer", "beta_regularizer",
                "gamma_regularizer", "beta_constraint", "gamma_constraint"}  # fmt: skip
    for name in ("GroupNormalization", "RMSNormalization"):
        theirs = {p.name: p.default for p in
                  inspect.signature(getattr(keras.layers, name).__init__).parameters.values()
                  if p.name not in plumbing}  # fmt: skip
        for cls in (getattr(N, name), getattr(KL, name)):
            ours = {p.name: p.default for p in inspect.signature(cls.__init__).parameters.values()
                    if p.name not in plumbing}  # fmt: skip
            assert ours == theirs, cls
    for cls in (N.GroupNormalization, KL.GroupNormalization):
        with pytest.raises(ValueError, match="groups must be an integer >= 1 or -1"):
            cls(groups=0)
    with pytest.raises(ValueError, match="must split into groups=3 evenly"):
        N.GroupNormalization(groups=3).forward(np.ones((2, 8)))
    with pytest.raises(ValueError, match="must split into groups=3 evenly"):
        KL.GroupNormalization(groups=3)(np.ones((2, 8)))
