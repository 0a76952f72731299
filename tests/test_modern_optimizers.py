"""Lion, Lamb, Adafactor, Muon, Schedule-Free AdamW and Ftrl: NumPy classes and Keras twins,
step for step equal to Keras 3's built-ins.

Each case runs 60 steps on tensors of rank 1, 2 and 3 (and, for Muon, a tall matrix and an
"embedding"), for every argument that changes the algorithm. Tolerances: the Keras twins perform
the built-ins' float32 operations (rtol = atol = 1e-6, a few ulps after 60 steps); the NumPy
classes order a few operations differently and sum in another order (TensorFlow's reductions
and matrix products vs NumPy's), which Lamb's norms, Adafactor's means and Muon's Newton-Schulz
products amplify a little: rtol = atol = 2e-5 for those, 2e-6 for the element-wise rules. The
largest errors measured are printed by ``python tests/test_modern_optimizers.py``.
"""

from __future__ import annotations

import inspect
import re

import keras
import numpy as np
import pytest
import tensorflow as tf

from optreg import optimizers as O
from optreg.keras import optimizers as K

STEPS = 60
SHAPES = [(7,), (4, 5), (2, 3, 4)]
#: Muon's problem: a vector, a wide and a tall matrix, a rank-3 kernel, an embedding table
MUON_SHAPES = [(7,), (4, 5), (6, 3), (2, 3, 4), (5, 4)]
MUON_NAMES = ["bias", "dense_kernel", "tall_kernel", "conv_kernel", "embedding_table"]
NEW = ["Lion", "Lamb", "Adafactor", "Muon", "ScheduleFreeAdamW", "Ftrl"]
ELEMENTWISE = {"Lion", "ScheduleFreeAdamW", "Ftrl"}
SCHEDULE = "schedule"

PARITY = [
    ("Lion", {"learning_rate": 0.01}),
    ("Lion", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "weight_decay": 0.1}),
    ("Lion", {"learning_rate": SCHEDULE, "beta_1": 1.0, "clipnorm": 1.0}),
    ("Lamb", {"learning_rate": 0.01}),
    ("Lamb", {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "weight_decay": 0.1}),
    ("Lamb", {"learning_rate": SCHEDULE, "epsilon": 1e-3, "global_clipnorm": 1.0}),
    ("Adafactor", {"learning_rate": 0.01}),
    ("Adafactor", {"learning_rate": 0.5, "clip_threshold": 0.1}),
    ("Adafactor", {"learning_rate": 0.5, "relative_step": False}),
    ("Adafactor", {"learning_rate": 0.05, "relative_step": False, "clip_threshold": 10.0}),
    (
        "Adafactor",
        {"learning_rate": SCHEDULE, "beta_2_decay": -0.5, "epsilon_2": 0.1, "weight_decay": 0.1},
    ),
    ("Muon", {}),
    ("Muon", {"learning_rate": 0.01}),
    ("Muon", {"learning_rate": 0.01, "ns_steps": 1, "nesterov": False, "rms_rate": None}),
    ("Muon", {"learning_rate": 0.01, "exclude_embeddings": False, "exclude_layers": ["tall"]}),
    (
        "Muon",
        {
            "learning_rate": 0.02,
            "adam_lr_ratio": 0.1,
            "adam_weight_decay": 0.1,
            "weight_decay": 0.2,
            "adam_beta_1": 0.5,
            "adam_beta_2": 0.9,
            "epsilon": 1e-3,
        },
    ),
    (
        "Muon",
        {
            "learning_rate": SCHEDULE,
            "momentum": 0.5,
            "ns_steps": 10,
            "muon_a": 2.0,
            "muon_b": -1.5,
            "muon_c": 0.5,
            "clipvalue": 0.5,
        },
    ),
    ("ScheduleFreeAdamW", {}),
    ("ScheduleFreeAdamW", {"learning_rate": 0.01, "warmup_steps": 10}),
    (
        "ScheduleFreeAdamW",
        {"learning_rate": 0.01, "beta_1": 0.5, "beta_2": 0.9, "epsilon": 1e-6, "weight_decay": 0.1},
    ),
    ("ScheduleFreeAdamW", {"learning_rate": SCHEDULE, "warmup_steps": 100, "clipnorm": 1.0}),
    ("Ftrl", {"learning_rate": 0.1}),
    ("Ftrl", {"learning_rate": 0.1, "l1_regularization_strength": 0.05}),
    ("Ftrl", {"learning_rate": 0.1, "l2_regularization_strength": 0.5}),
    ("Ftrl", {"learning_rate": 0.1, "l2_shrinkage_regularization_strength": 0.1}),
    ("Ftrl", {"learning_rate": 0.1, "learning_rate_power": -0.3}),
    ("Ftrl", {"learning_rate": 0.1, "learning_rate_power": 0.0, "initial_accumulator_value": 0.5}),
    (
        "Ftrl",
        {
            "learning_rate": SCHEDULE,
            "beta": 0.5,
            "l1_regularization_strength": 0.01,
            "l2_regularization_strength": 0.01,
            "l2_shrinkage_regularization_strength": 0.01,
            "weight_decay": 0.05,
        },
    ),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in a.items())}" for n, a in PARITY]


def numpy_schedule(step: int) -> float:
    return 0.05 * 0.5 ** (step / 20)


def with_schedule(kwargs: dict, schedule) -> dict:
    return {k: schedule() if v == SCHEDULE else v for k, v in kwargs.items()}


def make_problem(name: str, steps: int = STEPS, seed: int = 0):
    shapes = MUON_SHAPES if name == "Muon" else SHAPES
    names = MUON_NAMES if name == "Muon" else [f"w{i}" for i in range(len(shapes))]
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=s).astype(np.float32) for s in shapes]
    scales = [0.1, 1.0, 3.0, 0.5, 2.0][: len(shapes)]  # some under clipnorm=1, some over
    grads = [
        [(c * rng.normal(size=s)).astype(np.float32) for s, c in zip(shapes, scales, strict=True)]
        for _ in range(steps)
    ]
    return init, grads, names


def run_keras(optimizers, init, grads, names):
    """Each optimizer takes the same steps on its own copy, in one traced function."""
    copies = [
        [keras.Variable(w, name=n) for w, n in zip(init, names, strict=True)] for _ in optimizers
    ]
    for optimizer, variables in zip(optimizers, copies, strict=True):
        optimizer.build(variables)

    @tf.function
    def step(g):
        for optimizer, variables in zip(optimizers, copies, strict=True):
            optimizer.apply(g, variables)

    for g in grads:
        step([tf.constant(x) for x in g])
    return copies


def run_numpy(optimizer, init, grads, names):
    params = [w.copy() for w in init]
    optimizer.build(params, names)
    for g in grads:
        optimizer.apply(g, params)
    return params


def parity_errors(name: str, kwargs: dict) -> dict[str, float]:
    """Largest |difference| of the weights after STEPS steps: twin vs built-in, NumPy vs built-in,
    and the largest move (so that the comparison is not between two unmoved copies)."""
    keras_schedule = lambda: keras.optimizers.schedules.ExponentialDecay(0.05, 20, 0.5)  # noqa: E731
    init, grads, names = make_problem(name)
    ours = getattr(K, name)(**with_schedule(kwargs, keras_schedule))
    builtin = getattr(keras.optimizers, name)(**with_schedule(kwargs, keras_schedule))
    ours_vars, builtin_vars = run_keras([ours, builtin], init, grads, names)
    reference = [v.numpy() for v in builtin_vars]
    numpy_params = run_numpy(
        getattr(O, name)(**with_schedule(kwargs, lambda: numpy_schedule)), init, grads, names
    )
    assert len(ours.variables) == len(builtin.variables)  # the same state, one for one
    state = max(
        (
            float(np.max(np.abs(a.numpy() - b.numpy()), initial=0))
            for a, b in zip(ours.variables, builtin.variables, strict=True)
        ),
        default=0.0,
    )
    return {
        "keras_twin": max(
            float(np.max(np.abs(v.numpy() - r))) for v, r in zip(ours_vars, reference, strict=True)
        ),
        "keras_state": state,
        "numpy": max(
            float(np.max(np.abs(p - r))) for p, r in zip(numpy_params, reference, strict=True)
        ),
        "moved": max(float(np.max(np.abs(r - w))) for r, w in zip(reference, init, strict=True)),
        "scale": max(float(np.max(np.abs(r))) for r in reference),
    }


@pytest.mark.parametrize(("name", "kwargs"), PARITY, ids=IDS)
def test_parity_with_keras_builtin(name, kwargs):
    errors = parity_errors(name, kwargs)
    scale = max(1.0, errors["scale"])
    assert errors["keras_twin"] <= 1e-6 * scale, errors
    assert errors["keras_state"] <= 1e-6 * max(1.0, scale), errors
    numpy_tolerance = 2e-6 if name in ELEMENTWISE else 2e-5
    assert errors["numpy"] <= numpy_tolerance * scale, errors
    assert errors["moved"] > 0.01, errors


if __name__ == "__main__":  # the table of measured errors
    for (name, kwargs), case in zip(PARITY, IDS, strict=True):
        e = parity_errors(name, kwargs)
        print(
            f"{case:110s} twin {e['keras_twin']:.1e} state {e['keras_state']:.1e} "
            f"numpy {e['numpy']:.1e} moved {e['moved']:.2f}"
        )


# --------------------------------------------------------------------------------------------
# Names, arguments and defaults as Keras'; configs; registration
# --------------------------------------------------------------------------------------------
PLUMBING = {
    "name",
    "kwargs",
    "loss_scale_factor",
    "gradient_accumulation_steps",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
}


def _parameters(cls) -> dict[str, object]:
    return {
        p.name: p.default
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }


@pytest.mark.parametrize("name", NEW)
def test_numpy_class_and_twin_take_keras_arguments_and_defaults(name):
    theirs = {
        k: v for k, v in _parameters(getattr(keras.optimizers, name)).items() if k not in PLUMBING
    }
    for cls in (getattr(O, name), getattr(K, name)):
        ours = {k: v for k, v in _parameters(cls).items() if k not in PLUMBING}
        assert ours == theirs, f"{cls.__module__}.{name}"


@pytest.mark.parametrize("name", NEW)
def test_twin_is_registered_and_round_trips_its_config(name):
    cls = getattr(K, name)
    assert keras.saving.get_registered_name(cls) == f"optreg>{name}"
    assert not issubclass(cls, getattr(keras.optimizers, name))
    optimizer = cls(learning_rate=0.02)
    restored = keras.optimizers.deserialize(keras.optimizers.serialize(optimizer))
    assert type(restored) is cls and restored.get_config() == optimizer.get_config()
    # the built-in's config (its keys) is accepted by the twin and by the NumPy class
    builtin = getattr(keras.optimizers, name)(learning_rate=0.02).get_config()
    own = {k: v for k, v in builtin.items() if k not in {"name", "loss_scale_factor"}}
    assert getattr(O, name)(**own).get_config() == {"name": getattr(O, name)().name, **own}


BAD = [
    ("Lion", {"beta_1": 0.0}, "beta_1 must be in (0, 1]"),
    ("Lion", {"beta_2": 1.0}, "beta_2 must be in [0, 1)"),
    ("Adafactor", {"beta_2_decay": 0.5}, "beta_2_decay must be < 0"),
    ("Muon", {"ns_steps": 2.5}, "ns_steps must be an integer >= 0"),
    ("Muon", {"exclude_layers": "dense"}, "exclude_layers must be a list"),
    ("ScheduleFreeAdamW", {"warmup_steps": -1}, "warmup_steps must be an integer >= 0"),
    ("Ftrl", {"learning_rate_power": 0.5}, "learning_rate_power must be <= 0"),
    ("Ftrl", {"l1_regularization_strength": -1.0}, "l1_regularization_strength must be >= 0"),
]


@pytest.mark.parametrize(("name", "kwargs", "message"), BAD)
def test_bad_arguments_are_refused_by_both(name, kwargs, message):
    for cls in (getattr(O, name), getattr(K, name)):
        with pytest.raises(ValueError, match=re.escape(message)):
            cls(**kwargs)


# --------------------------------------------------------------------------------------------
# What each algorithm is for, checked against its definition rather than against Keras
# --------------------------------------------------------------------------------------------
def test_lion_moves_every_coordinate_by_exactly_the_learning_rate():
    w = np.zeros(5, np.float32)
    opt = O.Lion(learning_rate=0.01)
    opt.apply([np.array([3.0, -1e-6, 2.0, -50.0, 0.5], np.float32)], [w])
    np.testing.assert_array_equal(w, np.float32(0.01) * np.array([-1, 1, -1, 1, -1], np.float32))
    assert len(opt.state[0]) == 1  # one state array, where Adam keeps two


def test_adafactor_keeps_row_and_column_means_for_a_matrix():
    opt = O.Adafactor()
    opt.apply([np.ones((2, 30, 40), np.float32)], [np.ones((2, 30, 40), np.float32)])
    assert opt.state[0]["r"].shape == (2, 30) and opt.state[0]["c"].shape == (2, 40)
    # at t = 1 the decay is 0: r and c are the row and column means of g^2 + epsilon_1
    g = np.random.default_rng(0).normal(size=(3, 4))
    opt = O.Adafactor()
    opt.apply([g], [np.ones((3, 4))])
    np.testing.assert_allclose(opt.state[0]["r"], (g**2 + 1e-30).mean(axis=1))
    np.testing.assert_allclose(opt.state[0]["c"], (g**2 + 1e-30).mean(axis=0))


def test_lamb_step_is_the_learning_rate_times_the_weights_norm():
    w = np.random.default_rng(1).normal(size=(6, 3))
    before = w.copy()
    O.Lamb(learning_rate=0.01).apply([np.random.default_rng(2).normal(size=(6, 3))], [w])
    np.testing.assert_allclose(np.linalg.norm(w - before), 0.01 * np.linalg.norm(before))


def test_newton_schulz_brings_every_singular_value_near_one():
    # singular values spread over a factor of ~200 all end in the quintic's band [0.68, 1.2]
    u = np.random.default_rng(3).normal(size=(20, 10)) * np.logspace(-2, 0, 10)
    before = np.linalg.svd(u, compute_uv=False)
    after = np.linalg.svd(O.Muon().newton_schulz(u), compute_uv=False)
    assert before.max() / before.min() > 100
    assert after.min() > 0.65 and after.max() < 1.25, after
    # the same for a tall matrix (transposed inside) and one Newton-Schulz step does less
    tall = np.linalg.svd(O.Muon().newton_schulz(u.T.copy()), compute_uv=False)
    np.testing.assert_allclose(tall, after, rtol=1e-10)
    one = np.linalg.svd(O.Muon(ns_steps=1).newton_schulz(u), compute_uv=False)
    assert one.min() < 0.2


def test_muon_sends_vectors_kernels_embeddings_and_excluded_layers_to_adamw():
    init, _, names = make_problem("Muon")
    opt = O.Muon(exclude_layers=["tall"])
    opt.build([w.copy() for w in init], names)
    assert opt.adamw == [True, False, True, True, True]
    builtin = keras.optimizers.Muon(exclude_layers=["tall"])
    assert [
        builtin._should_use_adamw(keras.Variable(w, name=n))
        for w, n in zip(init, names, strict=True)
    ] == opt.adamw


def test_ftrl_l1_sets_weights_exactly_to_zero():
    rng = np.random.default_rng(4)
    w = rng.normal(size=1000)
    opt = O.Ftrl(learning_rate=0.1, l1_regularization_strength=0.5)
    for _ in range(20):
        opt.apply([0.2 * rng.normal(size=1000) + 0.01 * w], [w])
    z = opt.state[0]["z"]
    assert np.all(w[np.abs(z) <= 0.5] == 0) and 0.2 < np.mean(w == 0) < 1


def test_schedule_free_eval_weights_equal_in_numpy_twin_and_builtin():
    init, grads, names = make_problem("ScheduleFreeAdamW")
    ours, builtin = K.ScheduleFreeAdamW(0.01), keras.optimizers.ScheduleFreeAdamW(0.01)
    ours_vars, builtin_vars = run_keras([ours, builtin], init, grads, names)
    numpy = O.ScheduleFreeAdamW(0.01)
    params = run_numpy(numpy, init, grads, names)
    z = [v.numpy() for v in builtin.variables if "momentum" in v.path]
    expected = [(y.numpy() - 0.1 * z_) / 0.9 for y, z_ in zip(builtin_vars, z, strict=True)]
    for a, b, c in zip(
        numpy.eval_weights(params), ours.eval_weights(ours_vars), expected, strict=True
    ):
        np.testing.assert_allclose(a, c, rtol=2e-5, atol=2e-5)
        np.testing.assert_allclose(np.asarray(b), c, rtol=1e-6, atol=1e-6)
    # the average x lags behind y: it is a different set of weights
    assert max(np.max(np.abs(x - y)) for x, y in zip(expected, params, strict=True)) > 1e-3
