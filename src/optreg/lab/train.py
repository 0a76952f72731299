"""Train one lab configuration: the course's version of the slides' ``lab7_code.py``.

``train(config, out)`` builds the Fashion-MNIST model of ``config`` (``optreg.keras.models``),
feeds it through a ``tf.data`` pipeline (the scaled images are cached once in memory; each epoch
draws a fresh permutation, gathers whole batches, and prefetches the next batch while the current
one trains), logs per-epoch metrics with wall time, and writes into ``out``:

* ``metrics.json``: the configuration, one record per epoch (loss, accuracy, val_loss,
  val_accuracy, learning rate, epoch time, cumulative time), the test scores at the end, and the
  time to reach ``target_accuracy`` on the validation set;
* ``checkpoint-epochNNN.keras`` after every epoch (weights *and* optimizer state), replaced by
  ``model.keras`` when the run completes.

A run killed at any moment resumes from its last completed epoch when started again with the same
``out``: the checkpoint restores weights, optimizer slots and step count (so schedules continue),
and the data order of epoch ``e`` depends only on ``(seed, e)``, so the resumed run continues
exactly as an uninterrupted one would.

Devices: all GPUs of a node through ``tf.distribute.MirroredStrategy``; several SLURM tasks
(``srun`` starting one process per node or per GPU) through ``MultiWorkerMirroredStrategy`` with
``SlurmClusterResolver``, where worker 0 is the chief: every worker reads ``out`` to resume, only
the chief writes there. ``batch_size`` is the global batch, split among the replicas of all
workers, so the weights do not depend on how many replicas share it (up to round-off).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from optreg.lab.config import TrainConfig

METRICS_FILE = "metrics.json"
MODEL_FILE = "model.keras"


# --------------------------------------------------------------------------------------------
# Devices and distribution
# --------------------------------------------------------------------------------------------

# Ports of the multi-worker gRPC servers: a range below Linux' ephemeral ports (32768+), offset
# by the SLURM job id so that two jobs sharing a node do not collide. OPTREG_PORT_BASE overrides.
PORT_RANGE_START = 12000
PORT_RANGE_SIZE = 16000


def _slurm_step_tasks(env: Mapping[str, str]) -> int:
    return int(env.get("SLURM_STEP_NUM_TASKS") or 1)


def choose_strategy(requested: str, n_gpus: int, n_cpu_devices: int,
                    env: Mapping[str, str] | None = None) -> str:
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
        listing = subprocess.run(["nvidia-smi", "--list-gpus"], capture_output=True, text=True,
                                 timeout=30, check=True).stdout
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

    for name in ("SLURM_PROCID", "SLURM_STEP_NUM_TASKS", "SLURM_STEP_NODELIST",
                 "SLURM_STEP_TASKS_PER_NODE"):
        if name not in env:
            raise ValueError(f"strategy='multiworker' needs the SLURM step variable {name}: "
                             "start one process per task with srun (e.g. srun --ntasks-per-node"
                             "=1 optreg lab train ...), not directly in the batch script")
    tasks_per_node = max(expand_tasks_per_node(env["SLURM_STEP_TASKS_PER_NODE"]))
    port_base = int(env.get("OPTREG_PORT_BASE")
                    or PORT_RANGE_START + int(env.get("SLURM_JOB_ID") or 0) % PORT_RANGE_SIZE)
    arguments: dict[str, Any] = {"port_base": port_base, "cpu_only": n_gpus == 0}
    if n_gpus == 0:
        arguments.update(gpus_per_node=tasks_per_node, gpus_per_task=1, auto_set_gpu=False)
    elif "SLURM_GPUS_PER_TASK" in env or n_gpus < tasks_per_node:
        arguments.update(gpus_per_node=n_gpus * tasks_per_node, gpus_per_task=n_gpus,
                         auto_set_gpu=False)
    else:
        arguments.update(gpus_per_node=n_gpus, gpus_per_task=n_gpus // tasks_per_node,
                         auto_set_gpu=True)
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

    resolver = CpuAwareSlurmClusterResolver(**slurm_resolver_arguments(os.environ,
                                                                        visible_gpu_count()))
    resolver.cluster_spec()  # resolves task_id and sets CUDA_VISIBLE_DEVICES before TF starts
    return resolver


def _configure_devices(config: TrainConfig) -> None:
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
        return tf.distribute.MultiWorkerMirroredStrategy(
            cluster_resolver=slurm_cluster_resolver()
        )
    gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    name = choose_strategy(config.strategy, len(gpus), len(cpus))
    if name == "mirrored":
        devices = [d.name for d in (gpus or cpus)]
        return tf.distribute.MirroredStrategy(devices=devices)
    return tf.distribute.get_strategy()


def register_components() -> None:
    """Import every optreg Keras module, so that their ``@register_keras_serializable`` classes
    are known before ``keras.models.load_model`` reads a checkpoint."""
    import importlib

    for module in ("optimizers", "schedules", "layers", "regularizers", "constraints",
                   "initializers", "callbacks", "models"):
        importlib.import_module(f"optreg.keras.{module}")


def _is_chief(strategy) -> bool:
    """Whether this process writes the outputs: always, except on the workers of a
    multi-worker cluster other than worker 0 (TF's convention when there is no ``chief`` task)."""
    resolver = getattr(strategy, "cluster_resolver", None)
    task_type = getattr(resolver, "task_type", None)
    return task_type in (None, "chief") or (task_type == "worker" and resolver.task_id == 0)


# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------

def load_data(config: TrainConfig):
    """Fashion-MNIST as uint8 arrays; ``subset`` keeps that many training images and a quarter as
    many (at least 200) validation and test images, for smoke runs."""
    from optreg.data import load_fashion_mnist

    data = load_fashion_mnist(config.data_dir, validation_size=config.validation_size,
                              seed=config.seed)
    if config.subset is None:
        return data
    n_eval = max(200, config.subset // 4)
    return data._replace(
        x_train=data.x_train[: config.subset], y_train=data.y_train[: config.subset],
        x_valid=data.x_valid[:n_eval], y_valid=data.y_valid[:n_eval],
        x_test=data.x_test[:n_eval], y_test=data.y_test[:n_eval],
    )


def _scale(x, y):
    import tensorflow as tf

    return tf.cast(x, tf.float32) / 255.0, tf.cast(y, tf.int32)


def training_dataset(x, y, batch_size: int, seed: int, first_epoch: int, epochs: int):
    """Batches of epochs ``first_epoch .. epochs-1``: scaled once and cached, then for each epoch
    a permutation that depends only on ``(seed, epoch)``, whole-batch gathers, and prefetching."""
    import tensorflow as tf

    cached = tf.data.Dataset.from_tensors((x, y)).map(_scale).cache()
    n = len(x)

    def epoch_indices(epoch):
        order = tf.random.experimental.stateless_shuffle(
            tf.range(n, dtype=tf.int64), seed=tf.stack([tf.constant(seed, tf.int64), epoch])
        )
        return tf.data.Dataset.from_tensor_slices(order).batch(batch_size)

    def batches(images, labels):
        indices = tf.data.Dataset.range(first_epoch, epochs).flat_map(epoch_indices)
        return indices.map(lambda i: (tf.gather(images, i), tf.gather(labels, i)))

    return _with_options(cached.flat_map(batches).prefetch(tf.data.AUTOTUNE))


def evaluation_dataset(x, y, batch_size: int):
    import tensorflow as tf

    ds = tf.data.Dataset.from_tensor_slices((x, y)).batch(batch_size).map(_scale).cache()
    return _with_options(ds.prefetch(tf.data.AUTOTUNE))


def _with_options(ds):
    import tensorflow as tf

    options = tf.data.Options()
    # in-memory data: shard by batch across workers (there are no files to shard)
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    return ds.with_options(options)


# --------------------------------------------------------------------------------------------
# Model, optimizer, schedule
# --------------------------------------------------------------------------------------------

def make_schedule(config: TrainConfig, steps_per_epoch: int):
    """The learning rate of ``config.schedule`` over ``epochs * steps_per_epoch`` steps.

    ``exponential`` divides the rate by 10 over the run, ``piecewise`` by 10 at 50% and again at
    75%, ``power`` decays as ``1/(1 + t/s)`` with ``s`` a tenth of the run, ``cosine`` anneals
    to 0, and ``onecycle`` (Smith's 1cycle) rises to ``learning_rate`` as its maximum, falls
    back, and anneals in the last steps.
    """
    from optreg.keras import schedules

    lr, total = config.learning_rate, config.epochs * steps_per_epoch
    if config.schedule == "constant":
        return lr
    if config.schedule == "exponential":
        return schedules.ExponentialDecay(lr, decay_steps=total, decay_rate=0.1)
    if config.schedule == "piecewise":
        return schedules.PiecewiseConstantDecay(
            boundaries=[total // 2, (3 * total) // 4], values=[lr, lr / 10, lr / 100]
        )
    if config.schedule == "power":
        return schedules.PowerDecay(lr, decay_steps=max(1, total // 10))
    if config.schedule == "cosine":
        return schedules.CosineDecay(lr, decay_steps=total)
    return schedules.OneCycle(total_steps=total, max_learning_rate=lr)


def find_learning_rate(model, config: TrainConfig, x, y, steps_per_epoch: int) -> dict:
    """The learning-rate range test (``optreg.keras.callbacks.LearningRateFinder``) on the
    compiled ``model``, which it leaves as it found it; returns the curve and the suggestion."""
    from optreg.keras.callbacks import LearningRateFinder

    finder = LearningRateFinder(min_lr=1e-5, max_lr=10.0,
                                num_steps=min(200, 10 * steps_per_epoch))
    lrs, losses, suggestion = finder.find(model, x.astype("float32") / 255.0, y,
                                          batch_size=config.batch_size, shuffle=True)
    return {"lrs": [float(v) for v in lrs], "losses": [float(v) for v in losses],
            "suggestion": float(suggestion)}


def _compiled_model(config: TrainConfig, steps_per_epoch: int, data, state: dict[str, Any]):
    """A new model; with ``find_lr``, its learning rate comes from the range test."""
    import keras

    keras.utils.set_random_seed(config.seed)
    model = build_model(config)
    compile_args = dict(loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    if config.find_lr:
        probe = config.replace(schedule="constant")
        model.compile(optimizer=make_optimizer_for(probe, steps_per_epoch), **compile_args)
        state["lr_finder"] = find_learning_rate(model, config, data.x_train, data.y_train,
                                                steps_per_epoch)
        config = config.replace(learning_rate=state["lr_finder"]["suggestion"])
    model.compile(optimizer=make_optimizer_for(config, steps_per_epoch), **compile_args)
    return model


def make_optimizer_for(config: TrainConfig, steps_per_epoch: int):
    from optreg.keras.models import make_optimizer

    kwargs: dict[str, Any] = {}
    if config.momentum is not None:
        if config.optimizer not in ("sgd", "momentum", "nesterov", "rmsprop"):
            raise ValueError(f"momentum applies to sgd, momentum, nesterov and rmsprop, "
                             f"not to optimizer={config.optimizer!r}")
        kwargs["momentum"] = config.momentum
    if config.weight_decay is not None:
        kwargs["weight_decay"] = config.weight_decay
    optimizer = make_optimizer(config.optimizer, make_schedule(config, steps_per_epoch),
                               implementation=config.implementation, **kwargs)
    if config.mixed_precision:
        import keras

        # Wrap explicitly rather than let compile() do it: the checkpoint then records the
        # loss-scale wrapper, and a resumed run restores its variables (and the inner
        # optimizer's moments) instead of skipping them for a count mismatch.
        optimizer = keras.optimizers.LossScaleOptimizer(optimizer)
    return optimizer


def build_model(config: TrainConfig):
    """The model of ``config``, with random flips/shifts in front of it when ``augment``."""
    import keras

    from optreg.keras.models import build_cnn, build_mlp

    common = dict(normalization=config.norm, dropout=config.dropout, l1=config.l1, l2=config.l2,
                  max_norm=config.max_norm, seed=config.seed)
    if config.model == "mlp":
        model = build_mlp(hidden_units=config.hidden_units, **common)
    else:
        model = build_cnn(**common)
    if not config.augment:
        return model
    inputs = keras.Input(shape=(28, 28))
    x = keras.layers.Reshape((28, 28, 1))(inputs)
    x = keras.layers.RandomFlip("horizontal", seed=config.seed)(x)
    x = keras.layers.RandomTranslation(0.1, 0.1, fill_mode="constant", seed=config.seed)(x)
    x = keras.layers.Reshape((28, 28))(x)
    return keras.Model(inputs, model(x), name=f"augmented_{model.name}")


# --------------------------------------------------------------------------------------------
# Bookkeeping: metrics.json, checkpoints, callbacks
# --------------------------------------------------------------------------------------------

def _write_json(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=1))
    tmp.replace(path)  # atomic: a kill never leaves half a metrics file


def read_metrics(out: str | os.PathLike) -> dict[str, Any] | None:
    path = Path(out) / METRICS_FILE
    return json.loads(path.read_text()) if path.exists() else None


def time_to_target(history: list[dict[str, Any]], target: float) -> float | None:
    """Cumulative training seconds when validation accuracy first reached ``target``."""
    for record in history:
        if record.get("val_accuracy", -1.0) >= target:
            return record["time"]
    return None


def _make_callbacks(config: TrainConfig, write_dir: Path, state: dict[str, Any]):
    """``write_dir``: the output folder on the chief, a private temporary one on other workers
    (every worker saves, as TF advises for multi-worker training, but only the chief's copy
    is kept)."""
    import keras

    class EpochRecorder(keras.callbacks.Callback):
        """Per epoch: metrics, wall time and learning rate into ``state``; then checkpoint
        (new file first, then metrics.json pointing at it, then delete the old one, so a kill
        at any point leaves a consistent pair)."""

        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.start
            history = state["history"]
            record = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
            record["learning_rate"] = float(keras.ops.convert_to_numpy(
                self.model.optimizer.learning_rate))
            record["epoch_time"] = seconds
            record["time"] = (history[-1]["time"] if history else 0.0) + seconds
            history.append(record)
            if config.early_stopping and _patience_exhausted(history, config.early_stopping):
                self.model.stop_training = True
                state["stopped_early"] = True
            self._checkpoint(epoch + 1)

        def _checkpoint(self, epochs_done):
            previous = state.get("checkpoint")
            name = f"checkpoint-epoch{epochs_done:03d}.keras"
            start = time.perf_counter()
            self.model.save(write_dir / name)
            state["history"][-1]["checkpoint_time"] = time.perf_counter() - start
            state["rng_states"] = [keras.ops.convert_to_numpy(v).tolist()
                                   for v in _rng_variables(self.model)]
            state["checkpoint"] = name
            state["epochs_completed"] = epochs_done
            _write_json(write_dir / METRICS_FILE, state)
            if previous and previous != name:
                (write_dir / previous).unlink(missing_ok=True)

    return [EpochRecorder()]


def _rng_variables(model) -> list:
    """The states of the model's random generators (dropout, augmentation). Keras' ``.keras``
    files do not store them (neither for its own Dropout), so a resumed run would draw other
    dropout masks than an uninterrupted one; we keep them in metrics.json instead."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def _patience_exhausted(history: list[dict[str, Any]], patience: int) -> bool:
    """Early stopping from the whole history (so it survives a resume): no new best
    validation loss in the last ``patience`` epochs."""
    losses = [r["val_loss"] for r in history]
    best = min(range(len(losses)), key=losses.__getitem__)
    return len(losses) - 1 - best >= patience


def _initial_state(config: TrainConfig, out: Path, fresh: bool = False) -> dict[str, Any]:
    previous = None if fresh else read_metrics(out)
    if previous is None:
        return {"config": config.to_dict(), "history": [], "epochs_completed": 0,
                "checkpoint": None, "completed": False}
    old = TrainConfig.from_dict(previous["config"])
    if old.training_fields() != config.training_fields():
        changed = sorted(k for k, v in config.training_fields().items()
                         if old.training_fields().get(k) != v)
        raise ValueError(
            f"{out} holds a run with a different configuration (differs in {changed}); "
            "use another --out, or --fresh to start over"
        )
    previous["config"] = config.to_dict()  # epochs may have grown
    return previous


# --------------------------------------------------------------------------------------------
# The run
# --------------------------------------------------------------------------------------------

def _num_workers(strategy) -> int:
    return getattr(strategy.extended, "_num_workers", 1)


def _work_around_keras_multiworker(model, strategy) -> None:
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

    keras_build, train_step, test_step = (model._maybe_symbolic_build, model.train_step,
                                          model.test_step)

    def build_from_one_replica(iterator=None, data_batch=None):
        if iterator is not None and data_batch is None:
            for _, _, batches in iterator:  # Keras resets the iterator after this
                data_batch = tf.nest.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0], next(batches))
                break
        return keras_build(data_batch=data_batch)

    def as_vectors(logs):
        return tf.nest.map_structure(lambda v: tf.reshape(v, [-1]), logs)

    model._maybe_symbolic_build = build_from_one_replica
    model.train_step = lambda data: as_vectors(train_step(data))
    model.test_step = lambda data: as_vectors(test_step(data))


def _check_workers_agree(strategy, epochs_done: int) -> None:
    """All workers must resume from the same epoch, or their all-reduces would not pair up and
    training would hang. They do when the output folder is on a file system that every node
    shares, since all of them read the chief's ``metrics.json`` and checkpoint."""
    import tensorflow as tf

    if _num_workers(strategy) < 2:
        return
    local = strategy.experimental_distribute_values_from_function(
        lambda context: tf.constant([epochs_done]))
    everyone = sorted(set(strategy.gather(local, axis=0).numpy().tolist()))
    if len(everyone) > 1:
        raise ValueError(f"the workers found different numbers of completed epochs {everyone} "
                           "in the output folder: it must be on a file system shared by all "
                           "nodes")


def train(config: TrainConfig, out: str | os.PathLike, verbose: int | None = None,
          fresh: bool = False) -> dict[str, Any]:
    """Train ``config`` into ``out`` (resuming what is there) and return the metrics record.

    ``verbose``: Keras' 0 (silent), 1 (progress bar), 2 (one line per epoch); by default a
    progress bar on a terminal and one line per epoch otherwise.

    With several workers (``MultiWorkerMirroredStrategy``), every worker reads ``out`` (to
    resume from the chief's checkpoint), but only the chief writes there; the others write
    their copies into a temporary folder that is deleted at the end.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _configure_devices(config)
    strategy = make_strategy(config)  # first: multi-worker set-up precedes any other TF work
    chief = _is_chief(strategy)
    out = Path(out)
    if chief:
        out.mkdir(parents=True, exist_ok=True)
        if fresh:
            for stale in [*out.glob("checkpoint-epoch*.keras"), out / METRICS_FILE,
                          out / MODEL_FILE]:
                stale.unlink(missing_ok=True)
    state = _initial_state(config, out, fresh)
    _check_workers_agree(strategy, state["epochs_completed"])
    if state["completed"] and (state["epochs_completed"] >= config.epochs
                               or state.get("stopped_early")):
        return state
    write_dir = out if chief else Path(tempfile.mkdtemp(prefix="optreg-worker-"))
    try:
        # one progress report per run, not one per worker (srun merges their outputs)
        return _fit(config, out, write_dir, state, strategy, verbose if chief else 0)
    finally:
        if write_dir != out:
            shutil.rmtree(write_dir, ignore_errors=True)


def _fit(config: TrainConfig, out: Path, write_dir: Path, state: dict[str, Any], strategy,
         verbose: int | None) -> dict[str, Any]:
    import keras

    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    done = state["epochs_completed"]
    data = load_data(config)
    steps_per_epoch = math.ceil(len(data.x_train) / config.batch_size)
    policy = keras.mixed_precision.global_policy()
    if config.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        with strategy.scope():
            if state["checkpoint"]:
                register_components()
                model = keras.models.load_model(out / state["checkpoint"])
                for variable, value in zip(_rng_variables(model), state.get("rng_states", []),
                                           strict=False):
                    variable.assign(value)
            else:
                model = _compiled_model(config, steps_per_epoch, data, state)
    finally:
        keras.mixed_precision.set_global_policy(policy)
    if _num_workers(strategy) > 1:
        _work_around_keras_multiworker(model, strategy)
    state.update(replicas=strategy.num_replicas_in_sync, parameters=model.count_params(),
                 completed=False)
    train_ds = training_dataset(data.x_train, data.y_train, config.batch_size, config.seed,
                                done, config.epochs)
    valid_ds = evaluation_dataset(data.x_valid, data.y_valid, 1024)
    if verbose:
        print(f"{out.name}: {model.count_params():,} parameters, {strategy.num_replicas_in_sync} "
              f"replica(s), epochs {done + 1}..{config.epochs}", flush=True)
    if done < config.epochs and not state.get("stopped_early"):
        model.fit(train_ds, epochs=config.epochs, initial_epoch=done,
                  steps_per_epoch=steps_per_epoch, validation_data=valid_ds,
                  callbacks=_make_callbacks(config, write_dir, state), verbose=verbose,
                  shuffle=False)  # the dataset is shuffled per epoch already
    test_loss, test_accuracy = model.evaluate(
        evaluation_dataset(data.x_test, data.y_test, 1024), verbose=0
    )
    state.update(test_loss=float(test_loss), test_accuracy=float(test_accuracy),
                 time_to_target=time_to_target(state["history"], config.target_accuracy),
                 target_accuracy=config.target_accuracy, completed=True)
    model.save(write_dir / MODEL_FILE)
    old_checkpoint, state["checkpoint"] = state["checkpoint"], MODEL_FILE
    _write_json(write_dir / METRICS_FILE, state)
    if old_checkpoint and old_checkpoint != MODEL_FILE:
        (write_dir / old_checkpoint).unlink(missing_ok=True)
    if verbose:
        last = state["history"][-1] if state["history"] else {}
        print(f"{out.name}: test accuracy {test_accuracy:.4f}, val accuracy "
              f"{last.get('val_accuracy', float('nan')):.4f}, "
              f"{last.get('time', 0.0):.1f} s of training", flush=True)
    return state
