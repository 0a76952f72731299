"""NumPy classes mirror Keras: same class names, same argument names, same defaults.

A student who moves from ``optreg.optimizers.Adam`` to ``keras.optimizers.Adam`` (or to our
Keras twin ``optreg.keras.optimizers.Adam``) must not have to relearn anything. For every pair,
each argument of the Keras built-in that the NumPy class accepts has the same default, and the
NumPy class accepts every argument of the built-in that the course teaches.
"""

from __future__ import annotations

import importlib
import inspect

import keras
import pytest

# Arguments of Keras' constructors that are framework plumbing, not part of the algorithm.
PLUMBING = {
    "name",
    "dtype",
    "seed",
    "kwargs",
    "loss_scale_factor",
    "gradient_accumulation_steps",
    "use_ema",
    "ema_momentum",
    "ema_overwrite_frequency",
    "beta_initializer",
    "gamma_initializer",
    "moving_mean_initializer",
    "moving_variance_initializer",
    "beta_regularizer",
    "gamma_regularizer",
    "beta_constraint",
    "gamma_constraint",
    "synchronized",
    "renorm",
    "renorm_clipping",
    "renorm_momentum",
    "rms_scaling",
    "noise_shape",
    "input_axes",
    "output_axes",
}

PAIRS = {
    "optimizers": (
        keras.optimizers,
        ["SGD", "Adagrad", "RMSprop", "Adadelta", "Adam", "Adamax", "Nadam", "AdamW"],
    ),
    "schedules": (
        keras.optimizers.schedules,
        [
            "ExponentialDecay",
            "InverseTimeDecay",
            "PiecewiseConstantDecay",
            "PolynomialDecay",
            "CosineDecay",
            "CosineDecayRestarts",
        ],
    ),
    "initializers": (
        keras.initializers,
        [
            "Zeros",
            "Ones",
            "Constant",
            "RandomNormal",
            "RandomUniform",
            "TruncatedNormal",
            "VarianceScaling",
            "GlorotUniform",
            "GlorotNormal",
            "HeNormal",
            "HeUniform",
            "LecunNormal",
            "LecunUniform",
            "Orthogonal",
        ],
    ),
    "regularizers": (keras.regularizers, ["L1", "L2", "L1L2"]),
    "constraints": (keras.constraints, ["MaxNorm"]),
    "normalization": (
        keras.layers,
        ["BatchNormalization", "LayerNormalization", "GroupNormalization", "RMSNormalization"],
    ),
    "regularization": (keras.layers, ["Dropout"]),
}

CASES = [
    (module, name, keras_module)
    for module, (keras_module, names) in PAIRS.items()
    for name in names
]


def _parameters(cls) -> dict[str, inspect.Parameter]:
    return {
        p.name: p
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.name != "self" and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL)
    }


@pytest.mark.parametrize("module, name, keras_module", CASES, ids=[f"{m}.{n}" for m, n, _ in CASES])
def test_numpy_class_mirrors_keras_names_and_defaults(module, name, keras_module):
    ours = _parameters(getattr(importlib.import_module(f"optreg.{module}"), name))
    theirs = _parameters(getattr(keras_module, name))
    missing = sorted(set(theirs) - set(ours) - PLUMBING)
    assert not missing, f"optreg.{module}.{name} lacks Keras arguments {missing}"
    for arg in set(theirs) & set(ours) - PLUMBING:
        expected, got = theirs[arg].default, ours[arg].default
        assert got == expected, (
            f"optreg.{module}.{name}({arg}=...) defaults to {got!r}, Keras to {expected!r}"
        )


# NumPy module -> module of its Keras twin in optreg.keras (layers live in one package there)
TWIN_MODULE = {"normalization": "layers", "regularization": "layers"}


@pytest.mark.parametrize(
    "module, name", [(m, n) for m, n, _ in CASES], ids=[f"{m}.{n}" for m, n, _ in CASES]
)
def test_keras_twin_has_the_numpy_signature(module, name):
    twin = getattr(importlib.import_module(f"optreg.keras.{TWIN_MODULE.get(module, module)}"), name)
    ours = _parameters(getattr(importlib.import_module(f"optreg.{module}"), name))
    theirs = _parameters(twin)
    for arg in set(ours) & set(theirs) - PLUMBING:
        assert theirs[arg].default == ours[arg].default, (
            f"optreg.keras.{module}.{name}({arg}=...) defaults to {theirs[arg].default!r}, "
            f"its NumPy twin to {ours[arg].default!r}"
        )
    assert not sorted(set(ours) - set(theirs) - PLUMBING), (
        f"optreg.keras.{module}.{name} lacks arguments {sorted(set(ours) - set(theirs))}"
    )


def _ordered(cls) -> list[tuple[str, object]]:
    return [(p.name, p.default) for p in inspect.signature(cls.__init__).parameters.values()
            if p.name != "self"]  # fmt: skip


@pytest.mark.parametrize("module, name, keras_module", CASES, ids=[f"{m}.{n}" for m, n, _ in CASES])
def test_signatures_derived_from_the_declarations_are_keras_in_order(module, name, keras_module):
    """The twin's signature is Keras' (names, order, defaults, ``**kwargs``), less only plumbing
    it leaves out; the NumPy class's is the twin's, less only Keras' plumbing."""
    theirs = getattr(keras_module, name)
    twin = getattr(importlib.import_module(f"optreg.keras.{TWIN_MODULE.get(module, module)}"), name)
    ours = getattr(importlib.import_module(f"optreg.{module}"), name)
    keras_parameters = inspect.signature(theirs.__init__).parameters.values()
    if any(p.kind == p.VAR_POSITIONAL for p in keras_parameters):  # Zeros, Ones: (*args, **kw)
        assert _ordered(twin) == _ordered(ours) == []
        return
    twin_names = {n for n, _ in _ordered(twin)}
    assert _ordered(twin) == [
        (n, d) for n, d in _ordered(theirs) if n in twin_names or n not in PLUMBING
    ]
    numpy_names = {n for n, _ in _ordered(ours)}
    assert _ordered(ours) == [
        (n, d) for n, d in _ordered(twin) if n in numpy_names or n not in PLUMBING
    ]
