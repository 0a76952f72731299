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

The pieces live in a module each: :mod:`~optreg.lab.distribute` (strategies, SLURM),
:mod:`~optreg.lab.data` (the pipelines), :mod:`~optreg.lab.model` (network, optimizer,
schedule), :mod:`~optreg.lab.state` (:class:`RunState`, ``metrics.json``) and
:mod:`~optreg.lab.resume` (checkpoints, preemption); this module runs them in order and keeps
their names importable from ``optreg.lab.train``.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from optreg.lab.config import TrainConfig
from optreg.lab.data import evaluation_dataset, load_data, training_dataset
from optreg.lab.distribute import (
    PORT_RANGE_SIZE,
    PORT_RANGE_START,
    check_workers_agree,
    choose_strategy,
    configure_devices,
    is_chief,
    make_strategy,
    num_workers,
    slurm_cluster_resolver,
    slurm_resolver_arguments,
    visible_gpu_count,
    work_around_keras_multiworker,
)
from optreg.lab.model import (
    build_model,
    compiled_model,
    find_learning_rate,
    make_optimizer_for,
    make_schedule,
    register_components,
)
from optreg.lab.resume import (
    EXIT_PREEMPTED,
    Preempted,
    PreemptionSignals,
    epoch_recorder,
    remove_outputs,
    replace_checkpoint,
    restore_rng,
    start_state,
)
from optreg.lab.state import METRICS_FILE, MODEL_FILE, RunState, read_metrics, time_to_target

__all__ = [
    "EXIT_PREEMPTED",
    "METRICS_FILE",
    "MODEL_FILE",
    "PORT_RANGE_SIZE",
    "PORT_RANGE_START",
    "Preempted",
    "RunState",
    "build_model",
    "choose_strategy",
    "evaluation_dataset",
    "find_learning_rate",
    "load_data",
    "make_optimizer_for",
    "make_schedule",
    "make_strategy",
    "read_metrics",
    "register_components",
    "slurm_cluster_resolver",
    "slurm_resolver_arguments",
    "time_to_target",
    "train",
    "training_dataset",
    "visible_gpu_count",
]


def train(
    config: TrainConfig, out: str | os.PathLike, verbose: int | None = None, fresh: bool = False
) -> dict[str, Any]:
    """Train ``config`` into ``out`` (resuming what is there) and return the metrics record
    (what ``metrics.json`` holds).

    ``verbose``: Keras' 0 (silent), 1 (progress bar), 2 (one line per epoch); by default a
    progress bar on a terminal and one line per epoch otherwise.

    With several workers (``MultiWorkerMirroredStrategy``), every worker reads ``out`` (to
    resume from the chief's checkpoint), but only the chief writes there; the others write
    their copies into a temporary folder that is deleted at the end.

    Raises :class:`~optreg.lab.resume.Preempted` when a signal stopped it after a checkpoint.
    """
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    out = Path(out)
    with PreemptionSignals() as signals:  # from the start: a signal may come at any time
        configure_devices(config)
        strategy = make_strategy(config)  # first: multi-worker set-up precedes other TF work
        if num_workers(strategy) > 1:
            signals.release()  # workers could not agree on where to stop: the default action
            if signals.received:
                raise Preempted(out, signals.received, 0)
        chief = is_chief(strategy)
        if chief:
            out.mkdir(parents=True, exist_ok=True)
            if fresh:
                remove_outputs(out)
        state = start_state(config, out, fresh)
        check_workers_agree(strategy, state.epochs_completed)
        if state.done:
            return state.to_dict()
        write_dir = out if chief else Path(tempfile.mkdtemp(prefix="optreg-worker-"))
        try:
            # one progress report per run, not one per worker (srun merges their outputs)
            _fit(config, out, write_dir, state, strategy, verbose if chief else 0, signals)
        finally:
            if write_dir != out:
                shutil.rmtree(write_dir, ignore_errors=True)
    return state.to_dict()


def _fit(
    config: TrainConfig,
    out: Path,
    write_dir: Path,
    state: RunState,
    strategy,
    verbose: int | None,
    signals: PreemptionSignals,
) -> None:
    import keras

    if verbose is None:
        verbose = 1 if sys.stdout.isatty() else 2
    done = state.epochs_completed
    data = load_data(config)
    steps_per_epoch = math.ceil(len(data.x_train) / config.batch_size)
    policy = keras.mixed_precision.global_policy()
    if config.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        with strategy.scope():
            if state.checkpoint:
                register_components()
                model = keras.models.load_model(out / state.checkpoint)
                restore_rng(model, state)
            else:
                model, finder = compiled_model(config, steps_per_epoch, data)
                state.lr_finder = finder
    finally:
        keras.mixed_precision.set_global_policy(policy)
    if num_workers(strategy) > 1:
        work_around_keras_multiworker(model, strategy)
    state.replicas = strategy.num_replicas_in_sync
    state.parameters = model.count_params()
    state.completed = False
    train_ds = training_dataset(
        data.x_train, data.y_train, config.batch_size, config.seed, done, config.epochs
    )
    valid_ds = evaluation_dataset(data.x_valid, data.y_valid, 1024)
    if verbose:
        print(
            f"{out.name}: {model.count_params():,} parameters, {strategy.num_replicas_in_sync} "
            f"replica(s), epochs {done + 1}..{config.epochs}",
            flush=True,
        )
    if done < config.epochs and not state.stopped_early:
        model.fit(
            train_ds,
            epochs=config.epochs,
            initial_epoch=done,
            steps_per_epoch=steps_per_epoch,
            validation_data=valid_ds,
            callbacks=[epoch_recorder(config, write_dir, state, signals)],
            verbose=verbose,
            shuffle=False,
        )  # the dataset is shuffled per epoch already
    if state.epochs_completed < config.epochs and not state.stopped_early:
        raise Preempted(out, signals.received or "a signal", state.epochs_completed)
    test_loss, test_accuracy = model.evaluate(
        evaluation_dataset(data.x_test, data.y_test, 1024), verbose=0
    )
    state.test_loss, state.test_accuracy = float(test_loss), float(test_accuracy)
    state.time_to_target = time_to_target(state.history, config.target_accuracy)
    state.target_accuracy = config.target_accuracy
    state.completed = True
    model.save(write_dir / MODEL_FILE)
    replace_checkpoint(write_dir, state, MODEL_FILE)
    if verbose:
        last = state.history[-1] if state.history else {}
        print(
            f"{out.name}: test accuracy {test_accuracy:.4f}, val accuracy "
            f"{last.get('val_accuracy', float('nan')):.4f}, "
            f"{last.get('time', 0.0):.1f} s of training",
            flush=True,
        )
