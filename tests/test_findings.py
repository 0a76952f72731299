"""The lab pages' conclusions (optreg.lab.findings) on hand-made histories with known answers,
and on the committed full results: every run the pages read exists and is complete."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from optreg.lab.findings import (
    ClaimError,
    by_configuration,
    claim,
    compare,
    comparison_table,
    final_gap,
    gap_closed,
    max_relative_difference,
    rank_by_epochs_to_target,
    rank_by_time_to_target,
    seconds_per_epoch,
)
from optreg.lab.report import load_runs
from optreg.lab.sweep import expand, load_sweep

LABS = Path(__file__).resolve().parents[1] / "book" / "labs"


def make_run(name, val, train=None, epoch_time=2.0, test=0.5):
    """A run whose validation accuracy per epoch is ``val``; each epoch takes ``epoch_time``."""
    train = train or val
    history = [
        {
            "epoch": i + 1,
            "val_accuracy": v,
            "accuracy": t,
            "loss": 1.0 / (i + 1 + t),
            "val_loss": 1.0 - v,
            "epoch_time": epoch_time,
            "time": epoch_time * (i + 1),
        }
        for i, (v, t) in enumerate(zip(val, train, strict=True))
    ]
    return {"name": name, "history": history, "test_accuracy": test, "config": {}}


def test_seeds_are_grouped_and_summarized():
    runs = [
        make_run("adam__seed-0", [0.8, 0.9], test=0.86),
        make_run("adam__seed-1", [0.85, 0.87], test=0.88),
        make_run("sgd", [0.5, 0.6]),
    ]
    assert {k: len(v) for k, v in by_configuration(runs).items()} == {"adam": 2, "sgd": 1}
    (adam,) = compare(runs, ["adam", "missing"], target=0.86)
    assert adam.best_val_accuracy.mean == pytest.approx(0.885)
    assert adam.best_val_accuracy.std == pytest.approx(math.sqrt(2 * 0.015**2))
    assert adam.test_accuracy.values == [0.86, 0.88]
    assert adam.epochs_to_target.values == [2, 2]
    assert adam.seconds_to_target.mean == 4.0


def test_a_seed_that_never_reaches_the_target_is_shown_and_ranked_last():
    runs = [
        make_run("slow__seed-0", [0.7, 0.9], epoch_time=1.0),
        make_run("slow__seed-1", [0.7, 0.8], epoch_time=1.0),
        make_run("steady", [0.9, 0.91], epoch_time=3.0),
        make_run("quick", [0.6, 0.95], epoch_time=1.0),
    ]
    comparisons = compare(runs, ["slow", "steady", "quick"], target=0.9)
    slow = comparisons[0]
    assert not slow.seconds_to_target.complete
    assert slow.seconds_to_target.format(3) == "2 ± 0 (1 of 2 seeds)"
    assert comparisons[0].best_val_accuracy.format(3) == "0.85 ± 0.07"
    assert [c.name for c in rank_by_time_to_target(comparisons)] == ["quick", "steady", "slow"]
    assert [c.name for c in rank_by_epochs_to_target(comparisons)] == ["steady", "quick", "slow"]
    table = comparison_table(comparisons)
    assert table.splitlines()[1] == "|---|" + "---:|" * 7
    assert "| slow | 2 |" in table
    assert "| steady | 1 | 0.91 |" in table  # one seed: no spread to show


def test_gap_measures():
    baseline = make_run("base", [0.80, 0.85], train=[0.85, 0.95])
    regularized = make_run("reg", [0.82, 0.86], train=[0.84, 0.91])
    assert final_gap(baseline) == pytest.approx(0.10)
    assert gap_closed(regularized, baseline) == pytest.approx(0.5)
    assert max_relative_difference(baseline, baseline) == 0.0
    run = make_run("t", [0.1, 0.2, 0.3])
    run["history"][0]["epoch_time"] = 30.0  # tracing the graph: the median ignores it
    assert seconds_per_epoch(run) == 2.0


def test_claim_raises_with_the_sentence():
    claim(True, "fine")
    with pytest.raises(ClaimError, match="the text says 'BN helps'"):
        claim(False, "BN helps")


@pytest.mark.parametrize("sweep", ["lab1_optimizers", "lab2_normalization_regularization"])
def test_committed_full_results_cover_the_sweep(sweep):
    """The pages answer every question from full results: every configuration of the sweep
    has a completed full run on all the training images."""
    expected = {name for name, _ in expand(load_sweep(LABS / "sweeps" / f"{sweep}.yaml"))}
    runs = {r["name"]: r for r in load_runs(LABS / "results" / "full" / sweep)}
    missing = sorted(expected - set(runs))
    assert not missing, f"no full results for {missing}: run optreg lab sweep ... --local"
    for name in expected:
        run = runs[name]
        assert run["completed"] and run["config"]["subset"] is None, name
        assert run["config"]["validation_size"] == 5000, name
