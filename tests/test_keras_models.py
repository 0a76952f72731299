"""optreg.keras.models: structure and parameter counts derived by hand, penalties and constraints
checked against NumPy, optimizers by name against Keras' built-ins."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from optreg.keras import constraints, regularizers
from optreg.keras import layers as optreg_layers
from optreg.keras import optimizers as optreg_optimizers
from optreg.keras.models import OPTIMIZERS, build_cnn, build_mlp, make_optimizer


def kernels(model):
    return [layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def test_reference_mlp_is_784_300_100_10():
    model = build_mlp()
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.kernel.shape for d in dense] == [(784, 300), (300, 100), (100, 10)]
    # (784*300 + 300) + (300*100 + 100) + (100*10 + 10)
    assert model.count_params() == 266_610
    assert model.output_shape == (None, 10)
    x = np.random.default_rng(0).random((5, 28, 28), dtype=np.float32)
    np.testing.assert_allclose(model.predict(x, verbose=0).sum(axis=1), 1.0, rtol=1e-5)


def test_he_normal_kernel_has_variance_two_over_fan_in():
    kernel = keras.ops.convert_to_numpy(kernels(build_mlp(seed=1))[0])
    expected = np.sqrt(2.0 / 784)
    assert abs(kernel.std() / expected - 1) < 0.02  # 235,200 samples: std error ~0.15%
    assert abs(kernel.mean()) < 0.01 * expected * 10


def test_seed_makes_weights_reproducible():
    a, b, c = build_mlp(seed=3), build_mlp(seed=3), build_mlp(seed=4)
    for wa, wb, wc in zip(a.get_weights(), b.get_weights(), c.get_weights(), strict=True):
        np.testing.assert_array_equal(wa, wb)
        if wa.std() > 0:
            assert not np.array_equal(wa, wc)


@pytest.mark.parametrize(
    "norm, cls",
    [("batch", optreg_layers.BatchNormalization), ("layer", optreg_layers.LayerNormalization)],
)
def test_normalization_layers_replace_the_bias(norm, cls):
    model = build_mlp(hidden_units=(32, 16), normalization=norm, dropout=0.25, seed=0)
    norms = [layer for layer in model.layers if isinstance(layer, cls)]
    drops = [layer for layer in model.layers if isinstance(layer, optreg_layers.Dropout)]
    assert len(norms) == 2 and len(drops) == 2 and all(d.rate == 0.25 for d in drops)
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.use_bias for d in dense] == [False, False, True]
    per_unit = 4 if norm == "batch" else 2  # gamma, beta (+ moving mean and variance)
    assert model.count_params() == 784 * 32 + 32 * 16 + 16 * 10 + 10 + per_unit * (32 + 16)
    # each hidden block is Dense -> normalization -> activation -> dropout
    names = [type(layer).__name__ for layer in model.layers]
    assert names[1:5] == ["Dense", cls.__name__, "Activation", "Dropout"]


def test_penalty_equals_l1_l2_of_all_kernels_computed_in_numpy():
    model = build_mlp(hidden_units=(20,), l1=1e-4, l2=1e-3, seed=0)
    assert all(
        isinstance(d.kernel_regularizer, regularizers.L1L2)
        for d in model.layers
        if isinstance(d, keras.layers.Dense)
    )
    model(np.zeros((1, 28, 28), np.float32))
    ws = [keras.ops.convert_to_numpy(k) for k in kernels(model)]
    expected = sum(1e-4 * np.abs(w).sum() + 1e-3 * np.square(w).sum() for w in ws)
    got = sum(float(keras.ops.convert_to_numpy(loss)) for loss in model.losses)
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_max_norm_bounds_each_hidden_unit_after_training():
    model = build_mlp(hidden_units=(20, 10), max_norm=0.5, seed=0)
    assert isinstance(kernels(model)[0].constraint, constraints.MaxNorm)
    model.compile(optimizer=keras.optimizers.SGD(1.0), loss="sparse_categorical_crossentropy")
    rng = np.random.default_rng(0)
    model.fit(
        rng.random((64, 28, 28), dtype=np.float32), rng.integers(0, 10, 64), epochs=2, verbose=0
    )
    for kernel in kernels(model)[:2]:
        norms = np.linalg.norm(keras.ops.convert_to_numpy(kernel), axis=0)
        assert norms.max() <= 0.5 + 1e-5
        assert norms.max() > 0.45  # the constraint was active, not trivially satisfied


def test_small_cnn_structure():
    model = build_cnn(seed=0)
    # conv 3*3*1*32+32, conv 3*3*32*64+64, dense 7*7*64*128+128, output 128*10+10
    assert model.count_params() == 320 + 18_496 + 401_536 + 1_290
    assert model.output_shape == (None, 10)
    assert any(isinstance(layer, optreg_layers.Dropout) for layer in model.layers)
    bn = build_cnn(filters=(8,), dense_units=16, normalization="batch", dropout=0.0)
    assert sum(isinstance(layer, optreg_layers.BatchNormalization) for layer in bn.layers) == 1


def test_mixed_precision_keeps_float32_probabilities():
    policy = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_mlp(hidden_units=(8,), seed=0)
    finally:
        keras.mixed_precision.set_global_policy(policy)
    y = model(np.zeros((2, 28, 28), np.float32))
    assert keras.backend.standardize_dtype(y.dtype) == "float32"
    assert model.layers[1].compute_dtype == "float16"


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(normalization="group"), "normalization"),
        (dict(dropout=1.0), "dropout"),
        (dict(l2=-1.0), "l2"),
        (dict(max_norm=0.0), "max_norm"),
        (dict(hidden_units=(10, 0)), r"hidden_units\[1\]"),
    ],
)
def test_bad_model_arguments(bad, message):
    with pytest.raises(ValueError, match=message):
        build_mlp(**bad)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_make_optimizer_twin_matches_builtin_of_the_same_name(name):
    """Both implementations from one name; a few steps on the same quadratic give the same
    variables, so the name-to-arguments mapping (momentum, nesterov...) is the same for both."""
    lr = 1.0 if name == "adadelta" else 0.05
    opts = [make_optimizer(name, lr, implementation=i) for i in ("optreg", "keras")]
    class_name = OPTIMIZERS[name][0]
    assert isinstance(opts[0], getattr(optreg_optimizers, class_name))
    assert type(opts[1]) is getattr(keras.optimizers, class_name)
    results = []
    for opt in opts:
        w = keras.Variable(np.array([1.0, -2.0, 3.0], np.float32))
        for _ in range(5):
            opt.apply_gradients([(2.0 * w * np.array([1.0, 3.0, 0.5], np.float32), w)])
        results.append(keras.ops.convert_to_numpy(w))
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5, atol=1e-6)
    assert not np.allclose(results[0], [1.0, -2.0, 3.0])


def test_make_optimizer_defaults_and_overrides():
    assert make_optimizer("nesterov", 0.01).nesterov is True
    assert make_optimizer("momentum", 0.01, momentum=0.95).momentum == pytest.approx(0.95)
    assert make_optimizer("adamw", weight_decay=0.01).weight_decay == pytest.approx(0.01)
    with pytest.raises(ValueError, match="name"):
        make_optimizer("lbfgs")
    with pytest.raises(ValueError, match="implementation"):
        make_optimizer("adam", implementation="torch")
    with pytest.raises(ValueError, match="learning_rate"):
        make_optimizer("adam", -1.0)
