"""Gradient-descent optimizers in NumPy, step for step the same as Keras 3's built-ins.

Every class takes the names, arguments and defaults of its ``keras.optimizers`` counterpart, and
follows the same order of operations in ``apply(grads, params)`` (Keras 3.15,
``BaseOptimizer.apply``):

1. the learning rate ``lr`` is read; a schedule is evaluated at ``iterations`` (0 at first);
2. the gradients are clipped: ``clipnorm`` per tensor (``g * c / max(||g||, c)``), or
   ``global_clipnorm`` over all tensors together, or ``clipvalue`` element-wise (one at most);
3. weight decay, if set, shrinks each parameter *before* the update: ``w <- w - w * wd * lr``;
4. ``update_step`` applies the algorithm with ``t = iterations + 1`` (1 on the first step);
5. ``iterations`` is incremented.

``apply`` updates the arrays of ``params`` **in place**. The optimizer's state (``m``, ``s``, ...)
is created on first use, one dict per parameter position, so the same list of arrays must be
passed at every step. Everything is checked before anything changes: grads and params of
different lengths, shapes or non-float dtypes raise ``ValueError`` and leave params, state and
``iterations`` untouched.

Non-finite gradients (a deliberate difference from Keras): Keras lets a NaN or inf in a gradient
flow into the weights and the optimizer state, which are then lost. Here ``apply`` raises
``ValueError`` naming the offending ``grads[i]`` and changes nothing, so the caller can skip the
batch, lower the learning rate or stop.

Scalars that Keras computes in the parameter's dtype (the bias corrections ``1 - beta**t``) are
computed in that dtype here too, so that float32 steps agree with Keras' to float32 round-off.

Memory and speed: each update is written with in-place ufuncs (``out=``) into a fixed number of
scratch arrays allocated once at the first step (``n_temporaries + 1`` arrays of at most
``chunk_size`` elements per thread), and applied chunk by chunk (see ``Optimizer``). After the
first step, a step allocates no arrays (only a few small Python objects), except a contiguous
copy of any parameter or gradient that is not C-contiguous (the parameter is written back).
With a million elements or more in all, the chunks are shared out between threads, as
TensorFlow uses every core; set ``optimizer.workers = 1`` to stay on one thread. Neither the
chunks nor the threads change the result: every element goes through the same operations.

The argument checks (``check_*_args``) are module-level functions that the Keras twins in
``optreg.keras.optimizers`` call too, so both raise the same ``ValueError``.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from optreg._validation import (
    check_learning_rate,
    check_non_negative,
    check_optional_positive,
    check_positive,
    check_unit_interval_open_right,
)

__all__ = [
    "Optimizer",
    "SGD",
    "Adagrad",
    "RMSprop",
    "Adadelta",
    "Adam",
    "Adamax",
    "Nadam",
    "AdamW",
    "check_base_args",
    "check_sgd_args",
    "check_adagrad_args",
    "check_rmsprop_args",
    "check_adadelta_args",
    "check_adam_args",
    "check_adamw_args",
]

LearningRate = float | Callable[[int], float]
State = dict[str, np.ndarray]


# --------------------------------------------------------------------------------------------
# Argument checks, shared with the Keras twins
# --------------------------------------------------------------------------------------------
def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool | np.bool_):
        raise ValueError(f"{name} must be True or False, got {value!r}")
    return bool(value)


def check_base_args(
    learning_rate: Any,
    weight_decay: Any = None,
    clipnorm: Any = None,
    clipvalue: Any = None,
    global_clipnorm: Any = None,
) -> dict[str, Any]:
    """Arguments every optimizer takes. Like Keras, at most one clipping argument may be set."""
    clipping = {"clipnorm": clipnorm, "clipvalue": clipvalue, "global_clipnorm": global_clipnorm}
    given = [f"{k}={v!r}" for k, v in clipping.items() if v is not None]
    if len(given) > 1:
        raise ValueError(
            "only one of clipnorm, clipvalue and global_clipnorm can be set, got "
            + ", ".join(given)
        )
    return {
        "learning_rate": check_learning_rate(learning_rate),
        "weight_decay": None
        if weight_decay is None
        else check_non_negative("weight_decay", weight_decay),
        **{name: check_optional_positive(name, value) for name, value in clipping.items()},
    }


def check_sgd_args(momentum: Any, nesterov: Any) -> dict[str, Any]:
    return {
        "momentum": check_unit_interval_open_right("momentum", momentum),
        "nesterov": _check_bool("nesterov", nesterov),
    }


def check_adagrad_args(initial_accumulator_value: Any, epsilon: Any) -> dict[str, Any]:
    return {
        "initial_accumulator_value": check_non_negative(
            "initial_accumulator_value", initial_accumulator_value
        ),
        "epsilon": check_positive("epsilon", epsilon),
    }


def check_rmsprop_args(rho: Any, momentum: Any, epsilon: Any, centered: Any) -> dict[str, Any]:
    return {
        "rho": check_unit_interval_open_right("rho", rho),
        "momentum": check_unit_interval_open_right("momentum", momentum),
        "epsilon": check_positive("epsilon", epsilon),
        "centered": _check_bool("centered", centered),
    }


def check_adadelta_args(rho: Any, epsilon: Any) -> dict[str, Any]:
    return {
        "rho": check_unit_interval_open_right("rho", rho),
        "epsilon": check_positive("epsilon", epsilon),
    }


def check_adam_args(beta_1: Any, beta_2: Any, epsilon: Any, amsgrad: Any = False) -> dict[str, Any]:
    """Adam, Adamax and Nadam (the last two have no ``amsgrad``: leave it False)."""
    return {
        "beta_1": check_unit_interval_open_right("beta_1", beta_1),
        "beta_2": check_unit_interval_open_right("beta_2", beta_2),
        "epsilon": check_positive("epsilon", epsilon),
        "amsgrad": _check_bool("amsgrad", amsgrad),
    }


def check_adamw_args(weight_decay: Any) -> float:
    """AdamW's decay is its reason to exist: it must be a number >= 0, not None."""
    if weight_decay is None:
        raise ValueError("weight_decay must be a number >= 0 for AdamW, got None")
    return check_non_negative("weight_decay", weight_decay)


def _power(base: float, t: int, w: np.ndarray) -> np.floating:
    """``base**t`` computed in ``w``'s dtype, as Keras computes its bias corrections.

    It matters in float32: ``1 - 0.999**t`` loses about four of float32's seven digits, so the
    float64 value would give steps about 1e-5 (relative) away from Keras' on the first steps.
    """
    dtype = w.dtype.type
    return dtype(base) ** dtype(t)


_POOL: ThreadPoolExecutor | None = None


def _thread_pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="optreg")
    return _POOL


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


# --------------------------------------------------------------------------------------------
# Base class
# --------------------------------------------------------------------------------------------
class Optimizer:
    """Base class: learning rate (or schedule), weight decay, gradient clipping, ``iterations``.

    Subclasses define ``build_state(w) -> dict`` (the per-parameter state, created at the first
    step) and ``update_step(g, w, state, lr, tmp)``, which updates ``w`` and ``state`` in place
    using the scratch arrays ``tmp`` (``n_temporaries`` of them). ``g`` is the clipped gradient
    and must not be written to (it may be the caller's array).

    Every update is element-wise once its scalars (``lr``, ``t``, clipping factors) are known, so
    ``apply`` calls ``update_step`` on matching 1-D chunks of ``g``, ``w`` and the state, of at
    most ``chunk_size`` elements: a chunk's arrays stay in the CPU cache between the ufuncs of an
    update, where whole parameters would go back and forth to memory at every ufunc. With
    ``parallel_min_size`` elements or more in all, the chunks are shared out between threads
    (``workers``, default one per CPU; NumPy's ufuncs release the GIL), as TensorFlow uses every
    core. Neither changes the result: each element sees the same operations.
    """

    #: how many scratch arrays ``update_step`` needs
    n_temporaries: int = 1
    #: elements per chunk (256 KiB of float32): large enough that the Python cost per chunk is
    #: small, small enough that a chunk's few arrays stay in the CPU cache between ufuncs
    chunk_size: int = 65536
    #: threads sharing the chunks (None: one per CPU; 1: no threads)
    workers: int | None = None
    #: below this many elements in all, threads cost more than they save
    parallel_min_size: int = 1_000_000

    def __init__(
        self,
        learning_rate: LearningRate,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        args = check_base_args(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm)
        self._learning_rate = args["learning_rate"]
        self.weight_decay: float | None = args["weight_decay"]
        self.clipnorm: float | None = args["clipnorm"]
        self.clipvalue: float | None = args["clipvalue"]
        self.global_clipnorm: float | None = args["global_clipnorm"]
        self.name = name if name is not None else _snake_case(type(self).__name__)
        self.iterations = 0
        #: one dict of state arrays per parameter position, filled at the first ``apply``
        self.state: list[State] = []
        self._signature: list[tuple[tuple[int, ...], np.dtype]] | None = None
        self._flat_state: list[State] = []
        self._threads: list[tuple[list[tuple[int, int, int]], dict[np.dtype, list]]] = []

    # -- learning rate --------------------------------------------------------------------
    @property
    def learning_rate(self) -> LearningRate:
        """The float or schedule given to the constructor (settable, e.g. by a callback)."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: LearningRate) -> None:
        self._learning_rate = check_learning_rate(value)

    def current_learning_rate(self) -> float:
        """The rate of the next step: the schedule evaluated at ``iterations``, as Keras does."""
        if callable(self._learning_rate):
            step = self.iterations
            return check_non_negative(f"learning_rate({step})", float(self._learning_rate(step)))
        return self._learning_rate

    @property
    def built(self) -> bool:
        return self._signature is not None

    # -- the step -------------------------------------------------------------------------
    def apply(self, grads: Sequence[np.ndarray], params: Sequence[np.ndarray]) -> None:
        """One optimization step: update every array of ``params`` in place."""
        squared_norms = self._check_apply_args(grads, params)
        if len(params) == 0:  # nothing to update; Keras does not count the step either
            return
        lr = self.current_learning_rate()
        if not self.built:
            self._build(params)
        self._before_update_steps()
        scale = self._global_clip_scale(squared_norms)
        scales = [self._clip_scale(n, scale) for n in squared_norms]
        # 1-D views (a contiguous copy for a non-contiguous parameter, written back below)
        flat_w = [w.reshape(-1) if w.flags.c_contiguous else w.flatten() for w in params]
        flat_g = [g.reshape(-1) for g in grads]

        def update(chunks: list[tuple[int, int, int]], scratch: dict[np.dtype, list]) -> None:
            for i, start, stop in chunks:
                w = flat_w[i][start:stop]
                g_clipped, *tmp = (s[: stop - start] for s in scratch[w.dtype])
                g = self._clip(flat_g[i][start:stop], scales[i], out=g_clipped)
                if self.weight_decay:
                    # w <- w - w * wd * lr, before the gradient step (Keras' order)
                    np.multiply(w, self.weight_decay * lr, out=tmp[0])
                    w -= tmp[0]
                state = {k: v[start:stop] for k, v in self._flat_state[i].items()}
                self.update_step(g, w, state, lr, tmp)

        if len(self._threads) == 1:
            update(*self._threads[0])
        else:
            list(_thread_pool().map(lambda work: update(*work), self._threads))
        for w, flat in zip(params, flat_w, strict=True):
            if not w.flags.c_contiguous:
                np.copyto(w, flat.reshape(w.shape))
        self.iterations += 1

    def build_state(self, w: np.ndarray) -> State:
        """The per-parameter state arrays (zeros shaped like ``w`` unless stated)."""
        return {}

    def update_step(
        self, g: np.ndarray, w: np.ndarray, state: State, lr: float, tmp: list[np.ndarray]
    ) -> None:
        raise NotImplementedError

    def _before_update_steps(self) -> None:
        """Hook run once per step before the per-parameter updates (Nadam's momentum cache)."""

    # -- clipping -------------------------------------------------------------------------
    def _global_clip_scale(self, squared_norms: list[float]) -> float:
        if self.global_clipnorm is None:
            return 1.0
        norm = math.sqrt(sum(squared_norms))
        return self.global_clipnorm / max(norm, self.global_clipnorm)

    def _clip_scale(self, squared_norm: float, global_scale: float) -> float:
        """The factor of one gradient: ``c / max(||g||, c)`` for clipnorm, else the global one."""
        if self.clipnorm is not None:
            return self.clipnorm / max(math.sqrt(squared_norm), self.clipnorm)
        return global_scale

    def _clip(self, g: np.ndarray, scale: float, out: np.ndarray) -> np.ndarray:
        """The clipped gradient, written to ``out`` when clipping changes it, else ``g`` itself."""
        if self.clipvalue is not None:
            return np.clip(g, -self.clipvalue, self.clipvalue, out=out)
        if scale == 1.0:
            return g
        return np.multiply(g, scale, out=out)

    # -- validation and state -------------------------------------------------------------
    def _check_apply_args(self, grads: Any, params: Any) -> list[float]:
        """Raise ValueError before anything changes; return each gradient's squared norm."""
        for name, seq in (("grads", grads), ("params", params)):
            if not isinstance(seq, list | tuple):
                raise ValueError(f"{name} must be a list of NumPy arrays, got {type(seq).__name__}")
        if len(grads) != len(params):
            raise ValueError(
                f"grads and params must have the same length, got {len(grads)} and {len(params)}"
            )
        if self._signature is not None and params and len(params) != len(self._signature):
            raise ValueError(
                f"params must have length {len(self._signature)} (the list this optimizer was "
                f"first applied to), got {len(params)}; use a new optimizer for other parameters"
            )
        for i, (g, w) in enumerate(zip(grads, params, strict=True)):
            for name, a in ((f"params[{i}]", w), (f"grads[{i}]", g)):
                if not isinstance(a, np.ndarray):
                    raise ValueError(f"{name} must be a NumPy array, got {type(a).__name__}")
                if not np.issubdtype(a.dtype, np.floating):
                    raise ValueError(f"{name} must have a float dtype, got {a.dtype}")
            if not w.flags.writeable:
                raise ValueError(f"params[{i}] must be writeable (it is updated in place)")
            if g.shape != w.shape:
                raise ValueError(
                    f"grads[{i}] must have the shape of params[{i}], {w.shape}, got {g.shape}"
                )
            if self._signature is not None and (w.shape, w.dtype) != self._signature[i]:
                shape, dtype = self._signature[i]
                raise ValueError(
                    f"params[{i}] must have shape {shape} and dtype {dtype} as at the first step, "
                    f"got {w.shape} and {w.dtype}"
                )
        squared_norms = []
        for i, g in enumerate(grads):
            flat = g.reshape(-1)
            squared_norm = float(np.vdot(flat, flat))  # one pass, no temporary
            # inf or NaN here means a non-finite element, or an overflow of the sum: tell apart
            if not math.isfinite(squared_norm) and not np.isfinite(g).all():
                raise ValueError(
                    f"grads[{i}] contains NaN or infinite values; nothing was updated "
                    "(params, optimizer state and iterations are unchanged)"
                )
            squared_norms.append(squared_norm)
        return squared_norms

    def _build(self, params: Sequence[np.ndarray]) -> None:
        self._signature = [(w.shape, w.dtype) for w in params]
        # C order whatever the parameter's layout, so that the 1-D views below are views
        self.state = [
            {k: np.ascontiguousarray(v) for k, v in self.build_state(w).items()} for w in params
        ]
        self._flat_state = [{k: v.reshape(-1) for k, v in st.items()} for st in self.state]
        chunks = [
            (i, start, min(start + self.chunk_size, w.size))
            for i, w in enumerate(params)
            for start in range(0, w.size, self.chunk_size)
        ]
        total = sum(w.size for w in params)
        workers = (self.workers or os.cpu_count() or 1) if total >= self.parallel_min_size else 1
        workers = max(1, min(workers, len(chunks)))
        # Each thread gets a contiguous run of chunks and its own chunk-sized scratch arrays
        # (the clipped gradient, then the temporaries), one set per dtype.
        length = min(self.chunk_size, max(w.size for w in params))
        dtypes = {w.dtype for w in params}
        self._threads = []
        for k in range(workers):
            scratch = {
                dtype: [np.empty(length, dtype) for _ in range(1 + self.n_temporaries)]
                for dtype in dtypes
            }
            self._threads.append(
                (chunks[k * len(chunks) // workers : (k + 1) * len(chunks) // workers], scratch)
            )

    # -- configuration --------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, with Keras' keys (a Keras twin accepts them)."""
        return {
            "name": self.name,
            "learning_rate": self._learning_rate,
            "weight_decay": self.weight_decay,
            "clipnorm": self.clipnorm,
            "clipvalue": self.clipvalue,
            "global_clipnorm": self.global_clipnorm,
        }

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"


# --------------------------------------------------------------------------------------------
# The algorithms
# --------------------------------------------------------------------------------------------
class SGD(Optimizer):
    """Stochastic gradient descent, with optional momentum and Nesterov momentum.

    Keras' velocity convention (the velocity ``m`` already contains ``-lr``)::

        momentum = 0:   w <- w - lr g
        otherwise:      m <- momentum m - lr g
                        w <- w + m                      (nesterov=False)
                        w <- w + momentum m - lr g      (nesterov=True, with the new m)

    Textbook / PyTorch convention: ``m <- momentum m + g``, ``w <- w - lr m``. The two give
    identical steps while ``lr`` is constant; with a schedule they differ, because Keras' ``m``
    remembers past steps at the rates they were taken with, the textbook's at the current rate.
    The state ``m`` exists even when ``momentum`` is 0 (Keras then creates none), so that a
    schedule may switch momentum on during training.
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.01,
        momentum: float = 0.0,
        nesterov: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        args = check_sgd_args(momentum, nesterov)
        self.momentum: float = args["momentum"]
        self.nesterov: bool = args["nesterov"]

    def build_state(self, w: np.ndarray) -> State:
        # kept even when momentum is 0, so that a schedule may switch momentum on later
        return {"m": np.zeros(w.shape, w.dtype)}

    def update_step(self, g, w, state, lr, tmp):
        lr_g = np.multiply(g, lr, out=tmp[0])
        if self.momentum == 0:
            w -= lr_g
            return
        m = state["m"]
        m *= self.momentum  # m <- momentum m - lr g
        m -= lr_g
        if self.nesterov:  # w <- w + momentum m - lr g
            w -= lr_g
            w += np.multiply(m, self.momentum, out=tmp[0])
        else:  # w <- w + m
            w += m

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adagrad(Optimizer):
    """Adagrad: each coordinate's rate shrinks with the sum of its squared gradients::

        s <- s + g^2
        w <- w - lr g / sqrt(s + epsilon)

    Keras differs from Duchi et al. / the textbook (``s0 = 0``, ``lr g / (sqrt(s) + eps)``):
    ``s`` starts at ``initial_accumulator_value`` (0.1) and epsilon is added *inside* the root.
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        initial_accumulator_value: float = 0.1,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        args = check_adagrad_args(initial_accumulator_value, epsilon)
        self.initial_accumulator_value: float = args["initial_accumulator_value"]
        self.epsilon: float = args["epsilon"]

    def build_state(self, w: np.ndarray) -> State:
        return {"s": np.full_like(w, self.initial_accumulator_value)}

    def update_step(self, g, w, state, lr, tmp):
        s, step = state["s"], tmp[0]
        s += np.square(g, out=step)  # s <- s + g^2
        np.add(s, self.epsilon, out=step)  # step <- lr g / sqrt(s + epsilon)
        np.sqrt(step, out=step)
        np.divide(g, step, out=step)
        step *= lr
        w -= step


class RMSprop(Optimizer):
    """RMSprop: divide by a running root-mean-square of recent gradients::

        s   <- rho s + (1 - rho) g^2
        m_g <- rho m_g + (1 - rho) g                      (centered=True only)
        d    = s - m_g^2 + epsilon   (centered)   or   s + epsilon
        step = lr g / sqrt(d)
        m   <- momentum m + step ;  w <- w - m             (momentum > 0)
        w   <- w - step                                   (momentum = 0)

    Keras adds epsilon *inside* the square root; Hinton's lecture and most textbooks write
    ``lr g / (sqrt(s) + eps)``. Centered RMSprop (Graves, 2013) divides by an estimate of the
    gradient's standard deviation instead of its RMS.
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        rho: float = 0.9,
        momentum: float = 0.0,
        epsilon: float = 1e-7,
        centered: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        args = check_rmsprop_args(rho, momentum, epsilon, centered)
        self.rho: float = args["rho"]
        self.momentum: float = args["momentum"]
        self.epsilon: float = args["epsilon"]
        self.centered: bool = args["centered"]

    def build_state(self, w: np.ndarray) -> State:
        state = {"s": np.zeros_like(w)}
        if self.momentum > 0:
            state["m"] = np.zeros_like(w)
        if self.centered:
            state["m_g"] = np.zeros_like(w)
        return state

    def update_step(self, g, w, state, lr, tmp):
        rho, s, step = self.rho, state["s"], tmp[0]
        s *= rho  # s <- rho s + (1 - rho) g^2
        s += np.multiply(np.square(g, out=step), 1 - rho, out=step)
        if self.centered:
            m_g = state["m_g"]
            m_g *= rho  # m_g <- rho m_g + (1 - rho) g
            m_g += np.multiply(g, 1 - rho, out=step)
            np.subtract(s, np.square(m_g, out=step), out=step)  # d = s - m_g^2 + epsilon
            step += self.epsilon
        else:
            np.add(s, self.epsilon, out=step)  # d = s + epsilon
        np.sqrt(step, out=step)  # step = lr g / sqrt(d)
        np.divide(g, step, out=step)
        step *= lr
        if self.momentum > 0:
            m = state["m"]
            m *= self.momentum  # m <- momentum m + step
            m += step
            w -= m
        else:
            w -= step

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "rho": self.rho,
            "momentum": self.momentum,
            "epsilon": self.epsilon,
            "centered": self.centered,
        }


class Adadelta(Optimizer):
    """Adadelta: the step's units come from a running RMS of past steps::

        s  <- rho s + (1 - rho) g^2
        dw  = - sqrt(d + epsilon) / sqrt(s + epsilon) * g
        d  <- rho d + (1 - rho) dw^2
        w  <- w + lr dw

    Zeiler (2012) has no learning rate (``w <- w + dw``); Keras multiplies ``dw`` by
    ``learning_rate``, so ``learning_rate=1.0`` gives the paper's algorithm (the default 0.001
    makes it 1000 times slower).
    """

    n_temporaries = 2

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        rho: float = 0.95,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        args = check_adadelta_args(rho, epsilon)
        self.rho: float = args["rho"]
        self.epsilon: float = args["epsilon"]

    def build_state(self, w: np.ndarray) -> State:
        return {"s": np.zeros_like(w), "d": np.zeros_like(w)}

    def update_step(self, g, w, state, lr, tmp):
        rho, eps, s, d = self.rho, self.epsilon, state["s"], state["d"]
        dw, work = tmp
        s *= rho  # s <- rho s + (1 - rho) g^2
        s += np.multiply(np.square(g, out=work), 1 - rho, out=work)
        np.sqrt(np.add(d, eps, out=dw), out=dw)  # dw = - sqrt(d + eps) / sqrt(s + eps) * g
        dw /= np.sqrt(np.add(s, eps, out=work), out=work)
        dw *= g
        np.negative(dw, out=dw)
        d *= rho  # d <- rho d + (1 - rho) dw^2
        d += np.multiply(np.square(dw, out=work), 1 - rho, out=work)
        w += np.multiply(dw, lr, out=work)  # w <- w + lr dw

    def get_config(self) -> dict[str, Any]:
        return {**super().get_config(), "rho": self.rho, "epsilon": self.epsilon}


class Adam(Optimizer):
    """Adam: momentum (``m``) and RMSprop-style scaling (``s``), both bias-corrected::

        t     = iterations + 1
        m    <- m + (1 - beta_1) (g - m)          (= beta_1 m + (1 - beta_1) g)
        s    <- s + (1 - beta_2) (g^2 - s)        (= beta_2 s + (1 - beta_2) g^2)
        s_max <- max(s_max, s) ; use s_max for s  (amsgrad=True only)
        alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w    <- w - alpha m / (sqrt(s) + epsilon)

    Textbook Adam (Kingma & Ba, Algorithm 1) divides the corrected moments,
    ``w <- w - lr m_hat / (sqrt(s_hat) + eps_hat)`` with ``m_hat = m / (1 - beta_1^t)`` and
    ``s_hat = s / (1 - beta_2^t)``. Both are the same step when
    ``eps_hat = epsilon / sqrt(1 - beta_2^t)``: Keras' epsilon ("epsilon hat" in section 2 of the
    paper) acts larger early in training than the textbook's. The paper's default 1e-8 vs Keras'
    1e-7 is another small difference.
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        args = check_adam_args(beta_1, beta_2, epsilon, amsgrad)
        self.beta_1: float = args["beta_1"]
        self.beta_2: float = args["beta_2"]
        self.epsilon: float = args["epsilon"]
        self.amsgrad: bool = args["amsgrad"]

    def build_state(self, w: np.ndarray) -> State:
        state = {"m": np.zeros_like(w), "s": np.zeros_like(w)}
        if self.amsgrad:
            state["s_max"] = np.zeros_like(w)
        return state

    def update_step(self, g, w, state, lr, tmp):
        beta_1, beta_2, t = self.beta_1, self.beta_2, self.iterations + 1
        m, s, step = state["m"], state["s"], tmp[0]
        m += np.multiply(np.subtract(g, m, out=step), 1 - beta_1, out=step)
        np.square(g, out=step)
        s += np.multiply(np.subtract(step, s, out=step), 1 - beta_2, out=step)
        if self.amsgrad:
            s = np.maximum(state["s_max"], s, out=state["s_max"])
        alpha = lr * np.sqrt(1 - _power(beta_2, t, w)) / (1 - _power(beta_1, t, w))
        np.sqrt(s, out=step)  # step = alpha m / (sqrt(s) + epsilon)
        step += self.epsilon
        np.divide(m, step, out=step)
        step *= alpha
        w -= step

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
            "amsgrad": self.amsgrad,
        }


class Adamax(Optimizer):
    """Adamax: Adam with the infinity norm in place of the RMS::

        t  = iterations + 1
        m <- m + (1 - beta_1) (g - m)
        u <- max(beta_2 u, |g|)
        w <- w - lr m / ((1 - beta_1^t) (u + epsilon))

    As in Kingma & Ba (section 7.1), except that Keras adds epsilon to ``u`` (the paper has none,
    its ``u`` is never 0 after a non-zero gradient).
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        args = check_adam_args(beta_1, beta_2, epsilon)
        self.beta_1: float = args["beta_1"]
        self.beta_2: float = args["beta_2"]
        self.epsilon: float = args["epsilon"]

    def build_state(self, w: np.ndarray) -> State:
        return {"m": np.zeros_like(w), "u": np.zeros_like(w)}

    def update_step(self, g, w, state, lr, tmp):
        beta_1, t = self.beta_1, self.iterations + 1
        m, u, step = state["m"], state["u"], tmp[0]
        m += np.multiply(np.subtract(g, m, out=step), 1 - beta_1, out=step)
        u *= self.beta_2  # u <- max(beta_2 u, |g|)
        np.maximum(u, np.abs(g, out=step), out=u)
        np.add(u, self.epsilon, out=step)  # step = lr m / ((1 - beta_1^t) (u + epsilon))
        np.divide(m, step, out=step)
        step *= lr / (1 - _power(beta_1, t, w))
        w -= step

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


class Nadam(Optimizer):
    """Nadam: Adam with Nesterov momentum (Dozat, 2016), with Keras' momentum schedule::

        t      = iterations + 1
        mu_t   = beta_1 (1 - 0.5 * 0.96^t)          (momentum schedule)
        P_t    = mu_1 mu_2 ... mu_t                 (kept across steps)
        m     <- m + (1 - beta_1) (g - m)
        s     <- s + (1 - beta_2) (g^2 - s)
        m_hat  = mu_{t+1} m / (1 - P_t mu_{t+1}) + (1 - mu_t) g / (1 - P_t)
        s_hat  = s / (1 - beta_2^t)
        w     <- w - lr m_hat / (sqrt(s_hat) + epsilon)

    Differences from the textbook: the textbook Nadam (Dozat's simplified form, Geron's book)
    uses a constant momentum ``mu_t = beta_1``, which gives
    ``m_hat = beta_1 m / (1 - beta_1^(t+1)) + (1 - beta_1) g / (1 - beta_1^t)``. Keras 3 warms
    the momentum up instead, from ``beta_1 / 2`` towards ``beta_1``; note that Keras 3 uses
    ``0.96^t``, which warms up within a few dozen steps, where Dozat's paper and Keras 2 used
    ``0.96^(0.004 t)`` (a warm-up over thousands of steps). ``m`` itself is updated with the
    constant ``beta_1`` in both. Keras' Nadam also casts ``beta_1`` and ``beta_2`` to the
    parameter's dtype before computing ``1 - beta`` (in float32, ``1 - 0.999`` is 0.99998713e-3):
    mirrored here, as are the float32 ``mu_t`` and ``P_t``.
    """

    n_temporaries = 2

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        weight_decay: float | None = None,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        super().__init__(learning_rate, weight_decay, clipnorm, clipvalue, global_clipnorm, name)
        args = check_adam_args(beta_1, beta_2, epsilon)
        self.beta_1: float = args["beta_1"]
        self.beta_2: float = args["beta_2"]
        self.epsilon: float = args["epsilon"]
        #: P_t, the product of the momentum schedule up to the current step
        self.mu_product = 1.0

    def mu(self, t: int, dtype: Any = np.float64) -> np.floating:
        """The momentum schedule ``mu_t = beta_1 (1 - 0.5 * 0.96^t)``, computed in ``dtype``."""
        f = np.dtype(dtype).type
        return f(self.beta_1) * (1 - f(0.5) * f(0.96) ** f(t))

    def build_state(self, w: np.ndarray) -> State:
        return {"m": np.zeros_like(w), "s": np.zeros_like(w)}

    def _before_update_steps(self) -> None:
        # P_t = P_{t-1} mu_t, once per step, in the first parameter's dtype (as Keras)
        dtype = self._signature[0][1]
        self.mu_product = dtype.type(self.mu_product) * self.mu(self.iterations + 1, dtype)

    def update_step(self, g, w, state, lr, tmp):
        # Keras' Nadam casts beta_1, beta_2 to the parameter's dtype before taking 1 - beta
        f, t = w.dtype.type, self.iterations + 1
        beta_1, beta_2 = f(self.beta_1), f(self.beta_2)
        mu_t, mu_next, product = self.mu(t, f), self.mu(t + 1, f), self.mu_product
        m, s = state["m"], state["s"]
        m_hat, work = tmp
        m += np.multiply(np.subtract(g, m, out=work), 1 - beta_1, out=work)
        np.square(g, out=work)
        s += np.multiply(np.subtract(work, s, out=work), 1 - beta_2, out=work)
        np.multiply(m, mu_next / (1 - product * mu_next), out=m_hat)
        m_hat += np.multiply(g, (1 - mu_t) / (1 - product), out=work)
        np.multiply(s, 1 / (1 - _power(beta_2, t, w)), out=work)  # s_hat
        np.sqrt(work, out=work)
        work += self.epsilon
        np.divide(m_hat, work, out=work)  # w <- w - lr m_hat / (sqrt(s_hat) + epsilon)
        work *= lr
        w -= work

    def get_config(self) -> dict[str, Any]:
        return {
            **super().get_config(),
            "beta_1": self.beta_1,
            "beta_2": self.beta_2,
            "epsilon": self.epsilon,
        }


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter, 2019)::

        w <- w - lr * weight_decay * w          (before the step, by the base class)
        w <- Adam step of w

    The decay never goes through ``m`` and ``s`` (unlike an L2 penalty added to the loss, which
    Adam would rescale). Keras multiplies the decay by the learning rate, so the decay per step is
    ``lr * weight_decay`` and follows any learning-rate schedule; the paper writes
    ``w <- w - eta_t (alpha m_hat / (sqrt(s_hat) + eps) + lambda w)`` with a schedule multiplier
    ``eta_t`` separate from alpha, i.e. its ``lambda`` equals Keras' ``lr * weight_decay / eta_t``
    (with eta_t = 1: ``lambda = lr * weight_decay``).
    """

    def __init__(
        self,
        learning_rate: LearningRate = 0.001,
        weight_decay: float = 0.004,
        beta_1: float = 0.9,
        beta_2: float = 0.999,
        epsilon: float = 1e-7,
        amsgrad: bool = False,
        clipnorm: float | None = None,
        clipvalue: float | None = None,
        global_clipnorm: float | None = None,
        name: str | None = None,
    ) -> None:
        weight_decay = check_adamw_args(weight_decay)
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            weight_decay=weight_decay,
            clipnorm=clipnorm,
            clipvalue=clipvalue,
            global_clipnorm=global_clipnorm,
            name=name,
        )
