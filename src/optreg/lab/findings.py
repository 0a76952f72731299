"""What the lab pages conclude, computed from the runs' metrics, never typed by hand.

The functions take runs (the ``metrics.json`` dictionaries of :func:`optreg.lab.report.load_runs`)
and return plain numbers and names. The pages insert them into their sentences with MyST-NB's
``glue``, and :func:`claim` turns each qualitative sentence of the text into a check: when the
committed results stop supporting a sentence, the page's cell fails and so does the build.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from optreg.tables import markdown_table

Run = dict[str, Any]

SEED_SUFFIX = re.compile(r"__seed-(\d+)$")


class ClaimError(AssertionError):
    """A sentence of a lab page that the results do not support."""


def claim(holds: bool, sentence: str) -> None:
    """Fail loudly when a sentence of the text is not what the results say."""
    if not holds:
        raise ClaimError(f"the text says {sentence!r}, but the results do not support it")


def base_name(run: Run) -> str:
    """``adam__seed-2`` -> ``adam``: the configuration a run repeats."""
    return SEED_SUFFIX.sub("", run["name"])


def by_configuration(runs: Sequence[Run]) -> dict[str, list[Run]]:
    """Runs grouped by configuration, the seeds of one configuration together."""
    groups: dict[str, list[Run]] = {}
    for run in runs:
        groups.setdefault(base_name(run), []).append(run)
    return groups


def best_val_accuracy(run: Run) -> float:
    return max(h["val_accuracy"] for h in run["history"])


def final_gap(run: Run) -> float:
    """Training minus validation accuracy after the last epoch: how much is memorized."""
    last = run["history"][-1]
    return last["accuracy"] - last["val_accuracy"]


def epochs_to_target(run: Run, target: float) -> int | None:
    """The first epoch whose validation accuracy reached ``target`` (None: never)."""
    return next((h["epoch"] for h in run["history"] if h["val_accuracy"] >= target), None)


def seconds_to_target(run: Run, target: float) -> float | None:
    """Training seconds until the validation accuracy first reached ``target``."""
    return next((h["time"] for h in run["history"] if h["val_accuracy"] >= target), None)


def seconds_per_epoch(run: Run) -> float:
    """The median epoch time (the first epoch also traces the graph)."""
    return statistics.median(h["epoch_time"] for h in run["history"])


def training_seconds(run: Run) -> float:
    return run["history"][-1]["time"]


@dataclass
class Spread:
    """A quantity measured once per seed: its mean, standard deviation and how many seeds
    produced it (a seed that never reached a target gives no value)."""

    values: list[float]
    seeds: int

    @property
    def mean(self) -> float:
        return statistics.fmean(self.values) if self.values else math.nan

    @property
    def std(self) -> float:
        return statistics.stdev(self.values) if len(self.values) > 1 else 0.0

    @property
    def complete(self) -> bool:
        return len(self.values) == self.seeds

    def format(self, digits: int = 4) -> str:
        if not self.values:
            return "never"
        mean = f"{self.mean:.{digits}g}"
        if self.seeds == 1:
            return mean
        decimals = len(mean.partition(".")[2])  # the spread to the precision of the mean
        text = f"{mean} ± {self.std:.{decimals}f}"
        return text if self.complete else f"{text} ({len(self.values)} of {self.seeds} seeds)"


def spread(runs: Sequence[Run], measure) -> Spread:
    values = [v for v in (measure(r) for r in runs) if v is not None]
    return Spread(values, len(runs))


@dataclass
class Comparison:
    """One configuration over its seeds."""

    name: str
    runs: list[Run]
    target: float

    @property
    def best_val_accuracy(self) -> Spread:
        return spread(self.runs, best_val_accuracy)

    @property
    def test_accuracy(self) -> Spread:
        return spread(self.runs, lambda r: r.get("test_accuracy"))

    @property
    def epochs_to_target(self) -> Spread:
        return spread(self.runs, lambda r: epochs_to_target(r, self.target))

    @property
    def seconds_to_target(self) -> Spread:
        return spread(self.runs, lambda r: seconds_to_target(r, self.target))

    @property
    def seconds_per_epoch(self) -> Spread:
        return spread(self.runs, seconds_per_epoch)

    @property
    def final_gap(self) -> Spread:
        return spread(self.runs, final_gap)


def compare(runs: Sequence[Run], names: Sequence[str], target: float) -> list[Comparison]:
    """The named configurations (seeds grouped), in the order of ``names``; missing ones are
    left out."""
    groups = by_configuration(runs)
    return [Comparison(n, groups[n], target) for n in names if n in groups]


def rank_by_time_to_target(comparisons: Sequence[Comparison]) -> list[Comparison]:
    """Fastest first: configurations whose every seed reached the target, by mean seconds;
    then the others, by best validation accuracy."""

    def key(c: Comparison):
        t = c.seconds_to_target
        return (0, t.mean, 0.0) if t.complete else (1, 0.0, -c.best_val_accuracy.mean)

    return sorted(comparisons, key=key)


def rank_by_epochs_to_target(comparisons: Sequence[Comparison]) -> list[Comparison]:
    def key(c: Comparison):
        e = c.epochs_to_target
        return (0, e.mean) if e.complete else (1, -c.best_val_accuracy.mean)

    return sorted(comparisons, key=key)


def comparison_table(
    comparisons: Sequence[Comparison], extra: Mapping[str, Mapping[str, str]] | None = None
) -> str:
    """A Markdown table of configurations over seeds: mean ± standard deviation. ``extra``
    adds columns: header -> {configuration name: cell}."""
    if not comparisons:
        return "_no runs found_\n"
    extra = extra or {}
    target = comparisons[0].target
    head = [
        "configuration",
        "seeds",
        "best val acc",
        "test acc",
        f"epochs to {target:g}",
        f"s to {target:g}",
        "s/epoch",
        "final gap",
        *extra,
    ]
    rows = [
        [
            c.name,
            str(len(c.runs)),
            c.best_val_accuracy.format(),
            c.test_accuracy.format(),
            c.epochs_to_target.format(3),
            c.seconds_to_target.format(3),
            c.seconds_per_epoch.format(3),
            c.final_gap.format(3),
            *(column[c.name] for column in extra.values()),
        ]
        for c in comparisons
    ]
    return markdown_table(head, rows, right_aligned=[False] + [True] * (len(head) - 1))


def max_relative_difference(a: Run, b: Run, metric: str = "loss") -> float:
    """Largest relative difference of a metric between two runs, epoch by epoch."""
    pairs = zip(a["history"], b["history"], strict=True)
    return max(abs(x[metric] - y[metric]) / abs(y[metric]) for x, y in pairs)


def gap_closed(run: Run, baseline: Run) -> float:
    """The fraction of the baseline's final generalization gap that a regularizer removed
    (1: no gap left, 0: no change, negative: a larger gap)."""
    return 1.0 - final_gap(run) / final_gap(baseline)


def best_epoch(run: Run, metric: str = "val_loss") -> int:
    """The epoch with the lowest value of ``metric``."""
    return min(run["history"], key=lambda h: h[metric])["epoch"]
