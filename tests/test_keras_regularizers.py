"""Keras twins of the regularizers and constraints: equal to Keras' built-ins and to the NumPy
twins, gradients through ``tf.GradientTape``, serialization, shared validation, and use in a
``Dense`` layer of a model trained for one epoch (and saved/loaded).

Tolerances: 1e-6 relative in float32; training parity with the built-ins 1e-5 after one epoch.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from optreg import constraints as NC
from optreg import regularizers as NR
from optreg.keras import constraints as KC
from optreg.keras import initializers as KI
from optreg.keras import regularizers as KR


def random_weights(shape=(30, 20), seed=0):
    w = np.random.default_rng(seed).normal(size=shape).astype("float32")
    w.flat[::7] = 0.0  # exact zeros: L1's subgradient is 0 there
    return w


REGS = [
    ("L1", {"l1": 0.03}),
    ("L2", {"l2": 0.07}),
    ("L1L2", {"l1": 0.03, "l2": 0.07}),
    ("L1L2", {"l2": 0.5}),
    ("L1L2", {}),
    ("L1", {}),
    ("L2", {}),
]
REG_IDS = [f"{n}-{kw}" for n, kw in REGS]


@pytest.mark.parametrize("name, kwargs", REGS, ids=REG_IDS)
def test_penalty_equals_keras_and_numpy_twin(name, kwargs):
    w = random_weights()
    ours = float(getattr(KR, name)(**kwargs)(tf.constant(w)))
    assert ours == pytest.approx(
        float(getattr(keras.regularizers, name)(**kwargs)(tf.constant(w))), rel=1e-6, abs=1e-30
    )
    assert ours == pytest.approx(getattr(NR, name)(**kwargs)(w), rel=1e-6, abs=1e-30)


@pytest.mark.parametrize("name, kwargs", REGS[:4], ids=REG_IDS[:4])
def test_gradient_equals_keras_and_numpy_twin(name, kwargs):
    w = random_weights()

    def tape_gradient(regularizer):
        var = tf.Variable(w)
        with tf.GradientTape() as tape:
            penalty = regularizer(var)
        return tape.gradient(penalty, var).numpy()

    ours = tape_gradient(getattr(KR, name)(**kwargs))
    np.testing.assert_allclose(
        ours, tape_gradient(getattr(keras.regularizers, name)(**kwargs)), rtol=1e-6
    )
    np.testing.assert_allclose(ours, getattr(NR, name)(**kwargs).gradient(w), rtol=1e-6)


CONSTRAINTS = [
    ("MaxNorm", {}, (30, 20)),
    ("MaxNorm", {"max_value": 3.0, "axis": 1}, (30, 20)),
    ("MaxNorm", {"max_value": 1.5, "axis": [0, 1, 2]}, (3, 3, 4, 8)),
    ("UnitNorm", {}, (30, 20)),
    ("UnitNorm", {"axis": [0, 1, 2]}, (3, 3, 4, 8)),
    ("NonNeg", {}, (30, 20)),
]


@pytest.mark.parametrize(
    "name, kwargs, shape", CONSTRAINTS, ids=[f"{c[0]}-{c[1]}" for c in CONSTRAINTS]
)
def test_constraint_equals_keras_and_numpy_twin(name, kwargs, shape):
    # Column scales from 0.05 to 0.8: some weight vectors above max_value, some below.
    w = random_weights(shape) * np.linspace(0.05, 0.8, shape[-1]).astype("float32")
    ours = keras.ops.convert_to_numpy(getattr(KC, name)(**kwargs)(tf.constant(w)))
    builtin = keras.ops.convert_to_numpy(getattr(keras.constraints, name)(**kwargs)(tf.constant(w)))
    np.testing.assert_allclose(ours, builtin, rtol=1e-6, atol=1e-12)
    np.testing.assert_allclose(ours, getattr(NC, name)(**kwargs)(w), rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize(
    "obj",
    [
        KR.L1(0.2),
        KR.L2(0.3),
        KR.L1L2(0.1, 0.4),
        KC.MaxNorm(3.0, [0, 1]),
        KC.UnitNorm(1),
        KC.NonNeg(),
    ],
    ids=lambda o: type(o).__name__,
)
def test_serialization_round_trip(obj):
    config = keras.saving.serialize_keras_object(obj)
    assert config["registered_name"] == f"optreg>{type(obj).__name__}"
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(obj) and clone.get_config() == obj.get_config()
    w = random_weights()
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(clone(tf.constant(w))),
        keras.ops.convert_to_numpy(obj(tf.constant(w))),
    )


def test_defaults_and_configs_match_the_numpy_twins():
    for name in ["L1", "L2", "L1L2"]:
        assert getattr(KR, name)().get_config() == getattr(NR, name)().get_config()
    assert KC.MaxNorm().get_config() == NC.MaxNorm().get_config() == {"max_value": 2, "axis": 0}


BAD = [
    (lambda m: m.L1(-0.1), "l1 must be >= 0"),
    (lambda m: m.L2(float("nan")), "l2 must be finite"),
    (lambda m: m.L1L2(l1=0.1, l2=-1), "l2 must be >= 0"),
    (lambda m: m.MaxNorm(max_value=0), "max_value must be > 0"),
    (lambda m: m.MaxNorm(axis=1.5), "axis must be an integer"),
    (lambda m: m.UnitNorm(axis=[]), "axis must be an integer"),
]


@pytest.mark.parametrize("make, match", BAD)
def test_bad_arguments_raise_the_same_error_as_the_numpy_twin(make, match):
    keras_module = KR if match.startswith("l") else KC
    numpy_module = NR if keras_module is KR else NC
    with pytest.raises(ValueError, match=match) as ours:
        make(keras_module)
    with pytest.raises(ValueError) as numpy_twin:
        make(numpy_module)
    assert str(ours.value) == str(numpy_twin.value)


# --- inside a model -------------------------------------------------------------------------------
def make_model(initializer, regularizer, constraint):
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((20,)),
            keras.layers.Dense(
                32,
                activation="relu",
                kernel_initializer=initializer,
                kernel_regularizer=regularizer,
                kernel_constraint=constraint,
            ),
            keras.layers.Dense(3),
        ]
    )


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 20)).astype("float32")
    y = (x[:, :3] @ rng.normal(size=(3, 3))).argmax(axis=1)
    return x, y


def fit_one_epoch(model, x, y):
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss=loss)
    return model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0).history["loss"][0]


def test_dense_with_our_components_trains_like_the_builtins(data, tmp_path):
    x, y = data
    ours = make_model(KI.HeNormal(seed=1), KR.L1L2(l1=1e-3, l2=1e-2), KC.MaxNorm(0.8))
    builtin = make_model(
        keras.initializers.HeNormal(seed=1),
        keras.regularizers.L1L2(1e-3, 1e-2),
        keras.constraints.MaxNorm(0.8),
    )
    builtin.set_weights(ours.get_weights())

    kernel = ours.layers[0].kernel.numpy()
    expected_penalty = NR.L1L2(l1=1e-3, l2=1e-2)(kernel)
    ours(x[:1])
    assert float(sum(ours.losses)) == pytest.approx(expected_penalty, rel=1e-5)

    loss_ours = fit_one_epoch(ours, x, y)
    loss_builtin = fit_one_epoch(builtin, x, y)
    assert np.isfinite(loss_ours) and loss_ours == pytest.approx(loss_builtin, rel=1e-5)
    for a, b in zip(ours.get_weights(), builtin.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    norms = np.linalg.norm(ours.layers[0].kernel.numpy(), axis=0)
    assert norms.max() <= 0.8 + 1e-5  # the constraint was applied after the steps
    assert norms.max() > 0.79  # ... and was binding (He init gives norms ~ sqrt(2) > 0.8)

    path = tmp_path / "model.keras"
    ours.save(path)
    loaded = keras.models.load_model(path)
    layer = loaded.layers[0]
    assert isinstance(layer.kernel_regularizer, KR.L1L2)
    assert isinstance(layer.kernel_constraint, KC.MaxNorm)
    assert isinstance(layer.kernel_initializer, KI.HeNormal)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), ours.predict(x, verbose=0))
