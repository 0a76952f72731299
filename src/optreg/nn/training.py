"""The minibatch training loop ``fit`` and ``predict`` / ``evaluate``."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from optreg._validation import check_int
from optreg.nn.callbacks import History, _as_callback
from optreg.nn.losses import get_loss

if TYPE_CHECKING:  # layers.Sequential.fit calls fit: import it for the hints only
    from optreg.nn.layers import Sequential

__all__ = ["fit", "evaluate", "predict"]


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
