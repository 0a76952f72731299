"""``optreg lab report RESULTS``: learning curves, overfitting gaps and a Markdown table.

Every ``metrics.json`` under ``RESULTS`` is one run. The figures compare runs per epoch and per
second of training (an optimizer that needs fewer epochs may still be slower in time), and the
gap between training and validation accuracy (overfitting). The table gives the best validation
accuracy, the test accuracy, the seconds per epoch and the time to reach a target validation
accuracy. Tasks of a SLURM job array that failed (they leave ``failed.json`` in their run
folder) are listed with their array task and log files, so a failure is never a silent gap.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from optreg.lab.state import FAILED_FILE, METRICS_FILE, time_to_target

Run = dict[str, Any]

CONFIG_COLUMNS = (
    "optimizer",
    "learning_rate",
    "schedule",
    "batch_size",
    "norm",
    "dropout",
    "l2",
    "weight_decay",
    "max_norm",
    "augment",
    "implementation",
)


def load_runs(results: str | Path) -> list[Run]:
    """The metrics of every run under ``results`` (sorted by path), each with ``name``/``path``."""
    runs = []
    for path in sorted(Path(results).rglob(METRICS_FILE)):
        run = json.loads(path.read_text())
        if not run.get("history"):
            continue
        run["path"] = str(path.parent)
        run["name"] = path.parent.name
        runs.append(run)
    return runs


def load_failures(results: str | Path) -> list[dict[str, Any]]:
    """The ``failed.json`` records under ``results`` of runs that have not completed since."""
    failures = []
    for path in sorted(Path(results).rglob(FAILED_FILE)):
        metrics = path.parent / METRICS_FILE
        if metrics.exists() and json.loads(metrics.read_text()).get("completed"):
            continue  # a later attempt succeeded
        try:
            record = json.loads(path.read_text())
        except json.JSONDecodeError:
            record = {}
        failures.append({**record, "path": str(path.parent)})
    return failures


def failure_line(failure: dict[str, Any]) -> str:
    """One line saying which task failed and where its logs are."""
    if "task" not in failure:
        return f"FAILED: {failure['path']} (unreadable {FAILED_FILE})"
    logs = " and ".join(reversed(failure.get("logs", [])))  # the .err file first
    return (
        f"FAILED: run {failure['run']} = array task {failure['task']} of job "
        f"{failure['job']} (exit status {failure['exit_code']} on {failure['node']}); "
        f"see {logs}"
    )


def select(runs: Sequence[Run], **values: Any) -> list[Run]:
    """The runs whose configuration has all these values: ``select(runs, norm="batch")``."""
    return [r for r in runs if all(r["config"].get(k) == v for k, v in values.items())]


def curve(run: Run, metric: str, x: str = "epoch") -> tuple[list[float], list[float]]:
    """``(x, y)`` of a metric; ``x`` is ``"epoch"`` or ``"time"`` (cumulative training seconds)."""
    history = run["history"]
    return [h[x] for h in history], [h.get(metric, math.nan) for h in history]


def generalization_gap(run: Run) -> list[float]:
    """Training minus validation accuracy per epoch: grows when the model overfits."""
    return [h["accuracy"] - h["val_accuracy"] for h in run["history"]]


def plot_curves(
    runs: Sequence[Run],
    metric: str = "val_accuracy",
    x: str = "epoch",
    ax=None,
    label: Callable[[Run], str] | None = None,
):
    """One line per run of ``metric`` against epochs or seconds; returns the axes."""
    import matplotlib.pyplot as plt

    ax = ax or plt.figure(figsize=(6, 4)).gca()
    for run in runs:
        xs, ys = curve(run, metric, x)
        ax.plot(
            xs,
            ys,
            marker="o" if len(xs) < 15 else None,
            ms=3,
            label=label(run) if label else run["name"],
        )
    ax.set_xlabel("epoch" if x == "epoch" else "training time (s)")
    ax.set_ylabel(metric.replace("_", " "))
    ax.grid(alpha=0.3)
    if runs:
        ax.legend(fontsize=7)
    return ax


def plot_gap(runs: Sequence[Run], ax=None, label: Callable[[Run], str] | None = None):
    """Train-minus-validation accuracy per epoch, one line per run."""
    import matplotlib.pyplot as plt

    ax = ax or plt.figure(figsize=(6, 4)).gca()
    for run in runs:
        ax.plot(
            [h["epoch"] for h in run["history"]],
            generalization_gap(run),
            label=label(run) if label else run["name"],
        )
    ax.axhline(0.0, color="grey", lw=0.8)
    ax.set_xlabel("epoch")
    ax.set_ylabel("train - validation accuracy")
    ax.grid(alpha=0.3)
    if runs:
        ax.legend(fontsize=7)
    return ax


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def summary(run: Run, target: float | None = None) -> dict[str, Any]:
    """The table row of a run."""
    history = run["history"]
    target = run.get("target_accuracy", 0.85) if target is None else target
    epoch_times = [h["epoch_time"] for h in history]
    # the first epoch includes tracing the graph: quote the typical (median) epoch
    typical = sorted(epoch_times)[(len(epoch_times) - 1) // 2]
    config = run["config"]
    if "lr_finder" in run:  # the rate actually used came from the range test
        config = {**config, "learning_rate": run["lr_finder"]["suggestion"]}
    return {
        "run": run["name"],
        **{k: config.get(k) for k in CONFIG_COLUMNS},
        "epochs": len(history),
        "best val acc": max(h["val_accuracy"] for h in history),
        "final gap": generalization_gap(run)[-1],
        "test acc": run.get("test_accuracy"),
        "s/epoch": typical,
        f"s to val acc {target:g}": time_to_target(history, target),
    }


def markdown_table(
    runs: Sequence[Run], target: float | None = None, columns: Sequence[str] | None = None
) -> str:
    """A Markdown table, one row per run, with the result columns and the configuration
    ``columns`` (default: those of :data:`CONFIG_COLUMNS` that differ between the runs)."""
    if not runs:
        return "_no runs found_\n"
    rows = [summary(r, target) for r in runs]
    if columns is None:
        columns = [k for k in CONFIG_COLUMNS if len({repr(row[k]) for row in rows}) > 1]
    keys = ["run", *columns, *(k for k in rows[0] if k != "run" and k not in CONFIG_COLUMNS)]
    from optreg.tables import markdown_table as table  # numbers right-aligned

    return table(keys, [[_cell(row[k]) for k in keys] for row in rows])


def mode_of(runs: Sequence[Run]) -> str:
    """``"smoke"`` if any run trained on a subset, else ``"full"``: pages say which they show."""
    return "smoke" if any(r["config"].get("subset") for r in runs) else "full"


def write_report(
    results: str | Path, out: str | Path | None = None, target: float | None = None
) -> Path:
    """Figures (PNG) and ``report.md`` for all runs under ``results``; returns the report path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs, failures = load_runs(results), load_failures(results)
    if not runs and not failures:
        raise FileNotFoundError(f"no {METRICS_FILE} under {results}")
    out = Path(out or results)
    out.mkdir(parents=True, exist_ok=True)
    figures = {
        "val_accuracy_per_epoch.png": lambda ax: plot_curves(runs, "val_accuracy", "epoch", ax),
        "val_accuracy_per_second.png": lambda ax: plot_curves(runs, "val_accuracy", "time", ax),
        "loss_per_epoch.png": lambda ax: plot_curves(runs, "loss", "epoch", ax),
        "overfitting_gap.png": lambda ax: plot_gap(runs, ax),
    }
    for name, draw in figures.items():
        fig, ax = plt.subplots(figsize=(7, 4.5))
        draw(ax)
        fig.tight_layout()
        fig.savefig(out / name, dpi=110)
        plt.close(fig)
    text = [f"# Results under `{results}` ({len(runs)} runs, {mode_of(runs)} mode)", ""]
    if failures:
        text += [
            f"{len(failures)} task(s) failed:",
            "",
            *(f"- {failure_line(f)}" for f in failures),
            "",
        ]
    text += [markdown_table(runs, target), ""]
    text += [f"![{name}]({name})" for name in figures]
    report = out / "report.md"
    report.write_text("\n".join(text) + "\n")
    return report
