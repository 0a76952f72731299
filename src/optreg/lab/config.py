"""One training configuration of the labs, its validation and its command-line form."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from optreg._validation import (
    check_choice,
    check_int,
    check_non_negative,
    check_optional_positive,
    check_positive,
    check_range,
    check_unit_interval_open_right,
)

MODELS = ("mlp", "cnn")
OPTIMIZER_NAMES = (
    "sgd",
    "momentum",
    "nesterov",
    "adagrad",
    "rmsprop",
    "adadelta",
    "adam",
    "adamax",
    "nadam",
    "adamw",
    "lion",
    "lamb",
    "adafactor",
    "muon",
    "schedulefree",
    "ftrl",
)
SCHEDULES = ("constant", "exponential", "piecewise", "power", "cosine", "onecycle")
NORMS = ("none", "batch", "layer")
STRATEGIES = ("auto", "none", "mirrored", "multiworker")


@dataclass
class TrainConfig:
    """Everything that defines a run; ``optreg lab train --help`` documents each field."""

    model: str = "mlp"
    hidden_units: tuple[int, ...] = (300, 100)
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    schedule: str = "constant"
    find_lr: bool = False
    momentum: float | None = None
    implementation: str = "optreg"
    norm: str = "none"
    dropout: float = 0.0
    l1: float = 0.0
    l2: float = 0.0
    max_norm: float | None = None
    weight_decay: float | None = None
    augment: bool = False
    early_stopping: int | None = None
    epochs: int = 20
    batch_size: int = 128
    seed: int = 0
    subset: int | None = None
    validation_size: int = 5000
    target_accuracy: float = 0.85
    mixed_precision: bool = False
    strategy: str = "auto"
    cpu_devices: int | None = None
    data_dir: str | None = None

    def __post_init__(self) -> None:
        self.hidden_units = tuple(
            check_int(f"hidden_units[{i}]", u, 1) for i, u in enumerate(self.hidden_units)
        )
        check_choice("model", self.model, MODELS)
        check_choice("optimizer", self.optimizer, OPTIMIZER_NAMES)
        self.learning_rate = check_positive("learning_rate", self.learning_rate)
        check_choice("schedule", self.schedule, SCHEDULES)
        if self.momentum is not None:
            check_unit_interval_open_right("momentum", self.momentum)
        check_choice("implementation", self.implementation, ["optreg", "keras"])
        if self.norm is None:
            self.norm = "none"
        check_choice("norm", self.norm, NORMS)
        check_unit_interval_open_right("dropout", self.dropout)
        check_non_negative("l1", self.l1)
        check_non_negative("l2", self.l2)
        check_optional_positive("max_norm", self.max_norm)
        check_optional_positive("weight_decay", self.weight_decay)
        if self.early_stopping is not None:
            check_int("early_stopping", self.early_stopping, 1)
        check_int("epochs", self.epochs, 1)
        check_int("batch_size", self.batch_size, 1)
        check_int("seed", self.seed, 0)
        if self.subset is not None:
            check_int("subset", self.subset, 1)
        check_int("validation_size", self.validation_size, 1)
        check_range("target_accuracy", self.target_accuracy, 0.0, 1.0)
        check_choice("strategy", self.strategy, STRATEGIES)
        if self.cpu_devices is not None:
            check_int("cpu_devices", self.cpu_devices, 1)

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["hidden_units"] = list(self.hidden_units)
        return d

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> TrainConfig:
        """A config from a mapping (YAML, JSON); unknown keys are an error naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - names)
        if unknown:
            raise ValueError(f"unknown configuration key(s) {unknown}; allowed: {sorted(names)}")
        values = dict(values)
        if "hidden_units" in values:
            values["hidden_units"] = tuple(values["hidden_units"])
        return cls(**values)

    def replace(self, **changes: Any) -> TrainConfig:
        return TrainConfig.from_dict({**self.to_dict(), **changes})

    def training_fields(self) -> dict[str, Any]:
        """The fields that change the result (a resumed run must agree on all of them except
        ``epochs``, which may grow); placement fields (devices, data location) are left out."""
        d = self.to_dict()
        for key in ("epochs", "strategy", "cpu_devices", "data_dir", "target_accuracy"):
            d.pop(key)
        return d

    def to_argv(self) -> list[str]:
        """The ``optreg lab train`` arguments that reproduce this configuration."""
        argv: list[str] = []
        defaults = TrainConfig()
        for key, value in self.to_dict().items():
            if value == getattr(defaults, key) or (
                key == "hidden_units" and tuple(value) == defaults.hidden_units
            ):
                continue
            flag = "--" + key.replace("_", "-")
            if isinstance(value, bool):
                argv.append(flag)
            elif isinstance(value, list):
                argv += [flag, *map(str, value)]
            else:
                argv += [flag, str(value)]
        return argv
