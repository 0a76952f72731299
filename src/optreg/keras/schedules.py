"""The schedules of ``optreg.schedules`` as Keras 3 ``LearningRateSchedule`` subclasses.

Each is written from its equation with ``keras.ops`` (no built-in is wrapped), so any of them can
be passed as an optimizer's ``learning_rate``; the optimizer then calls ``schedule(iterations)``
at every step. The equations, argument names and defaults are documented on the NumPy twins in
``optreg.schedules``; both call the same ``_check_*_args`` functions, so they reject the same
arguments with the same messages, and share ``get_config`` (the same attribute names).

Like Keras' built-ins, these compute in the dtype of ``initial_learning_rate`` as a tensor
(``float32``) and, being traced inside ``tf.function``, cannot check that the step is >= 0.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from optreg import schedules as np_schedules

__all__ = [
    "ExponentialDecay",
    "InverseTimeDecay",
    "PowerDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "CosineDecay",
    "CosineDecayRestarts",
    "OneCycle",
]

_register = keras.saving.register_keras_serializable(package="optreg")
_Base = keras.optimizers.schedules.LearningRateSchedule


def _as_float(step: Any, like: Any) -> Any:
    return ops.cast(step, like.dtype)


@_register
class ExponentialDecay(_Base):
    """``eta(t) = eta0 * decay_rate ** (t / decay_steps)`` (``floor`` of the exponent when
    ``staircase``); see ``optreg.schedules.ExponentialDecay``."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: float,
        decay_rate: float,
        staircase: bool = False,
        name: str = "ExponentialDecay",
    ) -> None:
        super().__init__()
        (
            self.initial_learning_rate,
            self.decay_steps,
            self.decay_rate,
            self.staircase,
        ) = np_schedules._check_decay_args(
            initial_learning_rate, decay_steps, decay_rate, staircase
        )
        self.name = name

    def __call__(self, step):
        eta0 = ops.convert_to_tensor(self.initial_learning_rate)
        p = _as_float(step, eta0) / ops.cast(self.decay_steps, eta0.dtype)
        if self.staircase:
            p = ops.floor(p)
        return eta0 * ops.power(ops.cast(self.decay_rate, eta0.dtype), p)

    def get_config(self) -> dict[str, Any]:
        return np_schedules.ExponentialDecay.get_config(self)


@_register
class InverseTimeDecay(_Base):
    """``eta(t) = eta0 / (1 + decay_rate * t / decay_steps)`` (``floor(t / decay_steps)`` when
    ``staircase``); see ``optreg.schedules.InverseTimeDecay``."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: float,
        decay_rate: float,
        staircase: bool = False,
        name: str = "InverseTimeDecay",
    ) -> None:
        super().__init__()
        (
            self.initial_learning_rate,
            self.decay_steps,
            self.decay_rate,
            self.staircase,
        ) = np_schedules._check_decay_args(
            initial_learning_rate, decay_steps, decay_rate, staircase
        )
        self.name = name

    def __call__(self, step):
        eta0 = ops.convert_to_tensor(self.initial_learning_rate)
        p = _as_float(step, eta0) / ops.cast(self.decay_steps, eta0.dtype)
        if self.staircase:
            p = ops.floor(p)
        return eta0 / (1.0 + ops.cast(self.decay_rate, eta0.dtype) * p)

    def get_config(self) -> dict[str, Any]:
        return np_schedules.InverseTimeDecay.get_config(self)


@_register
class PowerDecay(_Base):
    """Power scheduling ``eta(t) = eta0 / (1 + t / decay_steps) ** power`` (not in Keras); see
    ``optreg.schedules.PowerDecay``."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: float,
        power: float = 1.0,
        name: str = "PowerDecay",
    ) -> None:
        super().__init__()
        self.initial_learning_rate, self.decay_steps, self.power = (
            np_schedules._check_power_decay_args(initial_learning_rate, decay_steps, power)
        )
        self.name = name

    def __call__(self, step):
        eta0 = ops.convert_to_tensor(self.initial_learning_rate)
        t_over_s = _as_float(step, eta0) / ops.cast(self.decay_steps, eta0.dtype)
        return eta0 / ops.power(1.0 + t_over_s, ops.cast(self.power, eta0.dtype))

    def get_config(self) -> dict[str, Any]:
        return np_schedules.PowerDecay.get_config(self)


@_register
class PiecewiseConstantDecay(_Base):
    """``values[i]`` where ``i`` is the number of boundaries strictly below the step (so a
    boundary step belongs to the interval on its left); see
    ``optreg.schedules.PiecewiseConstantDecay``."""

    def __init__(
        self,
        boundaries: Sequence[float],
        values: Sequence[float],
        name: str = "PiecewiseConstant",
    ) -> None:
        super().__init__()
        self.boundaries, self.values = np_schedules._check_piecewise_args(boundaries, values)
        self.name = name

    def __call__(self, step):
        step = ops.convert_to_tensor(step)
        # For an integer step (the optimizer's ``iterations``), t <= b iff t <= floor(b), so
        # comparing in the step's own dtype is exact, like Keras.
        boundaries = ops.cast(ops.convert_to_tensor(self.boundaries), step.dtype)
        interval = ops.sum(ops.cast(ops.greater(step, boundaries), "int32"))
        return ops.take(ops.convert_to_tensor(self.values), interval)

    def get_config(self) -> dict[str, Any]:
        return np_schedules.PiecewiseConstantDecay.get_config(self)


@_register
class PolynomialDecay(_Base):
    """``(eta0 - eta_end) * (1 - t / s) ** power + eta_end`` with ``t <= s`` (or, with ``cycle``,
    ``s`` grown to the first multiple of ``decay_steps`` >= t); see
    ``optreg.schedules.PolynomialDecay``."""

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: float,
        end_learning_rate: float = 0.0001,
        power: float = 1.0,
        cycle: bool = False,
        name: str = "PolynomialDecay",
    ) -> None:
        super().__init__()
        (
            self.initial_learning_rate,
            self.decay_steps,
            self.end_learning_rate,
            self.power,
            self.cycle,
        ) = np_schedules._check_polynomial_args(
            initial_learning_rate, decay_steps, end_learning_rate, power, cycle
        )
        self.name = name

    def __call__(self, step):
        eta0 = ops.convert_to_tensor(self.initial_learning_rate)
        eta_end = ops.cast(self.end_learning_rate, eta0.dtype)
        t = _as_float(step, eta0)
        s = ops.cast(self.decay_steps, eta0.dtype)
        if self.cycle:
            s = s * ops.maximum(ops.ceil(t / s), 1.0)
        else:
            t = ops.minimum(t, s)
        return (eta0 - eta_end) * ops.power(1.0 - t / s, self.power) + eta_end

    def get_config(self) -> dict[str, Any]:
        return np_schedules.PolynomialDecay.get_config(self)


@_register
class CosineDecay(_Base):
    """Half a cosine from the start rate down to ``alpha`` times it in ``decay_steps`` steps,
    after an optional linear warm-up to ``warmup_target``; see ``optreg.schedules.CosineDecay``.
    """

    def __init__(
        self,
        initial_learning_rate: float,
        decay_steps: float,
        alpha: float = 0.0,
        name: str = "CosineDecay",
        warmup_target: float | None = None,
        warmup_steps: float = 0,
    ) -> None:
        super().__init__()
        (
            self.initial_learning_rate,
            self.decay_steps,
            self.alpha,
            self.warmup_target,
            self.warmup_steps,
        ) = np_schedules._check_cosine_args(
            initial_learning_rate, decay_steps, alpha, warmup_target, warmup_steps
        )
        self.name = name

    def _decay(self, t, decay_from):
        s = ops.cast(self.decay_steps, t.dtype)
        cosine = 0.5 * (1.0 + ops.cos(math.pi * (t / s)))
        return decay_from * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step):
        eta0 = ops.convert_to_tensor(self.initial_learning_rate)
        t = _as_float(step, eta0)
        if self.warmup_target is None:
            return self._decay(ops.minimum(t, self.decay_steps), eta0)
        target = ops.cast(self.warmup_target, eta0.dtype)
        warmup_steps = ops.cast(self.warmup_steps, eta0.dtype)
        t = ops.minimum(t, self.decay_steps + self.warmup_steps)
        return ops.cond(
            t < warmup_steps,
            lambda: eta0 + (target - eta0) * t / warmup_steps,
            lambda: self._decay(t - warmup_steps, target),
        )

    def get_config(self) -> dict[str, Any]:
        return np_schedules.CosineDecay.get_config(self)


@_register
class CosineDecayRestarts(_Base):
    """Cosine decay with warm restarts (SGDR); equations in
    ``optreg.schedules.CosineDecayRestarts``::

    i, f = the period containing t (lengths first_decay_steps t_mul^i), the fraction done
    eta(t) = eta0 ((1 - alpha) m_mul^i (1 + cos(pi f)) / 2 + alpha)
    """

    def __init__(
        self,
        initial_learning_rate: float,
        first_decay_steps: float,
        t_mul: float = 2.0,
        m_mul: float = 1.0,
        alpha: float = 0.0,
        name: str = "SGDRDecay",
    ) -> None:
        super().__init__()
        (
            self.initial_learning_rate,
            self.first_decay_steps,
            self.t_mul,
            self.m_mul,
            self.alpha,
        ) = np_schedules._check_restarts_args(
            initial_learning_rate, first_decay_steps, t_mul, m_mul, alpha
        )
        self.name = name

    def restart_period(self, x):
        if self.t_mul == 1:
            i = ops.floor(x)
            return i, x - i
        t_mul = ops.cast(self.t_mul, x.dtype)
        i = ops.floor(ops.log(1 - x * (1 - t_mul)) / ops.log(t_mul))
        return i, (x - (1 - ops.power(t_mul, i)) / (1 - t_mul)) / ops.power(t_mul, i)

    def __call__(self, step):
        eta0 = ops.convert_to_tensor(self.initial_learning_rate)
        i, f = self.restart_period(_as_float(step, eta0) / self.first_decay_steps)
        cosine = 0.5 * (1 + ops.cos(math.pi * f))
        m_mul = ops.cast(self.m_mul, eta0.dtype)
        return eta0 * ((1 - self.alpha) * ops.power(m_mul, i) * cosine + self.alpha)

    def get_config(self) -> dict[str, Any]:
        return np_schedules.CosineDecayRestarts.get_config(self)


@_register
class OneCycle(_Base):
    """Smith's 1cycle (rise, fall, annihilation) with ``momentum(step)`` cycled the opposite way;
    equations, arguments and defaults as ``optreg.schedules.OneCycle``. To cycle the momentum
    during ``fit`` as well, use the callback ``optreg.keras.callbacks.OneCycleScheduler``."""

    def __init__(
        self,
        total_steps: int,
        max_learning_rate: float,
        initial_learning_rate: float | None = None,
        final_learning_rate: float | None = None,
        annihilation_fraction: float = 0.1,
        max_momentum: float = 0.95,
        min_momentum: float = 0.85,
        name: str = "OneCycle",
    ) -> None:
        super().__init__()
        (
            self.total_steps,
            self.max_learning_rate,
            self.initial_learning_rate,
            self.final_learning_rate,
            self.annihilation_fraction,
            self.max_momentum,
            self.min_momentum,
        ) = np_schedules._check_one_cycle_args(
            total_steps,
            max_learning_rate,
            initial_learning_rate,
            final_learning_rate,
            annihilation_fraction,
            max_momentum,
            min_momentum,
        )
        self.half_cycle_steps = np_schedules._one_cycle_half_steps(
            self.total_steps, self.annihilation_fraction
        )
        self.name = name

    def __call__(self, step):
        t = ops.cast(step, "float32")
        h, T = float(self.half_cycle_steps), float(self.total_steps)
        eta0, eta_max, eta_end = (
            self.initial_learning_rate,
            self.max_learning_rate,
            self.final_learning_rate,
        )
        line = np_schedules.OneCycle._interpolate
        # T - 2h is 0 only without annihilation; that branch is then never selected.
        annihilation_steps = max(T - 2 * h, 1.0)
        return ops.where(
            t < h,
            line(t, 0.0, h, eta0, eta_max),
            ops.where(
                t < 2 * h,
                line(t, h, 2 * h, eta_max, eta0),
                ops.where(
                    t < T,
                    line(t, 2 * h, 2 * h + annihilation_steps, eta0, eta_end),
                    ops.cast(eta_end, "float32"),
                ),
            ),
        )

    def momentum(self, step):
        t = ops.cast(step, "float32")
        h = float(self.half_cycle_steps)
        line = np_schedules.OneCycle._interpolate
        high, low = self.max_momentum, self.min_momentum
        return ops.where(
            t < h,
            line(t, 0.0, h, high, low),
            ops.where(t < 2 * h, line(t, h, 2 * h, low, high), ops.cast(high, "float32")),
        )

    def get_config(self) -> dict[str, Any]:
        return np_schedules.OneCycle.get_config(self)
