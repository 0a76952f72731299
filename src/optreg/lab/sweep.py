"""Sweeps: a YAML file with a base configuration and grids of values, expanded into runs.

Format (every key of a run is a field of :class:`~optreg.lab.config.TrainConfig`)::

    name: lab1_optimizers          # results go to RESULTS/<name>/<run name>/
    base: {epochs: 20, batch_size: 128}
    smoke: {subset: 1000, epochs: 2}    # applied on top with --smoke (CPU check, book build)
    grids:                         # each grid is a Cartesian product; grids are concatenated
      - {optimizer: [sgd, momentum, adam]}
      - {optimizer: [adam], learning_rate: [0.0001, 0.001, 0.01]}
    runs:                          # optional single runs (name optional)
      - {name: adamw, optimizer: adamw, weight_decay: 0.004}
      - {name: adam, optimizer: adam, seeds: [0, 1, 2]}   # three runs: adam__seed-0, -1, -2
    slurm: {time: "00:30:00", cpus_per_task: 8, modules: [...], venv: ...}

A run's name lists the values its grid sets (``optimizer-adam__learning_rate-0.01``); a
configuration produced twice (by two grids) runs once, under its first name.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from optreg.lab.config import TrainConfig

SWEEP_KEYS = {"name", "description", "base", "smoke", "grid", "grids", "runs", "slurm"}


@dataclass
class Sweep:
    name: str
    base: dict[str, Any]
    grids: list[dict[str, list[Any]]]
    runs: list[dict[str, Any]]
    smoke: dict[str, Any] = field(default_factory=dict)
    slurm: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    path: Path | None = None


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file; errors name the file and the offending key."""
    path = Path(path)
    spec = yaml.safe_load(path.read_text()) or {}
    if not isinstance(spec, dict):
        raise ValueError(f"{path}: a sweep file is a mapping with keys {sorted(SWEEP_KEYS)}")
    unknown = sorted(set(spec) - SWEEP_KEYS)
    if unknown:
        raise ValueError(f"{path}: unknown key(s) {unknown}; allowed: {sorted(SWEEP_KEYS)}")
    grids = spec.get("grids") or ([spec["grid"]] if spec.get("grid") else [])
    for i, grid in enumerate(grids):
        for key, values in grid.items():
            if not isinstance(values, list) or not values:
                raise ValueError(f"{path}: grids[{i}].{key} must be a non-empty list")
    sweep = Sweep(
        name=str(spec.get("name") or path.stem),
        base=dict(spec.get("base") or {}),
        grids=grids,
        runs=list(spec.get("runs") or []),
        smoke=dict(spec.get("smoke") or {}),
        slurm=dict(spec.get("slurm") or {}),
        description=str(spec.get("description") or ""),
        path=path,
    )
    if not sweep.grids and not sweep.runs:
        raise ValueError(f"{path}: no 'grids' and no 'runs': nothing to run")
    expand(sweep)  # every configuration is validated here, before anything runs
    return sweep


def _format(value: Any) -> str:
    if isinstance(value, float):
        value = f"{value:g}"
    elif isinstance(value, list | tuple):
        value = "x".join(map(str, value))
    return re.sub(r"[^A-Za-z0-9.+-]", "", str(value)) or "none"


def run_name(settings: dict[str, Any]) -> str:
    return "__".join(f"{key}-{_format(value)}" for key, value in settings.items())


def expand(sweep: Sweep, smoke: bool = False) -> list[tuple[str, TrainConfig]]:
    """All ``(run name, config)`` pairs of the sweep, in order, without duplicates."""
    settings: list[tuple[str, dict[str, Any]]] = []
    for grid in sweep.grids:
        keys = list(grid)
        for values in itertools.product(*(grid[k] for k in keys)):
            point = dict(zip(keys, values, strict=True))
            settings.append((run_name(point), point))
    for run in sweep.runs:
        run = dict(run)
        seeds = run.pop("seeds", None)
        name = str(run.pop("name", "") or run_name(run))
        if seeds is None:
            settings.append((name, run))
            continue
        if not isinstance(seeds, list) or not seeds:
            raise ValueError(
                f"{sweep.path or sweep.name}: run {name!r}: seeds must be a "
                f"non-empty list of integers, got {seeds!r}"
            )
        # Repeats of one configuration: the spread over seeds shows what a ranking is worth.
        settings.extend((f"{name}__seed-{seed}", {**run, "seed": seed}) for seed in seeds)
    expanded: list[tuple[str, TrainConfig]] = []
    seen: set[str] = set()
    names: set[str] = set()
    for name, point in settings:
        values = {**sweep.base, **point, **(sweep.smoke if smoke else {})}
        try:
            config = TrainConfig.from_dict(values)
        except ValueError as exc:
            where = sweep.path or sweep.name
            raise ValueError(f"{where}: run {name!r}: {exc}") from None
        key = repr(sorted(config.training_fields().items()))
        if key in seen:
            continue
        if name in names:
            raise ValueError(f"{sweep.path or sweep.name}: two different runs named {name!r}")
        seen.add(key)
        names.add(name)
        expanded.append((name, config))
    return expanded


def run_sweep(
    path: str | Path,
    results: str | Path = "results",
    smoke: bool = False,
    index: int | None = None,
    verbose: int | None = None,
    only: list[str] | None = None,
) -> list[dict[str, Any]]:
    """Train the sweep's runs one after the other into ``results/<sweep name>/<run name>``.

    ``index`` runs only that configuration (a SLURM array task); runs already completed are
    skipped and interrupted ones resume, so a sweep can be restarted at will.
    """
    import keras

    from optreg.lab.train import train

    sweep = load_sweep(path)
    runs = expand(sweep, smoke=smoke)
    if index is not None:
        if not 0 <= index < len(runs):
            raise ValueError(f"index must be in [0, {len(runs) - 1}], got {index}")
        runs = [runs[index]]
    if only:
        runs = [(name, config) for name, config in runs if name in only]
    outputs = []
    for name, config in runs:
        outputs.append(train(config, Path(results) / sweep.name / name, verbose=verbose))
        keras.backend.clear_session()  # free the graph of the last model before the next
    return outputs
