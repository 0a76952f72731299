"""optreg.keras.optimizers: parity with Keras' built-ins and with the NumPy twins, training runs,
saving, and the shared argument checks.

Tolerances: our Keras twins perform the built-ins' float32 operations in the same order, so they
agree to 1 float32 ulp or so (we require rtol = atol = 1e-6 after 60 steps). Against the NumPy
twins, which order a few operations differently, we require rtol = atol = 2e-6 (~16 ulps).
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from optreg import optimizers as O
from optreg.keras import optimizers as K

SHAPES = [(7,), (4, 5), (2, 3, 4)]
GRAD_SCALES = [0.1, 1.0, 3.0]  # the first tensor stays under clipnorm=1, the others do not
STEPS = 60
ALL = ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "Adamax", "Nadam", "AdamW"]


def make_problem(steps: int = STEPS, seed: int = 0):
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    scaled = list(zip(SHAPES, GRAD_SCALES, strict=True))
    grads = [[(c * rng.normal(size=s)).astype(np.float32) for s, c in scaled] for _ in range(steps)]
    return init, grads


def run_keras_pair(first, second, init, grads):
    """Both optimizers take the same steps on their own copies, in one traced function."""
    first_vars = [keras.Variable(w) for w in init]
    second_vars = [keras.Variable(w) for w in init]
    first.build(first_vars)
    second.build(second_vars)

    @tf.function
    def step(g):
        first.apply(g, first_vars)
        second.apply(g, second_vars)

    for g in grads:
        step([tf.constant(x) for x in g])
    return [v.numpy() for v in first_vars], [v.numpy() for v in second_vars]


def numpy_schedule(step: int) -> float:
    return 0.05 * 0.5 ** (step / 20)


def keras_schedule():
    return keras.optimizers.schedules.ExponentialDecay(0.05, 20, 0.5)


SCHEDULE = "schedule"
PARITY = [
    ("SGD", {"learning_rate": 0.05}),
    ("SGD", {"momentum": 0.9, "nesterov": True, "learning_rate": SCHEDULE, "clipvalue": 0.5}),
    ("SGD", {"momentum": 0.9, "weight_decay": 0.2}),
    ("Adagrad", {"learning_rate": 0.1, "initial_accumulator_value": 0.5, "clipnorm": 1.0}),
    ("RMSprop", {"learning_rate": 0.01}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "global_clipnorm": 1.0, "weight_decay": 0.1}),
    ("Adadelta", {"learning_rate": 1.0, "rho": 0.9}),
    ("Adam", {"learning_rate": 0.05}),
    ("Adam", {"learning_rate": SCHEDULE, "amsgrad": True, "clipnorm": 1.0, "weight_decay": 0.1}),
    ("Adamax", {"learning_rate": 0.05, "global_clipnorm": 1.0}),
    ("Nadam", {"learning_rate": 0.05}),
    ("Nadam", {"learning_rate": SCHEDULE, "clipvalue": 0.5, "weight_decay": 0.1}),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.1, "amsgrad": True}),
]


def with_schedule(kwargs: dict, schedule) -> dict:
    return {k: schedule() if v == SCHEDULE else v for k, v in kwargs.items()}


@pytest.mark.parametrize(("name", "kwargs"), PARITY, ids=[f"{n}-{'-'.join(k)}" for n, k in PARITY])
def test_parity_with_keras_builtin_and_numpy_twin(name, kwargs):
    init, grads = make_problem()
    ours = getattr(K, name)(**with_schedule(kwargs, keras_schedule))
    builtin = getattr(keras.optimizers, name)(**with_schedule(kwargs, keras_schedule))
    ours_params, builtin_params = run_keras_pair(ours, builtin, init, grads)
    for a, b in zip(ours_params, builtin_params, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)
    # the state too: same variables, in the same order, with the same values
    assert len(ours.variables) == len(builtin.variables)
    for a, b in zip(ours.variables, builtin.variables, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-6, atol=1e-6)

    twin = getattr(O, name)(**with_schedule(kwargs, lambda: numpy_schedule))
    numpy_params = [w.copy() for w in init]
    for g in grads:
        twin.apply(g, numpy_params)
    for a, b in zip(ours_params, numpy_params, strict=True):
        np.testing.assert_allclose(a, b, rtol=2e-6, atol=2e-6)
    moved = max(np.max(np.abs(w - w0)) for w, w0 in zip(ours_params, init, strict=True))
    assert moved > 0.01  # the comparison is not between two unmoved copies


def test_every_optimizer_is_covered_and_none_wraps_a_builtin():
    assert {name for name, _ in PARITY} == set(ALL)
    for name in ALL:
        cls = getattr(K, name)
        assert issubclass(cls, keras.optimizers.Optimizer)
        assert not issubclass(cls, getattr(keras.optimizers, name))
        assert keras.saving.get_registered_name(cls) == f"optreg>{name}"


# --------------------------------------------------------------------------------------------
# A short training run with model.fit, then save and load
# --------------------------------------------------------------------------------------------
TRAINING = {
    "SGD": {"learning_rate": 0.02, "momentum": 0.9, "nesterov": True},
    "Adagrad": {"learning_rate": 0.1},
    "RMSprop": {"learning_rate": 0.01, "centered": True, "momentum": 0.5},
    "Adadelta": {"learning_rate": 1.0},
    "Adam": {"learning_rate": 0.01, "amsgrad": True, "clipnorm": 1.0},
    "Adamax": {"learning_rate": 0.02, "global_clipnorm": 1.0},
    "Nadam": {"learning_rate": keras.optimizers.schedules.ExponentialDecay(0.02, 10, 0.5)},
    "AdamW": {"learning_rate": 0.01, "weight_decay": 0.1, "clipvalue": 0.5},
}


@pytest.fixture(scope="module")
def regression():
    """A small MLP and synthetic data, created once; each test restores the initial weights."""
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(128, 8)).astype(np.float32)
    y = (np.sin(x[:, :1]) + 0.5 * x[:, 1:2] ** 2).astype(np.float32)
    model = keras.Sequential(
        [keras.Input((8,)), keras.layers.Dense(16, activation="relu"), keras.layers.Dense(1)]
    )
    return model, model.get_weights(), x, y


def fit(model, initial_weights, optimizer, x, y):
    model.set_weights(initial_weights)
    model.compile(optimizer=optimizer, loss="mse")
    history = model.fit(x, y, batch_size=32, epochs=3, shuffle=False, verbose=0)
    return history.history["loss"]


@pytest.mark.parametrize("name", ALL)
def test_training_matches_builtin_and_survives_save_and_load(name, regression, tmp_path):
    model, initial_weights, x, y = regression
    kwargs = TRAINING[name]
    builtin_losses = fit(model, initial_weights, getattr(keras.optimizers, name)(**kwargs), x, y)
    ours_losses = fit(model, initial_weights, getattr(K, name)(**kwargs), x, y)
    np.testing.assert_allclose(ours_losses, builtin_losses, rtol=1e-5)
    assert ours_losses[-1] < 0.9 * ours_losses[0]  # it did train

    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded.optimizer) is getattr(K, name)
    assert loaded.optimizer.get_config() == model.optimizer.get_config()
    np.testing.assert_array_equal(loaded(x).numpy(), model(x).numpy())  # eager: no tracing
    saved, restored = model.optimizer.variables, loaded.optimizer.variables
    assert len(saved) == len(restored) > 2
    for a, b in zip(saved, restored, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert int(loaded.optimizer.iterations.numpy()) == 3 * 4  # 3 epochs of 4 batches


# --------------------------------------------------------------------------------------------
# Configuration, non-finite gradients, bad arguments
# --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ALL)
def test_config_round_trip_and_numpy_config_accepted(name):
    ours = getattr(K, name)(learning_rate=0.05, clipnorm=2.0)
    clone = type(ours).from_config(ours.get_config())
    assert clone.get_config() == ours.get_config()
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(ours))
    assert type(restored) is type(ours)
    # the NumPy twin's configuration builds the same Keras optimizer
    twin_config = getattr(O, name)(learning_rate=0.05, clipnorm=2.0).get_config()
    from_twin = getattr(K, name)(**{k: v for k, v in twin_config.items() if k != "name"})
    expected = {k: v for k, v in ours.get_config().items() if k != "name"}
    assert {k: v for k, v in from_twin.get_config().items() if k != "name"} == expected


@pytest.mark.parametrize("name", ["SGD", "Adam"])
def test_non_finite_gradients_propagate_like_the_builtin(name):
    """Documented: the Keras twins do not check, exactly like Keras' optimizers."""
    g = [tf.constant([1.0, np.nan, 0.0])]
    results = []
    for opt in (getattr(K, name)(), getattr(keras.optimizers, name)()):
        w = [keras.Variable(np.ones(3, np.float32))]
        opt.apply(g, w)
        results.append(np.isnan(w[0].numpy()))
    np.testing.assert_array_equal(results[0], [False, True, False])
    np.testing.assert_array_equal(results[0], results[1])


BAD_ARGS = [
    ("SGD", {"learning_rate": 0.0}),
    ("SGD", {"learning_rate": "fast"}),
    ("SGD", {"momentum": 1.0}),
    ("SGD", {"nesterov": "yes"}),
    ("SGD", {"weight_decay": -1e-3}),
    ("SGD", {"clipnorm": 0.0}),
    ("SGD", {"clipvalue": -1.0}),
    ("SGD", {"clipnorm": 1.0, "clipvalue": 1.0}),
    ("Adagrad", {"initial_accumulator_value": -0.1}),
    ("Adagrad", {"epsilon": 0.0}),
    ("RMSprop", {"rho": 1.0}),
    ("RMSprop", {"momentum": -0.5}),
    ("RMSprop", {"centered": None}),
    ("Adadelta", {"rho": -0.5}),
    ("Adadelta", {"epsilon": -1.0}),
    ("Adam", {"beta_1": 1.0}),
    ("Adam", {"amsgrad": 1}),
    ("Adam", {"global_clipnorm": 1.0, "clipnorm": 1.0}),
    ("Adamax", {"beta_2": 1.0}),
    ("Nadam", {"epsilon": 0}),
    ("AdamW", {"weight_decay": None}),
    ("AdamW", {"weight_decay": -0.1}),
]


@pytest.mark.parametrize(("name", "kwargs"), BAD_ARGS)
def test_bad_arguments_raise_the_numpy_twins_error(name, kwargs):
    with pytest.raises(ValueError) as numpy_error:
        getattr(O, name)(**kwargs)
    with pytest.raises(ValueError) as keras_error:
        getattr(K, name)(**kwargs)
    assert str(keras_error.value) == str(numpy_error.value)
    assert list(kwargs)[-1] in str(keras_error.value) or "only one of" in str(keras_error.value)
