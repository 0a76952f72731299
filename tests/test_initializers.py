"""NumPy initializers: fans, statistics against theory, truncation, orthogonality, seeds, look-up
and bad input.

Tolerances (samples of at least 10^5 values, fixed seeds):
- standard deviation within 2% of theory (the sampling error of a std is ~0.3% here);
- mean within 5 standard errors (sigma / sqrt(n)) of theory;
- Kolmogorov-Smirnov distance to the theoretical CDF below 1.63 / sqrt(n) (the 1% critical value);
- orthogonality ``W^T W = gain^2 I`` to 1e-5 in float32 and 1e-12 in float64.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from optreg import initializers as I

DENSE = (400, 300)  # 120,000 weights: fan_in 400, fan_out 300
CONV = (3, 3, 128, 96)  # 110,592 weights: fan_in 9*128 = 1152, fan_out 9*96 = 864

_erf = np.vectorize(math.erf)


def normal_cdf(x):
    return 0.5 * (1.0 + _erf(np.asarray(x) / math.sqrt(2.0)))


def truncated_normal_cdf(x, sigma):
    """CDF of N(0, sigma^2) restricted to [-2 sigma, 2 sigma]."""
    lo, hi = normal_cdf(-2.0), normal_cdf(2.0)
    return np.clip((normal_cdf(np.asarray(x) / sigma) - lo) / (hi - lo), 0.0, 1.0)


def ks_distance(samples, cdf):
    """Largest gap between the empirical CDF of ``samples`` and ``cdf``."""
    x = np.sort(np.ravel(samples).astype(np.float64))
    n = x.size
    f = cdf(x)
    return max(np.max(np.arange(1, n + 1) / n - f), np.max(f - np.arange(n) / n))


def assert_moments(w, mean, std):
    n = w.size
    assert n >= 100_000
    assert abs(w.mean() - mean) < 5 * std / math.sqrt(n), (w.mean(), mean)
    assert w.std() == pytest.approx(std, rel=0.02)


# --- fans --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape, fans",
    [
        ((), (1, 1)),
        ((7,), (7, 7)),
        ((5, 3), (5, 3)),  # Dense kernel (n_in, n_out)
        ((5, 8, 32), (5 * 8, 5 * 32)),  # Conv1D kernel (k, c_in, c_out)
        ((3, 3, 16, 32), (9 * 16, 9 * 32)),  # Conv2D: receptive field 3x3
        ((2, 3, 3, 4, 6), (18 * 4, 18 * 6)),  # Conv3D
    ],
)
def test_compute_fans_by_hand(shape, fans):
    assert I.compute_fans(shape) == fans


def test_compute_fans_with_explicit_axes():
    # EinsumDense-like kernel (in=4, heads=2, out=8): fan_in over axis 0, fan_out over 1 and 2
    assert I.compute_fans((4, 2, 8), input_axes=[0], output_axes=[1, 2]) == (4, 16)


def test_truncation_constant_is_the_std_of_a_standard_normal_cut_at_two():
    # Var of N(0,1) restricted to [-a, a] = 1 - 2 a phi(a) / (Phi(a) - Phi(-a)), with a = 2
    phi2 = math.exp(-2.0) / math.sqrt(2 * math.pi)
    mass = math.erf(2.0 / math.sqrt(2.0))
    assert math.sqrt(1.0 - 2 * 2.0 * phi2 / mass) == pytest.approx(
        I.TRUNCATED_NORMAL_STDDEV_FACTOR, abs=1e-12
    )


# --- variance scaling family ---------------------------------------------------------------------
def theoretical_variance(scale, mode, shape):
    fan_in, fan_out = I.compute_fans(shape)
    n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    return scale / n


NAMED = [
    (I.GlorotUniform, 1.0, "fan_avg", "uniform"),
    (I.GlorotNormal, 1.0, "fan_avg", "truncated_normal"),
    (I.HeNormal, 2.0, "fan_in", "truncated_normal"),
    (I.HeUniform, 2.0, "fan_in", "uniform"),
    (I.LecunNormal, 1.0, "fan_in", "truncated_normal"),
    (I.LecunUniform, 1.0, "fan_in", "uniform"),
]
NAMED_IDS = [c[0].__name__ for c in NAMED]


@pytest.mark.parametrize("shape", [DENSE, CONV], ids=["dense", "conv"])
@pytest.mark.parametrize("cls, scale, mode, distribution", NAMED, ids=NAMED_IDS)
def test_named_initializers_match_their_variance_formula(cls, scale, mode, distribution, shape):
    w = cls(seed=1)(shape)
    assert w.shape == shape and w.dtype == np.float32
    std = math.sqrt(theoretical_variance(scale, mode, shape))
    assert_moments(w, 0.0, std)
    if distribution == "uniform":
        limit = math.sqrt(3.0) * std  # Var(U(-r, r)) = r^2 / 3
        assert np.abs(w).max() <= limit
        assert np.abs(w).max() > 0.999 * limit
        assert ks_distance(w, lambda x: (x + limit) / (2 * limit)) < 1.63 / math.sqrt(w.size)
    else:
        sigma = std / I.TRUNCATED_NORMAL_STDDEV_FACTOR  # the normal before truncation
        assert np.abs(w).max() <= 2 * sigma * (1 + 1e-6)
        assert np.abs(w).max() > 0.999 * 2 * sigma
        dist = ks_distance(w, lambda x: truncated_normal_cdf(x, sigma))
        assert dist < 1.63 / math.sqrt(w.size)


@pytest.mark.parametrize("cls, scale, mode, distribution", NAMED, ids=NAMED_IDS)
def test_named_initializers_are_variance_scaling_recipes(cls, scale, mode, distribution):
    recipe = I.VarianceScaling(scale=scale, mode=mode, distribution=distribution, seed=3)
    np.testing.assert_array_equal(cls(seed=3)((20, 30)), recipe((20, 30)))


@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling_modes_and_distributions(mode, distribution):
    w = I.VarianceScaling(scale=3.0, mode=mode, distribution=distribution, seed=7)(CONV)
    std = math.sqrt(theoretical_variance(3.0, mode, CONV))
    assert_moments(w, 0.0, std)
    beyond_two_std = np.mean(np.abs(w) > 2 * std / I.TRUNCATED_NORMAL_STDDEV_FACTOR)
    if distribution == "untruncated_normal":
        # N(0, s^2) has 4.55% of its mass beyond 2 s; the cut at 2 s / 0.8796 leaves 2.3%
        assert ks_distance(w, lambda x: normal_cdf(x / std)) < 1.63 / math.sqrt(w.size)
        assert beyond_two_std > 0.015
    else:
        assert beyond_two_std == 0.0


def test_variance_scaling_normal_alias_and_fan_axes():
    vs = I.VarianceScaling(distribution="Normal", seed=0)
    assert vs.distribution == "truncated_normal"
    w = I.VarianceScaling(
        scale=1.0, mode="fan_in", distribution="uniform", seed=0, input_axes=[0], output_axes=[1, 2]
    )((50, 40, 60))
    assert_moments(w, 0.0, math.sqrt(1.0 / 50))


def test_variance_is_preserved_through_a_deep_relu_network():
    """The point of He initialization. A ReLU layer maps E[x^2] to n Var(w) E[x^2] / 2 (the ReLU
    keeps half of a symmetric pre-activation's second moment): factor 1 with He's Var(w) = 2/n,
    factor 500 * 0.05^2 / 2 = 0.625 with a fixed stddev of 0.05, so 0.625^30 = 7.5e-7 after 30
    layers (the input is N(0, 1), E[x^2] = 1). Finite width makes each layer's factor random, so
    the test checks the geometric mean factor per layer, within 5% of theory."""
    rng = np.random.default_rng(0)
    x0 = rng.standard_normal((1000, 500))

    def second_moment_after(init, depth=30):
        x = x0
        for layer in range(depth):
            x = np.maximum(x @ init(seed=layer)((500, 500), dtype="float64"), 0.0)
        return np.mean(x**2)

    he = second_moment_after(lambda seed: I.HeNormal(seed=seed))
    small = second_moment_after(lambda seed: I.RandomNormal(stddev=0.05, seed=seed))
    assert he ** (1 / 30) == pytest.approx(1.0, rel=0.05)
    assert small ** (1 / 30) == pytest.approx(0.625, rel=0.05)


# --- plain distributions -------------------------------------------------------------------
def test_random_normal():
    w = I.RandomNormal(mean=0.5, stddev=2.0, seed=0)(DENSE)
    assert_moments(w, 0.5, 2.0)
    assert ks_distance(w, lambda x: normal_cdf((x - 0.5) / 2.0)) < 1.63 / math.sqrt(w.size)


def test_random_uniform_bounds_and_variance():
    w = I.RandomUniform(minval=-1.0, maxval=3.0, seed=0)(DENSE)
    assert w.min() >= -1.0 and w.max() < 3.0
    assert_moments(w, 1.0, 4.0 / math.sqrt(12.0))  # Var(U(a, b)) = (b - a)^2 / 12
    assert ks_distance(w, lambda x: (x + 1.0) / 4.0) < 1.63 / math.sqrt(w.size)


def test_truncated_normal_is_cut_at_two_stddev_and_not_rescaled():
    w = I.TruncatedNormal(mean=1.0, stddev=0.5, seed=0)(DENSE)
    assert w.min() >= 1.0 - 2 * 0.5 and w.max() <= 1.0 + 2 * 0.5
    assert_moments(w, 1.0, 0.5 * I.TRUNCATED_NORMAL_STDDEV_FACTOR)
    dist = ks_distance(w - 1.0, lambda x: truncated_normal_cdf(x, 0.5))
    assert dist < 1.63 / math.sqrt(w.size)


def test_keras_defaults():
    assert I.RandomNormal().get_config() == {"mean": 0.0, "stddev": 0.05, "seed": None}
    assert I.RandomUniform().get_config() == {"minval": -0.05, "maxval": 0.05, "seed": None}
    assert I.TruncatedNormal().get_config() == {"mean": 0.0, "stddev": 0.05, "seed": None}
    vs = I.VarianceScaling()
    assert (vs.scale, vs.mode, vs.distribution) == (1.0, "fan_in", "truncated_normal")
    assert I.Orthogonal().gain == 1.0
    assert I.Constant().value == 0.0


def test_constant_initializers():
    np.testing.assert_array_equal(I.Zeros()((2, 3)), np.zeros((2, 3)))
    np.testing.assert_array_equal(I.Ones()(4), np.ones(4))
    w = I.Constant(2.5)((3, 2), dtype="float64")
    assert w.dtype == np.float64 and np.all(w == 2.5)


# --- orthogonal ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "shape, rows_orthonormal",
    [((64, 32), False), ((32, 64), True), ((50, 50), False), ((3, 3, 8, 40), False)],
)
def test_orthogonal(shape, rows_orthonormal):
    gain = 1.5
    w = I.Orthogonal(gain=gain, seed=0)(shape, dtype="float64")
    assert w.shape == shape
    m = w.reshape(-1, shape[-1])
    gram = m @ m.T if rows_orthonormal else m.T @ m
    np.testing.assert_allclose(gram, gain**2 * np.eye(gram.shape[0]), atol=1e-12)
    w32 = I.Orthogonal(seed=0)(shape).reshape(-1, shape[-1])
    gram32 = w32 @ w32.T if rows_orthonormal else w32.T @ w32
    np.testing.assert_allclose(gram32, np.eye(gram32.shape[0]), atol=1e-5)


def test_orthogonal_is_haar_distributed():
    """With the sign correction, the entries of a random orthogonal n x n matrix have mean 0 and
    variance 1/n, and the diagonal is not biased towards positive values (without the correction
    numpy's QR makes diag(R) negative, which biases Q)."""
    n = 40
    ws = np.stack([I.Orthogonal(seed=s)((n, n), dtype="float64") for s in range(100)])
    assert_moments(ws, 0.0, 1.0 / math.sqrt(n))
    diag = np.einsum("kii->ki", ws)
    assert abs(diag.mean()) < 5 / math.sqrt(n * diag.size)


# --- seeds, dtypes, config -----------------------------------------------------------------------
@pytest.mark.parametrize(
    "cls",
    [I.RandomNormal, I.RandomUniform, I.TruncatedNormal, I.HeNormal, I.GlorotUniform, I.Orthogonal],
)
def test_seeds(cls):
    a, b = cls(seed=42), cls(seed=42)
    np.testing.assert_array_equal(a((10, 10)), b((10, 10)))
    np.testing.assert_array_equal(a((10, 10)), a((10, 10)))  # like Keras: same values each call
    assert not np.array_equal(a((10, 10)), cls(seed=43)((10, 10)))
    unseeded = cls()
    np.testing.assert_array_equal(unseeded((10, 10)), unseeded((10, 10)))
    assert not np.array_equal(unseeded((10, 10)), cls()((10, 10)))
    assert unseeded.get_config()["seed"] is None


def test_dtypes():
    assert I.HeNormal(seed=0)((3, 4), dtype="float64").dtype == np.float64
    assert I.RandomUniform(seed=0)((3, 4), dtype=np.float16).dtype == np.float16
    with pytest.raises(ValueError, match="dtype"):
        I.HeNormal(seed=0)((3, 4), dtype="int32")


@pytest.mark.parametrize(
    "init",
    [
        I.RandomNormal(1.0, 2.0, seed=1),
        I.RandomUniform(-2.0, 1.0, seed=2),
        I.TruncatedNormal(0.0, 3.0, seed=3),
        I.VarianceScaling(2.0, "fan_out", "uniform", seed=4),
        I.HeUniform(seed=5),
        I.Orthogonal(2.0, seed=6),
        I.Constant(4.0),
    ],
    ids=lambda i: type(i).__name__,
)
def test_config_round_trip_gives_the_same_values(init):
    clone = type(init).from_config(init.get_config())
    np.testing.assert_array_equal(clone((6, 5)), init((6, 5)))
    again = I.get({"class_name": type(init).__name__, "config": init.get_config()})
    np.testing.assert_array_equal(again((6, 5)), init((6, 5)))


def test_get():
    assert isinstance(I.get("he_normal"), I.HeNormal)
    assert isinstance(I.get("HeNormal"), I.HeNormal)
    assert isinstance(I.get("glorot_uniform"), I.GlorotUniform)
    assert isinstance(I.get("zeros"), I.Zeros)
    assert isinstance(I.get(I.LecunNormal), I.LecunNormal)
    inst = I.Orthogonal(seed=0)
    assert I.get(inst) is inst and I.get(None) is None
    with pytest.raises(ValueError, match="identifier"):
        I.get("not_an_initializer")
    with pytest.raises(ValueError):
        I.get(3.0)


# --- bad input -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: I.RandomNormal(stddev=0.0), "stddev must be > 0"),
        (lambda: I.RandomNormal(stddev=-1.0), "stddev must be > 0"),
        (lambda: I.TruncatedNormal(stddev=0), "stddev must be > 0"),
        (lambda: I.RandomNormal(mean=float("nan")), "mean"),
        (lambda: I.RandomUniform(minval=1.0, maxval=1.0), "minval must be < maxval"),
        (lambda: I.RandomUniform(minval=2.0, maxval=1.0), "minval must be < maxval"),
        (lambda: I.VarianceScaling(scale=0.0), "scale must be > 0"),
        (lambda: I.VarianceScaling(scale=-2.0), "scale must be > 0"),
        (lambda: I.VarianceScaling(mode="fan_sum"), "mode must be one of"),
        (lambda: I.VarianceScaling(distribution="cauchy"), "distribution must be one of"),
        (lambda: I.VarianceScaling(input_axes="0", output_axes=[1]), "input_axes"),
        (lambda: I.HeNormal(seed=-1), "seed"),
        (lambda: I.HeNormal(seed=1.5), "seed"),
        (lambda: I.Orthogonal(gain=0.0), "gain must be > 0"),
        (lambda: I.Constant([1.0, 2.0]), "value must be a finite real scalar"),
    ],
)
def test_bad_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make()


@pytest.mark.parametrize("shape", [(0, 3), (3, -1), (2.5, 3), -4])
@pytest.mark.parametrize(
    "init", [I.Zeros(), I.HeNormal(seed=0), I.Orthogonal(seed=0)], ids=lambda i: type(i).__name__
)
def test_bad_shapes(init, shape):
    with pytest.raises(ValueError, match="shape"):
        init(shape)


def test_orthogonal_needs_two_dimensions():
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        I.Orthogonal(seed=0)((5,))
