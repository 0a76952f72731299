"""A small NumPy network toolkit: layers, ``Sequential``, losses, ``fit`` and a gradient check.

Everything follows one layer protocol, shared with ``optreg.normalization`` and
``optreg.regularization``:

* ``forward(x, training=False) -> y`` keeps what the backward pass needs;
* ``backward(dy) -> dx`` takes :math:`\\partial L/\\partial y` and returns
  :math:`\\partial L/\\partial x`, filling ``grads``;
* ``params`` and ``grads`` are dicts with the same keys (empty when there are no parameters).

A :class:`Sequential` chains layers; its ``params`` and ``grads`` lists feed any
``optreg.optimizers`` optimizer, ``optimizer.apply(model.grads, model.params)``, which updates
the parameter arrays in place. :func:`fit` runs the usual minibatch loop::

    for each epoch, for each minibatch (x_b, y_b):
        out = model.forward(x_b, training=True)
        loss, dout = loss_fn(y_b, out)            # + penalties of the kernel regularizers
        model.backward(dout)                       # fills model.grads (penalties' too)
        optimizer.apply(model.grads, model.params) # learning rate schedule: inside the optimizer
        model.apply_constraints()                  # e.g. max-norm, after the step as in Keras

Names, arguments and defaults are Keras' (``Dense(units, activation, kernel_initializer=
"glorot_uniform", ...)``, ``SoftmaxCrossEntropy`` = ``SparseCategoricalCrossentropy(
from_logits=True)``), so a model here and its Keras twin with copied weights compute the same
losses batch after batch. Computation is float32 by default; pass ``dtype="float64"`` to the
layers for gradient checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from optreg._validation import check_int, check_non_negative, check_positive

__all__ = [
    "Dense",
    "Activation",
    "Flatten",
    "Sequential",
    "SoftmaxCrossEntropy",
    "MeanSquaredError",
    "get_loss",
    "Callback",
    "LambdaCallback",
    "OneCycleScheduler",
    "ReduceLROnPlateau",
    "History",
    "fit",
    "evaluate",
    "predict",
    "gradient_check",
]


# --------------------------------------------------------------------------------------------
# Layers
# --------------------------------------------------------------------------------------------


def _make_initializer(identifier: Any, seed: int | None) -> Callable[..., np.ndarray]:
    """An ``optreg.initializers`` initializer; ``seed`` reseeds a random one built by name."""
    from optreg import initializers

    init = initializers.get(identifier)
    if seed is not None and isinstance(identifier, str) and hasattr(init, "seed"):
        init = type(init).from_config({**init.get_config(), "seed": seed})
    return init


class _ActivationFn:
    """``f`` and its backward pass for an activation name (``None`` or ``"linear"``: identity).

    Elementwise activations: ``dx = f'(x) * dy``. Softmax mixes a row, so its backward is the
    vector-Jacobian product ``dx = s * (dy - sum(dy * s))`` with ``s = softmax(x)``.
    """

    def __init__(self, name: str | None) -> None:
        from optreg import activations

        self.name = "linear" if name is None else name
        self.fn, self.grad = activations.get(self.name)

    def __call__(self, x: np.ndarray, overwrite: bool = False) -> np.ndarray:
        """``f(x)``; ``overwrite=True`` allows writing the result into ``x`` (saves a copy)."""
        if self.name == "linear":
            return x
        if self.name == "relu" and overwrite:
            return np.maximum(x, 0, out=x)
        return self.fn(x).astype(x.dtype, copy=False)

    def backward(self, x: np.ndarray, y: np.ndarray, dy: np.ndarray) -> np.ndarray:
        """``dL/dx`` given the input ``x``, the output ``y = f(x)`` and ``dy = dL/dy``."""
        if self.name == "linear":
            return dy
        if self.name == "relu":  # the hot path: y > 0 exactly where x > 0, and x may be gone
            return np.where(y > 0, dy, dy.dtype.type(0))
        if self.name == "softmax":
            return y * (dy - (dy * y).sum(axis=-1, keepdims=True))
        return (self.grad(x) * dy).astype(dy.dtype, copy=False)


class Dense:
    """Fully connected layer ``y = activation(x @ kernel + bias)``, as ``keras.layers.Dense``.

    Backward pass, with ``z = x @ kernel + bias`` and ``dz = activation'(z) * dy``::

        d kernel = x.T @ dz  (+ kernel_regularizer.gradient(kernel))
        d bias   = sum(dz over the batch)
        dx       = dz @ kernel.T

    ``kernel_regularizer`` (e.g. ``optreg.regularizers.L2``) adds its penalty to the loss
    through :meth:`regularization_loss`; ``kernel_constraint`` (e.g. ``MaxNorm``) projects the
    kernel after each optimizer step (:meth:`apply_constraints`), as Keras does. ``seed`` (not
    a Keras argument) seeds the initializers given by name. Parameters are created on the
    first ``forward`` or by ``build(input_shape)``.
    """

    def __init__(
        self,
        units: int,
        activation: str | None = None,
        use_bias: bool = True,
        kernel_initializer: Any = "glorot_uniform",
        bias_initializer: Any = "zeros",
        kernel_regularizer: Any = None,
        bias_regularizer: Any = None,
        kernel_constraint: Any = None,
        bias_constraint: Any = None,
        seed: int | None = None,
        dtype: str = "float32",
    ) -> None:
        self.units = check_int("units", units, minimum=1)
        self.activation = _ActivationFn(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = _make_initializer(kernel_initializer, seed)
        # a different stream for the bias, should it be random too
        self.bias_initializer = _make_initializer(
            bias_initializer, None if seed is None else seed + 1
        )
        self.kernel_regularizer = kernel_regularizer
        self.bias_regularizer = bias_regularizer
        self.kernel_constraint = kernel_constraint
        self.bias_constraint = bias_constraint
        self.dtype = np.dtype(dtype)
        if self.dtype.kind != "f":
            raise ValueError(f"dtype must be a floating dtype, got {dtype!r}")
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}
        self.built = False

    def build(self, input_shape: Sequence[int]) -> None:
        """Create ``kernel`` (inputs x units) and ``bias`` (units) and their gradient buffers."""
        if len(input_shape) != 2:
            raise ValueError(f"Dense expects inputs of shape (batch, features), got {input_shape}")
        shape = (int(input_shape[-1]), self.units)
        self.params["kernel"] = np.asarray(self.kernel_initializer(shape, dtype=self.dtype))
        if self.use_bias:
            self.params["bias"] = np.asarray(self.bias_initializer((self.units,), dtype=self.dtype))
        self.grads = {k: np.zeros_like(v) for k, v in self.params.items()}
        self.built = True

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = np.asarray(x, dtype=self.dtype)
        if not self.built:
            self.build(x.shape)
        z = x @ self.params["kernel"]
        if self.use_bias:
            z += self.params["bias"]
        y = self.activation(z, overwrite=True)
        self._cache = (x, z, y)  # z is y itself for relu (overwritten): backward uses y then
        return y

    def backward(self, dy: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Fill ``grads`` (in place) and return ``dx``; ``input_grad=False`` skips ``dx``
        (``Sequential`` does so for its first layer, whose input is the data)."""
        x, z, y = self._cache
        dz = self.activation.backward(z, y, np.asarray(dy, dtype=self.dtype))
        np.matmul(x.T, dz, out=self.grads["kernel"])
        if self.kernel_regularizer is not None:
            self.grads["kernel"] += self.kernel_regularizer.gradient(self.params["kernel"])
        if self.use_bias:
            dz.sum(axis=0, out=self.grads["bias"])
            if self.bias_regularizer is not None:
                self.grads["bias"] += self.bias_regularizer.gradient(self.params["bias"])
        return dz @ self.params["kernel"].T if input_grad else None

    def regularization_loss(self) -> float:
        """Sum of the regularizers' penalties on the current parameters."""
        total = 0.0
        if self.kernel_regularizer is not None and self.built:
            total += float(self.kernel_regularizer(self.params["kernel"]))
        if self.bias_regularizer is not None and self.built and self.use_bias:
            total += float(self.bias_regularizer(self.params["bias"]))
        return total

    def apply_constraints(self) -> None:
        """Project the parameters in place (called after each optimizer step)."""
        if self.kernel_constraint is not None:
            self.params["kernel"][...] = self.kernel_constraint(self.params["kernel"])
        if self.bias_constraint is not None and self.use_bias:
            self.params["bias"][...] = self.bias_constraint(self.params["bias"])


class Activation:
    """``y = f(x)`` for an ``optreg.activations`` name, as ``keras.layers.Activation``."""

    def __init__(self, activation: str) -> None:
        self.activation = _ActivationFn(activation)
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = np.asarray(x)
        y = self.activation(x)
        self._cache = (x, y)
        return y

    def backward(self, dy: np.ndarray) -> np.ndarray:
        x, y = self._cache
        return self.activation.backward(x, y, np.asarray(dy))


class Flatten:
    """``(batch, d1, d2, ...)`` to ``(batch, d1 * d2 * ...)``, as ``keras.layers.Flatten``."""

    def __init__(self) -> None:
        self.params: dict[str, np.ndarray] = {}
        self.grads: dict[str, np.ndarray] = {}

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        x = np.asarray(x)
        self._shape = x.shape
        return x.reshape(len(x), -1)

    def backward(self, dy: np.ndarray) -> np.ndarray:
        return np.asarray(dy).reshape(self._shape)


class Sequential:
    """A stack of layers; the output of each is the input of the next.

    ``params``/``grads`` list every layer's arrays in a fixed order (layer by layer, then by
    key), ready for ``optimizer.apply(model.grads, model.params)``. ``forward``/``backward``
    run the layers in order and in reverse order.
    """

    def __init__(self, layers: Iterable[Any] = ()) -> None:
        self.layers: list[Any] = []
        for layer in layers:
            self.add(layer)
        self.stop_training = False
        self.optimizer: Any = None  # set by fit

    def add(self, layer: Any) -> None:
        for attribute in ("forward", "backward", "params", "grads"):
            if not hasattr(layer, attribute):
                raise ValueError(f"layer must have forward/backward/params/grads, got {layer!r}")
        self.layers.append(layer)

    @property
    def built(self) -> bool:
        return all(getattr(layer, "built", True) for layer in self.layers)

    def build(self, input_shape: Sequence[int | None]) -> None:
        """Create every layer's parameters for inputs of ``input_shape`` (batch axis first,
        ``None`` allowed), by passing a small batch of zeros through in inference mode."""
        shape = tuple(2 if d is None else int(d) for d in input_shape)
        self.forward(np.zeros((2, *shape[1:]), dtype=np.float32), training=False)

    def forward(self, x: np.ndarray, training: bool = False) -> np.ndarray:
        for layer in self.layers:
            x = layer.forward(x, training=training)
        return x

    def backward(self, dloss: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Backpropagate ``dloss = dL/d(output)``, filling every layer's ``grads``, and return
        ``dL/d(input)``. ``fit`` passes ``input_grad=False``: the gradient with respect to the
        data is not needed, so a first ``Dense`` layer skips that matmul and ``None`` is
        returned."""
        d = dloss
        for i in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[i]
            if i == 0 and not input_grad and isinstance(layer, Dense):
                layer.backward(d, input_grad=False)
                return None
            d = layer.backward(d)
        return d

    def _param_items(self) -> list[tuple[Any, str]]:
        return [(layer, key) for layer in self.layers for key in layer.params]

    @property
    def params(self) -> list[np.ndarray]:
        """Every trainable array, in a fixed order (updated in place by the optimizers)."""
        return [layer.params[key] for layer, key in self._param_items()]

    @property
    def grads(self) -> list[np.ndarray]:
        """The gradients of the last ``backward``, in the order of :attr:`params`."""
        return [layer.grads[key] for layer, key in self._param_items()]

    def regularization_loss(self) -> float:
        """Sum of the layers' regularization penalties (added to the training loss)."""
        return sum(
            layer.regularization_loss()
            for layer in self.layers
            if hasattr(layer, "regularization_loss")
        )

    def apply_constraints(self) -> None:
        for layer in self.layers:
            if hasattr(layer, "apply_constraints"):
                layer.apply_constraints()

    def get_weights(self) -> list[np.ndarray]:
        """Copies of every array of the model's state, Keras' order: each layer's parameters,
        then its moving statistics (batch normalization's ``moving_mean``, ``moving_variance``)."""
        weights = []
        for layer in self.layers:
            weights += [v.copy() for v in layer.params.values()]
            for name in ("moving_mean", "moving_variance"):
                if getattr(layer, name, None) is not None:
                    weights.append(np.array(getattr(layer, name)))
        return weights

    def set_weights(self, weights: Sequence[np.ndarray]) -> None:
        """Copy ``weights`` (as returned by :meth:`get_weights` or Keras' ``get_weights``) into
        the model, in place, after checking every shape."""
        targets: list[tuple[Any, str, str | None]] = []
        for layer in self.layers:
            targets += [(layer, "params", key) for key in layer.params]
            for name in ("moving_mean", "moving_variance"):
                if getattr(layer, name, None) is not None:
                    targets.append((layer, name, None))
        if len(weights) != len(targets):
            raise ValueError(f"weights must have length {len(targets)}, got {len(weights)}")
        arrays = [np.asarray(w) for w in weights]
        for (layer, attr, key), w in zip(targets, arrays, strict=True):
            current = layer.params[key] if key is not None else getattr(layer, attr)
            if current.shape != w.shape:
                raise ValueError(f"weight shape {w.shape} does not match {current.shape}")
        for (layer, attr, key), w in zip(targets, arrays, strict=True):
            if key is not None:
                layer.params[key][...] = w
            else:
                setattr(layer, attr, w.astype(getattr(layer, attr).dtype))

    def count_params(self) -> int:
        return sum(p.size for p in self.params)

    # thin conveniences, so that ``model.fit(...)`` reads like Keras
    def fit(
        self, x: np.ndarray, y: np.ndarray, optimizer: Any, loss: Any, **kwargs: Any
    ) -> History:
        return fit(self, x, y, optimizer, loss, **kwargs)

    def evaluate(self, x: np.ndarray, y: np.ndarray, loss: Any, **kwargs: Any) -> dict[str, float]:
        return evaluate(self, x, y, loss, **kwargs)

    def predict(self, x: np.ndarray, **kwargs: Any) -> np.ndarray:
        return predict(self, x, **kwargs)


# --------------------------------------------------------------------------------------------
# Losses: ``loss(y_true, y_pred) -> (value, dvalue/dy_pred)``, averaged over the batch
# --------------------------------------------------------------------------------------------


class SoftmaxCrossEntropy:
    r"""Softmax and cross-entropy fused, for integer labels and logits.

    Keras: ``SparseCategoricalCrossentropy(from_logits=True)``. With :math:`p = \mathrm{softmax}(z)`
    over the last axis and labels :math:`y_i`,

    .. math:: L = -\frac1N \sum_i \log p_{i, y_i}, \qquad
              \frac{\partial L}{\partial z_{ik}} = \frac{p_{ik} - [k = y_i]}{N}.

    Fusing the two gives this simple gradient and avoids ``log(0)``: the log-probabilities are
    computed as ``z - max(z) - log(sum(exp(z - max(z))))``.
    """

    def __call__(self, y_true: np.ndarray, logits: np.ndarray) -> tuple[float, np.ndarray]:
        logits = np.asarray(logits)
        labels = np.asarray(y_true).reshape(-1).astype(np.intp, copy=False)
        n = len(logits)
        if logits.ndim != 2 or len(labels) != n:
            raise ValueError(
                f"expected logits (batch, classes) and batch labels, got {logits.shape} "
                f"and {np.shape(y_true)}"
            )
        rows = np.arange(n)
        shifted = logits - logits.max(axis=1, keepdims=True)
        p = np.exp(shifted)
        sums = p.sum(axis=1, keepdims=True)
        log_likelihood = shifted[rows, labels] - np.log(sums[:, 0])
        p /= sums
        p[rows, labels] -= 1.0
        p /= n
        return -float(log_likelihood.mean(dtype=np.float64)), p

    @staticmethod
    def accuracy(y_true: np.ndarray, logits: np.ndarray) -> float:
        """Fraction of rows whose largest logit is at the label."""
        hits = np.count_nonzero(np.argmax(logits, axis=-1) == np.asarray(y_true).reshape(-1))
        return hits / len(logits)


class MeanSquaredError:
    r"""Mean squared error, Keras' ``MeanSquaredError``:

    .. math:: L = \frac1{n} \sum (\hat y - y)^2, \qquad \frac{\partial L}{\partial \hat y}
              = \frac{2 (\hat y - y)}{n}

    with :math:`n` the number of entries. Labels of shape ``(batch,)`` are matched with
    predictions of shape ``(batch, 1)``.
    """

    accuracy = None

    def __call__(self, y_true: np.ndarray, y_pred: np.ndarray) -> tuple[float, np.ndarray]:
        y_pred = np.asarray(y_pred)
        y_true = np.asarray(y_true, dtype=y_pred.dtype)
        if y_true.ndim == y_pred.ndim - 1:
            y_true = y_true[..., None]
        if y_true.shape != y_pred.shape:
            raise ValueError(f"y_true shape {y_true.shape} does not match y_pred {y_pred.shape}")
        error = y_pred - y_true
        return float(np.mean(error * error, dtype=np.float64)), error * (2.0 / error.size)


_LOSSES = {
    "sparse_categorical_crossentropy": SoftmaxCrossEntropy,
    "softmax_cross_entropy": SoftmaxCrossEntropy,
    "mse": MeanSquaredError,
    "mean_squared_error": MeanSquaredError,
}


def get_loss(loss: Any) -> Any:
    """A loss object from a name (``"sparse_categorical_crossentropy"``, ``"mse"``) or as is."""
    if isinstance(loss, str):
        if loss not in _LOSSES:
            raise ValueError(f"loss must be one of {sorted(_LOSSES)!r}, got {loss!r}")
        return _LOSSES[loss]()
    if not callable(loss):
        raise ValueError(f"loss must be a name or a callable (y_true, y_pred), got {loss!r}")
    return loss


# --------------------------------------------------------------------------------------------
# Training loop
# --------------------------------------------------------------------------------------------


class Callback:
    """Hooks called by :func:`fit`, with Keras' names. ``self.model.optimizer`` is the optimizer
    in use; set ``self.model.stop_training = True`` to stop after the current epoch. ``logs``
    hold the running values (``loss``, ``accuracy``; at epoch end also ``val_loss``,
    ``val_accuracy``, ``lr``, ``time``)."""

    model: Any = None

    def set_model(self, model: Any) -> None:
        self.model = model

    def on_train_begin(self, logs: dict | None = None) -> None: ...

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None: ...

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None: ...

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None: ...

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None: ...

    def on_train_end(self, logs: dict | None = None) -> None: ...


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_train_batch_end=lambda b, logs: ...)``."""

    def __init__(self, **hooks: Callable[..., None]) -> None:
        for name, hook in hooks.items():
            if not hasattr(Callback, name) or not name.startswith("on_"):
                raise ValueError(f"unknown hook {name!r}")
            setattr(self, name, hook)


class _EarlyStoppingCallback(Callback):
    """Drives an ``optreg.regularization.EarlyStopping`` from :func:`fit`'s epoch logs and
    restores its best weights at the end, as ``keras.callbacks.EarlyStopping`` does."""

    def __init__(self, early_stopping: Any) -> None:
        self.early_stopping = early_stopping

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.early_stopping.reset()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        monitor = self.early_stopping.monitor
        if monitor not in logs:
            raise ValueError(f"EarlyStopping monitors {monitor!r}, not in logs {sorted(logs)}")
        weights = self.model.get_weights() if self.early_stopping.restore_best_weights else None
        if self.early_stopping.update(logs[monitor], weights):
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        best = self.early_stopping.best_weights
        if self.early_stopping.restore_best_weights and best is not None:
            self.model.set_weights(best)


def _current_float_rate(optimizer: Any, who: str) -> float:
    if callable(optimizer.learning_rate):
        raise ValueError(
            f"{who} sets the learning rate itself: give the optimizer a float learning_rate, "
            "not a schedule"
        )
    return float(optimizer.learning_rate)


class OneCycleScheduler(Callback):
    """Smith's 1cycle in :func:`fit`: before every batch, sets the optimizer's learning rate
    and its momentum (``momentum`` for SGD/RMSprop, ``beta_1`` for the Adam family) from
    ``optreg.schedules.OneCycle`` (same arguments; ``total_steps`` counts batches). Twin of
    ``optreg.keras.callbacks.OneCycleScheduler``; ``cycle_momentum=False`` leaves the momentum
    alone. ``self.step`` carries on across calls to ``fit``."""

    def __init__(
        self,
        total_steps: int,
        max_learning_rate: float,
        initial_learning_rate: float | None = None,
        final_learning_rate: float | None = None,
        annihilation_fraction: float = 0.1,
        max_momentum: float = 0.95,
        min_momentum: float = 0.85,
        cycle_momentum: bool = True,
    ) -> None:
        from optreg.schedules import OneCycle

        self.schedule = OneCycle(
            total_steps,
            max_learning_rate,
            initial_learning_rate,
            final_learning_rate,
            annihilation_fraction,
            max_momentum,
            min_momentum,
        )
        self.cycle_momentum = bool(cycle_momentum)
        self.step = 0
        self._momentum_name: str | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        _current_float_rate(optimizer, "OneCycleScheduler")
        self._momentum_name = None
        if self.cycle_momentum:
            names = [n for n in ("momentum", "beta_1") if hasattr(optimizer, n)]
            if not names:
                raise ValueError(
                    f"{type(optimizer).__name__} has neither `momentum` nor `beta_1`: "
                    "pass cycle_momentum=False"
                )
            self._momentum_name = names[0]

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        optimizer.learning_rate = self.schedule(self.step)
        if self._momentum_name is not None:
            setattr(optimizer, self._momentum_name, self.schedule.momentum(self.step))
        self.step += 1


class ReduceLROnPlateau(Callback):
    """Performance scheduling in :func:`fit`: at the end of every epoch, feeds
    ``logs[monitor]`` to ``optreg.schedules.ReduceLROnPlateau`` and gives the optimizer the
    rate it returns. Arguments and defaults of ``keras.callbacks.ReduceLROnPlateau``; twin of
    ``optreg.keras.callbacks.ReduceLROnPlateau``."""

    def __init__(
        self,
        monitor: str = "val_loss",
        factor: float = 0.1,
        patience: int = 10,
        verbose: int = 0,
        mode: str = "auto",
        min_delta: float = 1e-4,
        cooldown: int = 0,
        min_lr: float = 0.0,
    ) -> None:
        from optreg.regularization import _resolve_mode
        from optreg.schedules import _check_plateau_args

        self.monitor = monitor
        self.verbose = verbose
        self._args = _check_plateau_args(
            factor, patience, _resolve_mode(monitor, mode), min_delta, cooldown, min_lr
        )

    def on_train_begin(self, logs: dict | None = None) -> None:
        from optreg.schedules import ReduceLROnPlateau as Plateau

        rate = _current_float_rate(self.model.optimizer, "ReduceLROnPlateau")
        self.scheduler = Plateau(rate, *self._args)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        if self.monitor not in logs:
            raise ValueError(f"ReduceLROnPlateau monitors {self.monitor!r}, not in {sorted(logs)}")
        optimizer = self.model.optimizer
        old = float(optimizer.learning_rate)
        self.scheduler.learning_rate = old  # follow changes made by others
        new = self.scheduler.update(logs[self.monitor])
        if new != old:
            optimizer.learning_rate = new
            if self.verbose:
                print(f"epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new:g}")


def _as_callback(callback: Any) -> Callback:
    if isinstance(callback, Callback):
        return callback
    if hasattr(callback, "update") and hasattr(callback, "monitor"):
        return _EarlyStoppingCallback(callback)
    raise ValueError(f"callbacks must be nn.Callback or EarlyStopping objects, got {callback!r}")


class History(dict):
    """Per-epoch lists: ``loss``, ``accuracy`` (classification), ``val_loss``, ``val_accuracy``
    (with validation data), ``lr`` (at the end of the epoch) and ``time`` (seconds).
    ``history.history`` is the dict itself, as with Keras' ``History``."""

    @property
    def history(self) -> dict[str, list[float]]:
        return self

    @property
    def epoch(self) -> list[int]:
        return list(range(len(self.get("loss", []))))


def _current_learning_rate(optimizer: Any) -> float:
    if hasattr(optimizer, "current_learning_rate"):
        return float(optimizer.current_learning_rate())
    lr = optimizer.learning_rate
    return float(lr(optimizer.iterations) if callable(lr) else lr)


def _check_data(x: np.ndarray, y: np.ndarray, name: str = "x") -> tuple[np.ndarray, np.ndarray]:
    x, y = np.asarray(x), np.asarray(y)
    if len(x) != len(y):
        raise ValueError(f"{name} and its labels must have the same length, got {len(x)}, {len(y)}")
    if len(x) == 0:
        raise ValueError(f"{name} must contain at least one sample")
    if x.dtype.kind != "f":  # e.g. uint8 images: convert once, not every batch
        x = x.astype(np.float32)
    return x, y


def fit(
    model: Sequential,
    x: np.ndarray,
    y: np.ndarray,
    optimizer: Any,
    loss: Any,
    epochs: int = 1,
    batch_size: int = 32,
    validation_data: tuple[np.ndarray, np.ndarray] | None = None,
    callbacks: Sequence[Any] | None = None,
    shuffle: bool = True,
    seed: int | None = None,
    verbose: int = 0,
) -> History:
    """Train ``model`` with minibatches and return its :class:`History` (as ``keras.Model.fit``).

    Each epoch visits the samples in a new random order (``shuffle=True``, seeded by ``seed``)
    or in order; the last batch may be smaller. The training loss of a batch includes the
    regularization penalties, and the epoch's ``loss`` is the batch-size-weighted mean over its
    batches, as Keras reports it. ``callbacks`` are :class:`Callback` objects (e.g.
    :class:`ReduceLROnPlateau`, :class:`OneCycleScheduler`) or
    ``optreg.regularization.EarlyStopping`` instances (best weights restored at the end when
    asked). A learning-rate schedule lives in the optimizer (``learning_rate`` callable); the
    rate in force at the end of each epoch is recorded in ``history["lr"]``.

    Speed: the matrices of a 32-sample batch are small, and OpenBLAS' worker threads cost more
    than they bring on a busy machine (several times slower with 2 cores shared); setting
    ``OPENBLAS_NUM_THREADS=1`` before NumPy is imported is usually fastest
    (``bench/bench_mlp.py`` measures both).
    """
    loss = get_loss(loss)
    epochs = check_int("epochs", epochs, minimum=1)
    batch_size = check_int("batch_size", batch_size, minimum=1)
    x, y = _check_data(x, y)
    if validation_data is not None:
        if len(validation_data) != 2:
            raise ValueError("validation_data must be a pair (x_val, y_val)")
        validation_data = _check_data(*validation_data, name="validation_data")
    callbacks = [_as_callback(c) for c in (callbacks or [])]
    if not model.built:
        model.build((None, *x.shape[1:]))
    accuracy = getattr(loss, "accuracy", None)
    rng = np.random.default_rng(seed)
    n = len(x)
    history = History()
    model.stop_training = False
    model.optimizer = optimizer  # as after Keras' compile: callbacks reach it through the model
    for cb in callbacks:
        cb.set_model(model)
        cb.on_train_begin({})
    for epoch in range(epochs):
        for cb in callbacks:
            cb.on_epoch_begin(epoch, {})
        start_time = time.perf_counter()
        order = rng.permutation(n) if shuffle else None
        loss_sum, correct, seen = 0.0, 0.0, 0
        logs: dict[str, float] = {}
        for batch, start in enumerate(range(0, n, batch_size)):
            index = (
                slice(start, start + batch_size)
                if order is None
                else order[start : start + batch_size]
            )
            x_batch, y_batch = x[index], y[index]
            for cb in callbacks:
                cb.on_train_batch_begin(batch, logs)
            out = model.forward(x_batch, training=True)
            value, d_out = loss(y_batch, out)
            value += model.regularization_loss()
            model.backward(d_out, input_grad=False)
            optimizer.apply(model.grads, model.params)
            model.apply_constraints()
            size = len(x_batch)
            seen += size
            loss_sum += value * size
            logs = {"loss": loss_sum / seen, "batch_loss": value}
            if accuracy is not None:
                correct += accuracy(y_batch, out) * size
                logs["accuracy"] = correct / seen
            for cb in callbacks:
                cb.on_train_batch_end(batch, logs)
        logs.pop("batch_loss", None)
        if validation_data is not None:
            val = evaluate(model, *validation_data, loss=loss)
            logs.update({f"val_{k}": v for k, v in val.items()})
        logs["lr"] = _current_learning_rate(optimizer)
        logs["time"] = time.perf_counter() - start_time
        for key, value in logs.items():
            history.setdefault(key, []).append(value)
        for cb in callbacks:
            cb.on_epoch_end(epoch, logs)
        if verbose:
            print(
                f"epoch {epoch + 1}/{epochs} " + " ".join(f"{k}={v:.4g}" for k, v in logs.items())
            )
        if model.stop_training:
            break
    for cb in callbacks:
        cb.on_train_end({})
    return history


def predict(model: Sequential, x: np.ndarray, batch_size: int = 1024) -> np.ndarray:
    """Inference-mode outputs for ``x``, computed ``batch_size`` samples at a time."""
    batch_size = check_int("batch_size", batch_size, minimum=1)
    x = np.asarray(x)
    if x.dtype.kind != "f":
        x = x.astype(np.float32)
    outputs = [
        model.forward(x[i : i + batch_size], training=False) for i in range(0, len(x), batch_size)
    ]
    return np.concatenate(outputs)


def evaluate(
    model: Sequential, x: np.ndarray, y: np.ndarray, loss: Any, batch_size: int = 1024
) -> dict[str, float]:
    """``{"loss": ..., "accuracy": ...}`` in inference mode; the loss includes the
    regularization penalties, as Keras' ``evaluate`` does."""
    loss = get_loss(loss)
    x, y = _check_data(x, y)
    out = predict(model, x, batch_size=batch_size)
    result = {"loss": loss(y, out)[0] + model.regularization_loss()}
    if getattr(loss, "accuracy", None) is not None:
        result["accuracy"] = loss.accuracy(y, out)
    return result


# --------------------------------------------------------------------------------------------
# Numerical gradient check
# --------------------------------------------------------------------------------------------


def _relative_error(analytic: np.ndarray, numeric: np.ndarray, atol: float) -> float:
    """``||a - n|| / (||a|| + ||n||)``, or 0 when both norms are below ``atol``."""
    denominator = np.linalg.norm(analytic) + np.linalg.norm(numeric)
    if denominator <= atol:
        return 0.0
    return float(np.linalg.norm(analytic - numeric) / denominator)


def _numerical_gradient(f: Callable[[], float], array: np.ndarray, eps: float) -> np.ndarray:
    """Central differences ``(f(a + eps e_i) - f(a - eps e_i)) / (2 eps)``, perturbing ``array``
    in place entry by entry (and restoring it)."""
    grad = np.zeros_like(array)
    flat, flat_grad = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        old = flat[i]
        flat[i] = old + eps
        f_plus = f()
        flat[i] = old - eps
        f_minus = f()
        flat[i] = old
        flat_grad[i] = (f_plus - f_minus) / (2 * eps)
    return grad


def gradient_check(
    model_or_f: Any,
    x: np.ndarray,
    y: np.ndarray | None = None,
    loss: Any = None,
    eps: float = 1e-6,
    training: bool = True,
    atol: float = 1e-8,
) -> float:
    """Largest relative error ``||a - n|| / (||a|| + ||n||)`` between analytic gradients ``a``
    and central differences ``n`` (with step ``eps``), in float64.

    * ``model_or_f`` a :class:`Sequential` (or any layer): checks the gradient of
      ``loss(y, model.forward(x, training)) + penalties`` with respect to every parameter array
      and to ``x`` (the max over them is returned). The layers must be float64 (build them with
      ``dtype="float64"``). Random layers (dropout) draw the same mask in every forward: the
      state of each layer's ``rng`` is replayed.
    * ``model_or_f`` a function ``f(x) -> (value, gradient)``: checks the gradient with respect
      to ``x``.

    Below about 1e-7 the analytic gradient is right up to the finite-difference error. An array
    whose analytic and numerical gradients both have norm ``<= atol`` counts as matching: its
    true gradient is zero (e.g. the bias of a Dense layer followed by batch normalization,
    which removes any constant shift) and a ratio of round-off errors would mean nothing.
    """
    eps = check_positive("eps", eps)
    atol = check_non_negative("atol", atol)
    x = np.array(x, dtype=np.float64)
    if not hasattr(model_or_f, "forward"):
        if y is not None or loss is not None:
            raise ValueError("y and loss are only for models; f(x) must return (value, grad)")
        _, analytic = model_or_f(x)
        numeric = _numerical_gradient(lambda: float(model_or_f(x)[0]), x, eps)
        return _relative_error(np.asarray(analytic, dtype=np.float64), numeric, atol)

    model = model_or_f if isinstance(model_or_f, Sequential) else Sequential([model_or_f])
    loss = get_loss(loss if loss is not None else "mse")
    if not model.built:
        model.build((None, *x.shape[1:]))
    for p in model.params:
        if p.dtype != np.float64:
            raise ValueError(f"gradient_check needs float64 parameters, got {p.dtype}")
    rngs = [
        layer.rng
        for layer in model.layers
        if isinstance(getattr(layer, "rng", None), np.random.Generator)
    ]
    states = [r.bit_generator.state for r in rngs]

    def objective() -> tuple[float, np.ndarray]:
        for r, s in zip(rngs, states, strict=True):
            r.bit_generator.state = s
        out = model.forward(x, training=training)
        value, d_out = loss(y, out)
        return value + model.regularization_loss(), d_out

    _, d_out = objective()
    analytic_x = model.backward(d_out)
    analytic = [g.copy() for g in model.grads]
    errors = [
        _relative_error(analytic_x, _numerical_gradient(lambda: objective()[0], x, eps), atol)
    ]
    for p, a in zip(model.params, analytic, strict=True):
        errors.append(_relative_error(a, _numerical_gradient(lambda: objective()[0], p, eps), atol))
    return max(errors)
