"""optreg.lab on several SLURM tasks: ``MultiWorkerMirroredStrategy`` with TensorFlow's
``SlurmClusterResolver``, run here as two worker processes on localhost.

The SLURM step is faked with the variables ``srun --nodes=1 --ntasks=2`` sets (one node,
``localhost``, two tasks); the resolver expands the node list itself, so no ``scontrol`` is
needed. Each worker takes half of every global batch and the gradients are all-reduced, so two
workers must produce the weights of one process trained with the same global batch.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import keras
import numpy as np
import pytest

from optreg.lab.config import TrainConfig
from optreg.lab.slurm import sbatch_script

sys.path.insert(0, str(Path(__file__).parent))
from write_audit import HOOK, read_writes  # noqa: E402

from optreg.lab.train import (
    MODEL_FILE,
    choose_strategy,
    read_metrics,
    register_components,
    slurm_cluster_resolver,
    slurm_resolver_arguments,
    train,
    visible_gpu_count,
)

TINY = dict(hidden_units=(32,), subset=512, validation_size=500, batch_size=64, seed=3)
STEP = {
    "SLURM_JOB_ID": "4242",
    "SLURM_STEP_NUM_TASKS": "2",
    "SLURM_STEP_NODELIST": "localhost",
    "SLURM_STEP_TASKS_PER_NODE": "2",
    "SLURM_NTASKS": "2",
    "SLURM_NNODES": "1",
}
WORKER_TIMEOUT = 75  # seconds for both workers (about 15 s each here when the CPU is idle)

# ``optreg lab train`` with an audit hook that logs the files the process writes
AUDITED_CLI = HOOK + "\nfrom optreg.cli import main\nsys.exit(main())\n"


# ---------------------------------------------------------------------------- strategy choice


def test_an_srun_step_of_several_tasks_means_multiworker():
    assert choose_strategy("auto", 0, 1, STEP) == "multiworker"
    assert choose_strategy("auto", 4, 1, {**STEP, "SLURM_STEP_NUM_TASKS": "1"}) == "mirrored"
    assert choose_strategy("auto", 0, 1, {"SLURM_JOB_ID": "1", "SLURM_NTASKS": "1"}) == "none"
    assert choose_strategy("mirrored", 0, 2, STEP) == "mirrored"


def test_visible_gpus_are_counted_from_cuda_visible_devices():
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": "0,1,3"}) == 3
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": ""}) == 0
    assert visible_gpu_count({"CUDA_VISIBLE_DEVICES": "-1"}) == 0


def test_resolver_arguments_split_gpus_and_derive_the_port_from_the_job():
    task = {**STEP, "SLURM_PROCID": "0"}
    node_of_two = {**task, "SLURM_STEP_TASKS_PER_NODE": "2(x3)"}
    shared = slurm_resolver_arguments(node_of_two, n_gpus=4)
    assert shared == {
        "port_base": 12000 + 4242,
        "cpu_only": False,
        "gpus_per_node": 4,
        "gpus_per_task": 2,
        "auto_set_gpu": True,
    }
    bound = slurm_resolver_arguments({**node_of_two, "SLURM_GPUS_PER_TASK": "1"}, n_gpus=1)
    assert bound["gpus_per_task"] == 1 and not bound["auto_set_gpu"]
    cpu = slurm_resolver_arguments({**task, "OPTREG_PORT_BASE": "20000"}, n_gpus=0)
    assert cpu == {
        "port_base": 20000,
        "cpu_only": True,
        "gpus_per_node": 2,
        "gpus_per_task": 1,
        "auto_set_gpu": False,
    }
    assert slurm_resolver_arguments({**task, "SLURM_JOB_ID": "99999"}, 0)["port_base"] == (
        12000 + 99999 % 16000
    )
    for missing in ("SLURM_PROCID", "SLURM_STEP_NODELIST"):
        env = dict(task)
        del env[missing]
        with pytest.raises(ValueError, match=f"{missing}.*srun"):
            slurm_resolver_arguments(env, 0)


def test_slurm_resolver_lists_every_task_and_gives_each_its_gpus(monkeypatch):
    for name, value in {
        **STEP,
        "SLURM_STEP_NODELIST": "gpu[07-08]",
        "SLURM_STEP_TASKS_PER_NODE": "2(x2)",
        "SLURM_STEP_NUM_TASKS": "4",
        "SLURM_PROCID": "3",
        "CUDA_VISIBLE_DEVICES": "0,1,2,3",
    }.items():
        monkeypatch.setenv(name, value)
    resolver = slurm_cluster_resolver()
    port = 12000 + 4242
    cluster = {
        "worker": [f"gpu07:{port}", f"gpu07:{port + 1}", f"gpu08:{port}", f"gpu08:{port + 1}"]
    }
    assert resolver.cluster_spec().as_dict() == cluster
    assert (resolver.task_type, resolver.task_id) == ("worker", 3)
    assert os.environ["CUDA_VISIBLE_DEVICES"] == "2,3"  # second task of its node
    assert resolver.num_accelerators() == {"GPU": 2}

    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    monkeypatch.setenv("SLURM_PROCID", "1")
    cpu_resolver = slurm_cluster_resolver()
    assert cpu_resolver.cluster_spec().as_dict() == cluster
    assert cpu_resolver.task_id == 1 and cpu_resolver.num_accelerators() == {}
    assert os.environ["CUDA_VISIBLE_DEVICES"] == ""  # left alone


def test_multi_node_sbatch_script_starts_one_task_per_node(tmp_path):
    sweep = tmp_path / "s.yaml"
    sweep.write_text("name: demo\ngrid: {optimizer: [sgd, adam]}\nslurm: {nodes: 2, gpus: 4}\n")
    lines = sbatch_script(sweep).splitlines()
    for line in ("#SBATCH --nodes=2", "#SBATCH --ntasks-per-node=1", "#SBATCH --gres=gpu:4"):
        assert line in lines
    assert "#SBATCH --ntasks=1" not in lines
    assert any(line.startswith("srun optreg lab sweep") for line in lines)
    single = sbatch_script(sweep, nodes=1).splitlines()
    assert "#SBATCH --nodes=1" in single and "#SBATCH --ntasks=1" in single
    with pytest.raises(ValueError, match="nodes"):
        sbatch_script(sweep, nodes=0)


# ---------------------------------------------------------------------------- two real workers


def free_port_pair() -> int:
    """A port ``p`` with ``p`` and ``p + 1`` free (the two tasks of the node listen there)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("localhost", 0))
            port = first.getsockname()[1]
            with socket.socket() as second:
                try:
                    second.bind(("localhost", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no two consecutive free ports on localhost")


def run_two_workers(config: TrainConfig, out: Path, tmp_path: Path) -> list[dict]:
    """Start SLURM tasks 0 and 1 as processes and wait for both. When one fails (its peer would
    then wait for it) or time runs out, the others are killed: the test fails, never hangs."""
    port = free_port_pair()
    base_env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM_")}
    workers, logs = [], []
    try:
        for rank in range(2):
            scratch = tmp_path / f"tmp-worker{rank}"
            scratch.mkdir()
            env = {
                **base_env,
                **STEP,
                "SLURM_PROCID": str(rank),
                "OPTREG_PORT_BASE": str(port),
                "CUDA_VISIBLE_DEVICES": "",
                "TMPDIR": str(scratch),
                "WRITES_LOG": str(tmp_path / f"writes{rank}.jsonl"),
                "TF_CPP_MIN_LOG_LEVEL": "2",
                "KERAS_BACKEND": "tensorflow",
            }
            command = [
                sys.executable,
                "-c",
                AUDITED_CLI,
                "lab",
                "train",
                *config.to_argv(),
                "--out",
                str(out),
                "--quiet",
            ]
            logs.append(tmp_path / f"worker{rank}.log")
            with logs[-1].open("w") as log:  # a file, not a pipe: it never fills up and blocks
                workers.append(
                    subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
                )
        deadline = time.monotonic() + WORKER_TIMEOUT
        while any(w.poll() is None for w in workers) and time.monotonic() < deadline:
            if any(w.poll() not in (None, 0) for w in workers):
                break
            time.sleep(0.2)
    finally:
        for worker in workers:
            if worker.poll() is None:
                worker.kill()
            worker.wait()
    return [
        {
            "returncode": worker.returncode,
            "output": log.read_text(),
            "writes": read_writes(tmp_path / f"writes{rank}.jsonl"),
            "scratch": tmp_path / f"tmp-worker{rank}",
        }
        for rank, (worker, log) in enumerate(zip(workers, logs, strict=True))
    ]


def final_weights(out: Path) -> list[np.ndarray]:
    register_components()
    return [v.numpy() for v in keras.models.load_model(out / MODEL_FILE).weights]


def test_two_slurm_workers_resume_the_chiefs_run_and_train_like_one_process(tmp_path):
    """Epoch 1 is trained by one process; two workers resume from its checkpoint for epoch 2.
    The result must equal an uninterrupted one-process run of two epochs: same global batches,
    all-reduced gradients, so the same weights up to float round-off (summation order)."""
    one_epoch = TrainConfig(**TINY, epochs=1, strategy="none")
    reference = train(one_epoch.replace(epochs=2), tmp_path / "one-process", verbose=0)
    out = tmp_path / "two-workers"
    train(one_epoch, out, verbose=0)

    chief, other = run_two_workers(one_epoch.replace(epochs=2, strategy="auto"), out, tmp_path)

    for rank, worker in enumerate((chief, other)):
        assert worker["returncode"] == 0, f"worker {rank}:\n{worker['output'][-3000:]}"
    metrics = read_metrics(out)
    assert metrics["completed"] and metrics["replicas"] == 2 and metrics["epochs_completed"] == 2
    assert sorted(p.name for p in out.iterdir()) == ["metrics.json", "model.keras"]
    # only the chief wrote into the output folder; the other worker saved into a temporary
    # folder of its own (TF's advice), which it removed at the end
    inside = str(out) + os.sep
    assert any(path.startswith(inside) for _, path in chief["writes"])
    assert not [w for w in other["writes"] if w[1].startswith(inside)]
    assert any(
        path.startswith(str(other["scratch"]) + os.sep) and path.endswith(".keras")
        for _, path in other["writes"]
    )
    assert not list(other["scratch"].iterdir())

    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        np.testing.assert_allclose(
            [h[key] for h in metrics["history"]],
            [h[key] for h in reference["history"]],
            rtol=1e-5,
            err_msg=key,
        )
    np.testing.assert_allclose(metrics["test_loss"], reference["test_loss"], rtol=1e-5)
    for distributed, single in zip(
        final_weights(out), final_weights(tmp_path / "one-process"), strict=True
    ):
        np.testing.assert_allclose(distributed, single, atol=1e-5)
