"""Keras twins of the initializers: the same statistics as theory, as the NumPy twins and as
Keras' built-ins; seeds; serialization; shared validation; use inside a ``Dense`` layer.

Tolerances (>= 10^5 samples, fixed seeds), the same as ``test_initializers.py``: standard
deviation within 2% of theory, mean within 5 standard errors, Kolmogorov-Smirnov distance below
the 1% critical value 1.63 / sqrt(n), orthogonality to 1e-5 in float32.
"""

from __future__ import annotations

import math

import keras
import numpy as np
import pytest
from keras.src.initializers.random_initializers import compute_fans as keras_compute_fans
from test_initializers import (
    CONV,
    DENSE,
    assert_moments,
    ks_distance,
    normal_cdf,
    theoretical_variance,
    truncated_normal_cdf,
)

from optreg import initializers as NI
from optreg.keras import initializers as KI

# name, constructor kwargs, (scale, mode, distribution) of the variance-scaling recipe or None
RECIPES = {
    "GlorotUniform": (1.0, "fan_avg", "uniform"),
    "GlorotNormal": (1.0, "fan_avg", "truncated_normal"),
    "HeNormal": (2.0, "fan_in", "truncated_normal"),
    "HeUniform": (2.0, "fan_in", "uniform"),
    "LecunNormal": (1.0, "fan_in", "truncated_normal"),
    "LecunUniform": (1.0, "fan_in", "uniform"),
}
SOURCES = {"numpy": NI, "optreg.keras": KI, "keras": keras.initializers}


def sample(module, name, shape, **kwargs):
    return keras.ops.convert_to_numpy(getattr(module, name)(seed=11, **kwargs)(shape))


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("name", RECIPES)
def test_variance_scaling_statistics(name, source, shape):
    scale, mode, distribution = RECIPES[name]
    w = sample(SOURCES[source], name, shape)
    assert w.shape == shape and w.dtype == np.float32
    std = math.sqrt(theoretical_variance(scale, mode, shape))
    assert_moments(w, 0.0, std)
    if distribution == "uniform":
        limit = math.sqrt(3.0) * std
        assert np.abs(w).max() <= limit * (1 + 1e-6)
        assert ks_distance(w, lambda x: (x + limit) / (2 * limit)) < 1.63 / math.sqrt(w.size)
    else:
        sigma = std / NI.TRUNCATED_NORMAL_STDDEV_FACTOR
        assert np.abs(w).max() <= 2 * sigma * (1 + 1e-6)  # truncated at 2 sigma
        assert np.abs(w).max() > 0.999 * 2 * sigma
        dist = ks_distance(w, lambda x: truncated_normal_cdf(x, sigma))
        assert dist < 1.63 / math.sqrt(w.size)


@pytest.mark.parametrize("source", SOURCES)
def test_plain_distributions(source):
    module = SOURCES[source]
    w = sample(module, "RandomNormal", DENSE, mean=0.5, stddev=2.0)
    assert_moments(w, 0.5, 2.0)
    assert ks_distance(w, lambda x: normal_cdf((x - 0.5) / 2.0)) < 1.63 / math.sqrt(w.size)

    w = sample(module, "RandomUniform", DENSE, minval=-1.0, maxval=3.0)
    assert w.min() >= -1.0 and w.max() < 3.0
    assert_moments(w, 1.0, 4.0 / math.sqrt(12.0))

    w = sample(module, "TruncatedNormal", DENSE, mean=1.0, stddev=0.5)
    assert w.min() >= 0.0 and w.max() <= 2.0
    assert_moments(w, 1.0, 0.5 * NI.TRUNCATED_NORMAL_STDDEV_FACTOR)

    w = sample(
        module,
        "VarianceScaling",
        CONV,
        scale=3.0,
        mode="fan_out",
        distribution="untruncated_normal",
    )
    std = math.sqrt(theoretical_variance(3.0, "fan_out", CONV))
    assert_moments(w, 0.0, std)
    assert ks_distance(w, lambda x: normal_cdf(x / std)) < 1.63 / math.sqrt(w.size)


@pytest.mark.parametrize("source", SOURCES)
@pytest.mark.parametrize("shape", [(64, 32), (32, 64), (3, 3, 8, 40)])
def test_orthogonal(source, shape):
    w = sample(SOURCES[source], "Orthogonal", shape, gain=2.0).reshape(-1, shape[-1])
    gram = w @ w.T if w.shape[0] < w.shape[1] else w.T @ w
    np.testing.assert_allclose(gram, 4.0 * np.eye(gram.shape[0]), atol=4e-5)


@pytest.mark.parametrize("shape", [(), (7,), (5, 3), (5, 8, 32), (3, 3, 16, 32), (2, 3, 3, 4, 6)])
def test_fans_equal_keras(shape):
    assert NI.compute_fans(shape) == keras_compute_fans(shape)


def test_constant_initializers():
    np.testing.assert_array_equal(KI.Zeros()((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(KI.Ones()((4,)), np.ones(4))
    w = keras.ops.convert_to_numpy(KI.Constant(2.5)((3, 2), dtype="float64"))
    assert w.dtype == np.float64 and np.all(w == 2.5)


def test_dtypes():
    assert keras.ops.convert_to_numpy(KI.HeNormal(seed=0)((3, 4), "float64")).dtype == np.float64
    with pytest.raises(ValueError, match="dtype"):
        KI.HeNormal(seed=0)((3, 4), dtype="int32")


@pytest.mark.parametrize(
    "name",
    ["RandomNormal", "RandomUniform", "TruncatedNormal", "HeNormal", "GlorotUniform", "Orthogonal"],
)
def test_seeds(name):
    cls = getattr(KI, name)

    def values(init):
        return keras.ops.convert_to_numpy(init((10, 10)))

    a = cls(seed=42)
    np.testing.assert_array_equal(values(a), values(cls(seed=42)))
    np.testing.assert_array_equal(values(a), values(a))  # an int seed: same values each call
    assert not np.array_equal(values(a), values(cls(seed=43)))
    unseeded = cls()
    np.testing.assert_array_equal(values(unseeded), values(unseeded))
    assert not np.array_equal(values(unseeded), values(cls()))
    generator = cls(seed=keras.random.SeedGenerator(3))  # a generator: new values each call
    assert not np.array_equal(values(generator), values(generator))


@pytest.mark.parametrize(
    "init",
    [
        KI.RandomNormal(1.0, 2.0, seed=1),
        KI.RandomUniform(-2.0, 1.0, seed=2),
        KI.TruncatedNormal(0.0, 3.0, seed=3),
        KI.VarianceScaling(2.0, "fan_out", "uniform", seed=4),
        KI.HeUniform(seed=5),
        KI.GlorotNormal(seed=8),
        KI.Orthogonal(2.0, seed=6),
        KI.Constant(4.0),
        KI.Zeros(),
    ],
    ids=lambda i: type(i).__name__,
)
def test_serialization_round_trip(init):
    config = keras.saving.serialize_keras_object(init)
    assert config["registered_name"] == f"optreg>{type(init).__name__}"
    clone = keras.saving.deserialize_keras_object(config)
    assert type(clone) is type(init)
    assert clone.get_config() == init.get_config()
    np.testing.assert_array_equal(clone((6, 5)), init((6, 5)))


def test_configs_match_numpy_twins_and_keras():
    for name in [
        "RandomNormal",
        "RandomUniform",
        "TruncatedNormal",
        "VarianceScaling",
        "HeNormal",
        "GlorotUniform",
        "Orthogonal",
        "Constant",
    ]:
        ours = getattr(KI, name)().get_config()
        assert ours == getattr(NI, name)().get_config()
        assert ours == getattr(keras.initializers, name)().get_config()


BAD = [
    ("RandomNormal", {"stddev": 0.0}, "stddev must be > 0"),
    ("TruncatedNormal", {"stddev": -1.0}, "stddev must be > 0"),
    ("RandomUniform", {"minval": 1.0, "maxval": 1.0}, "minval must be < maxval"),
    ("VarianceScaling", {"scale": 0.0}, "scale must be > 0"),
    ("VarianceScaling", {"mode": "fan_sum"}, "mode must be one of"),
    ("VarianceScaling", {"distribution": "cauchy"}, "distribution must be one of"),
    ("HeNormal", {"seed": -1}, "seed"),
    ("Orthogonal", {"gain": 0.0}, "gain must be > 0"),
    ("Constant", {"value": [1.0, 2.0]}, "value must be a finite real scalar"),
]


@pytest.mark.parametrize("name, kwargs, match", BAD, ids=[f"{b[0]}-{b[1]}" for b in BAD])
def test_bad_arguments_raise_the_same_error_as_the_numpy_twin(name, kwargs, match):
    with pytest.raises(ValueError, match=match) as ours:
        getattr(KI, name)(**kwargs)
    with pytest.raises(ValueError) as numpy_twin:
        getattr(NI, name)(**kwargs)
    assert str(ours.value) == str(numpy_twin.value)


@pytest.mark.parametrize("shape", [(0, 3), (3, -1)])
def test_bad_shapes(shape):
    with pytest.raises(ValueError, match="shape"):
        KI.HeNormal(seed=0)(shape)
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        KI.Orthogonal(seed=0)((5,))


def test_used_as_kernel_initializer_in_dense():
    layer = keras.layers.Dense(
        300, kernel_initializer=KI.HeNormal(seed=0), bias_initializer=KI.Constant(0.1)
    )
    layer.build((None, 400))
    kernel = layer.kernel.numpy()
    assert_moments(kernel, 0.0, math.sqrt(2.0 / 400))
    np.testing.assert_array_equal(layer.bias.numpy(), np.float32(0.1))
