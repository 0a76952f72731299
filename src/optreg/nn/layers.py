"""Layers of the NumPy toolkit (``Dense``, ``Activation``, ``Flatten``) and ``Sequential``.

The layer protocol is described in ``optreg.nn``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from optreg._validation import check_int
from optreg.nn.callbacks import History
from optreg.nn.training import evaluate, fit, predict

__all__ = ["Dense", "Activation", "Flatten", "Sequential"]


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
