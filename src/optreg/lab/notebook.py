"""What the lab notebooks share: where results are, running the smoke selection, small plots.

The pages of the book show saved *full* results (``book/labs/results/full/<sweep name>/``, from
GPU runs: ``optreg lab sweep SWEEP --local --results book/labs/results/full``) when they exist.
Otherwise they train a few configurations of the sweep in ``smoke`` mode (a subset of the
images, two epochs; about a minute on a laptop CPU) so that every figure and table is produced by
code the reader can run, and they say which mode produced what they show.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optreg.lab.report import load_runs, mode_of, select
from optreg.lab.sweep import expand, load_sweep

MODES = ("smoke", "full")


@dataclass
class LabResults:
    runs: list[dict[str, Any]]
    mode: str
    source: Path

    def get(self, name: str) -> dict[str, Any] | None:
        return next((r for r in self.runs if r["name"] == name), None)

    def select(self, **values: Any) -> list[dict[str, Any]]:
        return select(self.runs, **values)

    def named(self, *names: str) -> list[dict[str, Any]]:
        """The runs of these names that exist, in this order."""
        return [r for r in (self.get(n) for n in names) if r is not None]

    def claim(self, holds: bool, sentence: str) -> None:
        """Check a sentence of the page against full results (smoke runs prove nothing)."""
        from optreg.lab.findings import claim

        if self.mode == "full":
            claim(holds, sentence)

    def provenance(self) -> dict[str, Any]:
        """Where and when the saved results were produced (``provenance.json`` beside them)."""
        path = self.source / "provenance.json"
        return json.loads(path.read_text()) if path.is_file() else {}

    def describe(self) -> str:
        what = (
            "full runs (all images, all epochs)"
            if self.mode == "full"
            else "SMOKE runs (a subset of the images, two epochs, a few configurations): they "
            "check that everything works; their numbers say little about the methods"
        )
        return f"Results: {len(self.runs)} {what}, read from {self.source}."


def quiet_tensorflow() -> None:
    """Import TensorFlow and start its devices with the C++ start-up chatter (CUDA probes, CPU
    features) sent to /dev/null; Python errors still show, they do not use file descriptor 2."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            import tensorflow as tf

            tf.config.list_logical_devices()
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def find_labs_dir() -> Path:
    """``book/labs`` whether the notebook runs from there, from the book root or the repo."""
    for candidate in (Path.cwd(), Path.cwd() / "labs", Path.cwd() / "book" / "labs"):
        if (candidate / "sweeps").is_dir():
            return candidate
    raise FileNotFoundError("cannot find book/labs/sweeps from " + str(Path.cwd()))


def lab_results(
    sweep_name: str, mode: str = "smoke", smoke_runs: list[str] | None = None, verbose: int = 0
) -> LabResults:
    """Results for a lab page.

    ``full``: the saved full results, training what is missing (on a GPU, this is the lab run).
    ``smoke``: the saved full results if there are any, else the ``smoke_runs`` of the sweep
    trained now in smoke mode into a temporary folder (``$OPTREG_LAB_RESULTS`` if set).
    """
    from optreg.lab.sweep import run_sweep

    quiet_tensorflow()
    if mode not in MODES:
        raise ValueError(f"mode must be one of {list(MODES)}, got {mode!r}")
    labs = find_labs_dir()
    sweep_file = labs / "sweeps" / f"{sweep_name}.yaml"
    sweep = load_sweep(sweep_file)
    full_dir = labs / "results" / "full"
    saved = load_runs(full_dir / sweep.name) if (full_dir / sweep.name).is_dir() else []
    if mode == "full":
        run_sweep(sweep_file, full_dir, verbose=verbose)
        return LabResults(load_runs(full_dir / sweep.name), "full", full_dir / sweep.name)
    if saved:
        return LabResults(saved, mode_of(saved), full_dir / sweep.name)
    root = Path(os.environ.get("OPTREG_LAB_RESULTS") or tempfile.mkdtemp(prefix="optreg-lab-"))
    names = [name for name, _ in expand(sweep, smoke=True)]
    unknown = sorted(set(smoke_runs or []) - set(names))
    if unknown:
        raise ValueError(f"smoke_runs {unknown} are not runs of {sweep_file}")
    run_sweep(sweep_file, root, smoke=True, only=smoke_runs, verbose=verbose)
    return LabResults(load_runs(root / sweep.name), "smoke", root / sweep.name)


def plot_lr_finder(run: dict[str, Any], ax=None):
    """The range test stored by a ``find_lr`` run: loss against learning rate, suggestion."""
    import matplotlib.pyplot as plt
    import numpy as np

    from optreg.schedules import smooth_losses

    finder = run["lr_finder"]
    ax = ax or plt.figure(figsize=(6, 4)).gca()
    lrs, losses = np.array(finder["lrs"]), np.array(finder["losses"])
    ax.plot(lrs, losses, alpha=0.35, label="loss per batch")
    ax.plot(lrs, smooth_losses(losses, 0.98), label="smoothed")
    ax.axvline(
        finder["suggestion"], color="k", ls="--", label=f"suggestion {finder['suggestion']:.2g}"
    )
    finite = losses[np.isfinite(losses)]
    if finite.size:
        ax.set_ylim(finite.min() * 0.9, min(finite.max(), 3 * finite[0]) * 1.05)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    ax.legend(fontsize=8)
    return ax


def plot_over_seeds(comparisons, metric: str = "val_accuracy", x: str = "epoch", ax=None):
    """The mean over seeds of each configuration, with the band between its lowest and
    highest seed: a ranking is only worth what these bands leave apart."""
    import matplotlib.pyplot as plt
    import numpy as np

    ax = ax or plt.figure(figsize=(6, 4)).gca()
    for c in comparisons:
        length = min(len(r["history"]) for r in c.runs)
        ys = np.array([[h[metric] for h in r["history"][:length]] for r in c.runs])
        xs = np.mean([[h[x] for h in r["history"][:length]] for r in c.runs], axis=0)
        (line,) = ax.plot(xs, ys.mean(axis=0), label=c.name)
        ax.fill_between(xs, ys.min(axis=0), ys.max(axis=0), color=line.get_color(), alpha=0.2)
    ax.set_xlabel("epoch" if x == "epoch" else "training time (s)")
    ax.set_ylabel(metric.replace("_", " "))
    ax.grid(alpha=0.3)
    if comparisons:
        ax.legend(fontsize=7)
    return ax
