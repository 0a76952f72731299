"""optreg.lab: configuration, data pipeline, training with resume after a kill, two-replica
mirrored training, sweeps, the SLURM script and the report. Tiny subsets, one to three epochs."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from optreg.cli import build_parser, main
from optreg.lab import report as lab_report
from optreg.lab.config import TrainConfig
from optreg.lab.slurm import sbatch_script, write_sbatch
from optreg.lab.sweep import expand, load_sweep, run_sweep
from optreg.lab.train import choose_strategy, read_metrics, time_to_target, train

REPO = Path(__file__).resolve().parents[1]
SWEEPS = sorted((REPO / "book" / "labs" / "sweeps").glob("*.yaml"))
TINY = dict(hidden_units=(32,), subset=512, validation_size=500, batch_size=64)
ENV = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", "KERAS_BACKEND": "tensorflow"}


def optreg_cli(*args: str) -> list[str]:
    return [
        sys.executable,
        "-c",
        "import sys; from optreg.cli import main; sys.exit(main())",
        *args,
    ]


# ---------------------------------------------------------------------------- configuration


def test_config_validation_names_the_argument():
    for bad, message in [
        (dict(optimizer="lbfgs"), "optimizer"),
        (dict(dropout=1.0), "dropout"),
        (dict(learning_rate=0.0), "learning_rate"),
        (dict(epochs=0), "epochs"),
        (dict(norm="group"), "norm"),
        (dict(schedule="step"), "schedule"),
    ]:
        with pytest.raises(ValueError, match=message):
            TrainConfig(**bad)
    with pytest.raises(ValueError, match="unknown configuration key"):
        TrainConfig.from_dict({"optimiser": "adam"})


def test_argv_round_trips_through_the_command_line_parser():
    config = TrainConfig(
        optimizer="nesterov",
        learning_rate=0.05,
        schedule="onecycle",
        norm="batch",
        dropout=0.2,
        l2=1e-4,
        max_norm=3.0,
        weight_decay=0.01,
        augment=True,
        hidden_units=(64, 32),
        subset=100,
        find_lr=True,
    )
    args = build_parser().parse_args(["lab", "train", *config.to_argv(), "--out", "x"])
    from optreg.lab.cli import _config_from_args

    assert _config_from_args(args) == config


def test_strategy_choice_follows_devices_and_slurm():
    assert choose_strategy("auto", 0, 1, {}) == "none"
    assert choose_strategy("auto", 1, 1, {}) == "none"
    assert choose_strategy("auto", 4, 1, {}) == "mirrored"
    assert choose_strategy("auto", 0, 2, {}) == "mirrored"
    slurm = {"SLURM_JOB_NUM_NODES": "2", "SLURM_NTASKS": "2"}
    assert choose_strategy("auto", 4, 1, slurm) == "multiworker"
    assert choose_strategy("auto", 4, 1, {"SLURM_JOB_NUM_NODES": "1"}) == "mirrored"
    assert choose_strategy("none", 4, 1, slurm) == "none"


# ---------------------------------------------------------------------------- data pipeline


def test_pipeline_scales_and_permutes_each_epoch_from_seed_and_epoch_only():
    from optreg.lab.train import training_dataset

    x = np.arange(10 * 2 * 2, dtype=np.uint8).reshape(10, 2, 2)
    y = np.arange(10, dtype=np.uint8)
    full = [b for b in training_dataset(x, y, batch_size=4, seed=7, first_epoch=0, epochs=3)]
    assert [len(b[1]) for b in full] == [4, 4, 2] * 3
    epochs = [np.concatenate([b[1].numpy() for b in full[3 * e : 3 * e + 3]]) for e in range(3)]
    for labels in epochs:
        assert sorted(labels) == list(range(10))  # each epoch sees every example once
    assert not np.array_equal(epochs[0], epochs[1])
    for images, labels in full:
        np.testing.assert_allclose(images.numpy(), x[labels.numpy()] / 255.0, rtol=1e-6)
    # a resumed pipeline (from epoch 1) yields exactly the batches of epochs 1 and 2
    resumed = [b for b in training_dataset(x, y, batch_size=4, seed=7, first_epoch=1, epochs=3)]
    for a, b in zip(full[3:], resumed, strict=True):
        np.testing.assert_array_equal(a[1].numpy(), b[1].numpy())


def test_early_stopping_counts_epochs_since_the_best_validation_loss():
    from optreg.lab.resume import patience_exhausted as _patience_exhausted

    history = [{"val_loss": v} for v in (1.0, 0.5, 0.6, 0.7)]
    assert _patience_exhausted(history, 2)  # best at epoch 2, then two worse epochs
    assert not _patience_exhausted(history, 3)
    assert not _patience_exhausted(history[:2], 1)


def test_time_to_target_is_the_first_crossing():
    history = [
        {"val_accuracy": 0.5, "time": 1.0},
        {"val_accuracy": 0.8, "time": 2.5},
        {"val_accuracy": 0.7, "time": 4.0},
        {"val_accuracy": 0.9, "time": 6.0},
    ]
    assert time_to_target(history, 0.75) == 2.5
    assert time_to_target(history, 0.85) == 6.0
    assert time_to_target(history, 0.95) is None


# ---------------------------------------------------------------------------- training


def test_train_writes_metrics_and_a_model_that_reproduces_the_test_score(tmp_path):
    import keras

    from optreg.lab.train import load_data

    config = TrainConfig(
        **TINY,
        epochs=2,
        norm="batch",
        dropout=0.1,
        l2=1e-4,
        schedule="exponential",
        target_accuracy=0.3,
    )
    state = train(config, tmp_path / "run", verbose=0)
    saved = read_metrics(tmp_path / "run")
    assert saved["completed"] and saved["epochs_completed"] == 2
    assert [h["epoch"] for h in saved["history"]] == [1, 2]
    times = [h["time"] for h in saved["history"]]
    assert times[1] > times[0] > 0
    # exponential decay to lr/10 over 2 epochs of 8 steps: after 8 steps lr * 0.1**(8/16)
    np.testing.assert_allclose(saved["history"][0]["learning_rate"], 1e-3 * 0.1**0.5, rtol=1e-5)
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == ["metrics.json", "model.keras"]
    data = load_data(config)
    model = keras.models.load_model(tmp_path / "run" / "model.keras")
    predicted = model.predict(data.x_test.astype(np.float32) / 255.0, verbose=0).argmax(axis=1)
    np.testing.assert_allclose(np.mean(predicted == data.y_test), state["test_accuracy"], atol=1e-6)
    # running it again is a no-op that returns the same record
    assert train(config, tmp_path / "run", verbose=0)["history"] == saved["history"]
    with pytest.raises(ValueError, match="different configuration"):
        train(config.replace(optimizer="sgd"), tmp_path / "run", verbose=0)


def test_mixed_precision_run_computes_in_float16_and_resumes(tmp_path):
    import keras

    config = TrainConfig(**{**TINY, "subset": 256}, epochs=1, mixed_precision=True)
    first = train(config, tmp_path / "mp", verbose=0)
    model = keras.models.load_model(tmp_path / "mp" / "model.keras")
    assert model.layers[1].compute_dtype == "float16"
    assert model.layers[1].kernel.dtype == "float32"  # variables stay float32
    assert keras.mixed_precision.global_policy().name == "float32"  # the policy was restored
    assert np.isfinite(first["history"][0]["loss"])
    steps_per_epoch = int(model.optimizer.iterations.numpy())
    assert steps_per_epoch > 0
    more = train(config.replace(epochs=2), tmp_path / "mp", verbose=0)
    assert [h["epoch"] for h in more["history"]] == [1, 2]
    # the resumed run restored the optimizer (loss scale and moments), not a fresh one
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        resumed = keras.models.load_model(tmp_path / "mp" / "model.keras")
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert int(resumed.optimizer.iterations.numpy()) == 2 * steps_per_epoch


def test_killed_run_resumes_and_matches_an_uninterrupted_run(tmp_path):
    """SIGKILL a ``optreg lab train`` process after its first checkpoint, start it again: the
    continued run has the same per-epoch losses as a run that was never interrupted."""
    config = TrainConfig(**{**TINY, "subset": 1024, "batch_size": 16}, epochs=3, seed=1)
    killed = tmp_path / "killed"
    process = subprocess.Popen(
        optreg_cli("lab", "train", *config.to_argv(), "--out", str(killed), "--quiet"),
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 120
    while time.time() < deadline and process.poll() is None:
        metrics = read_metrics(killed) if (killed / "metrics.json").exists() else None
        if metrics and metrics["epochs_completed"] >= 1:
            break
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    done_before = read_metrics(killed)["epochs_completed"]
    assert 1 <= done_before < 3, "the process should be killed mid-run"
    resumed = train(config, killed, verbose=0)
    reference = train(config, tmp_path / "reference", verbose=0)
    assert [h["epoch"] for h in resumed["history"]] == [1, 2, 3]
    for key in ("loss", "val_loss", "accuracy", "val_accuracy"):
        np.testing.assert_allclose(
            [h[key] for h in resumed["history"]],
            [h[key] for h in reference["history"]],
            rtol=1e-4,
            err_msg=key,
        )
    np.testing.assert_allclose(resumed["test_accuracy"], reference["test_accuracy"], atol=1e-6)
    assert not list(killed.glob("checkpoint-*.keras"))


def test_mirrored_strategy_on_two_logical_cpus_matches_one_device(tmp_path):
    """Two replicas each take half of every batch; the summed gradients equal the one-device
    gradient, so the losses agree to round-off."""
    config = TrainConfig(**TINY, epochs=1, seed=2)
    two = tmp_path / "two"
    result = subprocess.run(
        optreg_cli(
            "lab",
            "train",
            *config.to_argv(),
            "--cpu-devices",
            "2",
            "--strategy",
            "mirrored",
            "--out",
            str(two),
            "--quiet",
        ),
        env=ENV,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    mirrored = read_metrics(two)
    assert mirrored["replicas"] == 2
    single = train(config, tmp_path / "one", verbose=0)
    assert single["replicas"] == 1
    for key in ("loss", "val_loss"):
        np.testing.assert_allclose(
            mirrored["history"][0][key], single["history"][0][key], rtol=1e-4
        )


# ---------------------------------------------------------------------------- sweeps, SLURM


def write_sweep(path: Path, **spec) -> Path:
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def test_grid_expansion_counts_names_and_duplicates(tmp_path):
    sweep = load_sweep(
        write_sweep(
            tmp_path / "s.yaml",
            name="demo",
            base={"epochs": 5},
            smoke={"subset": 100, "epochs": 1},
            grids=[
                {"optimizer": ["sgd", "adam"], "learning_rate": [0.01, 0.001]},
                {"optimizer": ["adam"], "learning_rate": [0.001]},  # duplicate of grid 1
                {"batch_size": [32, 64]},
            ],
            runs=[{"name": "adamw", "optimizer": "adamw", "weight_decay": 0.01}],
        )
    )
    runs = expand(sweep)
    names = [name for name, _ in runs]
    assert len(runs) == 2 * 2 + 2 + 1
    assert names[0] == "optimizer-sgd__learning_rate-0.01" and names[-1] == "adamw"
    assert all(config.epochs == 5 for _, config in runs)
    smoke = expand(sweep, smoke=True)
    assert [n for n, _ in smoke] == names and all(c.subset == 100 for _, c in smoke)
    with pytest.raises(ValueError, match="dropout"):
        load_sweep(write_sweep(tmp_path / "bad.yaml", grids=[{"dropout": [0.1, 1.5]}]))
    with pytest.raises(ValueError, match="unknown key"):
        load_sweep(write_sweep(tmp_path / "bad2.yaml", grid={"epochs": [1]}, sweep={}))


def test_sweep_run_with_seeds_repeats_the_configuration(tmp_path):
    sweep = load_sweep(
        write_sweep(
            tmp_path / "s.yaml",
            runs=[
                {"name": "adam", "optimizer": "adam", "seeds": [0, 3]},
                {"name": "sgd", "optimizer": "sgd"},
            ],
        )
    )
    runs = expand(sweep)
    assert [name for name, _ in runs] == ["adam__seed-0", "adam__seed-3", "sgd"]
    assert [config.seed for _, config in runs] == [0, 3, 0]
    assert runs[0][1].replace(seed=3) == runs[1][1]
    with pytest.raises(ValueError, match=r"run 'adam': seeds must be a non-empty list"):
        load_sweep(write_sweep(tmp_path / "bad.yaml", runs=[{"name": "adam", "seeds": 2}]))
    with pytest.raises(ValueError, match="seed"):
        load_sweep(write_sweep(tmp_path / "bad2.yaml", runs=[{"name": "a", "seeds": [-1]}]))


@pytest.mark.parametrize("path", SWEEPS, ids=[p.stem for p in SWEEPS])
def test_shipped_sweeps_are_valid(path):
    sweep = load_sweep(path)
    assert len(expand(sweep)) == len(expand(sweep, smoke=True)) > 3
    assert all(config.subset for _, config in expand(sweep, smoke=True))
    assert not any(config.subset for _, config in expand(sweep))


def test_slurm_script_is_valid_bash_and_runs_task_i(tmp_path, monkeypatch):
    sweep_file = write_sweep(
        tmp_path / "s.yaml",
        name="demo",
        grid={"optimizer": ["sgd", "adam", "nadam"]},
        slurm={
            "time": "01:00:00",
            "cpus_per_task": 4,
            "modules": ["cuda/12.2"],
            "venv": "/home/me/venv",
            "max_parallel": 2,
            "data_dir": "~/data/fmnist",
        },
    )
    text = sbatch_script(sweep_file, results="res")
    for line in (
        "#SBATCH --array=0-2%2",
        "#SBATCH --gres=gpu:1",
        "#SBATCH --cpus-per-task=4",
        "#SBATCH --time=01:00:00",
        "#SBATCH --output=logs/%x_%A_%a.out",
        "module load cuda/12.2",
        "source /home/me/venv/bin/activate",
        'export FASHION_MNIST_DIR="$HOME"/data/fmnist',
    ):
        assert line in text.splitlines()
    monkeypatch.chdir(tmp_path)
    script = write_sbatch(sweep_file, tmp_path / "launch.sh", results="res")
    assert (tmp_path / "logs").is_dir()
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    # run it as array task 1 with stand-ins for module, srun and the venv
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "srun").write_text('#!/bin/sh\necho "srun $*"\n')
    (bin_dir / "nvidia-smi").write_text("#!/bin/sh\nexit 1\n")
    for f in bin_dir.iterdir():
        f.chmod(0o755)
    runnable = text.replace("source /home/me/venv/bin/activate", ":")
    runnable = runnable.replace("set -eo pipefail", "set -euo pipefail\nmodule() { :; }")
    (tmp_path / "run.sh").write_text(runnable)
    env = {
        **ENV,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "SLURM_ARRAY_TASK_ID": "1",
        "SLURM_ARRAY_JOB_ID": "77",
        "SLURM_JOB_NAME": "demo",
    }
    out = subprocess.run(
        ["bash", str(tmp_path / "run.sh")], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    command = out.stdout.strip().splitlines()[-1]
    assert command.startswith("srun optreg lab sweep ") and command.endswith("--index 1")
    # ... and that command runs configuration 1 (adam) of the sweep
    assert expand(load_sweep(sweep_file))[1][1].optimizer == "adam"


def test_local_smoke_sweep_and_report(tmp_path, capsys):
    sweep_file = write_sweep(
        tmp_path / "s.yaml",
        name="mini",
        base={**TINY, "hidden_units": [16], "epochs": 3},
        smoke={"epochs": 1, "target_accuracy": 0.2},
        grid={"optimizer": ["sgd", "adam"]},
        runs=[
            {
                "name": "onecycle-found-augment",
                "optimizer": "nesterov",
                "schedule": "onecycle",
                "find_lr": True,
                "augment": True,
                "early_stopping": 2,
            }
        ],
    )
    assert main(["lab", "sweep", str(sweep_file), "--smoke"]) == 0  # lists, trains nothing
    assert "optimizer-adam" in capsys.readouterr().out
    assert not (tmp_path / "res").exists()
    assert (
        main(
            [
                "lab",
                "sweep",
                str(sweep_file),
                "--local",
                "--smoke",
                "--quiet",
                "--results",
                str(tmp_path / "res"),
            ]
        )
        == 0
    )
    runs = lab_report.load_runs(tmp_path / "res")
    assert [r["name"] for r in runs] == [
        "onecycle-found-augment",
        "optimizer-adam",
        "optimizer-sgd",
    ]
    assert all(len(r["history"]) == 1 for r in runs)
    finder = runs[0]["lr_finder"]
    assert 1e-5 <= finder["suggestion"] <= 10.0 and len(finder["lrs"]) == len(finder["losses"])
    # 1cycle peaks at the suggested rate: no epoch ends above it
    assert runs[0]["history"][0]["learning_rate"] <= finder["suggestion"] * (1 + 1e-6)
    assert lab_report.mode_of(runs) == "smoke"
    assert main(["lab", "report", str(tmp_path / "res"), "--target", "0.2"]) == 0
    text = (tmp_path / "res" / "report.md").read_text()
    table = [line for line in text.splitlines() if line.startswith("| o")]
    assert len(table) == 3
    for run in runs:  # the table's best validation accuracy is the history's maximum
        row = lab_report.summary(run, 0.2)
        assert row["best val acc"] == max(h["val_accuracy"] for h in run["history"])
    for png in ("val_accuracy_per_epoch.png", "val_accuracy_per_second.png", "overfitting_gap.png"):
        assert (tmp_path / "res" / png).stat().st_size > 1000
    # a second run of the sweep skips the completed runs
    before = json.loads((tmp_path / "res" / "mini" / "optimizer-sgd" / "metrics.json").read_text())
    run_sweep(sweep_file, tmp_path / "res", smoke=True, verbose=0)
    after = json.loads((tmp_path / "res" / "mini" / "optimizer-sgd" / "metrics.json").read_text())
    assert before == after


def test_markdown_table_hides_constant_columns():
    def run(name, opt, accs):
        history = [
            {
                "epoch": i + 1,
                "accuracy": a + 0.05,
                "val_accuracy": a,
                "loss": 1.0,
                "epoch_time": 2.0,
                "time": 2.0 * (i + 1),
            }
            for i, a in enumerate(accs)
        ]
        return {
            "name": name,
            "config": TrainConfig(optimizer=opt).to_dict(),
            "history": history,
            "test_accuracy": accs[-1],
        }

    runs = [run("a", "sgd", [0.5, 0.7, 0.8]), run("b", "adam", [0.6, 0.85, 0.86])]
    table = lab_report.markdown_table(runs, target=0.8)
    header = table.splitlines()[0]
    assert "optimizer" in header and "norm" not in header
    assert "| a | sgd |" in table
    rows = {r["run"]: r for r in (lab_report.summary(x, 0.8) for x in runs)}
    assert rows["a"]["s to val acc 0.8"] == 6.0 and rows["b"]["s to val acc 0.8"] == 4.0
    assert rows["b"]["final gap"] == pytest.approx(0.05)


def test_lab_pages_prefer_saved_full_results(tmp_path, monkeypatch):
    from optreg.lab.notebook import lab_results

    labs = tmp_path / "labs"
    (labs / "sweeps").mkdir(parents=True)
    write_sweep(
        labs / "sweeps" / "demo.yaml",
        name="demo",
        grid={"optimizer": ["sgd", "adam"]},
        smoke={"subset": 100, "epochs": 1},
    )
    saved = labs / "results" / "full" / "demo" / "optimizer-sgd"
    saved.mkdir(parents=True)
    history = [
        {
            "epoch": 1,
            "accuracy": 0.9,
            "val_accuracy": 0.88,
            "loss": 0.3,
            "val_loss": 0.35,
            "epoch_time": 2.0,
            "time": 2.0,
        }
    ]
    (saved / "metrics.json").write_text(
        json.dumps(
            {
                "config": TrainConfig(optimizer="sgd").to_dict(),
                "history": history,
                "test_accuracy": 0.87,
            }
        )
    )
    monkeypatch.chdir(labs)
    results = lab_results("demo", "smoke", smoke_runs=["optimizer-adam"])
    assert results.mode == "full" and [r["name"] for r in results.runs] == ["optimizer-sgd"]
    assert "full runs" in results.describe()
    (saved / "metrics.json").unlink()
    with pytest.raises(ValueError, match="optimizer-nadam"):
        lab_results("demo", "smoke", smoke_runs=["optimizer-nadam"])
    with pytest.raises(ValueError, match="mode"):
        lab_results("demo", "fast")


# ---------------------------------------------------------------------------- run state on disk


def test_run_state_reads_and_rewrites_metrics_files_of_the_earlier_format(tmp_path):
    """metrics.json files written before RunState existed (the saved reference and full
    results) read into a RunState and write back as the same JSON object."""
    from optreg.lab.state import RunState, read_state, write_state

    saved = sorted((REPO / "book" / "labs" / "results").rglob("metrics.json"))
    assert saved, "no saved results to read"
    for path in saved:
        original = json.loads(path.read_text())
        state = RunState.from_dict(original)
        assert state.config == original["config"] and state.history == original["history"]
        rewritten = state.to_dict()
        assert {k: rewritten[k] for k in original} == original, path
        assert set(rewritten) - set(original) <= {"rng_states"}, path  # older files lack it
    state.extra["written_by_a_later_version"] = 1
    write_state(tmp_path, state)
    assert read_state(tmp_path) == state
    fresh = RunState(config=TrainConfig().to_dict())
    assert "lr_finder" not in fresh.to_dict() and "preemptions" not in fresh.to_dict()
    assert not fresh.done


def test_report_lists_failed_tasks_unless_a_later_attempt_completed(tmp_path):
    failed = tmp_path / "demo" / "optimizer-sgd"
    failed.mkdir(parents=True)
    (failed / "failed.json").write_text(
        json.dumps(
            {
                "task": 3,
                "job": "77",
                "run": "optimizer-sgd",
                "exit_code": 1,
                "node": "gpu07",
                "logs": ["/logs/demo_77_3.out", "/logs/demo_77_3.err"],
            }
        )
    )
    (failures,) = lab_report.load_failures(tmp_path)
    assert lab_report.failure_line(failures) == (
        "FAILED: run optimizer-sgd = array task 3 of job 77 (exit status 1 on gpu07); see "
        "/logs/demo_77_3.err and /logs/demo_77_3.out"
    )
    text = lab_report.write_report(tmp_path).read_text()  # no completed run: still a report
    assert "1 task(s) failed" in text and "array task 3 of job 77" in text
    (failed / "metrics.json").write_text(
        json.dumps({"config": {}, "history": [], "completed": True})
    )
    assert lab_report.load_failures(tmp_path) == []


def test_the_lab_offers_every_optimizer_the_model_builder_knows():
    """`optreg lab train --optimizer` (OPTIMIZER_NAMES, kept import-light) and make_optimizer's
    table (optreg.keras.models.OPTIMIZERS) must not drift apart."""
    from optreg.keras.models import OPTIMIZERS
    from optreg.lab.config import OPTIMIZER_NAMES

    assert list(OPTIMIZER_NAMES) == list(OPTIMIZERS)
