"""Keras 3 twins of ``optreg.optimizers``, written from the equations with ``keras.ops``.

Each class subclasses ``keras.optimizers.Optimizer`` and names its NumPy twin (``numpy_twin``),
whose hyperparameter declaration gives it its signature (plus Keras' ``**kwargs``: EMA, loss
scaling, gradient accumulation), its argument checks and its ``get_config``. It defines only
``build`` (the state variables) and ``update_step`` (the equations); Keras' base class provides
the learning rate (float or ``LearningRateSchedule``), weight decay, gradient clipping, EMA, loss
scaling and gradient accumulation, in the order described in ``optreg.optimizers``. The update
equations, and where Keras differs from the textbook, are in the docstrings of the NumPy twins
(``optreg.optimizers.<Name>``): one statement of each algorithm, two implementations.

The arguments are checked by the NumPy twin's declaration (``optreg.optimizers.check_arguments``),
so both raise the same ``ValueError``. The state variables are created in the same order and with
the same shapes as in the built-in optimizer of the same name, so ``set_weights`` works across them.

Non-finite gradients: like Keras' built-ins, these optimizers do not check (a check would cost a
pass over every gradient, and a traced step cannot raise): a NaN or inf gradient propagates to the
weights and state. Use ``keras.callbacks.TerminateOnNaN``, or clipping, to guard against it.
The NumPy twins instead raise ``ValueError`` and change nothing.
"""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

from optreg import optimizers as _np

__all__ = [
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
]

_serializable = keras.saving.register_keras_serializable(package="optreg")
_KERAS_BASE = {h.name for h in _np.COMMON}  # arguments of keras.optimizers.Optimizer


class _Optimizer(keras.optimizers.Optimizer):
    """Takes its signature, checks and config from ``numpy_twin``'s declaration, and creates
    the state variables that ``state_variables`` names."""

    #: the NumPy class of the same algorithm, whose ``arguments`` this twin takes
    numpy_twin: type[_np.Optimizer] = _np.Optimizer

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.arguments = cls.numpy_twin.arguments
        cls.__init__ = _np._with_signature(_Optimizer.__init__, cls, var_keyword=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        values = _np._bind(type(self), args, kwargs)
        checked = _np.check_arguments(type(self), values)
        base = {k: v for k, v in checked.items() if k in _KERAS_BASE}
        super().__init__(name=values["name"], **base, **values["kwargs"])
        for name, value in checked.items():
            if name not in _KERAS_BASE:
                setattr(self, name, value)

    def get_config(self) -> dict[str, Any]:
        own = {h.name: getattr(self, h.name) for h in self.arguments if h.name not in _KERAS_BASE}
        return {**super().get_config(), **own}

    # -- the state ---------------------------------------------------------------------------
    def state_variables(self) -> list[tuple[str, ...]]:
        """The state, in groups of names, in the order of Keras' built-in (so that
        ``set_weights`` works across them): each group is created together, one variable of
        each name per trainable variable, interleaved as Keras' ``add_optimizer_variables``."""
        return []

    def state_initializer(self, name: str) -> Any:
        """The initializer of the state variables called ``name`` (zeros unless overridden)."""
        return "zeros"

    def build(self, variables: list) -> None:
        if self.built:
            return
        super().build(variables)
        for group in filter(None, self.state_variables()):  # () for a state not kept
            initializers = [self.state_initializer(name) for name in group]
            created = self.add_optimizer_variables(variables, list(group), initializers)
            for name, state in zip(group, created, strict=True):
                setattr(self, name, state)

    def state_of(self, variable: Any, *names: str) -> list:
        """The state variables ``names`` of ``variable``."""
        i = self._get_variable_index(variable)
        return [getattr(self, name)[i] for name in names]

    # -- what every update_step starts with --------------------------------------------------
    def inputs(self, gradient: Any, variable: Any, learning_rate: Any) -> tuple:
        """``g``, ``lr`` and ``t = iterations + 1`` in the variable's dtype, as Keras' built-ins
        cast them.

        ``g`` may be sparse (an ``Embedding``'s ``tf.IndexedSlices``, rows repeated for repeated
        tokens). As in Keras' built-ins, ``ops.square(g)`` then squares each row before the
        repeats are summed, and a Python number cannot multiply ``g``: the equations write
        ``ops.multiply(1 - rho, ...)`` there, ``*`` and ``-`` wherever a tensor is involved.
        """
        dtype = variable.dtype
        g = ops.cast(gradient, dtype)
        return g, ops.cast(learning_rate, dtype), ops.cast(self.iterations + 1, dtype)


@_serializable
class SGD(_Optimizer):
    """SGD with optional (Nesterov) momentum; equations in ``optreg.optimizers.SGD``::

    m <- momentum m - lr g ;  w <- w + m   (or w + momentum m - lr g with nesterov)
    """

    numpy_twin = _np.SGD

    def state_variables(self):
        return [("m",)] if self.momentum != 0 else []

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        g, lr, _ = self.inputs(gradient, variable, learning_rate)
        w, momentum = variable, self.momentum
        if momentum == 0:
            self.assign_sub(w, lr * g)
            return
        (m,) = self.state_of(w, "m")
        self.assign(m, momentum * m - lr * g)
        if self.nesterov:
            self.assign_add(w, momentum * m - lr * g)
        else:
            self.assign_add(w, m)


@_serializable
class Adagrad(_Optimizer):
    """Adagrad; equations in ``optreg.optimizers.Adagrad``::

    s <- s + g^2 ;  w <- w - lr g / sqrt(s + epsilon)     (s starts at initial_accumulator_value)
    """

    numpy_twin = _np.Adagrad

    def state_variables(self):
        return [("s",)]

    def state_initializer(self, name):
        return keras.initializers.Constant(self.initial_accumulator_value)

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        g, lr, _ = self.inputs(gradient, variable, learning_rate)
        w, (s,) = variable, self.state_of(variable, "s")
        self.assign_add(s, ops.square(g))
        self.assign_sub(w, lr * g / ops.sqrt(s + self.epsilon))


@_serializable
class RMSprop(_Optimizer):
    """RMSprop, optionally centered and with momentum; equations in ``optreg.optimizers.RMSprop``::

    s <- rho s + (1 - rho) g^2 ;  m_g <- rho m_g + (1 - rho) g     (centered)
    step = lr g / sqrt(s - m_g^2 + epsilon)  (centered)  or  lr g / sqrt(s + epsilon)
    m <- momentum m + step ;  w <- w - m     (momentum > 0, else w <- w - step)
    """

    numpy_twin = _np.RMSprop

    def state_variables(self):
        return [("s",), ("m",) if self.momentum > 0 else (), ("m_g",) if self.centered else ()]

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        g, lr, _ = self.inputs(gradient, variable, learning_rate)
        w, rho, (s,) = variable, self.rho, self.state_of(variable, "s")
        self.assign(s, rho * s + ops.multiply(1 - rho, ops.square(g)))
        if self.centered:
            (m_g,) = self.state_of(w, "m_g")
            self.assign(m_g, rho * m_g + ops.multiply(1 - rho, g))
            step = lr * g / ops.sqrt(s - ops.square(m_g) + self.epsilon)
        else:
            step = lr * g / ops.sqrt(s + self.epsilon)
        if self.momentum > 0:
            (m,) = self.state_of(w, "m")
            self.assign(m, self.momentum * m + step)
            step = m
        self.assign_sub(w, step)


@_serializable
class Adadelta(_Optimizer):
    """Adadelta; equations in ``optreg.optimizers.Adadelta``::

    s <- rho s + (1 - rho) g^2 ;  dw = - sqrt(d + eps) / sqrt(s + eps) * g
    d <- rho d + (1 - rho) dw^2 ;  w <- w + lr dw
    """

    numpy_twin = _np.Adadelta

    def state_variables(self):
        return [("s", "d")]

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        g, lr, _ = self.inputs(gradient, variable, learning_rate)
        w, rho, eps = variable, self.rho, self.epsilon
        s, d = self.state_of(w, "s", "d")
        self.assign(s, rho * s + ops.multiply(1 - rho, ops.square(g)))
        dw = ops.negative(ops.divide(ops.multiply(ops.sqrt(d + eps), g), ops.sqrt(s + eps)))
        self.assign(d, rho * d + ops.multiply(1 - rho, ops.square(dw)))
        self.assign_add(w, ops.multiply(lr, dw))


@_serializable
class Adam(_Optimizer):
    """Adam (optionally AMSGrad); equations in ``optreg.optimizers.Adam``::

    m <- m + (1 - beta_1) (g - m) ;  s <- s + (1 - beta_2) (g^2 - s) ;  s_max <- max(s_max, s)
    alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t) ;  w <- w - alpha m / (sqrt(s) + epsilon)
    """

    numpy_twin = _np.Adam

    def state_variables(self):
        return [("m", "s"), ("s_max",) if self.amsgrad else ()]

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        g, lr, t = self.inputs(gradient, variable, learning_rate)
        w, beta_1, beta_2 = variable, self.beta_1, self.beta_2
        m, s = self.state_of(w, "m", "s")
        self.assign_add(m, (1 - beta_1) * (g - m))
        self.assign_add(s, (1 - beta_2) * (ops.square(g) - s))
        if self.amsgrad:
            (s_max,) = self.state_of(w, "s_max")
            self.assign(s_max, ops.maximum(s_max, s))
            s = s_max
        alpha = lr * ops.sqrt(1 - beta_2**t) / (1 - beta_1**t)
        self.assign_sub(w, alpha * m / (ops.sqrt(s) + self.epsilon))


@_serializable
class Adamax(_Optimizer):
    """Adamax; equations in ``optreg.optimizers.Adamax``::

    m <- m + (1 - beta_1) (g - m) ;  u <- max(beta_2 u, |g|)
    w <- w - lr m / ((1 - beta_1^t) (u + epsilon))
    """

    numpy_twin = _np.Adamax

    def state_variables(self):
        return [("m", "u")]

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        g, lr, t = self.inputs(gradient, variable, learning_rate)
        w, beta_1 = variable, self.beta_1
        m, u = self.state_of(w, "m", "u")
        self.assign_add(m, (1 - beta_1) * (g - m))
        self.assign(u, ops.maximum(self.beta_2 * u, ops.abs(g)))
        self.assign_sub(w, lr * m / ((1 - beta_1**t) * (u + self.epsilon)))


@_serializable
class Nadam(_Optimizer):
    """Nadam with Keras' momentum schedule; equations in ``optreg.optimizers.Nadam``::

    mu_t = beta_1 (1 - 0.5 * 0.96^t) ;  P_t = mu_1 ... mu_t   (a state variable, once per step)
    m <- m + (1 - beta_1) (g - m) ;  s <- s + (1 - beta_2) (g^2 - s)
    m_hat = mu_{t+1} m / (1 - P_t mu_{t+1}) + (1 - mu_t) g / (1 - P_t) ;  s_hat = s / (1 - beta_2^t)
    w <- w - lr m_hat / (sqrt(s_hat) + epsilon)

    As Keras' Nadam, ``beta_1`` and ``beta_2`` are cast to the variable's dtype first (so
    ``1 - beta_1`` is computed in float32 for float32 variables).
    """

    numpy_twin = _np.Nadam

    def state_variables(self):
        return [("m", "s")]

    def build(self, variables: list) -> None:
        if self.built:
            return
        dtype = variables[0].dtype if variables else keras.backend.floatx()
        super().build(variables)
        self.mu_product = keras.Variable(1.0, dtype=dtype, trainable=False, name="mu_product")

    def mu(self, t: Any, dtype: Any) -> Any:
        """The momentum schedule ``mu_t = beta_1 (1 - 0.5 * 0.96^t)``."""
        return ops.cast(self.beta_1, dtype) * (1 - 0.5 * ops.power(ops.cast(0.96, dtype), t))

    def _backend_update_step(self, grads: list, trainable_variables: list, learning_rate: Any):
        # P_t = P_{t-1} mu_t must be updated once per step, before the per-variable updates
        dtype = self.mu_product.dtype
        self.assign(
            self.mu_product, self.mu_product * self.mu(ops.cast(self.iterations + 1, dtype), dtype)
        )
        super()._backend_update_step(grads, trainable_variables, learning_rate)

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        g, lr, t = self.inputs(gradient, variable, learning_rate)
        w, dtype = variable, variable.dtype
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        mu_t, mu_next = self.mu(t, dtype), self.mu(t + 1, dtype)
        P_t = ops.cast(self.mu_product, dtype)
        m, s = self.state_of(w, "m", "s")
        self.assign_add(m, (1 - beta_1) * (g - m))
        self.assign_add(s, (1 - beta_2) * (ops.square(g) - s))
        m_hat = mu_next * m / (1 - P_t * mu_next) + (1 - mu_t) * g / (1 - P_t)
        s_hat = s / (1 - beta_2**t)
        self.assign_sub(w, lr * m_hat / (ops.sqrt(s_hat) + self.epsilon))


@_serializable
class AdamW(Adam):
    """Adam with decoupled weight decay ``w <- w - lr * weight_decay * w`` applied by the base
    class before each Adam step; see ``optreg.optimizers.AdamW`` for how this differs from the
    paper."""

    numpy_twin = _np.AdamW


# --------------------------------------------------------------------------------------------
# Beyond Adam: Lion, Lamb, Adafactor, Muon, Schedule-Free AdamW; Ftrl
# --------------------------------------------------------------------------------------------
@_serializable
class Lion(_Optimizer):
    """Lion; equations in ``optreg.optimizers.Lion``::

    w <- w - lr sign(beta_1 m + (1 - beta_1) g) ;  m <- beta_2 m + (1 - beta_2) g

    (``beta_1`` and ``beta_2`` in the variable's dtype first, as Keras' Lion).
    """

    numpy_twin = _np.Lion

    def state_variables(self):
        return [("m",)]

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        g, lr, _ = self.inputs(gradient, variable, learning_rate)
        w, dtype = variable, variable.dtype
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        (m,) = self.state_of(w, "m")
        self.assign_sub(w, lr * ops.sign(beta_1 * m + (1 - beta_1) * g))
        self.assign(m, beta_2 * m + (1 - beta_2) * g)


@_serializable
class Lamb(_Optimizer):
    """LAMB; equations in ``optreg.optimizers.Lamb``::

    m <- m + (1 - beta_1) (g - m) ;  s <- s + (1 - beta_2) (g^2 - s)
    u = (m / (1 - beta_1^t)) / (sqrt(s / (1 - beta_2^t)) + epsilon)
    w <- w - lr (||w|| / ||u||) u        (trust ratio 1 if either norm is 0)
    """

    numpy_twin = _np.Lamb

    def state_variables(self):
        return [("m", "s")]

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        g, lr, t = self.inputs(gradient, variable, learning_rate)
        w, beta_1, beta_2 = variable, self.beta_1, self.beta_2
        m, s = self.state_of(w, "m", "s")
        self.assign_add(m, (1 - beta_1) * (g - m))
        self.assign_add(s, (1 - beta_2) * (ops.square(g) - s))
        u = (m / (1 - beta_1**t)) / (ops.sqrt(s / (1 - beta_2**t)) + self.epsilon)
        w_norm, u_norm = _norm(w), _norm(u)
        r = ops.where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, 1.0)
        self.assign_sub(w, r * lr * u)


def _norm(x: Any) -> Any:
    return ops.sqrt(ops.sum(ops.square(x)))


def _rms(x: Any) -> Any:
    return ops.sqrt(ops.mean(ops.square(x)))


@_serializable
class Adafactor(_Optimizer):
    """Adafactor; equations in ``optreg.optimizers.Adafactor``::

    rho = min(lr, 1 / sqrt(t)) ;  alpha = max(epsilon_2, RMS(w)) rho ;  beta = 1 - t^beta_2_decay
    rank >= 2: r, c <- beta r, c + (1 - beta) (row, column means of g^2 + epsilon_1)
               v = r c / mean(r)     otherwise: v <- beta v + (1 - beta) (g^2 + epsilon_1)
    u = g / sqrt(v) ;  w <- w - alpha u / max(1, RMS(u) / clip_threshold)

    As Keras' built-in, a tensor of rank < 2 gets two placeholder scalars for ``r`` and ``c``
    (so that the variables match one for one), and ``v`` is kept whole.
    """

    numpy_twin = _np.Adafactor

    def build(self, variables: list) -> None:
        if self.built:
            return
        super().build(variables)
        self.r, self.c, self.v = [], [], []
        for w in variables:
            if len(w.shape) < 2:  # not factored: placeholders, as Keras
                self.r.append(keras.Variable(0, name=w.name, trainable=False))
                self.c.append(keras.Variable(0, name=w.name, trainable=False))
            else:
                shape = tuple(w.shape)
                self.r.append(self.add_variable(shape[:-1], dtype=w.dtype, name=w.name))
                self.c.append(
                    self.add_variable(shape[:-2] + shape[-1:], dtype=w.dtype, name=w.name)
                )
            self.v.append(self.add_variable_from_reference(w, name="v"))

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        g, lr, t = self.inputs(gradient, variable, learning_rate)
        w = variable
        rho = ops.minimum(lr, 1 / ops.sqrt(t))
        alpha = ops.maximum(ops.cast(self.epsilon_2, w.dtype), _rms(w)) * rho
        beta = 1 - t**self.beta_2_decay
        G = ops.add(ops.square(g), self.epsilon_1)
        r, c, v = self.state_of(w, "r", "c", "v")
        if len(w.shape) >= 2:
            self.assign(r, beta * r + (1 - beta) * ops.mean(G, axis=-1))
            self.assign(c, beta * c + (1 - beta) * ops.mean(G, axis=-2))
            row = ops.expand_dims(r / ops.mean(r, axis=-1, keepdims=True), -1)
            self.assign(v, row * ops.expand_dims(c, -2))
        else:
            self.assign(v, beta * v + (1 - beta) * G)
        u = ops.divide(g, ops.sqrt(v))
        u = ops.divide(u, ops.maximum(1.0, _rms(u) / self.clip_threshold))
        self.assign_sub(w, ops.multiply(alpha, u))


@_serializable
class Muon(_Optimizer):
    """Muon for 2-D matrices, AdamW for the rest; equations in ``optreg.optimizers.Muon``::

    m <- momentum m + g ;  u = g + momentum m (nesterov) or m
    w <- w - lr NewtonSchulz(u) sqrt(max(n, k)) rms_rate
    others: AdamW (adam_beta_1, adam_beta_2, lr * adam_lr_ratio, adam_weight_decay)

    A variable goes to AdamW if it is not 2-D, if ``exclude_embeddings`` and its path contains
    "embedding", or if its path matches one of ``exclude_layers``.
    """

    numpy_twin = _np.Muon

    def uses_adamw(self, variable: Any) -> bool:
        return self.numpy_twin.uses_adamw(self, variable, variable.path)

    def build(self, variables: list) -> None:
        if self.built:
            return
        super().build(variables)
        self.m, self.v = [], []  # in Keras' order: m, then v if AdamW, for each variable
        for w in variables:
            self.m.append(self.add_variable_from_reference(w, name="m"))
            self.v.append(
                self.add_variable_from_reference(w, name="v") if self.uses_adamw(w) else None
            )

    def _apply_weight_decay(self, variables: list) -> None:
        # the decay of the AdamW variables is adam_weight_decay
        for w in variables:
            decay = self.adam_weight_decay if self.uses_adamw(w) else self.weight_decay
            if self._use_weight_decay(w) and decay is not None:
                lr = ops.cast(self.learning_rate, w.dtype)
                w.assign(w - w * ops.cast(decay, w.dtype) * lr)

    def newton_schulz(self, x: Any) -> Any:
        a, b, c = self.muon_a, self.muon_b, self.muon_c
        tall = x.shape[0] > x.shape[1]
        x = ops.transpose(x) if tall else x
        x = x / (ops.norm(x) + 1e-7)
        for _ in range(self.ns_steps):
            A = x @ ops.transpose(x)
            x = a * x + (b * A + c * A @ A) @ x
        return ops.transpose(x) if tall else x

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        g, lr, t = self.inputs(gradient, variable, learning_rate)
        w, momentum = variable, self.momentum
        m, v = self.state_of(w, "m", "v")
        if v is not None:  # AdamW
            lr = lr * self.adam_lr_ratio
            beta_1, beta_2 = self.adam_beta_1, self.adam_beta_2
            alpha = lr * ops.sqrt(1 - beta_2**t) / (1 - beta_1**t)
            self.assign_add(m, (1 - beta_1) * (g - m))
            self.assign_add(v, (1 - beta_2) * (ops.square(g) - v))
            self.assign_sub(w, alpha * m / (ops.sqrt(v) + self.epsilon))
            return
        self.assign_add(m, g + (momentum - 1) * m)  # m <- momentum m + g
        u = g + momentum * m if self.nesterov else m
        step = lr * self.newton_schulz(u)
        if self.rms_rate is not None:
            step = step * ops.sqrt(ops.maximum(step.shape[0], step.shape[1])) * self.rms_rate
        self.assign_sub(w, step)


@_serializable
class ScheduleFreeAdamW(_Optimizer):
    """Schedule-Free AdamW; equations in ``optreg.optimizers.ScheduleFreeAdamW``::

    lr_t = lr min(t / warmup_steps, 1) ;  v <- v + (1 - beta_2) (g^2 - v)
    z <- z - lr_t g / (sqrt(v / (1 - beta_2^t)) + epsilon)        (z starts at w)
    x = (y - (1 - beta_1) z) / beta_1 ;  x <- (1 - 1/t) x + z / t ;  y <- (1 - beta_1) z + beta_1 x
    """

    numpy_twin = _np.ScheduleFreeAdamW

    def state_variables(self):
        return [("z", "v")]

    def build(self, variables: list) -> None:
        if self.built:
            return
        super().build(variables)
        for z, w in zip(self.z, variables, strict=True):
            self.assign(z, ops.copy(w))  # z starts at w

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        g, lr, t = self.inputs(gradient, variable, learning_rate)
        y, dtype = variable, variable.dtype
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        if self.warmup_steps > 0:
            lr = lr * ops.minimum(t / ops.cast(self.warmup_steps, dtype), 1.0)
        z, v = self.state_of(y, "z", "v")
        self.assign_add(v, (1 - beta_2) * (ops.square(g) - v))
        self.assign_sub(z, lr * g / (ops.sqrt(v / (1 - beta_2**t)) + self.epsilon))
        x = (y - (1 - beta_1) * z) / beta_1
        x = (1 - 1 / t) * x + (1 / t) * z
        self.assign(y, (1 - beta_1) * z + beta_1 * x)

    def eval_weights(self, variables: list) -> list:
        """The averages ``x = (y - (1 - beta_1) z) / beta_1`` to evaluate with (tensors)."""
        zs = [self.state_of(w, "z")[0] for w in variables]
        return [
            (w - (1 - self.beta_1) * z) / self.beta_1 for w, z in zip(variables, zs, strict=True)
        ]


@_serializable
class Ftrl(_Optimizer):
    """FTRL-Proximal; equations in ``optreg.optimizers.Ftrl`` (``p = learning_rate_power``)::

    g' = g + 2 l2_shrinkage w ;  n' = n + g^2 ;  z <- z + g' - (n'^-p - n^-p) / lr w
    w <- (clip(z, -l1, l1) - z) / (n'^-p / lr + 2 l2 + beta / lr) ;  n <- n'
    """

    numpy_twin = _np.Ftrl

    def state_variables(self):
        return [("n", "z")]

    def state_initializer(self, name):
        if name == "n":
            return keras.initializers.Constant(self.initial_accumulator_value)
        return "zeros"

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        g, lr, _ = self.inputs(gradient, variable, learning_rate)
        w, p, l1 = variable, self.learning_rate_power, self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        n, z = self.state_of(w, "n", "z")
        g_shrunk = g + 2 * self.l2_shrinkage_regularization_strength * w
        n_new = n + ops.square(g)
        self.assign_add(z, g_shrunk - (ops.power(n_new, -p) - ops.power(n, -p)) / lr * w)
        self.assign(w, (ops.clip(z, -l1, l1) - z) / (ops.power(n_new, -p) / lr + 2 * l2))
        self.assign(n, n_new)
