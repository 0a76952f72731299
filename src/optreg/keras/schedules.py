"""The schedules of ``optreg.schedules`` as Keras 3 ``LearningRateSchedule`` subclasses.

Each is written from its equation with ``keras.ops`` (no built-in is wrapped), so any of them can
be passed as an optimizer's ``learning_rate``; the optimizer then calls ``schedule(iterations)``
at every step. The equations, argument names and defaults are documented on the NumPy twins in
``optreg.schedules``, whose declarations (``hyperparameters``) give these classes their
signature, checks and ``get_config``: they reject the same arguments with the same messages.

Like Keras' built-ins, these compute in the dtype of ``initial_learning_rate`` as a tensor
(``float32``) and, being traced inside ``tf.function``, cannot check that the step is >= 0.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from optreg import schedules as np_schedules
from optreg.hyperparameters import Declared

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


class _Schedule(Declared, keras.optimizers.schedules.LearningRateSchedule):
    """Takes the declaration of ``numpy_twin``: signature, checks, ``get_config``."""

    numpy_twin: type[np_schedules.LearningRateSchedule] = np_schedules.LearningRateSchedule

    def __init_subclass__(cls, **kwargs: Any) -> None:
        cls.hyperparameters = cls.numpy_twin.hyperparameters
        super().__init_subclass__(**kwargs)

    @classmethod
    def check_together(cls, values: dict[str, Any]) -> dict[str, Any]:
        return cls.numpy_twin.check_together(values)

    def init_base(self) -> None:
        keras.optimizers.schedules.LearningRateSchedule.__init__(self)

    def __post_init__(self) -> None:
        self.numpy_twin.__post_init__(self)


def _as_float(step: Any, like: Any) -> Any:
    return ops.cast(step, like.dtype)


@_register
class ExponentialDecay(_Schedule):
    """``eta(t) = eta0 * decay_rate ** (t / decay_steps)`` (``floor`` of the exponent when
    ``staircase``); see ``optreg.schedules.ExponentialDecay``."""

    numpy_twin = np_schedules.ExponentialDecay

    def __call__(self, step):
        eta0 = ops.convert_to_tensor(self.initial_learning_rate)
        p = _as_float(step, eta0) / ops.cast(self.decay_steps, eta0.dtype)
        if self.staircase:
            p = ops.floor(p)
        return eta0 * ops.power(ops.cast(self.decay_rate, eta0.dtype), p)


@_register
class InverseTimeDecay(_Schedule):
    """``eta(t) = eta0 / (1 + decay_rate * t / decay_steps)`` (``floor(t / decay_steps)`` when
    ``staircase``); see ``optreg.schedules.InverseTimeDecay``."""

    numpy_twin = np_schedules.InverseTimeDecay

    def __call__(self, step):
        eta0 = ops.convert_to_tensor(self.initial_learning_rate)
        p = _as_float(step, eta0) / ops.cast(self.decay_steps, eta0.dtype)
        if self.staircase:
            p = ops.floor(p)
        return eta0 / (1.0 + ops.cast(self.decay_rate, eta0.dtype) * p)


@_register
class PowerDecay(_Schedule):
    """Power scheduling ``eta(t) = eta0 / (1 + t / decay_steps) ** power`` (not in Keras); see
    ``optreg.schedules.PowerDecay``."""

    numpy_twin = np_schedules.PowerDecay

    def __call__(self, step):
        eta0 = ops.convert_to_tensor(self.initial_learning_rate)
        t_over_s = _as_float(step, eta0) / ops.cast(self.decay_steps, eta0.dtype)
        return eta0 / ops.power(1.0 + t_over_s, ops.cast(self.power, eta0.dtype))


@_register
class PiecewiseConstantDecay(_Schedule):
    """``values[i]`` where ``i`` is the number of boundaries strictly below the step (so a
    boundary step belongs to the interval on its left); see
    ``optreg.schedules.PiecewiseConstantDecay``."""

    numpy_twin = np_schedules.PiecewiseConstantDecay

    def __call__(self, step):
        step = ops.convert_to_tensor(step)
        # For an integer step (the optimizer's ``iterations``), t <= b iff t <= floor(b), so
        # comparing in the step's own dtype is exact, like Keras.
        boundaries = ops.cast(ops.convert_to_tensor(self.boundaries), step.dtype)
        interval = ops.sum(ops.cast(ops.greater(step, boundaries), "int32"))
        return ops.take(ops.convert_to_tensor(self.values), interval)


@_register
class PolynomialDecay(_Schedule):
    """``(eta0 - eta_end) * (1 - t / s) ** power + eta_end`` with ``t <= s`` (or, with ``cycle``,
    ``s`` grown to the first multiple of ``decay_steps`` >= t); see
    ``optreg.schedules.PolynomialDecay``."""

    numpy_twin = np_schedules.PolynomialDecay

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


@_register
class CosineDecay(_Schedule):
    """Half a cosine from the start rate down to ``alpha`` times it in ``decay_steps`` steps,
    after an optional linear warm-up to ``warmup_target``; see ``optreg.schedules.CosineDecay``.
    """

    numpy_twin = np_schedules.CosineDecay

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


@_register
class CosineDecayRestarts(_Schedule):
    """Cosine decay with warm restarts (SGDR); equations in
    ``optreg.schedules.CosineDecayRestarts``::

    i, f = the period containing t (lengths first_decay_steps t_mul^i), the fraction done
    eta(t) = eta0 ((1 - alpha) m_mul^i (1 + cos(pi f)) / 2 + alpha)
    """

    numpy_twin = np_schedules.CosineDecayRestarts

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


@_register
class OneCycle(_Schedule):
    """Smith's 1cycle (rise, fall, annihilation) with ``momentum(step)`` cycled the opposite way;
    equations, arguments and defaults as ``optreg.schedules.OneCycle``. To cycle the momentum
    during ``fit`` as well, use the callback ``optreg.keras.callbacks.OneCycleScheduler``."""

    numpy_twin = np_schedules.OneCycle

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
