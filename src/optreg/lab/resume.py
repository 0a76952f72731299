"""Checkpoints and resuming: a run killed at any moment continues from its last completed epoch.

After every epoch the run saves ``checkpoint-epochNNN.keras`` (weights *and* optimizer state,
so schedules continue) and then ``metrics.json`` pointing at it, then deletes the previous
checkpoint: a kill at any point leaves a consistent pair. The data order of epoch ``e`` depends
only on ``(seed, e)``, and the states of the random generators are kept in ``metrics.json``,
so the resumed run continues exactly as an uninterrupted one would.

Preemption: on ``SIGTERM`` (``scancel``, ``scontrol requeue``, a preempting job) or ``SIGUSR1``
(``sbatch --signal=USR1@SECONDS`` before the time limit), training finishes the current epoch,
saves its checkpoint and stops; :class:`Preempted` then tells the caller (the command exits with
:data:`EXIT_PREEMPTED`, on which the job script requeues the task). A run of several workers
keeps the default action (they could not agree on where to stop): it resumes from the last
epoch checkpoint.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from optreg.lab.config import TrainConfig
from optreg.lab.state import METRICS_FILE, MODEL_FILE, Epoch, RunState, read_state, write_state

PREEMPTION_SIGNALS = (signal.SIGTERM, signal.SIGUSR1)
EXIT_PREEMPTED = 75  # EX_TEMPFAIL: try again later (the job script requeues the task)


class Preempted(Exception):
    """Training stopped on a signal after checkpointing; starting it again resumes it."""

    def __init__(self, out: Path, signal_name: str, epochs_completed: int):
        super().__init__(
            f"{out}: stopped by {signal_name} after epoch {epochs_completed} "
            "(checkpoint saved; run again to resume)"
        )
        self.signal_name = signal_name
        self.epochs_completed = epochs_completed


class PreemptionSignals:
    """While active, ``SIGTERM`` and ``SIGUSR1`` are recorded in :attr:`received` instead of
    ending the process (only in the main thread, where Python can install handlers)."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled and threading.current_thread() is threading.main_thread()
        self.received: str | None = None
        self._previous: dict[int, object] = {}

    def _record(self, signum, frame) -> None:
        self.received = signal.Signals(signum).name

    def __enter__(self) -> PreemptionSignals:
        if self.enabled:
            self._previous = {s: signal.signal(s, self._record) for s in PREEMPTION_SIGNALS}
        return self

    def __exit__(self, *exc) -> None:
        self.release()

    def release(self) -> None:
        """Back to the previous handlers (a signal then ends the process, as by default)."""
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)
        self._previous, self.enabled = {}, False


def start_state(config: TrainConfig, out: Path, fresh: bool = False) -> RunState:
    """The state in ``out`` to resume from, or a new one; a folder holding another
    configuration is an error (only ``epochs`` may grow)."""
    previous = None if fresh else read_state(out)
    if previous is None:
        return RunState(config=config.to_dict())
    old = TrainConfig.from_dict(previous.config)
    if old.training_fields() != config.training_fields():
        changed = sorted(
            k for k, v in config.training_fields().items() if old.training_fields().get(k) != v
        )
        raise ValueError(
            f"{out} holds a run with a different configuration (differs in {changed}); "
            "use another --out, or --fresh to start over"
        )
    previous.config = config.to_dict()  # epochs may have grown
    return previous


def remove_outputs(out: Path) -> None:
    """What ``--fresh`` discards."""
    for stale in [*out.glob("checkpoint-epoch*.keras"), out / METRICS_FILE, out / MODEL_FILE]:
        stale.unlink(missing_ok=True)


def rng_variables(model) -> list:
    """The states of the model's random generators (dropout, augmentation). Keras' ``.keras``
    files do not store them (neither for its own Dropout), so a resumed run would draw other
    dropout masks than an uninterrupted one; we keep them in metrics.json instead."""
    return [v for v in model.variables if v.path.endswith("seed_generator_state")]


def restore_rng(model, state: RunState) -> None:
    for variable, value in zip(rng_variables(model), state.rng_states, strict=False):
        variable.assign(value)


def patience_exhausted(history: list[Epoch], patience: int) -> bool:
    """Early stopping from the whole history (so it survives a resume): no new best
    validation loss in the last ``patience`` epochs."""
    losses = [r["val_loss"] for r in history]
    best = min(range(len(losses)), key=losses.__getitem__)
    return len(losses) - 1 - best >= patience


def replace_checkpoint(write_dir: Path, state: RunState, name: str) -> None:
    """Point ``metrics.json`` at the file ``name`` just saved, then delete the previous one."""
    previous, state.checkpoint = state.checkpoint, name
    write_state(write_dir, state)
    if previous and previous != name:
        (write_dir / previous).unlink(missing_ok=True)


def epoch_recorder(
    config: TrainConfig, write_dir: Path, state: RunState, signals: PreemptionSignals
):
    """The Keras callback that, after each epoch, records its metrics, wall time and learning
    rate in ``state``, decides early stopping and preemption, and checkpoints.

    ``write_dir``: the output folder on the chief, a private temporary one on other workers
    (every worker saves, as TF advises for multi-worker training, but only the chief's copy is
    kept)."""
    import keras

    class EpochRecorder(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            seconds = time.perf_counter() - self.start
            history = state.history
            record = {"epoch": epoch + 1, **{k: float(v) for k, v in (logs or {}).items()}}
            record["learning_rate"] = float(
                keras.ops.convert_to_numpy(self.model.optimizer.learning_rate)
            )
            record["epoch_time"] = seconds
            record["time"] = (history[-1]["time"] if history else 0.0) + seconds
            history.append(record)
            if config.early_stopping and patience_exhausted(history, config.early_stopping):
                self.model.stop_training = True
                state.stopped_early = True
            if signals.received and epoch + 1 < config.epochs and not state.stopped_early:
                self.model.stop_training = True
                state.preemptions.append(
                    {
                        "signal": signals.received,
                        "after_epoch": epoch + 1,
                        "job": os.environ.get("SLURM_JOB_ID"),
                    }
                )
            self._checkpoint(epoch + 1)

        def _checkpoint(self, epochs_done):
            name = f"checkpoint-epoch{epochs_done:03d}.keras"
            start = time.perf_counter()
            self.model.save(write_dir / name)
            state.history[-1]["checkpoint_time"] = time.perf_counter() - start
            state.rng_states = [
                keras.ops.convert_to_numpy(v).tolist() for v in rng_variables(self.model)
            ]
            state.epochs_completed = epochs_done
            replace_checkpoint(write_dir, state, name)

    return EpochRecorder()
