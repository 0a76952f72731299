"""Callbacks of ``optreg.nn.fit`` (Keras' names): early stopping, schedules, history."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from optreg.hyperparameters import Declared
from optreg.regularization import _resolve_mode
from optreg.schedules import (
    ONE_CYCLE,
    ONE_CYCLE_SCHEDULER,
    PLATEAU_CALLBACK,
    OneCycle,
    check_one_cycle,
)
from optreg.schedules import ReduceLROnPlateau as Plateau

__all__ = ["Callback", "LambdaCallback", "OneCycleScheduler", "ReduceLROnPlateau", "History"]


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


class OneCycleScheduler(Declared, Callback):
    """Smith's 1cycle in :func:`fit`: before every batch, sets the optimizer's learning rate
    and its momentum (``momentum`` for SGD/RMSprop, ``beta_1`` for the Adam family) from
    ``optreg.schedules.OneCycle`` (same arguments; ``total_steps`` counts batches). Twin of
    ``optreg.keras.callbacks.OneCycleScheduler``; ``cycle_momentum=False`` leaves the momentum
    alone. ``self.step`` carries on across calls to ``fit``."""

    hyperparameters = ONE_CYCLE_SCHEDULER

    @classmethod
    def check_together(cls, values: dict[str, Any]) -> dict[str, Any]:
        return check_one_cycle(values)

    def __post_init__(self) -> None:
        self.schedule = OneCycle(**{h.name: getattr(self, h.name) for h in ONE_CYCLE})
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


class ReduceLROnPlateau(Declared, Callback):
    """Performance scheduling in :func:`fit`: at the end of every epoch, feeds
    ``logs[monitor]`` to ``optreg.schedules.ReduceLROnPlateau`` and gives the optimizer the
    rate it returns. Arguments and defaults of ``keras.callbacks.ReduceLROnPlateau``; twin of
    ``optreg.keras.callbacks.ReduceLROnPlateau``."""

    hyperparameters = PLATEAU_CALLBACK

    @classmethod
    def check_together(cls, values: dict[str, Any]) -> dict[str, Any]:
        _resolve_mode(values["monitor"], values["mode"])  # "auto" must be decidable
        return values

    def on_train_begin(self, logs: dict | None = None) -> None:
        rate = _current_float_rate(self.model.optimizer, "ReduceLROnPlateau")
        mode = _resolve_mode(self.monitor, self.mode)
        self.scheduler = Plateau.of_callback(self, rate, mode)

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
