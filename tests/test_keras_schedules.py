"""Keras twins of the schedules: equal to Keras' built-ins where Keras has one, and to the NumPy
twins everywhere, over 150 steps; serializable; usable as an optimizer's learning rate."""

from __future__ import annotations

import keras
import numpy as np
import pytest
from keras import ops

from optreg import schedules as np_schedules
from optreg.keras import schedules as k_schedules

STEPS = 150
builtin = keras.optimizers.schedules

# (class name, kwargs); every one of these has a Keras built-in of the same name and arguments.
WITH_BUILTIN = [
    ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=20, decay_rate=0.5)),
    ("ExponentialDecay",
     dict(initial_learning_rate=0.1, decay_steps=20, decay_rate=0.5, staircase=True)),
    ("InverseTimeDecay", dict(initial_learning_rate=0.5, decay_steps=7, decay_rate=0.3)),
    ("InverseTimeDecay",
     dict(initial_learning_rate=0.5, decay_steps=7, decay_rate=0.3, staircase=True)),
    ("PiecewiseConstantDecay", dict(boundaries=[10, 40, 100], values=[1.0, 0.5, 0.1, 0.01])),
    ("PiecewiseConstantDecay", dict(boundaries=[10.5, 40.0], values=[0.3, 0.2, 0.1])),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=60)),
    ("PolynomialDecay",
     dict(initial_learning_rate=0.1, decay_steps=40, end_learning_rate=0.01, power=2.0,
          cycle=True)),
    ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=33, power=0.5)),
    ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=100, alpha=0.1)),
    ("CosineDecay",
     dict(initial_learning_rate=0.0, decay_steps=90, warmup_target=0.2, warmup_steps=30)),
    ("CosineDecay",
     dict(initial_learning_rate=0.05, decay_steps=50, alpha=0.2, warmup_target=0.1,
          warmup_steps=10)),
]  # fmt: skip

WITHOUT_BUILTIN = [
    ("PowerDecay", dict(initial_learning_rate=0.1, decay_steps=10, power=1.0)),
    ("PowerDecay", dict(initial_learning_rate=0.1, decay_steps=25, power=2.5)),
    ("OneCycle", dict(total_steps=120, max_learning_rate=0.5)),
    ("OneCycle", dict(total_steps=101, max_learning_rate=0.3, initial_learning_rate=0.02,
                      final_learning_rate=1e-6, annihilation_fraction=0.25,
                      max_momentum=0.9, min_momentum=0.8)),
    ("OneCycle", dict(total_steps=80, max_learning_rate=0.1, annihilation_fraction=0.0)),
]  # fmt: skip


def _curve(schedule, steps=STEPS):
    """The schedule at steps 0..steps-1, fed as int64 tensors like ``optimizer.iterations``."""
    steps = [ops.convert_to_tensor(t, "int64") for t in range(steps)]
    return np.array([float(ops.convert_to_numpy(schedule(t))) for t in steps])


def _np_curve(schedule, steps=STEPS):
    return np.array([schedule(t) for t in range(steps)])


@pytest.mark.parametrize("name, kwargs", WITH_BUILTIN)
def test_equal_to_keras_builtin_and_numpy_twin(name, kwargs):
    ours = _curve(getattr(k_schedules, name)(**kwargs))
    theirs = _curve(getattr(builtin, name)(**kwargs))
    numpy_twin = _np_curve(getattr(np_schedules, name)(**kwargs))
    # float32 round-off (relative to the curve's scale: cos is computed to ~1e-7 absolute).
    atol = 1e-7 * theirs.max()
    np.testing.assert_allclose(ours, theirs, rtol=2e-6, atol=atol)
    np.testing.assert_allclose(numpy_twin, theirs, rtol=2e-6, atol=atol)
    assert len(np.unique(theirs)) > 2  # the curve really changes over the steps compared


@pytest.mark.parametrize("name, kwargs", WITHOUT_BUILTIN)
def test_equal_to_numpy_twin(name, kwargs):
    ours = _curve(getattr(k_schedules, name)(**kwargs))
    numpy_twin = _np_curve(getattr(np_schedules, name)(**kwargs))
    np.testing.assert_allclose(ours, numpy_twin, rtol=2e-6, atol=1e-9)


def test_power_decay_with_c_1_equals_keras_inverse_time_decay():
    ours = _curve(k_schedules.PowerDecay(0.2, decay_steps=15, power=1.0))
    theirs = _curve(builtin.InverseTimeDecay(0.2, decay_steps=15, decay_rate=1.0))
    np.testing.assert_allclose(ours, theirs, rtol=2e-6)


def test_one_cycle_momentum_equals_numpy_twin():
    kwargs = dict(total_steps=130, max_learning_rate=0.4, annihilation_fraction=0.15)
    ours = k_schedules.OneCycle(**kwargs)
    twin = np_schedules.OneCycle(**kwargs)
    got = [float(ops.convert_to_numpy(ours.momentum(t))) for t in range(STEPS)]
    np.testing.assert_allclose(got, [twin.momentum(t) for t in range(STEPS)], rtol=1e-6)


@pytest.mark.parametrize("name, kwargs", WITH_BUILTIN[::3] + WITHOUT_BUILTIN)
def test_serialization_round_trip(name, kwargs):
    schedule = getattr(k_schedules, name)(**kwargs)
    config = keras.saving.serialize_keras_object(schedule)
    assert config["registered_name"] == f"optreg>{name}"
    restored = keras.saving.deserialize_keras_object(config)
    assert type(restored) is type(schedule)
    assert restored.get_config() == schedule.get_config()
    np.testing.assert_array_equal(_curve(restored, 40), _curve(schedule, 40))


def test_config_matches_numpy_twin_config():
    kwargs = dict(total_steps=50, max_learning_rate=0.1)
    assert (
        k_schedules.OneCycle(**kwargs).get_config() == np_schedules.OneCycle(**kwargs).get_config()
    )


@pytest.mark.parametrize(
    "schedule_kwargs",
    [("ExponentialDecay",
      dict(initial_learning_rate=0.1, decay_steps=5, decay_rate=0.5, staircase=True)),
     ("OneCycle", dict(total_steps=20, max_learning_rate=0.2))],
)  # fmt: skip
def test_optimizer_applies_the_scheduled_rate_at_each_step(schedule_kwargs):
    name, kwargs = schedule_kwargs
    optimizer = keras.optimizers.SGD(learning_rate=getattr(k_schedules, name)(**kwargs))
    w = keras.Variable(np.zeros(3, "float32"))
    before = np.zeros(3)
    steps = []
    for _ in range(30):
        optimizer.apply([ops.ones(3)], [w])  # plain SGD with gradient 1: w -= lr(t)
        now = ops.convert_to_numpy(w)
        steps.append(before[0] - now[0])
        before = now
    expected = _np_curve(getattr(np_schedules, name)(**kwargs), 30)
    np.testing.assert_allclose(steps, expected, rtol=1e-4, atol=1e-7)


def test_model_with_schedule_survives_save_and_load(tmp_path):
    schedule = k_schedules.OneCycle(total_steps=40, max_learning_rate=0.05)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(learning_rate=schedule), "mse")
    x = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")
    model.fit(x, x.sum(1, keepdims=True), batch_size=16, epochs=1, verbose=0)
    model.save(tmp_path / "m.keras")
    loaded = keras.models.load_model(tmp_path / "m.keras")
    restored = loaded.optimizer._learning_rate
    assert isinstance(restored, k_schedules.OneCycle)
    assert restored.get_config() == schedule.get_config()
    assert int(loaded.optimizer.iterations) == 4
    np.testing.assert_allclose(
        float(loaded.optimizer.learning_rate), np_schedules.OneCycle(40, 0.05)(4), rtol=1e-6
    )


@pytest.mark.parametrize(
    "name, kwargs",
    [
        ("ExponentialDecay", dict(initial_learning_rate=0.1, decay_steps=0, decay_rate=0.5)),
        ("InverseTimeDecay", dict(initial_learning_rate=-1, decay_steps=3, decay_rate=0.5)),
        ("PowerDecay", dict(initial_learning_rate=0.1, decay_steps=3, power=-2)),
        ("PiecewiseConstantDecay", dict(boundaries=[5, 5], values=[1, 2, 3])),
        ("PiecewiseConstantDecay", dict(boundaries=[5], values=[1, 2, 3])),
        ("PolynomialDecay", dict(initial_learning_rate=0.1, decay_steps=3, cycle=1)),
        ("CosineDecay", dict(initial_learning_rate=0.1, decay_steps=3, alpha=-0.1)),
        ("OneCycle", dict(total_steps=100, max_learning_rate=0.1, min_momentum=0.97)),
    ],
)
def test_same_errors_as_numpy_twin(name, kwargs):
    with pytest.raises(ValueError) as numpy_error:
        getattr(np_schedules, name)(**kwargs)
    with pytest.raises(ValueError) as keras_error:
        getattr(k_schedules, name)(**kwargs)
    assert str(keras_error.value) == str(numpy_error.value)
