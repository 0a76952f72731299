"""NumPy learning-rate schedules, performance scheduling and the range test, against values
derived by hand (parity with Keras is in ``test_keras_schedules.py``)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from optreg import schedules as S


def approx(x):
    return pytest.approx(x, rel=1e-12, abs=1e-15)


# --------------------------------------------------------------------------- closed forms


def test_exponential_decay_hand_values():
    s = S.ExponentialDecay(0.1, decay_steps=10, decay_rate=0.5)
    assert s(0) == approx(0.1)
    assert s(20) == approx(0.025)
    assert s(15) == approx(0.1 * 0.5**1.5)
    stairs = S.ExponentialDecay(0.1, 10, 0.5, staircase=True)
    assert [stairs(t) for t in (0, 9, 10, 19, 20)] == [
        approx(v) for v in (0.1, 0.1, 0.05, 0.05, 0.025)
    ]


def test_inverse_time_decay_hand_values():
    s = S.InverseTimeDecay(1.0, decay_steps=10, decay_rate=0.5)
    assert s(20) == approx(0.5)
    assert s(15) == approx(1 / 1.75)
    stairs = S.InverseTimeDecay(1.0, 10, 0.5, staircase=True)
    assert stairs(15) == approx(1 / 1.5)
    assert stairs(9) == approx(1.0)


def test_power_decay_halves_at_s_and_quarters_at_3s():
    s = S.PowerDecay(1.0, decay_steps=10, power=1.0)
    assert (s(0), s(10), s(30)) == (approx(1.0), approx(0.5), approx(0.25))
    squared = S.PowerDecay(2.0, decay_steps=10, power=2.0)
    assert squared(10) == approx(0.5)
    assert squared(30) == approx(2.0 / 16)


def test_power_decay_with_c_1_is_inverse_time_decay():
    power = S.PowerDecay(0.3, decay_steps=7, power=1.0)
    inverse = S.InverseTimeDecay(0.3, decay_steps=7, decay_rate=1.0)
    for t in range(200):
        assert power(t) == pytest.approx(inverse(t), rel=1e-14)


def test_piecewise_constant_boundary_belongs_to_left_interval():
    s = S.PiecewiseConstantDecay([10, 20], [1.0, 0.5, 0.1])
    steps = [0, 10, 10.5, 11, 20, 21, 1000]
    assert [s(t) for t in steps] == [1.0, 1.0, 0.5, 0.5, 0.5, 0.1, 0.1]


def test_polynomial_decay_with_and_without_cycle():
    s = S.PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.0, power=2.0)
    assert s(5) == approx(0.25)
    assert s(10) == approx(0.0)
    assert s(25) == approx(0.0)
    default_end = S.PolynomialDecay(1.0, decay_steps=10)
    assert default_end(50) == approx(0.0001)
    cyc = S.PolynomialDecay(1.0, decay_steps=10, end_learning_rate=0.0, power=2.0, cycle=True)
    assert cyc(0) == approx(1.0)
    assert cyc(10) == approx(0.0)  # ceil(10/10) = 1: the first cycle ends at 0
    assert cyc(15) == approx((1 - 15 / 20) ** 2)  # second cycle spans 20 steps
    assert cyc(11) == approx((1 - 11 / 20) ** 2)


def test_cosine_decay_and_warmup():
    s = S.CosineDecay(1.0, decay_steps=10, alpha=0.2)
    assert s(0) == approx(1.0)
    assert s(5) == approx(0.8 * 0.5 + 0.2)
    assert s(10) == approx(0.2)
    assert s(1000) == approx(0.2)
    warm = S.CosineDecay(0.0, decay_steps=10, warmup_target=1.0, warmup_steps=5)
    assert [warm(t) for t in (0, 2.5, 5, 10, 15, 40)] == [
        approx(v) for v in (0.0, 0.5, 1.0, 0.5, 0.0, 0.0)
    ]
    # As in Keras, warmup_steps without warmup_target is ignored.
    assert S.CosineDecay(1.0, 10, warmup_steps=5)(5) == approx(0.5)


def test_one_cycle_phases_and_momentum():
    s = S.OneCycle(total_steps=100, max_learning_rate=1.0)
    # A = 10 annihilation steps, h = 45: rise over [0, 45), fall over [45, 90).
    assert s.half_cycle_steps == 45
    assert s(0) == approx(0.1)
    assert s(22.5) == approx(0.55)
    assert s(45) == approx(1.0)
    assert s(90) == approx(0.1)
    assert s(95) == approx((0.1 + 1e-4) / 2)
    assert s(100) == approx(1e-4)
    assert s(10_000) == approx(1e-4)
    assert s.momentum(0) == approx(0.95)
    assert s.momentum(22.5) == approx(0.90)
    assert s.momentum(45) == approx(0.85)
    assert s.momentum(90) == approx(0.95)
    assert s.momentum(99) == approx(0.95)


def test_one_cycle_shape_over_every_step():
    s = S.OneCycle(
        total_steps=57,
        max_learning_rate=0.3,
        initial_learning_rate=0.01,
        final_learning_rate=1e-5,
        annihilation_fraction=0.2,
    )
    lrs = np.array([s(t) for t in range(57)])
    moms = np.array([s.momentum(t) for t in range(57)])
    h = s.half_cycle_steps
    assert h == (57 - round(0.2 * 57)) // 2
    assert np.all(np.diff(lrs[: h + 1]) > 0) and np.all(np.diff(lrs[h:]) < 0)
    assert lrs.max() == approx(0.3)
    # momentum moves opposite to the rate during the cycle
    assert np.all(np.sign(np.diff(moms[: 2 * h])) == -np.sign(np.diff(lrs[: 2 * h])))
    assert S.OneCycle(10, 1.0, annihilation_fraction=0.0)(10) == approx(0.1 / 1000)


def test_schedules_round_trip_through_config():
    for schedule in (
        S.ExponentialDecay(0.1, 10, 0.5, staircase=True),
        S.PiecewiseConstantDecay([3, 8], [0.3, 0.2, 0.1]),
        S.CosineDecay(0.0, 10, alpha=0.1, warmup_target=0.5, warmup_steps=3),
        S.OneCycle(50, 0.2),
        S.PowerDecay(0.1, 5, 2.0),
    ):
        copy = type(schedule).from_config(schedule.get_config())
        assert [copy(t) for t in range(60)] == [schedule(t) for t in range(60)]


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: S.ExponentialDecay(0.0, 10, 0.5), "initial_learning_rate must be > 0"),
        (lambda: S.ExponentialDecay(0.1, 0, 0.5), "decay_steps must be > 0"),
        (lambda: S.InverseTimeDecay(0.1, 10, -1.0), "decay_rate must be >= 0"),
        (lambda: S.ExponentialDecay(0.1, 10, 0.5, staircase="yes"), "staircase must be True"),
        (lambda: S.PowerDecay(0.1, -5, 1.0), "decay_steps must be > 0"),
        (lambda: S.PowerDecay(0.1, 5, -1.0), "power must be >= 0"),
        (lambda: S.PiecewiseConstantDecay([10, 5], [1, 2, 3]), "boundaries must be strictly"),
        (lambda: S.PiecewiseConstantDecay([], [1]), "boundaries must be a non-empty"),
        (lambda: S.PiecewiseConstantDecay([5, 10], [1, 2]), "values must have length 3"),
        (lambda: S.PiecewiseConstantDecay([5], [1, -2]), r"values\[1\] must be > 0"),
        (
            lambda: S.PolynomialDecay(0.1, 10, end_learning_rate=-1),
            "end_learning_rate must be >= 0",
        ),
        (lambda: S.CosineDecay(0.1, 10, alpha=1.5), r"alpha must be in \[0, 1\]"),
        (lambda: S.CosineDecay(0.1, 10, warmup_target=0.0), "warmup_target must be > 0"),
        (lambda: S.CosineDecay(0.1, 10, warmup_steps=-1), "warmup_steps must be >= 0"),
        (lambda: S.OneCycle(1, 0.1), "total_steps must be an integer >= 2"),
        (lambda: S.OneCycle(10.5, 0.1), "total_steps must be an integer"),
        (
            lambda: S.OneCycle(100, 0.1, initial_learning_rate=0.2),
            "initial_learning_rate must be in",
        ),
        (lambda: S.OneCycle(100, 0.1, final_learning_rate=0.5), "final_learning_rate must be in"),
        (
            lambda: S.OneCycle(100, 0.1, annihilation_fraction=1.0),
            "annihilation_fraction must be in",
        ),
        (lambda: S.OneCycle(3, 0.1, annihilation_fraction=0.5), "must be >= 2"),
        (lambda: S.OneCycle(100, 0.1, min_momentum=0.99), r"min_momentum must be in \[0, 0.95\]"),
        (lambda: S.OneCycle(100, 0.1, max_momentum=1.0), "max_momentum must be in"),
        (lambda: S.ReduceLROnPlateau(0.1, factor=1.0), r"factor must be in \(0, 1\)"),
        (lambda: S.ReduceLROnPlateau(0.1, patience=-1), "patience must be an integer >= 0"),
        (lambda: S.ReduceLROnPlateau(0.1, mode="auto"), "mode must be one of"),
        (lambda: S.ReduceLROnPlateau(0.1, cooldown=1.5), "cooldown must be an integer"),
        (lambda: S.ReduceLROnPlateau(0.1, min_lr=-1), "min_lr must be >= 0"),
        (lambda: S.ReduceLROnPlateau(-0.1), "learning_rate must be > 0"),
        (lambda: S.find_learning_rate(lambda lr: 0.0, min_lr=1.0, max_lr=0.1), "max_lr must be >"),
        (lambda: S.find_learning_rate(lambda lr: 0.0, num_steps=1), "num_steps must be"),
        (lambda: S.find_learning_rate(lambda lr: 0.0, smoothing=1.0), "smoothing must be in"),
        (lambda: S.find_learning_rate(lambda lr: 0.0, divergence_factor=1.0), "divergence_factor"),
    ],
)
def test_bad_arguments_raise_value_error_naming_them(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("schedule", [S.ExponentialDecay(0.1, 10, 0.5), S.OneCycle(10, 0.1)])
def test_negative_step_is_rejected(schedule):
    with pytest.raises(ValueError, match="step must be >= 0"):
        schedule(-1)


# --------------------------------------------------------------------------- performance scheduling


def test_reduce_on_plateau_hand_trace_with_cooldown():
    p = S.ReduceLROnPlateau(1.0, factor=0.5, patience=2, cooldown=1)
    rates = [p.update(m) for m in (5.0, 4.0, 4.0, 4.0, 4.0, 4.0, 3.0, 3.0)]
    # 5, 4 improve; two bad values -> 0.5 and cooldown 1; the cooldown step is used up by the
    # next call, which then already counts as bad (Keras' order); one more -> 0.25.
    assert rates == [1.0, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25, 0.25]
    assert p.best == 3.0 and p.wait == 1


def test_reduce_on_plateau_min_delta_and_max_mode():
    p = S.ReduceLROnPlateau(1.0, factor=0.1, patience=1, min_delta=0.5)
    assert p.update(10.0) == 1.0
    assert p.update(9.6) == approx(0.1)  # 9.6 is not below 10 - 0.5: a bad value
    q = S.ReduceLROnPlateau(1.0, factor=0.1, patience=1, mode="max", min_delta=0.0)
    assert [q.update(a) for a in (0.5, 0.6, 0.6, 0.7)] == [1.0, 1.0, approx(0.1), approx(0.1)]


def test_reduce_on_plateau_stops_at_min_lr_and_nan_is_never_an_improvement():
    p = S.ReduceLROnPlateau(1.0, factor=0.25, patience=1, min_lr=0.3)
    rates = [p.update(m) for m in (1.0, 1.0, 1.0, 1.0)]
    assert rates == [1.0, 0.3, 0.3, 0.3]
    assert p.wait == 2  # at the floor nothing is reduced, so the counter keeps growing
    q = S.ReduceLROnPlateau(1.0, patience=1)
    q.update(1.0)
    assert q.update(math.nan) == approx(0.1)


# --------------------------------------------------------------------------- range test


def _quadratic_train_step(curvatures, seed=0):
    """Gradient descent on f(x) = sum(k_i x_i^2) / 2; diverges exactly when lr > 2 / max(k)."""
    x = np.random.default_rng(seed).normal(size=len(curvatures))

    def train_step(lr):
        nonlocal x
        loss = 0.5 * float(np.sum(curvatures * x**2))
        x = x - lr * curvatures * x
        return loss

    return train_step


@pytest.mark.parametrize("L", [0.5, 10.0, 400.0])
def test_range_test_suggestion_is_below_divergence_and_not_tiny(L):
    curvatures = np.geomspace(L / 100, L, 20)
    lrs, losses, suggestion = S.find_learning_rate(
        _quadratic_train_step(curvatures), min_lr=1e-6, max_lr=100.0, num_steps=300
    )
    assert len(lrs) < 300  # stopped on divergence
    assert 2 / L / 30 < suggestion < 2 / L
    assert losses[-1] > 4 * losses.min()


def test_range_test_sweeps_geometrically_and_passes_each_rate_once():
    seen = []

    def train_step(lr):
        seen.append(lr)
        return 1.0

    lrs, losses, _ = S.find_learning_rate(train_step, min_lr=1e-4, max_lr=1.0, num_steps=5)
    np.testing.assert_allclose(lrs, [1e-4, 1e-3, 1e-2, 1e-1, 1.0], rtol=1e-12)
    assert seen == list(lrs)
    assert list(losses) == [1.0] * 5


def test_suggestion_rule_is_the_smoothed_minimum_over_ten():
    lrs = np.geomspace(1e-3, 1.0, 7)
    losses = [5.0, 4.0, 2.0, 1.0, 3.0, 9.0, 50.0]
    assert S.suggest_learning_rate(lrs, losses, smoothing=0.0) == approx(lrs[3] / 10)
    smoothed = S.smooth_losses(losses, 0.5)
    # bias correction: the first smoothed value is the first loss, the second is (0.5*5+4)/1.5...
    assert smoothed[:2] == pytest.approx([5.0, (0.25 * 5 + 0.5 * 4) / 0.75])
    assert S.suggest_learning_rate(lrs, losses, 0.5) == approx(lrs[int(np.argmin(smoothed))] / 10)


def test_range_test_stops_on_nan():
    calls = []

    def train_step(lr):
        calls.append(lr)
        return 1.0 if len(calls) < 4 else math.nan

    lrs, losses, suggestion = S.find_learning_rate(train_step, num_steps=50)
    assert len(lrs) == 4 and math.isnan(losses[-1])
    assert np.isfinite(suggestion)
