"""The state of a run, as ``metrics.json`` holds it: configuration, one record per epoch, where
its checkpoint is, and the final scores.

:class:`RunState` is the typed form; on disk it is the JSON object the report and the lab pages
read (``config``, ``history``, ``epochs_completed``, ``checkpoint``, ``completed``, ...), written
atomically so that a kill never leaves half a file. Files written by earlier versions (which
lack some keys) read the same way, and keys this version does not know are kept.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

METRICS_FILE = "metrics.json"
MODEL_FILE = "model.keras"
FAILED_FILE = "failed.json"  # written by the SLURM job script when its task fails

# One epoch: loss, accuracy, val_loss, val_accuracy, learning_rate, epoch_time, time (the
# cumulative training seconds), checkpoint_time; "epoch" counts from 1.
Epoch = dict[str, float]

# Written only when they carry something, as earlier versions did (readers test for them).
_OMITTED_WHEN_EMPTY = ("lr_finder", "stopped_early", "preemptions")
_FINAL = ("test_loss", "test_accuracy", "time_to_target", "target_accuracy")


@dataclass
class RunState:
    config: dict[str, Any]
    history: list[Epoch] = field(default_factory=list)
    epochs_completed: int = 0
    checkpoint: str | None = None  # file name in the output folder; MODEL_FILE when completed
    completed: bool = False
    stopped_early: bool = False
    replicas: int | None = None
    parameters: int | None = None
    # states of the model's random generators (dropout, augmentation) at the checkpoint
    rng_states: list[list[int]] = field(default_factory=list)
    lr_finder: dict[str, Any] | None = None  # the range test of find_lr: lrs, losses, suggestion
    # each stop on a signal: {"signal", "after_epoch", "job"}; the run resumed afterwards
    preemptions: list[dict[str, Any]] = field(default_factory=list)
    test_loss: float | None = None
    test_accuracy: float | None = None
    time_to_target: float | None = None
    target_accuracy: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # keys of other versions, kept as is

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> RunState:
        names = {f.name for f in dataclasses.fields(cls)} - {"extra"}
        known = {k: v for k, v in values.items() if k in names}
        return cls(**known, extra={k: v for k, v in values.items() if k not in names})

    def to_dict(self) -> dict[str, Any]:
        values = {
            f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name != "extra"
        }
        for name in _OMITTED_WHEN_EMPTY:
            if not values[name]:
                del values[name]
        for name in ("replicas", "parameters"):  # known once training started
            if values[name] is None:
                del values[name]
        if not self.completed:  # the final scores are written with completed=True
            for name in _FINAL:
                del values[name]
        return {**values, **self.extra}

    @property
    def done(self) -> bool:
        """Completed, with nothing left to train (all epochs, or stopped early)."""
        epochs = int(self.config.get("epochs", 0))
        return self.completed and (self.epochs_completed >= epochs or self.stopped_early)


def write_state(out: Path, state: RunState) -> None:
    path = Path(out) / METRICS_FILE
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(state.to_dict(), indent=1))
    tmp.replace(path)  # atomic: a kill never leaves half a metrics file


def read_state(out: str | os.PathLike) -> RunState | None:
    path = Path(out) / METRICS_FILE
    return RunState.from_dict(json.loads(path.read_text())) if path.exists() else None


def read_metrics(out: str | os.PathLike) -> dict[str, Any] | None:
    """``metrics.json`` of ``out`` as a dictionary (``None`` when there is none)."""
    path = Path(out) / METRICS_FILE
    return json.loads(path.read_text()) if path.exists() else None


def time_to_target(history: list[Epoch], target: float) -> float | None:
    """Cumulative training seconds when validation accuracy first reached ``target``."""
    for record in history:
        if record.get("val_accuracy", -1.0) >= target:
            return record["time"]
    return None
