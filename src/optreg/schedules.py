"""Learning-rate schedules, performance scheduling and the learning-rate range test, in NumPy.

Every schedule is a callable ``schedule(step) -> float`` of the optimizer step ``t = 0, 1, ...``
(the number of updates already applied, Keras' ``optimizer.iterations``). Class names, argument
names and defaults are those of ``keras.optimizers.schedules``, so that code moves between
``optreg.schedules``, ``optreg.keras.schedules`` and Keras' built-ins unchanged:

====================== =====================================================================
schedule               learning rate at step ``t``
====================== =====================================================================
ExponentialDecay       ``eta0 * r ** (t / s)``             (``floor(t / s)`` when staircase)
InverseTimeDecay       ``eta0 / (1 + r * t / s)``          (``floor(t / s)`` when staircase)
PowerDecay             ``eta0 / (1 + t / s) ** c``         (Géron's power scheduling)
PiecewiseConstantDecay ``values[i]`` for ``boundaries[i-1] < t <= boundaries[i]``
PolynomialDecay        ``(eta0 - eta_end) * (1 - t / s) ** p + eta_end``
CosineDecay            ``eta0 * ((1 - alpha) * (1 + cos(pi * t / s)) / 2 + alpha)``
CosineDecayRestarts    the same in periods ``s t_mul^i`` with peaks ``m_mul^i eta0`` (SGDR)
OneCycle               linear rise, linear fall, then a short linear "annihilation"
====================== =====================================================================

``ReduceLROnPlateau`` is performance scheduling (the learning rate is divided when a monitored
metric stops improving) and ``find_learning_rate`` is the learning-rate range test (an
exponential sweep of the rate during a short training run).

Each schedule declares its arguments once (``hyperparameters``, see ``optreg.hyperparameters``):
the signature, the checks and ``get_config`` derive from it, here and in the Keras twins of
``optreg.keras.schedules``, so both raise the same errors.
"""

from __future__ import annotations

import math
from bisect import bisect_left
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from optreg._validation import (
    check_choice,
    check_increasing,
    check_length,
    check_non_negative,
    check_positive,
    check_range,
    check_unit_interval_open_right,
)
from optreg.hyperparameters import REQUIRED, Declared, Hyperparameter

__all__ = [
    "LearningRateSchedule",
    "ExponentialDecay",
    "InverseTimeDecay",
    "PowerDecay",
    "PiecewiseConstantDecay",
    "PolynomialDecay",
    "CosineDecay",
    "CosineDecayRestarts",
    "OneCycle",
    "ReduceLROnPlateau",
    "LearningRateRangeTest",
    "find_learning_rate",
    "smooth_losses",
    "suggest_learning_rate",
]


def _check_step(step: Any) -> float:
    """Steps count updates, so they are numbers >= 0."""
    return check_non_negative("step", step)


def _a_string(name: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{name} must be a string, got {value!r}")
    return value


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


class LearningRateSchedule(Declared):
    """Base class: a callable of the step that returns a float; its declaration gives the
    signature, the checks and Keras' ``get_config`` (the Keras twins take it too)."""

    def __call__(self, step: int) -> float:
        raise NotImplementedError

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(**config)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


def name(default: str) -> Hyperparameter:
    """A schedule's ``name`` argument, as Keras declares it (any value is kept as given)."""
    return Hyperparameter("name", default, "a string", "the schedule's name", lambda _, v: v)


INITIAL_LEARNING_RATE = Hyperparameter("initial_learning_rate", REQUIRED, "> 0", "`eta0`")
DECAY_STEPS = Hyperparameter("decay_steps", REQUIRED, "> 0", "`s`, in steps")
STAIRCASE = Hyperparameter("staircase", False, "True or False", "`floor(t / s)` for `t / s`")
DECAY = (
    INITIAL_LEARNING_RATE,
    DECAY_STEPS,
    Hyperparameter("decay_rate", REQUIRED, ">= 0", "the decay's factor"),
    STAIRCASE,
)


# --------------------------------------------------------------------------- decays of t / s


class ExponentialDecay(LearningRateSchedule):
    """``eta(t) = eta0 * decay_rate ** (t / decay_steps)``.

    With ``staircase=True`` the exponent is ``floor(t / decay_steps)``: the rate is divided by
    ``1 / decay_rate`` once every ``decay_steps`` steps instead of a little at every step.
    Géron's exponential scheduling ``eta0 * 0.1 ** (t / s)`` is ``decay_rate=0.1``.
    """

    hyperparameters = (*DECAY, name("ExponentialDecay"))

    def __call__(self, step: int) -> float:
        p = _check_step(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate * self.decay_rate**p


class InverseTimeDecay(LearningRateSchedule):
    """``eta(t) = eta0 / (1 + decay_rate * t / decay_steps)``.

    With ``staircase=True``, ``t / decay_steps`` is replaced by ``floor(t / decay_steps)``.
    Power scheduling with ``c = 1`` is this schedule with ``decay_rate = 1``.
    """

    hyperparameters = (*DECAY, name("InverseTimeDecay"))

    def __call__(self, step: int) -> float:
        p = _check_step(step) / self.decay_steps
        if self.staircase:
            p = math.floor(p)
        return self.initial_learning_rate / (1.0 + self.decay_rate * p)


class PowerDecay(LearningRateSchedule):
    """Power scheduling: ``eta(t) = eta0 / (1 + t / s) ** c``, ``s = decay_steps``, ``c = power``.

    After ``s`` steps the rate is ``eta0 / 2**c``, after ``3 s`` steps ``eta0 / 4**c``: it drops
    quickly at first, then more and more slowly. Keras has no such class; with ``power=1`` it is
    ``InverseTimeDecay(eta0, s, decay_rate=1)``.
    """

    hyperparameters = (
        INITIAL_LEARNING_RATE,
        DECAY_STEPS,
        Hyperparameter("power", 1.0, ">= 0", "`c`"),
        name("PowerDecay"),
    )

    def __call__(self, step: int) -> float:
        return (
            self.initial_learning_rate / (1.0 + _check_step(step) / self.decay_steps) ** self.power
        )


# --------------------------------------------------------------------------- piecewise constant


def _rates(name: str, values: Sequence[Any]) -> list[float]:
    return [check_positive(f"{name}[{i}]", v) for i, v in enumerate(values)]


class PiecewiseConstantDecay(LearningRateSchedule):
    """``values[0]`` while ``t <= boundaries[0]``, ``values[i]`` while
    ``boundaries[i-1] < t <= boundaries[i]``, and ``values[-1]`` after the last boundary.

    Keras' convention: a boundary step still belongs to the interval on its left.
    """

    hyperparameters = (
        Hyperparameter("boundaries", REQUIRED, "increasing", "steps", check_increasing),
        Hyperparameter("values", REQUIRED, "> 0 each", "rates, one more than boundaries", _rates),
        name("PiecewiseConstant"),
    )

    @classmethod
    def check_together(cls, values: dict[str, Any]) -> dict[str, Any]:
        check_length("values", values["values"], len(values["boundaries"]) + 1)
        return values

    def __call__(self, step: int) -> float:
        # bisect_left counts the boundaries strictly below t: the index of t's interval.
        return self.values[bisect_left(self.boundaries, _check_step(step))]


# --------------------------------------------------------------------------- polynomial and cosine


class PolynomialDecay(LearningRateSchedule):
    """``eta(t) = (eta0 - eta_end) * (1 - t / s) ** power + eta_end`` for ``t <= s``.

    Without ``cycle`` the rate stays at ``end_learning_rate`` after ``s = decay_steps`` steps.
    With ``cycle=True``, ``s`` is replaced by the first multiple of ``decay_steps`` that is
    ``>= t`` (``decay_steps`` itself at ``t = 0``), so the rate jumps back up at every multiple.
    """

    hyperparameters = (
        INITIAL_LEARNING_RATE,
        DECAY_STEPS,
        Hyperparameter("end_learning_rate", 0.0001, ">= 0", "`eta_end`"),
        Hyperparameter("power", 1.0, ">= 0", "exponent of `1 - t / s`"),
        Hyperparameter("cycle", False, "True or False", "restart at multiples of `s`"),
        name("PolynomialDecay"),
    )

    def __call__(self, step: int) -> float:
        t = _check_step(step)
        s = self.decay_steps
        if self.cycle:
            s = s * max(1, math.ceil(t / s))
        else:
            t = min(t, s)
        eta0, eta_end = self.initial_learning_rate, self.end_learning_rate
        return (eta0 - eta_end) * (1.0 - t / s) ** self.power + eta_end


class CosineDecay(LearningRateSchedule):
    """Cosine decay (Loshchilov & Hutter's SGDR without restarts), with an optional linear warm-up.

    Without warm-up (``warmup_target=None``), for ``t' = min(t, s)``::

        eta(t) = eta0 * ((1 - alpha) * (1 + cos(pi * t' / s)) / 2 + alpha)

    so the rate falls from ``eta0`` to ``alpha * eta0`` along half a cosine in ``s = decay_steps``
    steps. With ``warmup_target`` set, the rate first rises linearly from ``eta0`` to
    ``warmup_target`` during ``warmup_steps`` steps, then decays from ``warmup_target`` as above
    with ``t - warmup_steps`` in place of ``t``. As in Keras, ``warmup_steps`` is ignored when
    ``warmup_target`` is ``None``.
    """

    hyperparameters = (
        # 0 is allowed: warm-up usually starts from a zero rate.
        Hyperparameter("initial_learning_rate", REQUIRED, ">= 0", "`eta0`"),
        DECAY_STEPS,
        Hyperparameter("alpha", 0.0, "[0, 1]", "the floor, as a fraction of `eta0`"),
        name("CosineDecay"),
        Hyperparameter("warmup_target", None, "> 0 or None", "the rate after the warm-up"),
        Hyperparameter("warmup_steps", 0, ">= 0", "steps of linear warm-up"),
    )

    def _decay(self, t: float, decay_from: float) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * t / self.decay_steps))
        return decay_from * ((1.0 - self.alpha) * cosine + self.alpha)

    def __call__(self, step: int) -> float:
        t = _check_step(step)
        if self.warmup_target is None:
            return self._decay(min(t, self.decay_steps), self.initial_learning_rate)
        t = min(t, self.decay_steps + self.warmup_steps)
        if t < self.warmup_steps:
            eta0 = self.initial_learning_rate
            return eta0 + (self.warmup_target - eta0) * t / self.warmup_steps
        return self._decay(t - self.warmup_steps, self.warmup_target)


def restart_period(x: float, t_mul: float) -> tuple[float, float]:
    """The period ``i`` that contains ``x = t / first_decay_steps`` and the fraction ``f`` of it
    done, when period ``i`` lasts ``t_mul^i`` (in units of the first period)."""
    if t_mul == 1:
        i = math.floor(x)
        return i, x - i
    # periods 0 .. i-1 last (1 - t_mul^i) / (1 - t_mul) in all: solve for the i that contains x
    i = math.floor(math.log(1 - x * (1 - t_mul)) / math.log(t_mul))
    return i, (x - (1 - t_mul**i) / (1 - t_mul)) / t_mul**i


class CosineDecayRestarts(LearningRateSchedule):
    """Cosine decay with warm restarts (SGDR, Loshchilov & Hutter, 2017)::

        T_i    = first_decay_steps * t_mul^i         (the length of period i = 0, 1, ...)
        i, f   = the period containing t, and the fraction of it done (``restart_period``)
        eta(t) = eta0 * ((1 - alpha) * m_mul^i * (1 + cos(pi f)) / 2 + alpha)

    Each period is a cosine decay from ``m_mul^i eta0`` down to ``alpha eta0``, then the rate
    jumps back up (a "warm" restart: the weights are kept). Longer periods (``t_mul = 2``) and
    lower peaks (``m_mul < 1``) spend more and more time at small rates. As in Keras, the floor
    ``alpha eta0`` is not multiplied by ``m_mul^i``.
    """

    hyperparameters = (
        Hyperparameter("initial_learning_rate", REQUIRED, ">= 0", "`eta0`"),
        Hyperparameter("first_decay_steps", REQUIRED, "> 0", "`T_0`, in steps"),
        Hyperparameter("t_mul", 2.0, "> 0", "each period is `t_mul` times longer"),
        Hyperparameter("m_mul", 1.0, ">= 0", "each peak is `m_mul` times lower"),
        Hyperparameter("alpha", 0.0, "[0, 1]", "the floor, as a fraction of `eta0`"),
        name("SGDRDecay"),
    )

    def __call__(self, step: int) -> float:
        i, f = restart_period(_check_step(step) / self.first_decay_steps, self.t_mul)
        cosine = 0.5 * (1 + math.cos(math.pi * f))
        return self.initial_learning_rate * ((1 - self.alpha) * self.m_mul**i * cosine + self.alpha)


# --------------------------------------------------------------------------- 1cycle


#: 1cycle's arguments (``OneCycle`` and the callbacks ``OneCycleScheduler`` take them)
ONE_CYCLE = (
    Hyperparameter("total_steps", REQUIRED, "integer >= 2", "steps (batches) of the cycle"),
    Hyperparameter("max_learning_rate", REQUIRED, "> 0", "the peak rate, at step `h`"),
    Hyperparameter(
        "initial_learning_rate", None, "(0, max_learning_rate]", "None: max / 10", lambda _, v: v
    ),
    Hyperparameter(
        "final_learning_rate",
        None,
        "(0, initial_learning_rate]",
        "None: initial / 1000",
        lambda _, v: v,
    ),
    Hyperparameter("annihilation_fraction", 0.1, "[0, 1)", "fraction of annihilation steps"),
    Hyperparameter("max_momentum", 0.95, "[0, 1)", "momentum at the start and the end"),
    Hyperparameter(
        "min_momentum", 0.85, "[0, max_momentum]", "momentum at the peak rate", lambda _, v: v
    ),
)

#: the callbacks' ``OneCycleScheduler`` (NumPy and Keras): 1cycle's arguments, and one more
ONE_CYCLE_SCHEDULER = (
    *ONE_CYCLE,
    Hyperparameter("cycle_momentum", True, "True or False", "False: leave the momentum alone"),
)


def check_one_cycle(values: dict[str, Any]) -> dict[str, Any]:
    """Resolves the defaults (``None``) and checks what involves several of 1cycle's arguments."""
    values = dict(values)
    total_steps, max_rate = values["total_steps"], values["max_learning_rate"]
    initial = values["initial_learning_rate"]
    initial = max_rate / 10.0 if initial is None else initial
    initial = check_range("initial_learning_rate", initial, 0.0, max_rate, low_inclusive=False)
    final = values["final_learning_rate"]
    final = initial / 1000.0 if final is None else final
    final = check_range("final_learning_rate", final, 0.0, initial, low_inclusive=False)
    annihilation_fraction = values["annihilation_fraction"]
    if _one_cycle_half_steps(total_steps, annihilation_fraction) < 1:
        raise ValueError(
            "total_steps * (1 - annihilation_fraction) must be >= 2 so that the rise and the fall "
            f"last at least one step each, got total_steps={total_steps}, "
            f"annihilation_fraction={annihilation_fraction}"
        )
    min_momentum = check_range("min_momentum", values["min_momentum"], 0.0, values["max_momentum"])
    values.update(
        initial_learning_rate=initial, final_learning_rate=final, min_momentum=min_momentum
    )
    return values


def _one_cycle_half_steps(total_steps: int, annihilation_fraction: float) -> int:
    """``h = (T - A) // 2`` with ``A = round(annihilation_fraction * T)``."""
    return (total_steps - round(annihilation_fraction * total_steps)) // 2


class OneCycle(LearningRateSchedule):
    """Smith's 1cycle policy, as described by Géron: one big cycle of the learning rate, then a
    short "annihilation" phase, with the momentum moving the opposite way.

    With ``T = total_steps``, ``A = round(annihilation_fraction * T)`` annihilation steps and a
    half-cycle of ``h = (T - A) // 2`` steps (``T - 2h`` steps are left for the annihilation)::

        0  <= t < h :  eta rises   linearly  initial_learning_rate -> max_learning_rate
        h  <= t < 2h:  eta falls   linearly  max_learning_rate     -> initial_learning_rate
        2h <= t < T :  eta falls   linearly  initial_learning_rate -> final_learning_rate
        t  >= T     :  eta = final_learning_rate

    ``momentum(t)`` goes the opposite way: ``max_momentum -> min_momentum`` during the rise,
    back to ``max_momentum`` during the fall, and stays at ``max_momentum`` afterwards (a high
    rate with low momentum, a low rate with high momentum). Keras has no 1cycle schedule.

    Args:
        total_steps: number of training steps (batches) the cycle spans, an integer >= 2.
        max_learning_rate: peak rate, reached at step ``h`` (e.g. 10x the rate a range test finds
            good, ``find_learning_rate``'s suggestion).
        initial_learning_rate: rate at step 0 and at the end of the fall; ``None`` means
            ``max_learning_rate / 10``. Must be in ``(0, max_learning_rate]``.
        final_learning_rate: rate reached at the end of annihilation; ``None`` means
            ``initial_learning_rate / 1000`` (three orders of magnitude lower). Must be in
            ``(0, initial_learning_rate]``.
        annihilation_fraction: fraction of ``total_steps`` spent annihilating, in ``[0, 1)``.
        max_momentum, min_momentum: momentum (or Adam's ``beta_1``) range,
            ``0 <= min_momentum <= max_momentum < 1``.
    """

    hyperparameters = (*ONE_CYCLE, name("OneCycle"))

    @classmethod
    def check_together(cls, values: dict[str, Any]) -> dict[str, Any]:
        return check_one_cycle(values)

    def __post_init__(self) -> None:
        self.half_cycle_steps = _one_cycle_half_steps(self.total_steps, self.annihilation_fraction)

    @staticmethod
    def _interpolate(t: float, t1: float, t2: float, v1: float, v2: float) -> float:
        """The straight line through ``(t1, v1)`` and ``(t2, v2)``, evaluated at ``t``."""
        return v1 + (v2 - v1) * (t - t1) / (t2 - t1)

    def __call__(self, step: int) -> float:
        t = _check_step(step)
        h, T = self.half_cycle_steps, self.total_steps
        eta0, eta_max, eta_end = (
            self.initial_learning_rate,
            self.max_learning_rate,
            self.final_learning_rate,
        )
        if t < h:
            return self._interpolate(t, 0, h, eta0, eta_max)
        if t < 2 * h:
            return self._interpolate(t, h, 2 * h, eta_max, eta0)
        if t < T:
            return self._interpolate(t, 2 * h, T, eta0, eta_end)
        return eta_end

    def momentum(self, step: int) -> float:
        """Momentum (or ``beta_1``) at ``step``, cycled opposite to the learning rate."""
        t = _check_step(step)
        h = self.half_cycle_steps
        if t < h:
            return self._interpolate(t, 0, h, self.max_momentum, self.min_momentum)
        if t < 2 * h:
            return self._interpolate(t, h, 2 * h, self.min_momentum, self.max_momentum)
        return self.max_momentum


# --------------------------------------------------------------------------- performance scheduling


def _in_open_unit_interval(name: str, value: Any) -> float:
    return check_range(name, value, 0.0, 1.0, low_inclusive=False, high_inclusive=False)


def _mode_among(*modes: str) -> Callable[[str, Any], str]:
    return lambda name, value: check_choice(name, value, modes)


FACTOR = Hyperparameter("factor", 0.1, "(0, 1)", "the rate's multiplier", _in_open_unit_interval)
PATIENCE = Hyperparameter("patience", 10, "integer >= 0", "bad evaluations before a cut")
MIN_DELTA = Hyperparameter("min_delta", 1e-4, ">= 0", "the smallest improvement")
COOLDOWN = Hyperparameter("cooldown", 0, "integer >= 0", "evaluations ignored after a cut")
MIN_LR = Hyperparameter("min_lr", 0.0, ">= 0", "the floor of the rate")
#: the callbacks' ``ReduceLROnPlateau`` (NumPy and Keras), in Keras' order; ``mode="auto"`` is
#: decided from ``monitor``'s name
PLATEAU_CALLBACK = (
    Hyperparameter("monitor", "val_loss", "a name in the logs", "the metric", _a_string),
    FACTOR,
    PATIENCE,
    Hyperparameter("verbose", 0, "integer >= 0", "0: silent"),
    Hyperparameter(
        "mode",
        "auto",
        "auto, min or max",
        "auto: from monitor's name",
        _mode_among("auto", "min", "max"),
    ),
    MIN_DELTA,
    COOLDOWN,
    MIN_LR,
)


class ReduceLROnPlateau(Declared):
    """Performance scheduling: multiply the rate by ``factor`` when a metric stops improving.

    Call ``update(metric)`` once per evaluation (once per epoch, usually with the validation
    loss); it returns the learning rate to use next. The logic is exactly that of
    ``keras.callbacks.ReduceLROnPlateau``:

    - a value improves on the best so far if ``metric < best - min_delta`` (mode ``"min"``) or
      ``metric > best + min_delta`` (mode ``"max"``); the first value always does. NaN never does;
    - while in cooldown, the counter of bad evaluations stays at 0 and each call uses up one
      cooldown step;
    - after ``patience`` bad evaluations in a row (outside cooldown), if the rate is still above
      ``min_lr``, it becomes ``max(lr * factor, min_lr)``, the counter restarts and ``cooldown``
      evaluations are ignored. At ``min_lr`` nothing changes and the counter keeps growing.

    Args:
        learning_rate: the current rate (> 0); ``self.learning_rate`` follows the reductions and
            may be reassigned (the Keras callback copies the optimizer's rate into it).
        factor: multiplier in ``(0, 1)``. patience, cooldown: integers >= 0.
        mode: ``"min"`` (losses) or ``"max"`` (accuracies). min_delta, min_lr: floats >= 0.
    """

    hyperparameters = (
        Hyperparameter("learning_rate", REQUIRED, "> 0", "the current rate"),
        FACTOR,
        PATIENCE,
        Hyperparameter(
            "mode", "min", "min or max", "min: losses; max: scores", _mode_among("min", "max")
        ),
        MIN_DELTA,
        COOLDOWN,
        MIN_LR,
    )

    def __post_init__(self) -> None:
        self.reset()

    @classmethod
    def of_callback(cls, callback: Any, learning_rate: float, mode: str) -> ReduceLROnPlateau:
        """The scheduler of a callback (its attributes ``factor``, ``patience``...) at the
        optimizer's ``learning_rate``, with ``mode`` decided (not ``"auto"``)."""
        names = [h.name for h in cls.hyperparameters if h.name not in ("learning_rate", "mode")]
        return cls(learning_rate, mode=mode, **{name: getattr(callback, name) for name in names})

    def reset(self) -> None:
        """Forget the best value, the counter and the cooldown (Keras does it at train begin)."""
        self.best: float | None = None
        self.wait = 0
        self.cooldown_counter = 0

    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0

    def is_improvement(self, metric: float) -> bool:
        if self.best is None:
            return True
        if self.mode == "min":
            return metric + self.min_delta < self.best
        return metric - self.min_delta > self.best

    def update(self, metric: float) -> float:
        """Record one evaluation of the monitored metric; return the (possibly reduced) rate."""
        metric = float(metric)
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.is_improvement(metric):
            self.best = metric
            self.wait = 0
        elif not self.in_cooldown():
            self.wait += 1
            # Keras compares the float32 rate it reads back from the optimizer with
            # float32(min_lr); doing the same keeps the two in step once the floor is reached.
            if self.wait >= self.patience and self.learning_rate > np.float32(self.min_lr):
                self.learning_rate = max(self.learning_rate * self.factor, self.min_lr)
                self.cooldown_counter = self.cooldown
                self.wait = 0
        return self.learning_rate


# --------------------------------------------------------------------------- range test


def _above_one(name: str, value: Any) -> float:
    return check_range(name, value, 1.0, math.inf, low_inclusive=False, high_inclusive=False)


#: the range test's arguments (``LearningRateRangeTest`` and the callback ``LearningRateFinder``)
RANGE_TEST = (
    Hyperparameter("min_lr", 1e-6, "> 0", "the first rate"),
    Hyperparameter("max_lr", 10.0, "> min_lr", "the last rate", check_positive),
    Hyperparameter("num_steps", 200, "integer >= 2", "steps of the sweep"),
    Hyperparameter("smoothing", 0.98, "[0, 1)", "weight of the loss's running average"),
    Hyperparameter("divergence_factor", 4.0, "> 1", "stop above this x the best loss", _above_one),
)


def check_range_test(values: dict[str, Any]) -> dict[str, Any]:
    """``max_lr > min_lr``."""
    if values["max_lr"] <= values["min_lr"]:
        raise ValueError(f"max_lr must be > min_lr={values['min_lr']!r}, got {values['max_lr']!r}")
    return values


def smooth_losses(losses: Sequence[float], smoothing: float = 0.98) -> np.ndarray:
    """Bias-corrected exponential moving average of the losses (Adam's ``m_hat``)::

    avg_i = smoothing * avg_{i-1} + (1 - smoothing) * loss_i
    smoothed_i = avg_i / (1 - smoothing**i)
    """
    smoothing = check_unit_interval_open_right("smoothing", smoothing)
    smoothed = np.empty(len(losses))
    avg = 0.0
    for i, loss in enumerate(losses, start=1):
        avg = smoothing * avg + (1.0 - smoothing) * float(loss)
        smoothed[i - 1] = avg / (1.0 - smoothing**i)
    return smoothed


def suggest_learning_rate(
    lrs: Sequence[float], losses: Sequence[float], smoothing: float = 0.98
) -> float:
    """The rate at the minimum of the smoothed loss curve, divided by 10.

    Géron's rule of thumb: the loss bottoms out shortly before the rate is too large and training
    diverges; a rate about ten times smaller than that turning point is fast and still stable.
    """
    if len(lrs) != len(losses) or len(lrs) == 0:
        raise ValueError(
            "lrs and losses must be non-empty and of equal length, "
            f"got {len(lrs)} and {len(losses)}"
        )
    smoothed = smooth_losses(losses, smoothing)
    smoothed[~np.isfinite(smoothed)] = np.inf
    return float(lrs[int(np.argmin(smoothed))]) / 10.0


class LearningRateRangeTest(Declared):
    """Bookkeeping of the range test, shared by ``find_learning_rate`` and the Keras
    ``LearningRateFinder`` callback.

    The rates sweep geometrically, ``lr_i = min_lr * (max_lr / min_lr) ** (i / (num_steps - 1))``.
    ``record(loss)`` stores the loss of the current step and says whether to stop: after
    ``num_steps`` steps, or as soon as the smoothed loss is non-finite or exceeds
    ``divergence_factor`` times its lowest value so far (training has diverged).
    """

    hyperparameters = RANGE_TEST

    @classmethod
    def check_together(cls, values: dict[str, Any]) -> dict[str, Any]:
        return check_range_test(values)

    def __post_init__(self) -> None:
        self.schedule = np.geomspace(self.min_lr, self.max_lr, self.num_steps)
        self.lrs: list[float] = []
        self.losses: list[float] = []
        self._avg = 0.0
        self._best = math.inf

    @property
    def learning_rate(self) -> float:
        """The rate for the next step."""
        return float(self.schedule[min(len(self.lrs), self.num_steps - 1)])

    def record(self, loss: float) -> bool:
        """Store the loss obtained at ``self.learning_rate``; return True when the test is over."""
        self.lrs.append(self.learning_rate)
        self.losses.append(float(loss))
        i = len(self.losses)
        self._avg = self.smoothing * self._avg + (1.0 - self.smoothing) * float(loss)
        smoothed = self._avg / (1.0 - self.smoothing**i)
        diverged = not math.isfinite(smoothed) or smoothed > self.divergence_factor * self._best
        self._best = min(self._best, smoothed)
        return diverged or i >= self.num_steps

    def suggestion(self) -> float:
        return suggest_learning_rate(self.lrs, self.losses, self.smoothing)


def find_learning_rate(
    train_step: Callable[[float], float],
    min_lr: float = 1e-6,
    max_lr: float = 10.0,
    num_steps: int = 200,
    smoothing: float = 0.98,
    divergence_factor: float = 4.0,
) -> tuple[np.ndarray, np.ndarray, float]:
    """The learning-rate range test (Smith 2015; Géron): train briefly while the rate grows
    exponentially from ``min_lr`` to ``max_lr``, watch the loss, stop when it explodes.

    ``train_step(lr)`` performs one training step at rate ``lr`` and returns its loss. The sweep
    stops after ``num_steps`` steps or when the bias-corrected moving average of the loss
    (``smoothing``) exceeds ``divergence_factor`` times its minimum (see
    ``LearningRateRangeTest``).

    Returns:
        ``(lrs, losses, suggestion)``: the rates tried, the raw losses, and
        ``suggest_learning_rate(lrs, losses, smoothing)`` (the rate at the smoothed minimum / 10).
        The training state after the test is the caller's to discard.
    """
    test = LearningRateRangeTest(min_lr, max_lr, num_steps, smoothing, divergence_factor)
    done = False
    while not done:
        done = test.record(train_step(test.learning_rate))
    return np.array(test.lrs), np.array(test.losses), test.suggestion()
