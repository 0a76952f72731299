"""Devices and distribution: which ``tf.distribute`` strategy a run uses, SLURM's multi-worker
set-up (``SlurmClusterResolver``), who writes (the chief), and what Keras 3 needs to train
under ``MultiWorkerMirroredStrategy``.

All GPUs of a node go through ``MirroredStrategy``; several SLURM tasks (``srun`` starting one
process per node or per GPU) through ``MultiWorkerMirroredStrategy`` with
``SlurmClusterResolver``, where worker 0 is the chief: every worker reads the output folder to
resume, only the chief writes there.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Mapping
from typing import Any

from optreg.lab.config import TrainConfig

# Ports of the multi-worker gRPC servers: a range below Linux' ephemeral ports (32768+), offset
# by the SLURM job id so that two jobs sharing a node do not collide. OPTREG_PORT_BASE overrides.
PORT_RANGE_START = 12000
PORT_RANGE_SIZE = 16000


def _slurm_step_tasks(env: Mapping[str, str]) -> int:
    return int(env.get("SLURM_STEP_NUM_TASKS") or 1)


def choose_strategy(
    requested: str, n_gpus: int, n_cpu_devices: int, env: Mapping[str, str] | None = None
) -> str:
    """Which distribution strategy ``"auto"`` means here: ``multiworker`` when SLURM started
    several tasks (``srun`` step with ``SLURM_STEP_NUM_TASKS > 1``, or a job of several nodes
    and tasks), ``mirrored`` with several GPUs (or several logical CPUs), else ``none``."""
    if requested != "auto":
        return requested
    env = os.environ if env is None else env
    nodes = int(env.get("SLURM_JOB_NUM_NODES") or env.get("SLURM_NNODES") or 1)
    tasks = int(env.get("SLURM_NTASKS") or 1)
    if _slurm_step_tasks(env) > 1 or (nodes > 1 and tasks > 1):
        return "multiworker"
    if n_gpus > 1 or n_cpu_devices > 1:
        return "mirrored"
    return "none"


def visible_gpu_count(env: Mapping[str, str] | None = None) -> int:
    """GPUs this process may use, found *without* initializing TensorFlow (CUDA reads
    ``CUDA_VISIBLE_DEVICES`` once, so it must be final before TensorFlow looks at devices)."""
    env = os.environ if env is None else env
    if "CUDA_VISIBLE_DEVICES" in env:
        ids = [i for i in env["CUDA_VISIBLE_DEVICES"].split(",") if i.strip()]
        return 0 if ids in ([], ["-1"], ["NoDevFiles"]) else len(ids)
    if shutil.which("nvidia-smi") is None:
        return 0
    try:
        listing = subprocess.run(
            ["nvidia-smi", "--list-gpus"], capture_output=True, text=True, timeout=30, check=True
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return 0
    return sum(line.startswith("GPU ") for line in listing.splitlines())


def slurm_resolver_arguments(env: Mapping[str, str], n_gpus: int) -> dict[str, Any]:
    """Arguments of ``SlurmClusterResolver`` for this SLURM step, where ``n_gpus`` GPUs are
    visible to this task.

    * ``port_base``: ``OPTREG_PORT_BASE``, else derived from ``SLURM_JOB_ID`` (the resolver
      gives the ``k``-th task of a node ``port_base + k``; its default 8888 would clash between
      jobs sharing a node).
    * GPUs: when every task of a node sees all its GPUs, the resolver splits them evenly and
      sets each task's ``CUDA_VISIBLE_DEVICES``; when SLURM already bound GPUs to tasks
      (``--gpus-per-task``, or fewer visible GPUs than tasks on the node), each task keeps the
      ones it sees. Without GPUs the resolver (which lists a node's tasks by stepping through
      its GPU ids) gets one placeholder id per task, and ``cpu_only`` tells
      :func:`slurm_cluster_resolver` to report no accelerators, so each worker trains on its CPU.
    """
    from tensorflow.python.distribute.cluster_resolver.slurm_cluster_resolver import (
        expand_tasks_per_node,
    )

    for name in (
        "SLURM_PROCID",
        "SLURM_STEP_NUM_TASKS",
        "SLURM_STEP_NODELIST",
        "SLURM_STEP_TASKS_PER_NODE",
    ):
        if name not in env:
            raise ValueError(
                f"strategy='multiworker' needs the SLURM step variable {name}: "
                "start one process per task with srun (e.g. srun --ntasks-per-node"
                "=1 optreg lab train ...), not directly in the batch script"
            )
    tasks_per_node = max(expand_tasks_per_node(env["SLURM_STEP_TASKS_PER_NODE"]))
    port_base = int(
        env.get("OPTREG_PORT_BASE")
        or PORT_RANGE_START + int(env.get("SLURM_JOB_ID") or 0) % PORT_RANGE_SIZE
    )
    arguments: dict[str, Any] = {"port_base": port_base, "cpu_only": n_gpus == 0}
    if n_gpus == 0:
        arguments.update(gpus_per_node=tasks_per_node, gpus_per_task=1, auto_set_gpu=False)
    elif "SLURM_GPUS_PER_TASK" in env or n_gpus < tasks_per_node:
        arguments.update(
            gpus_per_node=n_gpus * tasks_per_node, gpus_per_task=n_gpus, auto_set_gpu=False
        )
    else:
        arguments.update(
            gpus_per_node=n_gpus, gpus_per_task=n_gpus // tasks_per_node, auto_set_gpu=True
        )
    return arguments


def slurm_cluster_resolver():
    """TensorFlow's ``SlurmClusterResolver`` for this task (it reads ``os.environ``), with the
    settings of :func:`slurm_resolver_arguments`; resolving it sets ``CUDA_VISIBLE_DEVICES``
    when asked to."""
    import tensorflow as tf

    class CpuAwareSlurmClusterResolver(tf.distribute.cluster_resolver.SlurmClusterResolver):
        """Reports no accelerators on CPU-only nodes (TF's counts its placeholder GPU ids)."""

        def __init__(self, cpu_only: bool, **kwargs):
            super().__init__(**kwargs)
            self.cpu_only = cpu_only

        def num_accelerators(self, task_type=None, task_id=None, config_proto=None):
            if self.cpu_only:
                return {}
            return super().num_accelerators(task_type, task_id, config_proto)

    resolver = CpuAwareSlurmClusterResolver(
        **slurm_resolver_arguments(os.environ, visible_gpu_count())
    )
    resolver.cluster_spec()  # resolves task_id and sets CUDA_VISIBLE_DEVICES before TF starts
    return resolver


def configure_devices(config: TrainConfig) -> None:
    """Split the CPU into logical devices (tests of the mirrored path on a CPU-only machine).

    Must run before TensorFlow initializes its devices; a second identical call is harmless.
    """
    import tensorflow as tf

    if not config.cpu_devices or config.cpu_devices < 2:
        return
    cpu = tf.config.list_physical_devices("CPU")[0]
    try:
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * config.cpu_devices
        )
    except RuntimeError:  # already initialized: keep what is there, say so below
        pass


def make_strategy(config: TrainConfig):
    """The ``tf.distribute`` strategy for ``config.strategy``.

    The multi-worker case is decided from SLURM's environment alone and comes first: its
    resolver must set ``CUDA_VISIBLE_DEVICES``, and the strategy configure TensorFlow's
    collective ops, before anything initializes TensorFlow's devices.
    """
    import tensorflow as tf

    if choose_strategy(config.strategy, 0, 1) == "multiworker":
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=slurm_cluster_resolver())
    gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    name = choose_strategy(config.strategy, len(gpus), len(cpus))
    if name == "mirrored":
        devices = [d.name for d in (gpus or cpus)]
        return tf.distribute.MirroredStrategy(devices=devices)
    return tf.distribute.get_strategy()


def is_chief(strategy) -> bool:
    """Whether this process writes the outputs: always, except on the workers of a
    multi-worker cluster other than worker 0 (TF's convention when there is no ``chief`` task)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    return task_type in (None, "chief") or (task_type == "worker" and resolver.task_id == 0)


def num_workers(strategy) -> int:
    return getattr(strategy.extended, "_num_workers", 1)


def work_around_keras_multiworker(model, strategy) -> None:
    """Make Keras 3's ``fit``/``evaluate`` work with ``MultiWorkerMirroredStrategy`` (on this
    model only), where two of its reductions fail (keras-team/keras#20585):

    * before training, Keras ``strategy.reduce``-s the first distributed batch to learn the
      input shapes, which fails on the tuple ``(x, y)``: one replica's part of the batch has
      the same shapes and dtypes, so Keras gets that instead;
    * after each step, it averages the replicas' logs with ``strategy.reduce("MEAN", v,
      axis=0)``, which fails on scalars: the steps return them as 1-element vectors (the
      values agree on every replica, metric variables being synchronized, so the mean is
      the value).
    """
    import tensorflow as tf

    keras_build, train_step, test_step = (
        model._maybe_symbolic_build,
        model.train_step,
        model.test_step,
    )

    def build_from_one_replica(iterator=None, data_batch=None):
        if iterator is not None and data_batch is None:
            for _, _, batches in iterator:  # Keras resets the iterator after this
                data_batch = tf.nest.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0], next(batches)
                )
                break
        return keras_build(data_batch=data_batch)

    def as_vectors(logs):
        return tf.nest.map_structure(lambda v: tf.reshape(v, [-1]), logs)

    model._maybe_symbolic_build = build_from_one_replica
    model.train_step = lambda data: as_vectors(train_step(data))
    model.test_step = lambda data: as_vectors(test_step(data))


def check_workers_agree(strategy, epochs_done: int) -> None:
    """All workers must resume from the same epoch, or their all-reduces would not pair up and
    training would hang. They do when the output folder is on a file system that every node
    shares, since all of them read the chief's ``metrics.json`` and checkpoint."""
    import tensorflow as tf

    if num_workers(strategy) < 2:
        return
    local = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant([epochs_done])
    )
    everyone = sorted(set(strategy.gather(local, axis=0).numpy().tolist()))
    if len(everyone) > 1:
        raise ValueError(
            f"the workers found different numbers of completed epochs {everyone} "
            "in the output folder: it must be on a file system shared by all "
            "nodes"
        )
