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
    """Takes its signature, checks and config from ``numpy_twin``'s declaration."""

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

    def _index(self, variable: Any) -> int:
        return self._get_variable_index(variable)


@_serializable
class SGD(_Optimizer):
    """SGD with optional (Nesterov) momentum; equations in ``optreg.optimizers.SGD``::

    m <- momentum m - lr g ;  w <- w + m   (or w + momentum m - lr g with nesterov)
    """

    numpy_twin = _np.SGD

    def build(self, variables: list) -> None:
        if self.built:
            return
        super().build(variables)
        self.m = self.add_optimizer_variables(variables, "m") if self.momentum != 0 else []

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        if self.momentum == 0:
            self.assign_sub(variable, g * lr)  # w <- w - lr g
            return
        momentum = ops.cast(self.momentum, variable.dtype)
        m = self.m[self._index(variable)]
        self.assign(m, m * momentum - g * lr)  # m <- momentum m - lr g
        if self.nesterov:
            self.assign_add(variable, m * momentum - g * lr)  # w <- w + momentum m - lr g
        else:
            self.assign_add(variable, m)  # w <- w + m


@_serializable
class Adagrad(_Optimizer):
    """Adagrad; equations in ``optreg.optimizers.Adagrad``::

    s <- s + g^2 ;  w <- w - lr g / sqrt(s + epsilon)     (s starts at initial_accumulator_value)
    """

    numpy_twin = _np.Adagrad

    def build(self, variables: list) -> None:
        if self.built:
            return
        super().build(variables)
        initializer = keras.initializers.Constant(self.initial_accumulator_value)
        self.s = self.add_optimizer_variables(variables, "s", initializer=initializer)

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        s = self.s[self._index(variable)]
        self.assign_add(s, ops.square(g))  # s <- s + g^2
        self.assign_sub(variable, lr * g / ops.sqrt(s + self.epsilon))


@_serializable
class RMSprop(_Optimizer):
    """RMSprop, optionally centered and with momentum; equations in ``optreg.optimizers.RMSprop``::

    s <- rho s + (1 - rho) g^2 ;  m_g <- rho m_g + (1 - rho) g     (centered)
    step = lr g / sqrt(s - m_g^2 + epsilon)  (centered)  or  lr g / sqrt(s + epsilon)
    m <- momentum m + step ;  w <- w - m     (momentum > 0, else w <- w - step)
    """

    numpy_twin = _np.RMSprop

    def build(self, variables: list) -> None:
        if self.built:
            return
        super().build(variables)
        self.s = self.add_optimizer_variables(variables, "s")
        self.m = self.add_optimizer_variables(variables, "m") if self.momentum > 0 else []
        self.m_g = self.add_optimizer_variables(variables, "m_g") if self.centered else []

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        rho, i = self.rho, self._index(variable)
        s = self.s[i]
        # ops.multiply, not `*`: g may be sparse (tf.IndexedSlices, from an Embedding)
        self.assign(s, rho * s + ops.multiply(1 - rho, ops.square(g)))
        if self.centered:
            m_g = self.m_g[i]
            self.assign(m_g, rho * m_g + ops.multiply(1 - rho, g))
            denominator = s - ops.square(m_g) + self.epsilon
        else:
            denominator = s + self.epsilon
        step = ops.divide(ops.multiply(lr, g), ops.sqrt(denominator))
        if self.momentum > 0:
            m = self.m[i]
            self.assign(m, self.momentum * m + step)
            self.assign_sub(variable, m)
        else:
            self.assign_sub(variable, step)


@_serializable
class Adadelta(_Optimizer):
    """Adadelta; equations in ``optreg.optimizers.Adadelta``::

    s <- rho s + (1 - rho) g^2 ;  dw = - sqrt(d + eps) / sqrt(s + eps) * g
    d <- rho d + (1 - rho) dw^2 ;  w <- w + lr dw
    """

    numpy_twin = _np.Adadelta

    def build(self, variables: list) -> None:
        if self.built:
            return
        super().build(variables)
        self.s, self.d = self.add_optimizer_variables(variables, ["s", "d"])

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        lr = ops.cast(learning_rate, variable.dtype)
        g = ops.cast(gradient, variable.dtype)
        rho, eps, i = self.rho, self.epsilon, self._index(variable)
        s, d = self.s[i], self.d[i]
        # ops.multiply and ops.divide, not `*` and `/`: g may be sparse (tf.IndexedSlices)
        self.assign(s, rho * s + ops.multiply(1 - rho, ops.square(g)))
        dw = ops.negative(ops.divide(ops.multiply(ops.sqrt(d + eps), g), ops.sqrt(s + eps)))
        self.assign(d, rho * d + ops.multiply(1 - rho, ops.square(dw)))
        self.assign_add(variable, ops.multiply(lr, dw))


@_serializable
class Adam(_Optimizer):
    """Adam (optionally AMSGrad); equations in ``optreg.optimizers.Adam``::

    m <- m + (1 - beta_1) (g - m) ;  s <- s + (1 - beta_2) (g^2 - s) ;  s_max <- max(s_max, s)
    alpha = lr sqrt(1 - beta_2^t) / (1 - beta_1^t) ;  w <- w - alpha m / (sqrt(s) + epsilon)
    """

    numpy_twin = _np.Adam

    def build(self, variables: list) -> None:
        if self.built:
            return
        super().build(variables)
        self.m, self.s = self.add_optimizer_variables(variables, ["m", "s"])
        self.s_max = self.add_optimizer_variables(variables, "s_max") if self.amsgrad else []

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(gradient, dtype)
        t = ops.cast(self.iterations + 1, dtype)
        beta_1_t = ops.power(ops.cast(self.beta_1, dtype), t)
        beta_2_t = ops.power(ops.cast(self.beta_2, dtype), t)
        i = self._index(variable)
        m, s = self.m[i], self.s[i]
        self.assign_add(m, (g - m) * (1 - self.beta_1))
        self.assign_add(s, (ops.square(g) - s) * (1 - self.beta_2))
        if self.amsgrad:
            s_max = self.s_max[i]
            self.assign(s_max, ops.maximum(s_max, s))
            s = s_max
        alpha = lr * ops.sqrt(1 - beta_2_t) / (1 - beta_1_t)
        self.assign_sub(variable, m * alpha / (ops.sqrt(s) + self.epsilon))


@_serializable
class Adamax(_Optimizer):
    """Adamax; equations in ``optreg.optimizers.Adamax``::

    m <- m + (1 - beta_1) (g - m) ;  u <- max(beta_2 u, |g|)
    w <- w - lr m / ((1 - beta_1^t) (u + epsilon))
    """

    numpy_twin = _np.Adamax

    def build(self, variables: list) -> None:
        if self.built:
            return
        super().build(variables)
        self.m, self.u = self.add_optimizer_variables(variables, ["m", "u"])

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(gradient, dtype)
        t = ops.cast(self.iterations + 1, dtype)
        beta_1_t = ops.power(ops.cast(self.beta_1, dtype), t)
        i = self._index(variable)
        m, u = self.m[i], self.u[i]
        self.assign_add(m, (g - m) * (1 - self.beta_1))
        self.assign(u, ops.maximum(self.beta_2 * u, ops.abs(g)))
        self.assign_sub(variable, lr * m / ((1 - beta_1_t) * (u + self.epsilon)))


@_serializable
class Nadam(_Optimizer):
    """Nadam with Keras' momentum schedule; equations in ``optreg.optimizers.Nadam``::

    mu_t = beta_1 (1 - 0.5 * 0.96^t) ;  P_t = mu_1 ... mu_t   (a state variable, once per step)
    m <- m + (1 - beta_1) (g - m) ;  s <- s + (1 - beta_2) (g^2 - s)
    m_hat = mu_{t+1} m / (1 - P_t mu_{t+1}) + (1 - mu_t) g / (1 - P_t) ;  s_hat = s / (1 - beta_2^t)
    w <- w - lr m_hat / (sqrt(s_hat) + epsilon)
    """

    numpy_twin = _np.Nadam

    def build(self, variables: list) -> None:
        if self.built:
            return
        dtype = variables[0].dtype if variables else keras.backend.floatx()
        super().build(variables)
        self.m, self.s = self.add_optimizer_variables(variables, ["m", "s"])
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
        dtype = variable.dtype
        lr = ops.cast(learning_rate, dtype)
        g = ops.cast(gradient, dtype)
        t = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        mu_t, mu_next = self.mu(t, dtype), self.mu(t + 1, dtype)
        product = ops.cast(self.mu_product, dtype)
        i = self._index(variable)
        m, s = self.m[i], self.s[i]
        self.assign_add(m, (g - m) * (1 - beta_1))
        self.assign_add(s, (ops.square(g) - s) * (1 - beta_2))
        m_hat = mu_next * m / (1 - product * mu_next) + (1 - mu_t) * g / (1 - product)
        s_hat = s / (1 - ops.power(beta_2, t))
        self.assign_sub(variable, m_hat * lr / (ops.sqrt(s_hat) + self.epsilon))


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
    """

    numpy_twin = _np.Lion

    def build(self, variables: list) -> None:
        if self.built:
            return
        super().build(variables)
        self.m = self.add_optimizer_variables(variables, "m")

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        dtype = variable.dtype
        lr, g = ops.cast(learning_rate, dtype), ops.cast(gradient, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        m = self.m[self._index(variable)]
        self.assign_sub(variable, lr * ops.sign(m * beta_1 + g * (1 - beta_1)))
        self.assign(m, m * beta_2 + g * (1 - beta_2))


@_serializable
class Lamb(_Optimizer):
    """LAMB; equations in ``optreg.optimizers.Lamb``::

    m <- m + (1 - beta_1) (g - m) ;  s <- s + (1 - beta_2) (g^2 - s)
    u = (m / (1 - beta_1^t)) / (sqrt(s / (1 - beta_2^t)) + epsilon)
    w <- w - lr (||w|| / ||u||) u        (trust ratio 1 if either norm is 0)
    """

    numpy_twin = _np.Lamb

    def build(self, variables: list) -> None:
        if self.built:
            return
        super().build(variables)
        self.m, self.s = self.add_optimizer_variables(variables, ["m", "s"])

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        dtype = variable.dtype
        lr, g = ops.cast(learning_rate, dtype), ops.cast(gradient, dtype)
        t = ops.cast(self.iterations + 1, dtype)
        beta_1_t = ops.power(ops.cast(self.beta_1, dtype), t)
        beta_2_t = ops.power(ops.cast(self.beta_2, dtype), t)
        i = self._index(variable)
        m, s = self.m[i], self.s[i]
        self.assign_add(m, (g - m) * (1 - self.beta_1))
        self.assign_add(s, (ops.square(g) - s) * (1 - self.beta_2))
        u = (m / (1 - beta_1_t)) / (ops.sqrt(s / (1 - beta_2_t)) + self.epsilon)
        w_norm, u_norm = ops.sqrt(ops.sum(ops.square(variable))), ops.sqrt(ops.sum(ops.square(u)))
        ratio = ops.where((w_norm > 0) & (u_norm > 0), w_norm / u_norm, 1.0)
        self.assign_sub(variable, ratio * lr * u)


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
        dtype = variable.dtype
        lr, g = ops.cast(learning_rate, dtype), ops.cast(gradient, dtype)
        t = ops.cast(self.iterations + 1, dtype)
        rho = ops.minimum(lr, 1 / ops.sqrt(t))
        alpha = ops.maximum(ops.cast(self.epsilon_2, dtype), _rms(variable)) * rho
        beta = 1 - ops.power(t, self.beta_2_decay)
        G = ops.add(ops.square(g), self.epsilon_1)  # ops.add: g may be sparse, as below
        i = self._index(variable)
        r, c, v = self.r[i], self.c[i], self.v[i]
        if len(variable.shape) >= 2:
            self.assign(r, beta * r + (1 - beta) * ops.mean(G, axis=-1))
            self.assign(c, beta * c + (1 - beta) * ops.mean(G, axis=-2))
            row = ops.expand_dims(r / ops.mean(r, axis=-1, keepdims=True), -1)
            self.assign(v, row * ops.expand_dims(c, -2))
        else:
            self.assign(v, beta * v + (1 - beta) * G)
        u = ops.divide(g, ops.sqrt(v))
        u = ops.divide(u, ops.maximum(1.0, _rms(u) / self.clip_threshold))
        self.assign_sub(variable, ops.multiply(alpha, u))


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
        dtype = variable.dtype
        lr, g = ops.cast(learning_rate, dtype), ops.cast(gradient, dtype)
        i = self._index(variable)
        m, v = self.m[i], self.v[i]
        if v is not None:  # AdamW
            lr = lr * self.adam_lr_ratio
            t = ops.cast(self.iterations + 1, dtype)
            beta_1_t = ops.power(ops.cast(self.adam_beta_1, dtype), t)
            beta_2_t = ops.power(ops.cast(self.adam_beta_2, dtype), t)
            alpha = lr * ops.sqrt(1 - beta_2_t) / (1 - beta_1_t)
            self.assign_add(m, (g - m) * (1 - self.adam_beta_1))
            self.assign_add(v, (ops.square(g) - v) * (1 - self.adam_beta_2))
            self.assign_sub(variable, m * alpha / (ops.sqrt(v) + self.epsilon))
            return
        self.assign_add(m, g + m * (self.momentum - 1))  # m <- momentum m + g
        u = g + self.momentum * m if self.nesterov else m
        step = lr * self.newton_schulz(u)
        if self.rms_rate is not None:
            step = step * ops.sqrt(ops.maximum(step.shape[0], step.shape[1])) * self.rms_rate
        self.assign_sub(variable, step)


@_serializable
class ScheduleFreeAdamW(_Optimizer):
    """Schedule-Free AdamW; equations in ``optreg.optimizers.ScheduleFreeAdamW``::

    lr_t = lr min(t / warmup_steps, 1) ;  v <- v + (1 - beta_2) (g^2 - v)
    z <- z - lr_t g / (sqrt(v / (1 - beta_2^t)) + epsilon)        (z starts at w)
    x = (y - (1 - beta_1) z) / beta_1 ;  x <- (1 - 1/t) x + z / t ;  y <- (1 - beta_1) z + beta_1 x
    """

    numpy_twin = _np.ScheduleFreeAdamW

    def build(self, variables: list) -> None:
        if self.built:
            return
        super().build(variables)
        self.z, self.v = self.add_optimizer_variables(variables, ["z", "v"])
        for z, w in zip(self.z, variables, strict=True):
            self.assign(z, ops.copy(w))

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        dtype = variable.dtype
        lr, g = ops.cast(learning_rate, dtype), ops.cast(gradient, dtype)
        t = ops.cast(self.iterations + 1, dtype)
        beta_1, beta_2 = ops.cast(self.beta_1, dtype), ops.cast(self.beta_2, dtype)
        if self.warmup_steps > 0:
            lr = lr * ops.minimum(t / ops.cast(self.warmup_steps, dtype), 1.0)
        i = self._index(variable)
        z, v, y = self.z[i], self.v[i], variable
        self.assign_add(v, (ops.square(g) - v) * (1 - beta_2))
        self.assign_sub(z, lr * g / (ops.sqrt(v / (1 - ops.power(beta_2, t))) + self.epsilon))
        x = (y - (1 - beta_1) * z) / beta_1
        x = (1 - 1 / t) * x + (1 / t) * z
        self.assign(y, (1 - beta_1) * z + beta_1 * x)

    def eval_weights(self, variables: list) -> list:
        """The averages ``x = (y - (1 - beta_1) z) / beta_1`` to evaluate with (tensors)."""
        zs = [self.z[self._index(w)] for w in variables]
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

    def build(self, variables: list) -> None:
        if self.built:
            return
        super().build(variables)
        initial = keras.initializers.Constant(self.initial_accumulator_value)
        self.n, self.z = self.add_optimizer_variables(
            variables, ["n", "z"], initializer=[initial, "zeros"]
        )

    def update_step(self, gradient: Any, variable: Any, learning_rate: Any) -> None:
        dtype = variable.dtype
        lr, g, w = ops.cast(learning_rate, dtype), ops.cast(gradient, dtype), variable
        p, l1 = self.learning_rate_power, self.l1_regularization_strength
        l2 = self.l2_regularization_strength + self.beta / (2.0 * lr)
        i = self._index(variable)
        n, z = self.n[i], self.z[i]
        g_shrunk = g + 2 * self.l2_shrinkage_regularization_strength * w
        n_new = n + ops.square(g)
        self.assign_add(z, g_shrunk - (ops.power(n_new, -p) - ops.power(n, -p)) / lr * w)
        self.assign(w, (ops.clip(z, -l1, l1) - z) / (ops.power(n_new, -p) / lr + 2 * l2))
        self.assign(n, n_new)
