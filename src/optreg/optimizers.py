"""Gradient-descent optimizers in NumPy, step for step the same as Keras 3's built-ins.

Every class takes the names, arguments and defaults of its ``keras.optimizers`` counterpart, and
``apply(grads, params)`` follows Keras' order of operations (Keras 3.15, ``BaseOptimizer.apply``):

1. the learning rate ``lr`` is read; a schedule is evaluated at ``iterations`` (0 at first);
2. the gradients are clipped: ``clipnorm`` per tensor (``g * c / max(||g||, c)``), or
   ``global_clipnorm`` over all tensors together, or ``clipvalue`` element-wise (one at most);
3. weight decay, if set, shrinks each parameter *before* the update: ``w <- w - w * wd * lr``;
4. ``update_step`` applies the algorithm with ``t = iterations + 1`` (1 on the first step);
5. ``iterations`` is incremented.

An algorithm is a subclass that declares its hyperparameters once (``hyperparameters``: name,
default, allowed range, description; see ``optreg.hyperparameters``) and writes its update rule
(``update_step``) and its state (``build_state``). The constructor's signature, the argument
checks, ``get_config``, the table in the class's docstring and the Keras twin in
``optreg.keras.optimizers`` all derive from the declaration.

``apply`` updates the arrays of ``params`` **in place**. The state (``m``, ``s``, ...) is created
on first use, one dict per parameter position, so the same list of arrays must be passed at every
step. Everything is checked before anything changes: grads and params of different lengths,
shapes or non-float dtypes raise ``ValueError`` and leave params, state and ``iterations``
untouched.

Non-finite gradients (a deliberate difference from Keras): Keras lets a NaN or inf in a gradient
flow into the weights and the optimizer state, which are then lost. Here ``apply`` raises
``ValueError`` naming the offending ``grads[i]`` and changes nothing, so the caller can skip the
batch, lower the learning rate or stop.

Like Keras, ``update_step`` receives ``g`` cast to the parameter's dtype and ``t`` in that dtype,
so scalars such as the bias corrections ``1 - beta**t`` are computed in float32 for float32
parameters, and float32 steps agree with Keras' to float32 round-off.

Memory and speed (out of sight, in ``Optimizer``): the update rules are element-wise, so the base
class hands ``update_step`` matching 1-D chunks of ``g``, ``w`` and the state, of at most
``chunk_size`` elements: the temporaries of an expression such as ``(1 - beta_1) * (g - m)`` are
chunk-sized and stay in the CPU cache, so a step allocates at most a few chunks at a time
whatever the size of the parameters. With a million elements or more in all, the chunks are
shared out between threads, as TensorFlow uses every core; set ``optimizer.workers = 1`` to stay
on one thread. Neither the chunks nor the threads change the result.
"""

from __future__ import annotations

import functools
import inspect
import math
import os
import re
import textwrap
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from optreg import hyperparameters
from optreg._validation import check_learning_rate, check_non_negative
from optreg.hyperparameters import Hyperparameter
from optreg.regularization import clip_by_norm, clip_by_value

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
    "Lion",
    "Lamb",
    "Adafactor",
    "Muon",
    "ScheduleFreeAdamW",
    "Ftrl",
    "check_arguments",
]

LearningRate = float | Callable[[int], float]
State = dict[str, np.ndarray]

#: the arguments of every optimizer, as Keras' base class has them (an algorithm may redeclare
#: one, e.g. SGD's learning rate, whose default is 0.01, or AdamW's weight decay)
COMMON = (
    Hyperparameter("learning_rate", 0.001, "> 0 or schedule", "step size, or a schedule of it"),
    Hyperparameter(
        "weight_decay", None, ">= 0 or None", "decay `w <- w - w * weight_decay * lr` per step"
    ),
    Hyperparameter("clipnorm", None, "> 0 or None", "largest norm of each gradient"),
    Hyperparameter("clipvalue", None, "> 0 or None", "largest absolute value of an element"),
    Hyperparameter("global_clipnorm", None, "> 0 or None", "largest norm of all gradients"),
    Hyperparameter("use_ema", False, "True or False", "keep a moving average of the weights"),
    Hyperparameter("ema_momentum", 0.99, "[0, 1]", "decay rate of the moving average"),
    Hyperparameter(
        "ema_overwrite_frequency", None, "integer >= 1 or None", "steps between overwrites"
    ),
    Hyperparameter(
        "gradient_accumulation_steps", None, "integer >= 2 or None", "micro-batches per update"
    ),
)
CLIPPING = ("clipnorm", "clipvalue", "global_clipnorm")


def declared_arguments(own: Sequence[Hyperparameter]) -> tuple[Hyperparameter, ...]:
    """The constructor's arguments in Keras' order: the learning rate, the algorithm's own
    hyperparameters, then the common ones it does not redeclare."""
    mine = {h.name: h for h in own}
    first = mine.pop("learning_rate", COMMON[0])
    rest = [h for h in COMMON[1:] if h.name not in mine]
    return (first, *mine.values(), *rest)


def check_arguments(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """The declared arguments of ``cls`` checked and converted (shared with the Keras twins)."""
    given = [f"{k}={values[k]!r}" for k in CLIPPING if values.get(k) is not None]
    if len(given) > 1:  # Keras' rule
        raise ValueError(
            "only one of clipnorm, clipvalue and global_clipnorm can be set, got "
            + ", ".join(given)
        )
    return {h.name: h.check(values[h.name], cls.__name__) for h in cls.arguments}


def _with_signature(init: Callable, cls: type, var_keyword: bool = False) -> Callable:
    """``init`` under the name and signature of ``cls.__init__`` derived from the declaration."""

    @functools.wraps(init)
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)

    __init__.__signature__ = hyperparameters.signature(cls.arguments, var_keyword)
    __init__.__qualname__ = f"{cls.__qualname__}.__init__"
    del __init__.__wrapped__  # inspect must see the declared signature, not init's
    return __init__


def _bind(cls: type, args: tuple, kwargs: dict) -> dict[str, Any]:
    """The constructor's arguments by name, defaults filled in (TypeError as for any call)."""
    bound = cls.__init__.__signature__.bind(None, *args, **kwargs)
    bound.apply_defaults()
    values = dict(bound.arguments)
    del values["self"]
    return values


def _snake_case(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _checked(apply: Callable) -> Callable:
    """Check ``apply``'s arguments at the entry point, before anything changes."""

    @functools.wraps(apply)
    def checked_apply(self: Optimizer, grads: Any, params: Any) -> None:
        self._check_apply_args(grads, params)
        if len(params) > 0:  # nothing to update: Keras does not count the step either
            apply(self, grads, params)

    return checked_apply


def _with_accumulation_and_average(apply: Callable) -> Callable:
    """Keras' ``gradient_accumulation_steps`` and ``use_ema`` around the five steps of ``apply``.

    With ``k = gradient_accumulation_steps``, a call adds the gradients to accumulators, except
    every k-th call, which applies the mean of the k gradients (``(g + sum of the others) / k``)
    with the five steps. As in Keras, ``iterations`` (and ``t = iterations + 1``) count updates,
    ``calls`` counts calls, and a schedule is evaluated at ``calls`` (Keras' ``_iterations``).
    With ``use_ema``, after every call the average ``a <- ema_momentum a + (1 - ema_momentum) w``
    (``a = w`` until the first update is done), and ``w <- a`` whenever
    ``iterations + 1`` is a multiple of ``ema_overwrite_frequency``; ``finalize_variable_values``
    sets ``w <- a``.
    """

    @functools.wraps(apply)
    def apply_with_base_features(self: Optimizer, grads: Any, params: Any) -> None:
        updates = self.iterations  # before this call, as Keras' EMA reads it
        if self.gradient_accumulation_steps:
            grads = self.accumulate(grads, params)  # None but at every k-th call
        if grads is not None:
            apply(self, grads, params)
        self.calls += 1
        if self.use_ema:
            self.update_moving_average(params, updates)

    return apply_with_base_features


def _takes_no_argument(function: Callable) -> bool:
    """A zero-argument callable (Keras' callable learning rate), not a schedule of the step."""
    try:
        inspect.signature(function).bind()
    except TypeError:
        return False
    except ValueError:  # no signature (a builtin): treat as a schedule
        return False
    return True


_POOL: ThreadPoolExecutor | None = None


def _thread_pool() -> ThreadPoolExecutor:
    global _POOL
    if _POOL is None:
        _POOL = ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="optreg")
    return _POOL


# --------------------------------------------------------------------------------------------
# Base class
# --------------------------------------------------------------------------------------------
class Optimizer:
    """Base class: learning rate (or schedule), weight decay, gradient clipping, ``iterations``.

    Subclasses declare ``hyperparameters`` and define ``build_state(w) -> dict`` (the state of
    one parameter, created at the first step) and ``update_step(g, w, state, lr, t)``, which
    updates ``w`` and the arrays of ``state`` in place (``m += ...``, ``s[:] = ...``). ``g`` is
    the clipped gradient, in ``w``'s dtype; it must not be written to (it may be the caller's).

    ``update_step`` sees matching 1-D chunks of at most ``chunk_size`` elements of ``g``, ``w``
    and the state, and treats them as ordinary arrays: a chunk's temporaries stay in the CPU
    cache, where whole-parameter temporaries would go back and forth to memory. With
    ``parallel_min_size`` elements or more in all, the chunks are shared out between threads
    (``workers``, default one per CPU; NumPy's ufuncs release the GIL).
    """

    #: the algorithm's hyperparameters (besides those of ``COMMON`` it does not redeclare)
    hyperparameters: tuple[Hyperparameter, ...] = ()
    #: every constructor argument but ``name``, derived from ``hyperparameters``
    arguments: tuple[Hyperparameter, ...] = COMMON
    #: elements per chunk (256 KiB of float32): the Python cost per chunk stays small, and an
    #: update's temporaries fit in the CPU cache
    chunk_size: int = 65536
    #: threads sharing the chunks (None: one per CPU; 1: no threads)
    workers: int | None = None
    #: below this many elements in all, threads cost more than they save
    parallel_min_size: int = 1_000_000
    #: False for a rule that needs whole tensors (norms, factored moments, matrix products):
    #: ``update_step`` then gets each parameter whole, in its shape, with its state
    elementwise: bool = True

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.arguments = declared_arguments(cls.hyperparameters)
        cls.__init__ = _with_signature(Optimizer.__init__, cls)
        table = textwrap.indent(hyperparameters.table(cls.arguments), "    ")
        heading = "    Arguments (derived from ``hyperparameters``):"
        cls.__doc__ = f"{cls.__doc__ or ''}\n\n{heading}\n\n{table}\n"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        values = _bind(type(self), args, kwargs)
        for name, value in check_arguments(type(self), values).items():
            setattr(self, name, value)
        self.name = values["name"] or _snake_case(type(self).__name__)
        #: the number of updates (``t - 1``); ``calls``: of ``apply`` (they differ only with
        #: gradient accumulation)
        self.iterations = 0
        self.calls = 0
        #: one dict of state arrays per parameter position, filled at the first ``apply``
        self.state: list[State] = []
        self._signature: list[tuple[tuple[int, ...], np.dtype]] | None = None
        self._flat_state: list[State] = []
        self._threads: list[list[tuple[int, int, int]]] = []
        #: the parameters' names (``build``), matched by ``exclude_from_weight_decay``
        self.names: list[str] = []
        self._params: list[np.ndarray] = []
        self._excluded_ids: set[int] = set()
        self._excluded_pattern: re.Pattern | None = None
        #: the gradient accumulators (gradient_accumulation_steps) and moving averages (use_ema)
        self.accumulators: list[np.ndarray] = []
        self.averages: list[np.ndarray] = []

    # -- learning rate --------------------------------------------------------------------
    @property
    def learning_rate(self) -> LearningRate:
        """The float or schedule given to the constructor (settable, e.g. by a callback)."""
        return self._learning_rate

    @learning_rate.setter
    def learning_rate(self, value: LearningRate) -> None:
        self._learning_rate = check_learning_rate(value)

    def current_learning_rate(self) -> float:
        """The rate of the next step: the schedule evaluated at ``iterations``, as Keras does;
        a callable of no argument (Keras' callable learning rate) is called without one."""
        if callable(self._learning_rate):
            if _takes_no_argument(self._learning_rate):
                return check_non_negative("learning_rate()", float(self._learning_rate()))
            step = self.calls  # = iterations, unless gradients are accumulated (as Keras)
            return check_non_negative(f"learning_rate({step})", float(self._learning_rate(step)))
        return self._learning_rate

    @property
    def built(self) -> bool:
        return self._signature is not None

    # -- the step -------------------------------------------------------------------------
    @_checked
    @_with_accumulation_and_average
    def apply(self, grads: Sequence[np.ndarray], params: Sequence[np.ndarray]) -> None:
        """One step, in Keras' order of operations; the arrays of ``params`` change in place."""
        lr = self.current_learning_rate()  # 1. a schedule is evaluated at `iterations`
        norms = self.gradient_norms(grads)  # 2. clipping needs whole-gradient norms first

        def step(i, g, w, state, t):  # on matching chunks of grads[i], params[i], state[i]
            g = self.clip(g, norms[i])  # 2. clipnorm, global_clipnorm or clipvalue
            decay = self.weight_decay_of(i)  # None for parameters excluded from it
            if decay:
                w -= w * decay * lr  # 3. weight decay, before the update
            self.update_step(g, w, state, lr, t)  # 4. the algorithm, with t = iterations + 1

        self.for_each_chunk(step, grads, params)
        self.iterations += 1  # 5.

    def build_state(self, w: np.ndarray) -> State:
        """The state arrays of one parameter (zeros shaped like ``w`` unless stated)."""
        return {}

    def build_states(self, params: Sequence[np.ndarray]) -> list[State]:
        """The state of every parameter (an algorithm whose state depends on the parameter's
        name, such as Muon's, overrides this instead of ``build_state``)."""
        return [self.build_state(w) for w in params]

    def build(self, params: Sequence[np.ndarray], names: Sequence[str] | None = None) -> None:
        """Create the state for ``params`` (``apply`` does it at the first step otherwise).

        ``names`` (default ``"variable"`` for each, Keras' default name) are matched by
        ``exclude_from_weight_decay(var_names=...)`` and by Muon's ``exclude_embeddings`` and
        ``exclude_layers``, as Keras matches its variables' names and paths.
        """
        names = ["variable"] * len(params) if names is None else [str(n) for n in names]
        if len(names) != len(params):
            raise ValueError(f"names must have one entry per parameter, got {len(names)}")
        self._check_apply_args(list(params), list(params))
        self.names = names
        self._build(params)

    def exclude_from_weight_decay(
        self, var_list: Sequence[np.ndarray] | None = None, var_names: Sequence[str] | None = None
    ) -> None:
        """Keras' rule: no weight decay for the arrays of ``var_list`` (the same objects) nor for
        the parameters whose name (see ``build``) contains a match of one of ``var_names``."""
        if self.built:
            raise ValueError("exclude_from_weight_decay() can only be called before the first step")
        self._excluded_ids = {id(w) for w in var_list or ()}
        self._excluded_pattern = re.compile("|".join(set(var_names))) if var_names else None

    def excluded_from_weight_decay(self, i: int) -> bool:
        """Whether ``params[i]`` is in ``var_list`` or its name matches one of ``var_names``."""
        pattern = self._excluded_pattern
        return id(self._params[i]) in self._excluded_ids or bool(
            pattern and pattern.search(self.names[i])
        )

    def weight_decay_of(self, i: int) -> float | None:
        """The weight decay of ``params[i]``: ``weight_decay``, or None if excluded from it."""
        return None if self.excluded_from_weight_decay(i) else self.weight_decay

    def update_step(
        self, g: np.ndarray, w: np.ndarray, state: State, lr: float, t: np.floating
    ) -> None:
        """The algorithm: update ``w`` and ``state`` in place (``t`` is in ``w``'s dtype)."""
        raise NotImplementedError

    def begin_update_steps(self, t: np.floating) -> None:
        """Run once per step, before the update steps (Nadam's momentum product)."""

    # -- Keras' base features: gradient accumulation, moving average of the weights ----------
    def accumulate(
        self, grads: Sequence[np.ndarray], params: Sequence[np.ndarray]
    ) -> list[np.ndarray] | None:
        """Add ``grads`` to the accumulators; at every k-th call, return the mean of the k
        gradients (and reset the accumulators), otherwise None."""
        if not self.accumulators:
            self.accumulators = [np.zeros_like(w) for w in params]
        k = self.gradient_accumulation_steps
        if (self.calls + 1) % k != 0:
            for a, g in zip(self.accumulators, grads, strict=True):
                a += g
            return None
        mean = [(g + a) / k for g, a in zip(grads, self.accumulators, strict=True)]
        for a in self.accumulators:
            a[:] = 0
        return [m.astype(w.dtype, copy=False) for m, w in zip(mean, params, strict=True)]

    def update_moving_average(self, params: Sequence[np.ndarray], step: int) -> None:
        """``a <- ema_momentum a + (1 - ema_momentum) w`` (``a = w`` at step 0), then ``w <- a``
        if ``step + 1`` is a multiple of ``ema_overwrite_frequency`` (``step``: updates done
        before this call)."""
        if not self.averages:
            self.averages = [np.zeros_like(w) for w in params]
        for a, w in zip(self.averages, params, strict=True):
            momentum = w.dtype.type(self.ema_momentum if step != 0 else 0)
            a[:] = momentum * a + (1 - momentum) * w
        frequency = self.ema_overwrite_frequency
        if frequency and (step + 1) % frequency == 0:
            self.finalize_variable_values(params)

    def finalize_variable_values(self, params: Sequence[np.ndarray]) -> None:
        """With ``use_ema``, set the weights to their moving averages (Keras does it at the end
        of ``fit``); otherwise nothing."""
        if self.use_ema and self.averages:
            for w, a in zip(params, self.averages, strict=True):
                w[:] = a

    # -- clipping -------------------------------------------------------------------------
    def gradient_norms(self, grads: Sequence[np.ndarray]) -> list[float]:
        """The norm ``clip`` uses for each gradient: its own (clipnorm) or all together's
        (global_clipnorm); 0 when neither is set."""
        if self.clipnorm is None and self.global_clipnorm is None:
            return [0.0] * len(grads)
        squares = [float(np.vdot(g, g)) for g in grads]
        if self.clipnorm is not None:
            return [math.sqrt(s) for s in squares]
        return [math.sqrt(sum(squares))] * len(grads)

    def clip(self, g: np.ndarray, norm: float) -> np.ndarray:
        """Keras' clipping of ``g`` (a chunk of a gradient whose norm, or with global_clipnorm
        the norm of all gradients, is ``norm``): ``g c / max(norm, c)`` with ``c`` the clipnorm
        or global_clipnorm, or ``g`` clipped to ``[-clipvalue, clipvalue]``; ``g`` itself when
        nothing is set. The formulas are ``optreg.regularization``'s."""
        if self.clipvalue is not None:
            return clip_by_value(g, self.clipvalue)
        c = self.clipnorm or self.global_clipnorm
        return g if c is None else clip_by_norm(g, c, norm=norm)

    # -- configuration --------------------------------------------------------------------
    def get_config(self) -> dict[str, Any]:
        """Constructor arguments, with Keras' keys (a Keras twin accepts them)."""
        config = {h.name: getattr(self, h.name) for h in self.arguments}
        return {"name": self.name, **config}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "name")
        return f"{type(self).__name__}({args})"

    # -- the machinery: chunks and threads (the update rules never see it) ----------------
    def for_each_chunk(
        self, step: Callable, grads: Sequence[np.ndarray], params: Sequence[np.ndarray]
    ) -> None:
        """Call ``step(i, g, w, state, t)`` on matching 1-D chunks of ``grads[i]``, ``params[i]``
        and ``self.state[i]``, with ``g`` cast to ``w``'s dtype and ``t = iterations + 1`` in it.
        """
        if not self.built:
            self._build(params)
        self.begin_update_steps(params[0].dtype.type(self.iterations + 1))
        # 1-D views (a contiguous copy for a non-contiguous parameter, written back below)
        flat_w = [w.reshape(-1) if w.flags.c_contiguous else w.flatten() for w in params]
        flat_g = [g.reshape(-1) for g in grads]
        ts = {w.dtype: w.dtype.type(self.iterations + 1) for w in params}

        def run(chunks: list[tuple[int, int, int]]) -> None:
            for i, start, stop in chunks:
                if self.elementwise:
                    w = flat_w[i][start:stop]
                    g = flat_g[i][start:stop].astype(w.dtype, copy=False)
                    state = {k: v[start:stop] for k, v in self._flat_state[i].items()}
                else:  # the whole tensor, in its shape (views of the same memory)
                    w = flat_w[i].reshape(params[i].shape)
                    g = flat_g[i].reshape(w.shape).astype(w.dtype, copy=False)
                    state = self.state[i]
                step(i, g, w, state, ts[w.dtype])

        if len(self._threads) == 1:
            run(self._threads[0])
        else:
            list(_thread_pool().map(run, self._threads))
        for w, flat in zip(params, flat_w, strict=True):
            if not w.flags.c_contiguous:
                np.copyto(w, flat.reshape(w.shape))

    def _build(self, params: Sequence[np.ndarray]) -> None:
        if len(self.names) != len(params):
            self.names = ["variable"] * len(params)
        self._params = list(params)  # for exclude_from_weight_decay(var_list=...)
        self._signature = [(w.shape, w.dtype) for w in params]
        # C order whatever the parameter's layout, so that the 1-D views below are views
        self.state = [
            {k: np.ascontiguousarray(v) for k, v in st.items()} for st in self.build_states(params)
        ]
        self._flat_state = [{k: v.reshape(-1) for k, v in st.items()} for st in self.state]
        # an element-wise rule gets chunks; any other rule gets whole tensors (one "chunk" each)
        size = self.chunk_size if self.elementwise else max([w.size for w in params] + [1])
        chunks = [
            (i, start, min(start + size, w.size))
            for i, w in enumerate(params)
            for start in range(0, w.size, size)
        ]
        total = sum(w.size for w in params)
        workers = (self.workers or os.cpu_count() or 1) if total >= self.parallel_min_size else 1
        workers = max(1, min(workers, len(chunks)))
        # each thread gets a contiguous run of chunks
        n = len(chunks)
        self._threads = [chunks[k * n // workers : (k + 1) * n // workers] for k in range(workers)]

    def _check_apply_args(self, grads: Any, params: Any) -> None:
        """Raise ValueError before anything changes."""
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
        for i, g in enumerate(grads):
            squared_norm = float(np.vdot(g, g))  # one pass, no temporary for a contiguous g
            # inf or NaN here means a non-finite element, or an overflow of the sum: tell apart
            if not math.isfinite(squared_norm) and not np.isfinite(g).all():
                raise ValueError(
                    f"grads[{i}] contains NaN or infinite values; nothing was updated "
                    "(params, optimizer state and iterations are unchanged)"
                )


# --------------------------------------------------------------------------------------------
# The algorithms: declaration, state, update rule
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

    hyperparameters = (
        Hyperparameter("learning_rate", 0.01, "> 0 or schedule", "step size, or a schedule of it"),
        Hyperparameter("momentum", 0.0, "[0, 1)", "decay rate of the velocity `m`"),
        Hyperparameter("nesterov", False, "True or False", "Nesterov's look-ahead step"),
    )

    def build_state(self, w):
        return {"m": np.zeros_like(w)}  # even when momentum is 0: a schedule may raise it

    def update_step(self, g, w, state, lr, t):
        if self.momentum == 0:
            w -= lr * g
            return
        m = state["m"]
        m *= self.momentum  # m <- momentum m - lr g, in place
        m -= lr * g
        if self.nesterov:
            w += self.momentum * m - lr * g
        else:
            w += m


class Adagrad(Optimizer):
    """Adagrad: each coordinate's rate shrinks with the sum of its squared gradients::

        s <- s + g^2
        w <- w - lr g / sqrt(s + epsilon)

    Keras differs from Duchi et al. / the textbook (``s0 = 0``, ``lr g / (sqrt(s) + eps)``):
    ``s`` starts at ``initial_accumulator_value`` (0.1) and epsilon is added *inside* the root.
    """

    hyperparameters = (
        Hyperparameter("initial_accumulator_value", 0.1, ">= 0", "initial value of `s`"),
        Hyperparameter("epsilon", 1e-7, "> 0", "added to `s` inside the square root"),
    )

    def build_state(self, w):
        return {"s": np.full_like(w, self.initial_accumulator_value)}

    def update_step(self, g, w, state, lr, t):
        s = state["s"]
        s += g**2
        w -= lr * g / np.sqrt(s + self.epsilon)


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

    hyperparameters = (
        Hyperparameter("rho", 0.9, "[0, 1)", "decay rate of the mean square `s`"),
        Hyperparameter("momentum", 0.0, "[0, 1)", "decay rate of the velocity `m`"),
        Hyperparameter("epsilon", 1e-7, "> 0", "added inside the square root"),
        Hyperparameter("centered", False, "True or False", "divide by the variance, not `s`"),
    )

    def build_state(self, w):
        state = {"s": np.zeros_like(w)}
        if self.momentum > 0:
            state["m"] = np.zeros_like(w)
        if self.centered:
            state["m_g"] = np.zeros_like(w)
        return state

    def update_step(self, g, w, state, lr, t):
        rho, s = self.rho, state["s"]
        s[:] = rho * s + (1 - rho) * g**2
        if self.centered:
            m_g = state["m_g"]
            m_g[:] = rho * m_g + (1 - rho) * g
            d = s - m_g**2 + self.epsilon
        else:
            d = s + self.epsilon
        step = lr * g / np.sqrt(d)
        if self.momentum > 0:
            m = state["m"]
            m[:] = self.momentum * m + step
            step = m
        w -= step


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

    hyperparameters = (
        Hyperparameter("rho", 0.95, "[0, 1)", "decay rate of the mean squares `s` and `d`"),
        Hyperparameter("epsilon", 1e-7, "> 0", "added inside both square roots"),
    )

    def build_state(self, w):
        return {"s": np.zeros_like(w), "d": np.zeros_like(w)}

    def update_step(self, g, w, state, lr, t):
        rho, eps, s, d = self.rho, self.epsilon, state["s"], state["d"]
        s[:] = rho * s + (1 - rho) * g**2
        dw = -np.sqrt(d + eps) * g / np.sqrt(s + eps)
        d[:] = rho * d + (1 - rho) * dw**2
        w += lr * dw


class Adam(Optimizer):
    """Adam: momentum (``m``) and RMSprop-style scaling (``s``), both
    bias-corrected::

        t     = iterations + 1
        m    <- m + (1 - beta_1) (g - m)    (= beta_1 m + (1 - beta_1) g)
        s    <- s + (1 - beta_2) (g^2 - s)  (= beta_2 s + (1 - beta_2) g^2)
        s_max <- max(s_max, s), used for s  (amsgrad=True only)
        alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t)
        w    <- w - alpha m / (sqrt(s) + epsilon)

    Textbook Adam (Kingma & Ba, Algorithm 1) divides the corrected moments,
    ``w <- w - lr m_hat / (sqrt(s_hat) + eps_hat)`` with
    ``m_hat = m / (1 - beta_1^t)`` and ``s_hat = s / (1 - beta_2^t)``.
    Both are the same step when ``eps_hat = epsilon / sqrt(1 - beta_2^t)``:
    Keras' epsilon ("epsilon hat" in section 2 of the paper) acts larger
    early in training than the textbook's. The paper's default 1e-8 vs
    Keras' 1e-7 is another small difference.
    """

    hyperparameters = (
        Hyperparameter("beta_1", 0.9, "[0, 1)", "decay rate of the mean `m`"),
        Hyperparameter("beta_2", 0.999, "[0, 1)", "decay rate of the mean square `s`"),
        Hyperparameter("epsilon", 1e-7, "> 0", "added to `sqrt(s)` (Kingma & Ba's epsilon hat)"),
        Hyperparameter("amsgrad", False, "True or False", "divide by the largest `s` so far"),
    )

    def build_state(self, w):
        state = {"m": np.zeros_like(w), "s": np.zeros_like(w)}
        if self.amsgrad:
            state["s_max"] = np.zeros_like(w)
        return state

    def update_step(self, g, w, state, lr, t):
        beta_1, beta_2 = self.beta_1, self.beta_2
        m, s = state["m"], state["s"]
        m += (1 - beta_1) * (g - m)
        s += (1 - beta_2) * (g**2 - s)
        if self.amsgrad:
            s_max = state["s_max"]
            s_max[:] = np.maximum(s_max, s)
            s = s_max
        alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        w -= alpha * m / (np.sqrt(s) + self.epsilon)


class Adamax(Optimizer):
    """Adamax: Adam with the infinity norm in place of the RMS::

        t  = iterations + 1
        m <- m + (1 - beta_1) (g - m)
        u <- max(beta_2 u, |g|)
        w <- w - lr m / ((1 - beta_1^t) (u + epsilon))

    As in Kingma & Ba (section 7.1), except that Keras adds epsilon to ``u`` (the paper has none,
    its ``u`` is never 0 after a non-zero gradient).
    """

    hyperparameters = (
        Hyperparameter("beta_1", 0.9, "[0, 1)", "decay rate of the mean `m`"),
        Hyperparameter("beta_2", 0.999, "[0, 1)", "decay rate of the infinity norm `u`"),
        Hyperparameter("epsilon", 1e-7, "> 0", "added to `u`"),
    )

    def build_state(self, w):
        return {"m": np.zeros_like(w), "u": np.zeros_like(w)}

    def update_step(self, g, w, state, lr, t):
        beta_1, m, u = self.beta_1, state["m"], state["u"]
        m += (1 - beta_1) * (g - m)
        u[:] = np.maximum(self.beta_2 * u, np.abs(g))
        w -= lr * m / ((1 - beta_1**t) * (u + self.epsilon))


class Nadam(Optimizer):
    """Nadam: Adam with Nesterov momentum (Dozat, 2016), with Keras'
    momentum schedule::

        t      = iterations + 1
        mu_t   = beta_1 (1 - 0.5 * 0.96^t)      (momentum schedule)
        P_t    = mu_1 mu_2 ... mu_t             (kept across steps)
        m     <- m + (1 - beta_1) (g - m)
        s     <- s + (1 - beta_2) (g^2 - s)
        m_hat  = mu_{t+1} m / (1 - P_t mu_{t+1}) + (1 - mu_t) g / (1 - P_t)
        s_hat  = s / (1 - beta_2^t)
        w     <- w - lr m_hat / (sqrt(s_hat) + epsilon)

    Differences from the textbook: the textbook Nadam (Dozat's simplified
    form, Geron's book) uses a constant momentum ``mu_t = beta_1``, which
    gives ``m_hat = beta_1 m / (1 - beta_1^(t+1))
    + (1 - beta_1) g / (1 - beta_1^t)``. Keras 3 warms the momentum up
    instead, from ``beta_1 / 2`` towards ``beta_1``; note that Keras 3 uses
    ``0.96^t``, which warms up within a few dozen steps, where Dozat's paper
    and Keras 2 used ``0.96^(0.004 t)`` (a warm-up over thousands of steps).
    ``m`` itself is updated with the constant ``beta_1`` in both. Keras'
    Nadam also casts ``beta_1`` and ``beta_2`` to the parameter's dtype
    before computing ``1 - beta`` (in float32, ``1 - 0.999`` is
    0.99998713e-3): mirrored here, as are the float32 ``mu_t`` and ``P_t``.
    """

    hyperparameters = (
        Hyperparameter("beta_1", 0.9, "[0, 1)", "decay rate of `m`; the momentum schedule's limit"),
        Hyperparameter("beta_2", 0.999, "[0, 1)", "decay rate of the mean square `s`"),
        Hyperparameter("epsilon", 1e-7, "> 0", "added to `sqrt(s_hat)`"),
    )

    #: P_t, the product of the momentum schedule up to the current step
    mu_product = 1.0

    def mu(self, t):
        """The momentum schedule ``mu_t = beta_1 (1 - 0.5 * 0.96^t)``, in ``t``'s dtype."""
        return self.beta_1 * (1 - 0.5 * 0.96**t)

    def build_state(self, w):
        return {"m": np.zeros_like(w), "s": np.zeros_like(w)}

    def begin_update_steps(self, t):
        self.mu_product = self.mu_product * self.mu(t)  # P_t = P_{t-1} mu_t, once per step

    def update_step(self, g, w, state, lr, t):
        beta_1, beta_2 = w.dtype.type(self.beta_1), w.dtype.type(self.beta_2)  # as Keras
        mu_t, mu_next, P_t = self.mu(t), self.mu(t + 1), self.mu_product
        m, s = state["m"], state["s"]
        m += (1 - beta_1) * (g - m)
        s += (1 - beta_2) * (g**2 - s)
        m_hat = mu_next * m / (1 - P_t * mu_next) + (1 - mu_t) * g / (1 - P_t)
        s_hat = s / (1 - beta_2**t)
        w -= lr * m_hat / (np.sqrt(s_hat) + self.epsilon)


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

    hyperparameters = (
        Hyperparameter("weight_decay", 0.004, ">= 0", "decay `w <- w - w * weight_decay * lr`"),
        *Adam.hyperparameters,
    )


# --------------------------------------------------------------------------------------------
# Beyond Adam: the optimizers Keras 3 added (Lion, Lamb, Adafactor, Muon, Schedule-Free), Ftrl
# --------------------------------------------------------------------------------------------
class Lion(Optimizer):
    """Lion (Chen et al., 2023): the sign of a momentum blend, one state array per parameter::

        w <- w - lr sign(beta_1 m + (1 - beta_1) g)
        m <- beta_2 m + (1 - beta_2) g

    Every coordinate moves by exactly ``lr`` (or 0): the step's size is set by the learning
    rate alone, so Lion wants a learning rate 3-10 times smaller than Adam's (and a weight decay
    as many times larger). Memory: one array (``m``) per parameter, where Adam keeps two.
    """

    hyperparameters = (
        Hyperparameter("beta_1", 0.9, "(0, 1]", "weight of `m` in the sign's argument"),
        Hyperparameter("beta_2", 0.99, "[0, 1)", "decay rate of the momentum `m`"),
    )

    def build_state(self, w):
        return {"m": np.zeros_like(w)}

    def update_step(self, g, w, state, lr, t):
        beta_1, beta_2, m = w.dtype.type(self.beta_1), w.dtype.type(self.beta_2), state["m"]
        w -= lr * np.sign(beta_1 * m + (1 - beta_1) * g)
        m[:] = beta_2 * m + (1 - beta_2) * g


class Lamb(Optimizer):
    """LAMB (You et al., 2020): Adam's step rescaled per tensor by a trust ratio::

        m <- m + (1 - beta_1) (g - m) ;  s <- s + (1 - beta_2) (g^2 - s)
        u  = (m / (1 - beta_1^t)) / (sqrt(s / (1 - beta_2^t)) + epsilon)
        r  = ||w|| / ||u||          (1 if either norm is 0)
        w <- w - lr r u

    Each layer's step is ``lr`` times its weights' norm, whatever its gradients' scale: the
    point of LAMB is training with very large batches. The trust ratio needs whole-tensor norms,
    so ``update_step`` sees each parameter whole. Keras' Lamb takes the weight decay of the base
    class (before the step, outside the trust ratio), where the paper puts ``lambda w`` into
    ``u``.
    """

    hyperparameters = (
        Hyperparameter("beta_1", 0.9, "[0, 1)", "decay rate of the mean `m`"),
        Hyperparameter("beta_2", 0.999, "[0, 1)", "decay rate of the mean square `s`"),
        Hyperparameter("epsilon", 1e-7, "> 0", "added to the root of `s`'s estimate"),
    )
    elementwise = False  # the trust ratio needs whole-tensor norms

    def build_state(self, w):
        return {"m": np.zeros_like(w), "s": np.zeros_like(w)}

    def update_step(self, g, w, state, lr, t):
        beta_1, beta_2, m, s = self.beta_1, self.beta_2, state["m"], state["s"]
        m += (1 - beta_1) * (g - m)
        s += (1 - beta_2) * (g**2 - s)
        u = (m / (1 - beta_1**t)) / (np.sqrt(s / (1 - beta_2**t)) + self.epsilon)
        w_norm, u_norm = np.sqrt(np.sum(w**2)), np.sqrt(np.sum(u**2))
        r = w_norm / u_norm if w_norm > 0 and u_norm > 0 else 1
        w -= r * lr * u


class Adafactor(Optimizer):
    """Adafactor (Shazeer & Stern, 2018): Adam's second moment, factored into row and column
    means for tensors of rank 2 or more (the last two axes), no first moment::

        rho   = min(lr, 1 / sqrt(t)) ;  alpha = max(epsilon_2, RMS(w)) rho
        beta  = 1 - t^beta_2_decay                   (0 at t = 1, towards 1)
        G     = g^2 + epsilon_1
        rank >= 2:  r <- beta r + (1 - beta) mean(G, last axis)      (a row per ...,i)
                    c <- beta c + (1 - beta) mean(G, second-last axis)
                    v  = r c / mean(r)                (outer product: rank 1 estimate of G)
        otherwise:  v <- beta v + (1 - beta) G
        u     = g / sqrt(v) ;  u <- u / max(1, RMS(u) / clip_threshold)
        w    <- w - alpha u

    Memory: an n x m matrix keeps ``n + m`` numbers of second moment, not ``n m`` (Adam keeps
    ``2 n m``); Keras also keeps ``v`` whole. The step is relative to the weights' RMS
    (``alpha``), and clipped by the RMS of the update. ``relative_step`` changes nothing in
    Keras 3.15: it caps ``lr`` at ``1 / sqrt(t)``, which ``rho`` does anyway.
    """

    hyperparameters = (
        Hyperparameter("beta_2_decay", -0.8, "< 0", "the decay rate is `1 - t^beta_2_decay`"),
        Hyperparameter("epsilon_1", 1e-30, "> 0", "added to `g^2`"),
        Hyperparameter("epsilon_2", 1e-3, "> 0", "smallest weight RMS in the step size"),
        Hyperparameter("clip_threshold", 1.0, "> 0", "largest RMS of the update `u`"),
        Hyperparameter("relative_step", True, "True or False", "cap lr at `1 / sqrt(t)`"),
    )
    elementwise = False  # row and column means, RMS of whole tensors

    def build_state(self, w):
        if w.ndim < 2:
            return {"v": np.zeros_like(w)}
        r = np.zeros(w.shape[:-1], w.dtype)
        c = np.zeros(w.shape[:-2] + w.shape[-1:], w.dtype)
        return {"r": r, "c": c, "v": np.zeros_like(w)}

    def update_step(self, g, w, state, lr, t):
        rms = lambda x: np.sqrt(np.mean(x**2))  # noqa: E731
        rho = min(lr, 1 / np.sqrt(t))
        alpha = max(self.epsilon_2, rms(w)) * rho
        beta = 1 - t**self.beta_2_decay
        G, v = g**2 + self.epsilon_1, state["v"]
        if w.ndim >= 2:
            r, c = state["r"], state["c"]
            r[:] = beta * r + (1 - beta) * G.mean(axis=-1)
            c[:] = beta * c + (1 - beta) * G.mean(axis=-2)
            v[:] = (r / r.mean(axis=-1, keepdims=True))[..., None] * c[..., None, :]
        else:
            v[:] = beta * v + (1 - beta) * G
        u = g / np.sqrt(v)
        w -= alpha * u / max(1, rms(u) / self.clip_threshold)


class Muon(Optimizer):
    """Muon (Jordan et al., 2024): momentum, orthogonalized, for the 2-D weight matrices; AdamW
    for every other parameter::

        matrices:  m <- momentum m + g
                   u  = g + momentum m  (nesterov)  or  m
                   O  = NewtonSchulz(u)  ~ U V^T of u's SVD (all singular values ~1)
                   w <- w - lr O sqrt(max(n, k)) rms_rate        (n x k matrix)
        others:    AdamW with adam_beta_1, adam_beta_2, epsilon, the rate lr * adam_lr_ratio
                   and the weight decay adam_weight_decay

    AdamW handles what is not a 2-D matrix (biases, scales, convolution kernels), and, with
    ``exclude_embeddings``, any parameter whose name contains "embedding", and those whose name
    matches one of ``exclude_layers`` (the names given to ``build``, as Keras matches its
    variables' paths). The orthogonalized step moves every direction of the matrix by the same
    amount, however small its gradient; ``sqrt(max(n, k)) rms_rate`` (Moonlight, Liu et al.,
    2025) gives the step Adam's RMS, so Adam's learning rate and weight decay carry over.
    Memory: one array (``m``) per matrix, two for the AdamW parameters.
    """

    hyperparameters = (
        Hyperparameter("adam_beta_1", 0.9, "[0, 1)", "AdamW's decay rate of `m`"),
        Hyperparameter("adam_beta_2", 0.999, "[0, 1)", "AdamW's decay rate of `v`"),
        Hyperparameter("adam_weight_decay", 0.004, ">= 0", "AdamW's weight decay"),
        Hyperparameter("epsilon", 1e-7, "> 0", "AdamW's epsilon"),
        Hyperparameter("weight_decay", 0.004, ">= 0 or None", "weight decay of the matrices"),
        Hyperparameter("exclude_layers", None, "regexes or None", "names left to AdamW"),
        Hyperparameter("exclude_embeddings", True, "True or False", "embeddings go to AdamW"),
        Hyperparameter("muon_a", 3.4445, "real", "Newton-Schulz coefficient of `X`"),
        Hyperparameter("muon_b", -4.7750, "real", "Newton-Schulz coefficient of `A X`"),
        Hyperparameter("muon_c", 2.0315, "real", "Newton-Schulz coefficient of `A^2 X`"),
        Hyperparameter("adam_lr_ratio", 1, "> 0", "AdamW's rate is `lr * adam_lr_ratio`"),
        Hyperparameter("momentum", 0.95, "[0, 1)", "decay rate of the momentum `m`"),
        Hyperparameter("ns_steps", 5, "integer >= 0", "Newton-Schulz iterations"),
        Hyperparameter("nesterov", True, "True or False", "Nesterov's look-ahead"),
        Hyperparameter("rms_rate", 0.2, "> 0 or None", "RMS of the matrices' step (None: raw)"),
    )
    elementwise = False  # matrix products

    def uses_adamw(self, w, name):
        """Keras' rule: AdamW unless a 2-D matrix that is neither an embedding nor excluded."""
        embedding = self.exclude_embeddings and "embedding" in name.lower()
        return w.ndim != 2 or embedding or any(re.search(k, name) for k in self.exclude_layers)

    def build_states(self, params):
        self.adamw = [self.uses_adamw(w, name) for w, name in zip(params, self.names, strict=True)]
        zeros = np.zeros_like
        return [
            {"m": zeros(w), "v": zeros(w)} if adamw else {"m": zeros(w)}
            for w, adamw in zip(params, self.adamw, strict=True)
        ]

    def weight_decay_of(self, i):
        if self.excluded_from_weight_decay(i):
            return None
        return self.adam_weight_decay if self.adamw[i] else self.weight_decay

    def newton_schulz(self, x):
        """``ns_steps`` quintic Newton-Schulz iterations towards the orthogonal factor of x."""
        a, b, c = self.muon_a, self.muon_b, self.muon_c
        tall = x.shape[0] > x.shape[1]
        x = x.T if tall else x
        x = x / (np.linalg.norm(x) + 1e-7)  # Frobenius norm >= spectral norm: all sigma <= 1
        for _ in range(self.ns_steps):
            A = x @ x.T
            x = a * x + (b * A + c * A @ A) @ x
        return x.T if tall else x

    def update_step(self, g, w, state, lr, t):
        m = state["m"]
        if "v" in state:  # AdamW
            lr = lr * self.adam_lr_ratio
            beta_1, beta_2, v = self.adam_beta_1, self.adam_beta_2, state["v"]
            m += (1 - beta_1) * (g - m)
            v += (1 - beta_2) * (g**2 - v)
            alpha = lr * np.sqrt(1 - beta_2**t) / (1 - beta_1**t)
            w -= alpha * m / (np.sqrt(v) + self.epsilon)
            return
        m += g + (self.momentum - 1) * m  # m <- momentum m + g
        u = g + self.momentum * m if self.nesterov else m
        step = lr * self.newton_schulz(u)
        if self.rms_rate is not None:
            step = step * math.sqrt(max(w.shape)) * self.rms_rate
        w -= step


class ScheduleFreeAdamW(Optimizer):
    """Schedule-Free AdamW (Defazio et al., 2024): no schedule, an average instead::

        lr_t = lr min(t / warmup_steps, 1)          (warmup_steps > 0)
        v   <- v + (1 - beta_2) (g^2 - v)
        z   <- z - lr_t g / (sqrt(v / (1 - beta_2^t)) + epsilon)     (z starts at w)
        x    = (y - (1 - beta_1) z) / beta_1        (the average, recovered from y and z)
        x   <- (1 - 1/t) x + (1/t) z                (running mean of the z's)
        y   <- (1 - beta_1) z + beta_1 x            (the weights: where gradients are taken)

    The weights ``w`` are ``y``, between the fast iterate ``z`` and the average ``x``; evaluate
    with ``x`` (``eval_weights``). Averaging replaces the decay of the learning rate: no total
    number of steps to choose in advance. Memory: two arrays (``z``, ``v``) per parameter, as
    Adam. Keras 3.15 recovers ``x`` from ``y`` and the *updated* ``z`` (it reads the variable
    after ``assign_sub``); so does this class, to stay equal to it. Keras keeps neither ``x``
    nor a train/eval switch: ``eval_weights`` computes ``x`` from ``y`` and ``z`` on demand.
    """

    hyperparameters = (
        Hyperparameter("learning_rate", 0.0025, "> 0 or schedule", "step size of `z`"),
        Hyperparameter("beta_1", 0.9, "(0, 1]", "interpolation between `z` and the average `x`"),
        Hyperparameter("beta_2", 0.999, "[0, 1)", "decay rate of the mean square `v`"),
        Hyperparameter("epsilon", 1e-8, "> 0", "added to the root of `v`'s estimate"),
        Hyperparameter("warmup_steps", 0, "integer >= 0", "steps of linear warm-up of lr"),
    )

    def build_state(self, w):
        return {"z": w.copy(), "v": np.zeros_like(w)}

    def update_step(self, g, w, state, lr, t):
        beta_1, beta_2 = w.dtype.type(self.beta_1), w.dtype.type(self.beta_2)
        z, v, y = state["z"], state["v"], w
        if self.warmup_steps > 0:
            lr = lr * min(t / self.warmup_steps, 1)
        v += (1 - beta_2) * (g**2 - v)
        z -= lr * g / (np.sqrt(v / (1 - beta_2**t)) + self.epsilon)
        x = (y - (1 - beta_1) * z) / beta_1
        x = (1 - 1 / t) * x + (1 / t) * z
        y[:] = (1 - beta_1) * z + beta_1 * x

    def eval_weights(self, params: Sequence[np.ndarray]) -> list[np.ndarray]:
        """The averages ``x = (y - (1 - beta_1) z) / beta_1`` to evaluate with (new arrays)."""
        beta_1 = self.beta_1
        states = zip(params, self.state, strict=True)
        return [(y - (1 - beta_1) * state["z"]) / beta_1 for y, state in states]


class Ftrl(Optimizer):
    """FTRL-Proximal (McMahan et al., 2013), as Keras writes it (``p = learning_rate_power``)::

        g'   = g + 2 l2_shrinkage w
        n'   = n + g^2                             (n starts at initial_accumulator_value)
        z   <- z + g' - (n'^-p - n^-p) / lr * w
        w   <- (clip(z, -l1, l1) - z) / (n'^-p / lr + 2 l2 + beta / lr) ;  n <- n'

    The weights are recomputed from ``z`` at every step, not moved by it: any coordinate with
    ``|z| <= l1`` is exactly 0, the sparsity that made FTRL the optimizer of click-through models
    with billions of sparse features. With ``p = -0.5`` the per-coordinate rate is Adagrad's.
    """

    hyperparameters = (
        Hyperparameter("learning_rate_power", -0.5, "<= 0", "`p`: the rate is `lr / n^-p`"),
        Hyperparameter("initial_accumulator_value", 0.1, ">= 0", "initial value of `n`"),
        Hyperparameter("l1_regularization_strength", 0.0, ">= 0", "`l1`: sets small w to 0"),
        Hyperparameter("l2_regularization_strength", 0.0, ">= 0", "`l2`, in the denominator"),
        Hyperparameter("l2_shrinkage_regularization_strength", 0.0, ">= 0", "added to g"),
        Hyperparameter("beta", 0.0, ">= 0", "adds `beta / (2 lr)` to l2"),
    )

    def build_state(self, w):
        return {"n": np.full_like(w, self.initial_accumulator_value), "z": np.zeros_like(w)}

    def update_step(self, g, w, state, lr, t):
        p, l1 = self.learning_rate_power, self.l1_regularization_strength
        n, z = state["n"], state["z"]
        l2 = self.l2_regularization_strength + self.beta / (2 * lr)
        g_shrunk = g + 2 * self.l2_shrinkage_regularization_strength * w
        n_new = n + g**2
        z += g_shrunk - (n_new**-p - n**-p) / lr * w
        w[:] = (np.clip(z, -l1, l1) - z) / (n_new**-p / lr + 2 * l2)
        n[:] = n_new
