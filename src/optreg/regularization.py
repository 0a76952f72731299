"""Dropout, Monte Carlo dropout, early stopping and gradient clipping in NumPy.

* :class:`Dropout` is *inverted* dropout: at training time each unit is zeroed with
  probability ``rate`` and the survivors are divided by ``keep_prob = 1 - rate``, so the
  expected activation is unchanged and inference needs no rescaling.
* :func:`mc_dropout_predict` keeps dropout on at prediction time and averages ``n_samples``
  stochastic passes (Gal and Ghahramani, 2016): the mean is a better prediction, the standard
  deviation a measure of the model's uncertainty.
* :class:`EarlyStopping` follows ``keras.callbacks.EarlyStopping`` step for step, driven by one
  ``update(value, weights)`` call per epoch.
* :func:`clip_by_value`, :func:`clip_by_norm` and :func:`clip_by_global_norm` are the three
  clipping rules of Keras optimizers (``clipvalue``, ``clipnorm``, ``global_clipnorm``), as pure
  functions returning new arrays.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from optreg._validation import (
    check_choice,
    check_int,
)
from optreg.hyperparameters import REQUIRED, Declared, Hyperparameter, checked

__all__ = [
    "Dropout",
    "mc_dropout_predict",
    "EarlyStopping",
    "clip_by_value",
    "clip_by_norm",
    "clip_by_global_norm",
    "global_norm",
    "DROPOUT",
]


# --------------------------------------------------------------------------------------------
# Dropout
# --------------------------------------------------------------------------------------------


def _check_noise_shape(name: str, noise_shape: Any) -> tuple[int | None, ...] | None:
    """None, or a sequence of positive ints and Nones (None: the input's size)."""
    if noise_shape is None:
        return None
    if isinstance(noise_shape, str):
        raise ValueError(f"{name} must be a sequence of ints or None, got {noise_shape!r}")
    noise_shape = tuple(noise_shape)
    for dim in noise_shape:
        if dim is not None:
            check_int(f"{name} entries", dim, 1)
    return noise_shape


def _check_seed(name: str, seed: Any) -> int | None:
    return None if seed is None else check_int(name, seed)


#: Dropout's arguments (the Keras twins in ``optreg.keras.layers`` take them too). ``rate = 1``
#: is refused (Keras accepts it): it would drop every unit and make ``1 / (1 - rate)`` infinite.
DROPOUT = (
    Hyperparameter("rate", REQUIRED, "[0, 1)", "probability of dropping a unit"),
    Hyperparameter("noise_shape", None, "ints/None or None", "mask shape", _check_noise_shape),
    Hyperparameter("seed", None, "integer >= 0 or None", "seed of the masks", _check_seed),
)


class Dropout(Declared):
    """Inverted dropout: ``Dropout(rate, noise_shape=None, seed=None)`` as ``keras.layers.Dropout``.

    Training (``training=True``), with a fresh mask at every call:

        keep_prob = 1 - rate
        m ~ Bernoulli(keep_prob)       (one draw per element, or per ``noise_shape`` entry)
        y = x * m / keep_prob,          dx = dy * m / keep_prob

    Inference: ``y = x`` and ``dx = dy``. ``noise_shape`` (``None`` entries take the input's
    size) shares one mask value along the axes of size 1, e.g. ``(batch, 1, 1, channels)``
    drops whole feature maps. ``seed`` seeds the layer's own generator: two layers built with
    the same seed draw the same sequence of masks.
    """

    hyperparameters = DROPOUT

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.mask: np.ndarray | None = None  # m / keep_prob of the last training forward

    def _mask_shape(self, shape: tuple[int, ...]) -> tuple[int, ...]:
        if self.noise_shape is None:
            return shape
        mask_shape = tuple(
            n if d is None else d for d, n in zip(self.noise_shape, shape, strict=False)
        )
        if len(mask_shape) != len(shape) or any(
            m not in (1, n) for m, n in zip(mask_shape, shape, strict=True)
        ):
            raise ValueError(
                f"noise_shape {self.noise_shape} does not broadcast to x of shape {shape}: "
                "each entry must be None, 1 or the input's size"
            )
        return mask_shape

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = np.asarray(x)
        if not training or self.rate == 0:
            self.mask = None
            return x
        keep_prob = 1.0 - self.rate
        keep = self.rng.random(self._mask_shape(x.shape)) >= self.rate
        self.mask = keep.astype(x.dtype) / x.dtype.type(keep_prob)
        return x * self.mask

    def backward(self, dy: np.ndarray) -> np.ndarray:
        """``dy * m / keep_prob`` after a training forward, ``dy`` after an inference one."""
        dy = np.asarray(dy)
        return dy if self.mask is None else dy * self.mask


def mc_dropout_predict(
    model: Any, x: np.ndarray, n_samples: int = 100
) -> tuple[np.ndarray, np.ndarray]:
    """Monte Carlo dropout: mean and standard deviation of ``n_samples`` stochastic predictions.

    ``model`` is either an object with ``forward(x, training=...)`` (the NumPy layers and
    ``optreg.nn.Sequential``) or a callable accepting ``training=`` (a Keras model). Each pass
    calls it with ``training=True`` so that dropout draws a new mask; the passes are stacked,
    giving

        mean = mean_k f_k(x),   std = std_k f_k(x)        (k = 1 .. n_samples)

    with the same shape as one prediction. Note that ``training=True`` also switches other
    layers to training behaviour, e.g. batch normalization would use (and update) batch
    statistics; for such models use ``optreg.keras.layers.MCDropout`` or a model made of layers
    whose training mode only affects dropout.
    """
    n_samples = check_int("n_samples", n_samples, 1)
    predict: Callable[..., Any] = model.forward if hasattr(model, "forward") else model
    if not callable(predict):
        raise ValueError("model must have a forward(x, training) method or be callable")
    samples = np.stack([np.asarray(predict(x, training=True)) for _ in range(n_samples)])
    return samples.mean(axis=0), samples.std(axis=0)


# --------------------------------------------------------------------------------------------
# Early stopping
# --------------------------------------------------------------------------------------------


def _resolve_mode(monitor: str, mode: str) -> str:
    """``auto``: minimize losses and errors, maximize accuracies and AUC; otherwise ask."""
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    if name.endswith(("loss", "error")):
        return "min"
    if name.endswith(("accuracy", "acc", "auc")):
        return "max"
    raise ValueError(
        f"mode='auto' cannot tell whether monitor={monitor!r} should be minimized or "
        "maximized; pass mode='min' or mode='max'"
    )


def _abs_finite(name: str, value: Any) -> float:
    """``abs(value)``, as Keras takes it, finite."""
    value = abs(float(value))
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return value


#: ``EarlyStopping``'s arguments, Keras' (less ``verbose``); ``mode="auto"`` is decided from
#: ``monitor``'s name
EARLY_STOPPING = (
    Hyperparameter("monitor", "val_loss", "a name in the logs", "the metric", lambda _, v: v),
    Hyperparameter("min_delta", 0.0, "finite (its abs)", "the smallest improvement", _abs_finite),
    Hyperparameter("patience", 0, "integer >= 0", "epochs without improvement before stopping"),
    Hyperparameter(
        "mode",
        "auto",
        "auto, min or max",
        "auto: from monitor's name",
        lambda name, value: check_choice(name, value, ("auto", "min", "max")),
    ),
    Hyperparameter("baseline", None, "a number or None", "a value to beat", lambda _, v: v),
    Hyperparameter(
        "restore_best_weights", False, "true or false", "keep the best", lambda _, v: bool(v)
    ),
    Hyperparameter("start_from_epoch", 0, "integer >= 0", "epochs before any stop"),
)


class EarlyStopping(Declared):
    """Stop training when ``monitor`` has stopped improving, with Keras' rules.

    Call ``update(value, weights)`` once per epoch with the monitored value of that epoch
    (epochs are counted from 0); it returns ``True`` when training should stop. An improvement
    beats the best value by more than ``min_delta``: ``value + min_delta < best`` in ``min``
    mode, ``value - min_delta > best`` in ``max`` mode. As in Keras' ``on_epoch_end``:

    * epochs before ``start_from_epoch`` are ignored;
    * ``wait`` counts the epochs since the last improvement and is reset by an improvement
      (an improvement that does not beat ``baseline`` does not reset it);
    * ``wait`` is incremented *before* the test, so training stops at the ``patience``-th
      consecutive epoch without improvement (never at epoch 0; ``patience=0`` acts as 1);
    * with ``restore_best_weights``, ``best_weights`` holds a deep copy of the weights passed
      with the best value (or the first monitored epoch's weights if none improved); the caller
      restores them.

    A non-finite value (NaN) never compares as an improvement, so it counts towards
    ``patience`` like any bad epoch (``inf`` likewise in ``min`` mode).

    ``mode`` defaults to ``'auto'`` as in Keras: names ending in ``loss``/``error`` are
    minimized, ``accuracy``/``acc``/``auc`` maximized.
    """

    hyperparameters = EARLY_STOPPING

    @classmethod
    def check_together(cls, values: dict[str, Any]) -> dict[str, Any]:
        return {**values, "mode": _resolve_mode(values["monitor"], values["mode"])}

    def __post_init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        """Forget everything (Keras' ``on_train_begin``): the instance can be reused."""
        self.epoch = -1
        self.wait = 0
        self.best: float | None = None  # Keras resets it to None too, even with a baseline
        self.best_epoch = 0
        self.best_weights: Any = None
        self.stopped_epoch = 0
        self.stop_training = False

    def _is_improvement(self, value: float, reference: float | None) -> bool:
        if reference is None:
            return True
        if self.mode == "min":
            return value + self.min_delta < reference
        return value - self.min_delta > reference

    def update(self, value: float, weights: Any = None) -> bool:
        """Record the monitored ``value`` of the next epoch; return ``True`` to stop."""
        self.epoch += 1
        value = float(value)
        if self.epoch < self.start_from_epoch:
            return False
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights = copy.deepcopy(weights)
            self.best_epoch = self.epoch
        self.wait += 1
        if self._is_improvement(value, self.best):
            self.best = value
            self.best_epoch = self.epoch
            if self.restore_best_weights:
                self.best_weights = copy.deepcopy(weights)
            if self.baseline is None or self._is_improvement(value, self.baseline):
                self.wait = 0
            return False
        if self.wait >= self.patience and self.epoch > 0:
            self.stopped_epoch = self.epoch
            self.stop_training = True
        return self.stop_training


# --------------------------------------------------------------------------------------------
# Gradient clipping
# --------------------------------------------------------------------------------------------


@checked(clipvalue="> 0")
def clip_by_value(
    grads: np.ndarray | Sequence[np.ndarray], clipvalue: float
) -> np.ndarray | list[np.ndarray]:
    """Clip every component to ``[-clipvalue, clipvalue]`` (Keras' ``clipvalue``).

    Accepts one array or a list of arrays and returns the same kind, as new arrays. This can
    change the gradient's direction. ``+-inf`` become ``+-clipvalue``; NaN stays NaN.
    """
    if isinstance(grads, np.ndarray):
        return np.clip(grads, -clipvalue, clipvalue)
    return [np.clip(np.asarray(g), -clipvalue, clipvalue) for g in grads]


@checked(clipnorm="> 0")
def clip_by_norm(grad: np.ndarray, clipnorm: float, norm: float | None = None) -> np.ndarray:
    """Rescale one gradient so that its L2 norm is at most ``clipnorm`` (Keras' ``clipnorm``).

        g' = g * clipnorm / max(||g||_2, clipnorm)

    The direction is kept; a zero gradient stays zero. ``norm``, when given, stands for
    ``||g||_2``: the optimizers pass each chunk of a gradient with the whole gradient's norm,
    ``clip_by_global_norm`` every gradient with the norm of all of them. Non-finite input as in
    Keras: an ``inf`` component makes the norm ``inf`` (finite components become 0, infinite
    ones NaN) and a NaN makes everything NaN.
    """
    grad = np.asarray(grad)
    norm = np.sqrt(np.sum(np.square(grad))) if norm is None else norm
    return grad * (clipnorm / max(norm, clipnorm))  # max(NaN, c) is NaN


def global_norm(grads: Sequence[np.ndarray]) -> float:
    """``sqrt(sum_i ||g_i||_2^2)``: the norm of all gradients seen as one vector."""
    return float(np.sqrt(sum(float(np.sum(np.square(g))) for g in grads)))


@checked(global_clipnorm="> 0")
def clip_by_global_norm(
    grads: Sequence[np.ndarray], global_clipnorm: float
) -> tuple[list[np.ndarray], float]:
    """Rescale all gradients by one factor so that their global norm is at most ``global_clipnorm``.

        N = sqrt(sum_i ||g_i||^2),   g_i' = g_i * global_clipnorm / max(N, global_clipnorm)

    Returns ``(clipped_grads, N)`` (``N`` before clipping, handy for logging). Non-finite input
    as in Keras' ``clip_by_global_norm``: if ``N`` is ``inf`` or NaN, *every* clipped component
    is NaN, so one bad gradient is impossible to miss.
    """
    norm = global_norm(grads)
    n = norm if math.isfinite(norm) else math.nan  # inf: every component NaN, as in Keras
    return [clip_by_norm(g, global_clipnorm, norm=n) for g in grads], norm
