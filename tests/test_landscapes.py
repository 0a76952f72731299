"""Landscapes: gradients against central differences, known minima, trajectories by hand."""

from __future__ import annotations

import numpy as np
import pytest

from optreg import landscapes
from optreg.landscapes import (
    Beale,
    ElongatedBowl,
    Himmelblau,
    MonkeySaddle,
    Rosenbrock,
    Saddle,
    contour_grid,
    trajectory,
)

ALL = [
    ElongatedBowl(),
    ElongatedBowl(condition_number=50.0, angle=0.7),
    Rosenbrock(),
    Rosenbrock(a=2.0, b=10.0),
    Beale(),
    Saddle(),
    MonkeySaddle(),
    Himmelblau(),
]


def numerical_gradient(f, p, eps=1e-6):
    g = np.zeros(2)
    for i in range(2):
        d = np.zeros(2)
        d[i] = eps
        g[i] = (f.value(p + d) - f.value(p - d)) / (2 * eps)
    return g


@pytest.mark.parametrize("f", ALL, ids=repr)
def test_gradient_matches_central_differences(f):
    rng = np.random.default_rng(0)
    for p in rng.uniform(-2, 2, size=(20, 2)):
        np.testing.assert_allclose(f.gradient(p), numerical_gradient(f, p), rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("f", ALL, ids=repr)
def test_known_minima_are_stationary_with_known_value(f):
    for m in f.minima:
        np.testing.assert_allclose(f.gradient(m), 0.0, atol=1e-9)
        assert f.value(m) == pytest.approx(f.minimum_value, abs=1e-12)
        # and really minima: every nearby point is higher
        for d in [(1e-3, 0), (-1e-3, 0), (0, 1e-3), (0, -1e-3), (1e-3, 1e-3)]:
            assert f.value(np.add(m, d)) > f.value(m)


@pytest.mark.parametrize("f", [Saddle(), MonkeySaddle()], ids=repr)
def test_saddles_are_stationary_but_not_minima(f):
    (s,) = f.saddle_points
    np.testing.assert_allclose(f.gradient(s), 0.0)
    values = [f.value(np.add(s, d)) for d in [(0.1, 0), (-0.1, 0), (0, 0.1), (0, -0.1)]]
    assert min(values) < f.value(s) < max(values)


def test_hand_values():
    assert Rosenbrock().value([0.0, 0.0]) == 1.0
    assert Rosenbrock().value([-1.0, 1.0]) == 4.0  # (1 - -1)^2 + 100 (1 - 1)^2
    assert Beale().value([0.0, 0.0]) == pytest.approx(1.5**2 + 2.25**2 + 2.625**2)
    assert Himmelblau().value([0.0, 0.0]) == 121 + 49
    assert ElongatedBowl(condition_number=10).value([1.0, 1.0]) == pytest.approx(5.5)
    # angle pi/2 swaps the axes
    assert ElongatedBowl(10, np.pi / 2).value([1.0, 0.0]) == pytest.approx(5.0)


def test_bowl_hessian_has_requested_condition_number():
    h = ElongatedBowl(condition_number=25.0, angle=0.3).hessian
    eig = np.linalg.eigvalsh(h)
    np.testing.assert_allclose(eig, [1.0, 25.0])


def test_vectorised_evaluation_matches_pointwise():
    f = Himmelblau()
    pts = np.random.default_rng(1).normal(size=(3, 4, 2))
    v = f.value(pts)
    g = f.gradient(pts)
    assert v.shape == (3, 4) and g.shape == (3, 4, 2)
    assert v[1, 2] == f.value(pts[1, 2])
    np.testing.assert_array_equal(g[2, 3], f.gradient(pts[2, 3]))


def test_contour_grid():
    X, Y, Z = contour_grid(Rosenbrock(), xlim=(-1, 1), ylim=(0, 2), n=5)
    assert X.shape == Y.shape == Z.shape == (5, 5)
    assert X[0, 0] == -1 and X[0, -1] == 1 and Y[0, 0] == 0 and Y[-1, 0] == 2
    assert Z[2, 2] == Rosenbrock().value([0.0, 1.0])
    X, Y, Z = contour_grid("himmelblau")
    assert (X.min(), X.max()) == Himmelblau.xlim


class _HandSGD:
    """p <- p - lr * g: the update the real SGD must reproduce."""

    def __init__(self, lr):
        self.lr = lr

    def apply(self, grads, params):
        for g, p in zip(grads, params, strict=True):
            p -= self.lr * g


def test_trajectory_with_sgd_matches_hand_iteration():
    from optreg.optimizers import SGD

    f = ElongatedBowl(condition_number=10.0)
    path = trajectory(f, SGD(learning_rate=0.1), start=(1.0, 1.0), steps=30)
    assert path.shape == (31, 2)
    # on the bowl, gradient descent multiplies each coordinate by (1 - lr * lambda_i)
    t = np.arange(31)
    np.testing.assert_allclose(path[:, 0], 0.9**t, rtol=1e-12)
    np.testing.assert_allclose(path[:, 1], 0.0**t, atol=1e-12)
    # and on Rosenbrock it equals the explicit loop
    g = Rosenbrock()
    path = trajectory(g, SGD(learning_rate=1e-3), start=(-1.5, 2.0), steps=50)
    p = np.array([-1.5, 2.0])
    for i in range(50):
        p = p - 1e-3 * g.gradient(p)
        np.testing.assert_allclose(path[i + 1], p, rtol=1e-12)
    assert g.value(path[-1]) < g.value(path[0])


def test_trajectory_with_momentum_is_faster_on_the_bowl():
    from optreg.optimizers import SGD

    f = ElongatedBowl(condition_number=50.0)
    plain = trajectory(f, SGD(learning_rate=0.03), f.default_start, 100)
    heavy = trajectory(f, SGD(learning_rate=0.03, momentum=0.9), f.default_start, 100)
    assert f.value(heavy[-1]) < f.value(plain[-1]) / 100


def test_trajectory_records_the_optimizer_moves():
    path = trajectory("saddle", _HandSGD(0.1), start=(1.0, 0.0), steps=5)
    np.testing.assert_allclose(path[:, 0], 0.8 ** np.arange(6))
    np.testing.assert_array_equal(path[:, 1], 0.0)


def test_bad_input():
    with pytest.raises(ValueError, match="condition_number"):
        ElongatedBowl(condition_number=0.5)
    with pytest.raises(ValueError, match="steps"):
        trajectory(Rosenbrock(), _HandSGD(0.1), (0, 0), -1)
    with pytest.raises(ValueError, match="start"):
        trajectory(Rosenbrock(), _HandSGD(0.1), (0, 0, 0), 3)
    with pytest.raises(ValueError, match="name"):
        landscapes.get("nope")
    with pytest.raises(ValueError, match="p must have shape"):
        Rosenbrock().value([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="n must be"):
        contour_grid(Rosenbrock(), n=1)
    with pytest.raises(ValueError, match="xlim"):
        contour_grid(Rosenbrock(), xlim=(1, -1))


def test_a_diverging_trajectory_ends_in_nan_instead_of_raising():
    from optreg.optimizers import SGD

    path = trajectory("rosenbrock", SGD(learning_rate=0.1), (2.0, 2.0), 50)
    assert path.shape == (51, 2)
    finite = np.all(np.isfinite(path), axis=1)
    first_bad = int(np.argmin(finite))
    assert 1 < first_bad < 51, "SGD(0.1) on Rosenbrock from (2, 2) must diverge within 50 steps"
    assert finite[:first_bad].all() and np.isnan(path[first_bad:]).all()
    assert np.abs(path[first_bad - 1]).max() > 1e10  # it was blowing up, not stopped early
