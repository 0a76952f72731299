"""Training callbacks of the course: 1cycle, performance scheduling, the learning-rate range test,
a per-epoch history logger, and Keras' own early stopping.

The schedules themselves are not re-derived here: each callback drives the NumPy object of
``optreg.schedules`` that the chapter builds (``OneCycle``, ``ReduceLROnPlateau``,
``LearningRateRangeTest``) and only moves numbers between it and the Keras optimizer.

Changing a momentum during ``fit``: Keras optimizers keep ``momentum``/``beta_1`` as Python
floats, which ``tf.function`` freezes into the compiled train step. ``OneCycleScheduler`` therefore
replaces the attribute by a scalar variable for the duration of training (read at every step),
and puts a plain float back at the end so the optimizer still serializes.
"""

from __future__ import annotations

import csv
import json
import math
import time
import warnings
from pathlib import Path
from typing import Any

import keras
import numpy as np
from keras import ops

from optreg import schedules as np_schedules
from optreg._validation import check_choice
from optreg.hyperparameters import Declared

__all__ = [
    "OneCycleScheduler",
    "ReduceLROnPlateau",
    "PerformanceScheduler",
    "LearningRateFinder",
    "HistoryLogger",
    "EarlyStopping",
]

_register = keras.saving.register_keras_serializable(package="optreg")

#: Keras' built-in early stopping (patience, min_delta, restore_best_weights) is used as is.
EarlyStopping = keras.callbacks.EarlyStopping


def _inner(optimizer: keras.optimizers.Optimizer) -> keras.optimizers.Optimizer:
    """The optimizer doing the updates (a ``LossScaleOptimizer`` wraps one)."""
    return getattr(optimizer, "inner_optimizer", optimizer)


def _check_settable_learning_rate(
    optimizer: keras.optimizers.Optimizer, owner: str, error: type[Exception] = ValueError
) -> None:
    if callable(getattr(_inner(optimizer), "_learning_rate", None)):
        raise error(
            "This optimizer was created with a `LearningRateSchedule` (or another schedule) as "
            f"its learning_rate, and {owner} sets the learning rate itself: compile the model "
            "with a constant learning_rate (a float), not a schedule"
        )


def _current_learning_rate(optimizer: keras.optimizers.Optimizer) -> float:
    return float(ops.convert_to_numpy(optimizer.learning_rate))


class _ScheduledHyperparameter(keras.Variable):
    """A scalar variable standing in for a float hyperparameter such as ``momentum``.

    Arithmetic reads the variable, so a compiled train step sees every new value. Equality
    tests compare the float it replaced: optimizers decide their structure with Python tests
    like ``if self.momentum != 0`` (SGD), which must not depend on the schedule.
    """

    def __init__(self, value: float, name: str) -> None:
        super().__init__(float(value), trainable=False, dtype="float32", name=name)
        self.replaced = float(value)

    def __eq__(self, other: object) -> bool:
        return self.replaced == other

    def __ne__(self, other: object) -> bool:
        return self.replaced != other


@_register
class OneCycleScheduler(Declared, keras.callbacks.Callback):
    """Smith's 1cycle during ``fit``: before every batch, sets the optimizer's learning rate and
    its momentum (``momentum`` for SGD/RMSprop, ``beta_1`` for the Adam family) from
    ``optreg.schedules.OneCycle``.

    Arguments are those of ``OneCycle`` (``total_steps`` counts batches: epochs x steps per
    epoch), plus ``cycle_momentum`` (default True; False leaves the momentum alone). The step
    counter ``self.step`` starts at 0 and carries on across calls to ``fit``; the rate stays at
    ``final_learning_rate`` after ``total_steps`` batches. Assumes ``steps_per_execution=1``.
    Tested with the TensorFlow backend; with JAX only ``cycle_momentum=False`` is possible.
    """

    hyperparameters = np_schedules.ONE_CYCLE_SCHEDULER

    @classmethod
    def check_together(cls, values: dict[str, Any]) -> dict[str, Any]:
        return np_schedules.check_one_cycle(values)

    def init_base(self) -> None:
        keras.callbacks.Callback.__init__(self)

    def __post_init__(self) -> None:
        one_cycle = {h.name: getattr(self, h.name) for h in np_schedules.ONE_CYCLE}
        self.schedule = np_schedules.OneCycle(**one_cycle)
        self.step = 0
        self._momentum_name: str | None = None
        self._momentum: _ScheduledHyperparameter | None = None

    def _find_momentum(self, optimizer: keras.optimizers.Optimizer) -> str:
        for name in ("momentum", "beta_1"):
            value = getattr(optimizer, name, None)
            if isinstance(value, float | int | _ScheduledHyperparameter):
                if value == 0:
                    raise ValueError(
                        f"OneCycleScheduler cycles {name}, but the optimizer was built with "
                        f"{name}=0 (no momentum buffer): compile with {name} > 0, or pass "
                        "cycle_momentum=False"
                    )
                return name
        raise ValueError(
            f"{type(optimizer).__name__} has neither `momentum` nor `beta_1`: "
            "pass cycle_momentum=False"
        )

    def on_train_begin(self, logs: dict | None = None) -> None:
        _check_settable_learning_rate(self.model.optimizer, "OneCycleScheduler")
        if not self.cycle_momentum:
            return
        if keras.backend.backend() == "jax":
            # JAX's compiled step only sees the optimizer's own variables, not this one.
            raise ValueError("momentum cycling needs the tensorflow or torch backend: "
                             "pass cycle_momentum=False with jax")  # fmt: skip
        optimizer = _inner(self.model.optimizer)
        self._momentum_name = self._find_momentum(optimizer)
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        self._momentum = _ScheduledHyperparameter(
            getattr(optimizer, self._momentum_name), name=f"scheduled_{self._momentum_name}"
        )
        # object.__setattr__: the optimizer must not track it (it is not part of its state).
        object.__setattr__(optimizer, self._momentum_name, self._momentum)
        # A train step compiled earlier froze the float: compile a new one reading the variable.
        self.model.make_train_function(force=True)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.model.optimizer.learning_rate = self.schedule(self.step)
        if self._momentum is not None:
            self._momentum.assign(self.schedule.momentum(self.step))
        self.step += 1

    def on_train_end(self, logs: dict | None = None) -> None:
        if self._momentum is not None:
            last = float(ops.convert_to_numpy(self._momentum))
            object.__setattr__(_inner(self.model.optimizer), self._momentum_name, last)
            self._momentum = None


def _resolve_mode(monitor: str, mode: str) -> str:
    """Keras' ``mode="auto"`` by the metric's name: losses and errors go down, scores go up."""
    mode = check_choice("mode", mode, ("auto", "min", "max"))
    if mode != "auto":
        return mode
    name = monitor.removeprefix("val_")
    if "loss" in name or "error" in name:
        return "min"
    if any(score in name for score in ("acc", "auc", "precision", "recall")):
        return "max"
    raise ValueError(f"mode='auto' cannot tell whether {monitor!r} should go down or up: "
                     "pass mode='min' or mode='max'")  # fmt: skip


@_register
class ReduceLROnPlateau(Declared, keras.callbacks.Callback):
    """Performance scheduling during ``fit``: at the end of every epoch, feeds ``logs[monitor]``
    to ``optreg.schedules.ReduceLROnPlateau`` and gives the optimizer the rate it returns.

    Same arguments, defaults and behaviour as ``keras.callbacks.ReduceLROnPlateau`` (improvement
    by more than ``min_delta``, ``patience``, ``cooldown``, floor ``min_lr``, state reset at the
    start of each ``fit``, ``logs["learning_rate"]`` added); ``mode="auto"`` is decided from the
    metric's name. Also available as ``PerformanceScheduler``.
    """

    hyperparameters = np_schedules.PLATEAU_CALLBACK

    @classmethod
    def check_together(cls, values: dict[str, Any]) -> dict[str, Any]:
        _resolve_mode(values["monitor"], values["mode"])  # "auto" must be decidable
        return values

    def init_base(self) -> None:
        keras.callbacks.Callback.__init__(self)

    def __post_init__(self) -> None:
        self.scheduler: np_schedules.ReduceLROnPlateau | None = None

    def on_train_begin(self, logs: dict | None = None) -> None:
        # TypeError, as Keras' callback raises (at the first reduction; here before training)
        _check_settable_learning_rate(self.model.optimizer, "ReduceLROnPlateau", TypeError)
        learning_rate = _current_learning_rate(self.model.optimizer)
        mode = _resolve_mode(self.monitor, self.mode)
        self.scheduler = np_schedules.ReduceLROnPlateau.of_callback(self, learning_rate, mode)

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        logs = logs if logs is not None else {}
        optimizer = self.model.optimizer
        old_lr = _current_learning_rate(optimizer)
        logs["learning_rate"] = old_lr
        current = logs.get(self.monitor)
        if current is None:
            warnings.warn(
                f"ReduceLROnPlateau monitors {self.monitor!r}, which is not in the logs "
                f"({', '.join(logs)}): the learning rate is left unchanged",
                stacklevel=2,
            )
            return
        self.scheduler.learning_rate = old_lr  # follow any other change made to the optimizer
        new_lr = self.scheduler.update(float(current))
        if new_lr != old_lr:
            optimizer.learning_rate = new_lr
            if self.verbose:
                print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")


PerformanceScheduler = ReduceLROnPlateau


@_register
class LearningRateFinder(Declared, keras.callbacks.Callback):
    """The learning-rate range test on a Keras model (``optreg.schedules.find_learning_rate``).

    Before each batch the learning rate is set to the next rate of the geometric sweep from
    ``min_lr`` to ``max_lr`` in ``num_steps`` steps; after it, the batch's loss is recorded (the
    running loss metric is reset before each batch so that ``logs["loss"]`` is that batch's
    alone). Training stops after ``num_steps`` batches or when the smoothed loss diverges. At the
    end, the model's weights, the optimizer's variables (iterations, moments) and its learning
    rate are put back exactly as they were.

    Use ``find(model, x, y, batch_size=...)`` (runs ``model.fit`` for you), or pass the finder
    in ``callbacks=[...]`` of your own ``fit``. Then read ``lrs``, ``losses``, ``suggestion``
    (``optreg.schedules.suggest_learning_rate``: the smoothed minimum / 10) and call ``plot()``.
    """

    hyperparameters = np_schedules.RANGE_TEST

    @classmethod
    def check_together(cls, values: dict[str, Any]) -> dict[str, Any]:
        return np_schedules.check_range_test(values)

    def init_base(self) -> None:
        keras.callbacks.Callback.__init__(self)

    def __post_init__(self) -> None:
        self.test = np_schedules.LearningRateRangeTest(**self.get_config())
        self._saved: tuple[list[np.ndarray], list[np.ndarray], float] | None = None

    @property
    def lrs(self) -> np.ndarray:
        return np.array(self.test.lrs)

    @property
    def losses(self) -> np.ndarray:
        return np.array(self.test.losses)

    @property
    def suggestion(self) -> float:
        return self.test.suggestion()

    def find(
        self, model: keras.Model, x: Any, y: Any = None, batch_size: int | None = None, **fit_kwargs
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Run the sweep with ``model.fit`` on the data; return ``(lrs, losses, suggestion)``."""
        # Enough epochs for num_steps batches even with one batch per epoch; fit stops earlier.
        fit_kwargs.setdefault("verbose", 0)
        model.fit(x, y, batch_size=batch_size, epochs=self.test.num_steps,
                  callbacks=[self], **fit_kwargs)  # fmt: skip
        return self.lrs, self.losses, self.suggestion

    def on_train_begin(self, logs: dict | None = None) -> None:
        optimizer = self.model.optimizer
        _check_settable_learning_rate(optimizer, "LearningRateFinder")
        if not optimizer.built:
            optimizer.build(self.model.trainable_variables)
        self.test = np_schedules.LearningRateRangeTest(**self.get_config())
        self._saved = (
            [ops.convert_to_numpy(w).copy() for w in self.model.weights],
            [ops.convert_to_numpy(v).copy() for v in optimizer.variables],
            _current_learning_rate(optimizer),
        )

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        self.model.reset_metrics()
        self.model.optimizer.learning_rate = self.test.learning_rate

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        if self.test.record(float(logs["loss"])):
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        weights, optimizer_variables, learning_rate = self._saved
        for variable, value in zip(self.model.weights, weights, strict=True):
            variable.assign(value)
        for variable, value in zip(
            self.model.optimizer.variables, optimizer_variables, strict=True
        ):
            variable.assign(value)
        self.model.optimizer.learning_rate = learning_rate
        self._saved = None

    def plot(self, ax: Any = None) -> Any:
        """Loss (raw and smoothed) against the learning rate on a log axis, with the suggestion
        marked; returns the matplotlib ``Figure``."""
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(6, 4))
        else:
            fig = ax.figure
        lrs, losses = self.lrs, self.losses
        ax.plot(lrs, losses, alpha=0.35, label="loss")
        ax.plot(lrs, np_schedules.smooth_losses(losses, self.test.smoothing), label="smoothed")
        ax.axvline(self.suggestion, color="k", linestyle="--",
                   label=f"suggestion {self.suggestion:.2g}")  # fmt: skip
        ax.set_xscale("log")
        finite = losses[np.isfinite(losses)]
        if finite.size:  # keep the interesting part visible when the last losses explode
            ax.set_ylim(finite.min() * 0.9, min(finite.max(), 4 * finite[0]) * 1.1)
        ax.set_xlabel("learning rate")
        ax.set_ylabel("training loss")
        ax.legend()
        return fig


@_register
class HistoryLogger(keras.callbacks.Callback):
    """Writes one row per epoch to a CSV or JSON file: the epoch, every entry of the epoch's
    logs (losses, metrics, validation), the optimizer's ``learning_rate`` and ``wall_time`` (the
    seconds from the start to the end of the epoch, validation included).

    The file is rewritten after every epoch, so it is complete even if training is interrupted.
    ``file_format`` is ``"csv"`` or ``"json"`` (a list of objects); ``None`` takes it from the
    file's suffix. With ``append=True``, rows already in the file are kept. The rows are also
    in ``self.rows``.
    """

    def __init__(self, path: str | Path, file_format: str | None = None, append: bool = False):
        super().__init__()
        self.path = Path(path)
        if file_format is None:
            file_format = self.path.suffix.lstrip(".").lower()
        self.file_format = check_choice("file_format", file_format, ("csv", "json"))
        self.append = bool(append)
        self.rows: list[dict[str, Any]] = []
        self._epoch_start = 0.0

    def get_config(self) -> dict[str, Any]:
        return {"path": str(self.path), "file_format": self.file_format, "append": self.append}

    def _read_existing(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        if self.file_format == "json":
            return json.loads(self.path.read_text())
        with self.path.open(newline="") as f:
            return [{k: _parse_number(v) for k, v in row.items()} for row in csv.DictReader(f)]

    def on_train_begin(self, logs: dict | None = None) -> None:
        self.rows = self._read_existing() if self.append else []

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        self._epoch_start = time.perf_counter()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        wall_time = time.perf_counter() - self._epoch_start
        row: dict[str, Any] = {"epoch": epoch}
        row.update({k: float(v) for k, v in (logs or {}).items()})
        row["learning_rate"] = _current_learning_rate(self.model.optimizer)
        row["wall_time"] = wall_time
        self.rows.append(row)
        self._write()

    def _write(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if self.file_format == "json":
            self.path.write_text(json.dumps(self.rows, indent=1))
            return
        columns = list(dict.fromkeys(key for row in self.rows for key in row))
        with self.path.open("w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=columns)
            writer.writeheader()
            writer.writerows(self.rows)


def _parse_number(text: str) -> Any:
    if text == "":
        return math.nan
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text
