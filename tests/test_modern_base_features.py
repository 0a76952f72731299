"""Keras' base features in the NumPy optimizers, equal to Keras': ``exclude_from_weight_decay``,
``use_ema`` / ``ema_momentum`` / ``ema_overwrite_frequency`` (and ``finalize_variable_values``),
``gradient_accumulation_steps``, and a zero-argument callable ``learning_rate``.

Each case runs 60 steps of the NumPy class and of ``keras.optimizers.<Name>`` on the same
gradients (tensors of rank 1, 2, 3; one named "bias"), float32; tolerance rtol = atol = 2e-6
(element-wise rules) or 2e-5 (whole-tensor rules), as in test_modern_optimizers.py.
"""

from __future__ import annotations

import keras
import numpy as np
import pytest
import tensorflow as tf

from optreg import optimizers as O
from optreg.keras import optimizers as K

STEPS = 60
SHAPES = [(7,), (4, 5), (2, 3, 4)]
NAMES = ["bias", "kernel", "conv_kernel"]


def make_problem(seed: int = 0):
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=s).astype(np.float32) for s in SHAPES]
    grads = [
        [
            (c * rng.normal(size=s)).astype(np.float32)
            for s, c in zip(SHAPES, [0.1, 1, 3], strict=True)
        ]
        for _ in range(STEPS)
    ]
    return init, grads


CASES = [
    ("SGD", {"learning_rate": 0.05, "momentum": 0.9, "use_ema": True}),
    (
        "Adam",
        {"learning_rate": 0.05, "use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 7},
    ),
    ("Adam", {"learning_rate": 0.05, "gradient_accumulation_steps": 3}),
    (
        "RMSprop",
        {
            "learning_rate": 0.01,
            "gradient_accumulation_steps": 4,
            "clipnorm": 1.0,
            "weight_decay": 0.1,
        },
    ),
    (
        "Nadam",
        {
            "learning_rate": 0.02,
            "gradient_accumulation_steps": 2,
            "use_ema": True,
            "ema_overwrite_frequency": 5,
        },
    ),
    ("AdamW", {"learning_rate": 0.05, "weight_decay": 0.2, "exclude": {"var_names": ["bias"]}}),
    ("SGD", {"learning_rate": 0.05, "weight_decay": 0.3, "exclude": {"var_list": [2]}}),
    (
        "Lion",
        {
            "learning_rate": 0.01,
            "weight_decay": 0.5,
            "exclude": {"var_names": ["ker"]},
            "use_ema": True,
        },
    ),
    ("Lamb", {"learning_rate": 0.01, "gradient_accumulation_steps": 3, "weight_decay": 0.1}),
    ("Adafactor", {"learning_rate": 0.1, "use_ema": True, "ema_momentum": 0.5}),
    (
        "Muon",
        {
            "learning_rate": 0.02,
            "exclude": {"var_names": ["conv"]},
            "gradient_accumulation_steps": 2,
        },
    ),
    (
        "ScheduleFreeAdamW",
        {"learning_rate": 0.01, "use_ema": True, "gradient_accumulation_steps": 2},
    ),
    ("Ftrl", {"learning_rate": 0.1, "weight_decay": 0.1, "exclude": {"var_names": ["bias"]}}),
]
IDS = [f"{n}-{'-'.join(a)}" for n, a in CASES]


def _exclude(optimizer, exclude, variables):
    if exclude:
        var_list = [variables[i] for i in exclude.get("var_list", [])]
        optimizer.exclude_from_weight_decay(var_list=var_list, var_names=exclude.get("var_names"))


def run_both(name, kwargs, traced=True):
    kwargs = dict(kwargs)
    exclude = kwargs.pop("exclude", None)
    init, grads = make_problem()
    builtin = getattr(keras.optimizers, name)(**kwargs)
    variables = [keras.Variable(w, name=n) for w, n in zip(init, NAMES, strict=True)]
    _exclude(builtin, exclude, variables)
    builtin.build(variables)

    def step(g):
        builtin.apply(g, variables)

    apply = tf.function(step) if traced else step
    params = [w.copy() for w in init]
    ours = getattr(O, name)(**kwargs)
    _exclude(ours, exclude, params)
    ours.build(params, NAMES)
    for g in grads:
        apply([tf.constant(x) for x in g])
        ours.apply(g, params)
    return builtin, variables, ours, params, init


@pytest.mark.parametrize(("name", "kwargs"), CASES, ids=IDS)
def test_base_features_equal_keras(name, kwargs):
    builtin, variables, ours, params, init = run_both(name, kwargs)
    tolerance = 2e-6 if getattr(O, name).elementwise else 2e-5
    for v, p in zip(variables, params, strict=True):
        np.testing.assert_allclose(p, v.numpy(), rtol=tolerance, atol=tolerance)
    assert ours.iterations == int(builtin.iterations.numpy())  # updates: STEPS // k
    assert ours.calls == STEPS
    builtin.finalize_variable_values(variables)
    ours.finalize_variable_values(params)
    for v, p in zip(variables, params, strict=True):
        np.testing.assert_allclose(p, v.numpy(), rtol=tolerance, atol=tolerance)
    assert max(np.max(np.abs(p - w)) for p, w in zip(params, init, strict=True)) > 0.01


def test_each_feature_changes_the_result():
    """The features are not no-ops: each case differs from the same run without it."""

    def final(name, kwargs):
        return run_both(name, kwargs)[3]

    plain = final("Adam", {"learning_rate": 0.05, "weight_decay": 0.2})
    for extra in (
        {"use_ema": True, "ema_overwrite_frequency": 10},  # the average replaces the weights
        {"gradient_accumulation_steps": 3},
        {"exclude": {"var_names": ["bias"]}},
    ):
        changed = final("Adam", {"learning_rate": 0.05, "weight_decay": 0.2, **extra})
        assert max(np.max(np.abs(a - b)) for a, b in zip(plain, changed, strict=True)) > 1e-3
    excluded = final(
        "AdamW", {"learning_rate": 0.05, "weight_decay": 0.2, "exclude": {"var_names": ["bias"]}}
    )
    undecayed = final("Adam", {"learning_rate": 0.05})
    np.testing.assert_allclose(excluded[0], undecayed[0], rtol=2e-6, atol=2e-6)  # bias: no decay


def test_zero_argument_callable_learning_rate_is_called_at_every_step_as_keras():
    rate = {"value": 0.1}

    def learning_rate():
        return rate["value"]

    init, grads = make_problem()
    builtin = keras.optimizers.Adam(learning_rate=learning_rate)
    twin = K.Adam(learning_rate=learning_rate)
    ours = O.Adam(learning_rate=learning_rate)
    variables = [[keras.Variable(w) for w in init] for _ in range(2)]
    params = [w.copy() for w in init]
    for step, g in enumerate(grads):
        rate["value"] = 0.1 / (1 + step)  # changes between steps: must be read each time
        builtin.apply([tf.constant(x) for x in g], variables[0])
        twin.apply([tf.constant(x) for x in g], variables[1])
        ours.apply(g, params)
    for a, b, p in zip(*variables, params, strict=True):
        np.testing.assert_allclose(b.numpy(), a.numpy(), rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(p, a.numpy(), rtol=2e-6, atol=2e-6)
    assert ours.current_learning_rate() == rate["value"]
    # a callable of the step is still a schedule: called with iterations
    assert O.Adam(learning_rate=lambda step: 0.1 * 0.5**step).current_learning_rate() == 0.1


def test_twins_pass_the_base_features_to_keras():
    features = {"use_ema": True, "ema_momentum": 0.9, "ema_overwrite_frequency": 3,
                "gradient_accumulation_steps": 2}  # fmt: skip
    twin, ours = K.Adam(**features).get_config(), O.Adam(**features).get_config()
    assert {k: twin[k] for k in features} == features
    assert twin.keys() >= ours.keys()
    for key in ours.keys() - {"name", "learning_rate"}:
        assert twin[key] == ours[key], key
    assert twin["learning_rate"] == pytest.approx(ours["learning_rate"])  # Keras keeps float32


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"gradient_accumulation_steps": 1}, "gradient_accumulation_steps must be an integer >= 2"),
        ({"ema_momentum": 1.5}, "ema_momentum must be in [0, 1]"),
        ({"ema_overwrite_frequency": 0}, "ema_overwrite_frequency must be an integer >= 1"),
        ({"use_ema": "yes"}, "use_ema must be True or False"),
    ],
)
def test_bad_base_arguments_are_refused(kwargs, message):
    import re

    for cls in (O.Adam, K.Adam):
        with pytest.raises(ValueError, match=re.escape(message)):
            cls(**kwargs)


def test_exclude_from_weight_decay_only_before_the_first_step():
    opt = O.AdamW()
    opt.apply([np.ones(3)], [np.ones(3)])
    with pytest.raises(ValueError, match="before the first step"):
        opt.exclude_from_weight_decay(var_names=["bias"])
