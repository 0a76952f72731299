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

Devices: all GPUs of a node through ``tf.distribute.MirroredStrategy``; several SLURM nodes
through ``MultiWorkerMirroredStrategy`` with ``SlurmClusterResolver``. ``batch_size`` is the
global batch, split among the replicas.
"""

from __future__ import annotations

import json
import math
import os
import sys
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

def choose_strategy(requested: str, n_gpus: int, n_cpu_devices: int,
                    env: Mapping[str, str] | None = None) -> str:
    """Which distribution strategy ``"auto"`` means here: ``multiworker`` when SLURM says several
    nodes and tasks, ``mirrored`` with several GPUs (or several logical CPUs), else ``none``."""
    if requested != "auto":
        return requested
    env = os.environ if env is None else env
    nodes = int(env.get("SLURM_JOB_NUM_NODES") or env.get("SLURM_NNODES") or 1)
    tasks = int(env.get("SLURM_NTASKS") or 1)
    if nodes > 1 and tasks > 1:
        return "multiworker"
    if n_gpus > 1 or n_cpu_devices > 1:
        return "mirrored"
    return "none"


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
    """The ``tf.distribute`` strategy for ``config.strategy`` on the devices of this node."""
    import tensorflow as tf

    gpus = tf.config.list_logical_devices("GPU")
    cpus = tf.config.list_logical_devices("CPU")
    name = choose_strategy(config.strategy, len(gpus), len(cpus))
    if name == "multiworker":
        resolver = tf.distribute.cluster_resolver.SlurmClusterResolver()
        return tf.distribute.MultiWorkerMirroredStrategy(cluster_resolver=resolver)
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
    resolver = getattr(strategy, "cluster_resolver", None)
    return resolver is None or not resolver.cluster_spec().as_dict() or resolver.task_id == 0


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
    return make_optimizer(config.optimizer, make_schedule(config, steps_per_epoch),
                          implementation=config.implementation, **kwargs)


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


def _make_callbacks(config: TrainConfig, out: Path, state: dict[str, Any], chief: bool):
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
            if chief:
                self._checkpoint(epoch + 1)

        def _checkpoint(self, epochs_done):
            previous = state.get("checkpoint")
            name = f"checkpoint-epoch{epochs_done:03d}.keras"
            start = time.perf_counter()
            self.model.save(out / name)
            state["history"][-1]["checkpoint_time"] = time.perf_counter() - start
            state["rng_states"] = [keras.ops.convert_to_numpy(v).tolist()
                                   for v in _rng_variables(self.model)]
            state["checkpoint"] = name
            state["epochs_completed"] = epochs_done
            _write_json(out / METRICS_FILE, state)
            if previous and previous != name:
                (out / previous).unlink(missing_ok=True)

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


def _initial_state(config: TrainConfig, out: Path) -> dict[str, Any]:
    previous = read_metrics(out)
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

def train(config: TrainConfig, out: str | os.PathLike, verbose: int | None = None,
          fresh: bool = False) -> dict[str, Any]:
    """Train ``config`` into ``out`` (resuming what is there) and return the metrics record.

    ``verbose``: Keras' 0 (silent), 1 (progress bar), 2 (one line per epoch); by default a
    progress bar on a terminal and one line per epoch otherwise.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    _configure_devices(config)
    import keras

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if fresh:
        for stale in [*out.glob("checkpoint-epoch*.keras"), out / METRICS_FILE, out / MODEL_FILE]:
            stale.unlink(missing_ok=True)
    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    state = _initial_state(config, out)
    done = state["epochs_completed"]
    if state["completed"] and (done >= config.epochs or state.get("stopped_early")):
        return state

    strategy = make_strategy(config)
    chief = _is_chief(strategy)
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
                  callbacks=_make_callbacks(config, out, state, chief), verbose=verbose,
                  shuffle=False)  # the dataset is shuffled per epoch already
    test_loss, test_accuracy = model.evaluate(
        evaluation_dataset(data.x_test, data.y_test, 1024), verbose=0
    )
    state.update(test_loss=float(test_loss), test_accuracy=float(test_accuracy),
                 time_to_target=time_to_target(state["history"], config.target_accuracy),
                 target_accuracy=config.target_accuracy, completed=True)
    if chief:
        model.save(out / MODEL_FILE)
        old_checkpoint, state["checkpoint"] = state["checkpoint"], MODEL_FILE
        _write_json(out / METRICS_FILE, state)
        if old_checkpoint and old_checkpoint != MODEL_FILE:
            (out / old_checkpoint).unlink(missing_ok=True)
    if verbose:
        last = state["history"][-1] if state["history"] else {}
        print(f"{out.name}: test accuracy {test_accuracy:.4f}, val accuracy "
              f"{last.get('val_accuracy', float('nan')):.4f}, "
              f"{last.get('time', 0.0):.1f} s of training", flush=True)
    return state
