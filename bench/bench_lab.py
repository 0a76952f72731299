"""Epoch time of ``optreg lab train``'s training path against a plain ``model.fit`` on
in-memory arrays: same MLP (784-300-100-10), same optimizer (Adam), same batch size, same
validation set, measured side by side in one process, runs alternated to share the machine's
load fairly. Target: the lab path within 5% of plain ``fit``.

Also reported: the time of the per-epoch checkpoint (weights and optimizer state), which the lab
path adds so that killed runs can resume; and the wall time of the whole ``--local --smoke``
sweep of both labs, as the command line runs it (target: under 5 minutes on a 2-core CPU).

    python bench/bench_lab.py [--epochs 4] [--repeats 2] [--subset N] [--no-sweeps]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def plain_fit_epoch_times(data, config, epochs: int) -> list[float]:
    import keras

    from optreg.keras.models import build_mlp
    from optreg.lab.train import make_optimizer_for

    class Timer(keras.callbacks.Callback):
        def on_epoch_begin(self, epoch, logs=None):
            self.start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            times.append(time.perf_counter() - self.start)

    times: list[float] = []
    keras.utils.set_random_seed(config.seed)
    model = build_mlp(seed=config.seed)
    steps = -(-len(data.x_train) // config.batch_size)
    model.compile(
        optimizer=make_optimizer_for(config, steps),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    x_train = data.x_train.astype("float32") / 255.0
    x_valid = data.x_valid.astype("float32") / 255.0
    model.fit(
        x_train,
        data.y_train,
        batch_size=config.batch_size,
        epochs=epochs,
        shuffle=True,
        validation_batch_size=1024,  # as the lab path
        validation_data=(x_valid, data.y_valid),
        callbacks=[Timer()],
        verbose=0,
    )
    keras.backend.clear_session()
    return times


def lab_epoch_times(config, epochs: int) -> tuple[list[float], list[float]]:
    import keras

    from optreg.lab.train import train

    with tempfile.TemporaryDirectory() as out:
        state = train(config.replace(epochs=epochs), out, verbose=0)
    keras.backend.clear_session()
    history = state["history"]
    return [h["epoch_time"] for h in history], [h["checkpoint_time"] for h in history]


SWEEPS = Path(__file__).resolve().parents[1] / "book" / "labs" / "sweeps"


def smoke_sweep_seconds() -> dict[str, float]:
    """Wall time of ``optreg lab sweep SWEEP --local --smoke`` for each lab, in a subprocess
    (TensorFlow's import included, as a student would see it)."""
    seconds = {}
    with tempfile.TemporaryDirectory() as results:
        for sweep in sorted(SWEEPS.glob("*.yaml")):
            start = time.perf_counter()
            subprocess.run(
                [
                    sys.executable,
                    "-c",
                    "import sys; from optreg.cli import main; sys.exit(main())",
                    "lab",
                    "sweep",
                    str(sweep),
                    "--local",
                    "--smoke",
                    "--quiet",
                    "--results",
                    results,
                ],
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            seconds[sweep.stem] = time.perf_counter() - start
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--subset", type=int, default=None)
    parser.add_argument("--no-sweeps", action="store_true", help="skip the smoke-sweep timing")
    args = parser.parse_args()

    from optreg.lab.config import TrainConfig
    from optreg.lab.train import load_data

    config = TrainConfig(optimizer="adam", batch_size=args.batch_size, subset=args.subset, seed=0)
    data = load_data(config)
    plain, lab, checkpoint = [], [], []
    for repeat in range(args.repeats):
        # the first epoch of each run traces the graph: compare the following epochs
        plain += plain_fit_epoch_times(data, config, args.epochs)[1:]
        epochs, saves = lab_epoch_times(config, args.epochs)
        lab += epochs[1:]
        checkpoint += saves[1:]
        print(
            f"repeat {repeat + 1}: plain fit {statistics.median(plain):.3f} s/epoch, "
            f"lab path {statistics.median(lab):.3f} s/epoch",
            flush=True,
        )
    p, q, c = (statistics.median(v) for v in (plain, lab, checkpoint))
    print(
        f"\n{len(data.x_train)} training images, batch {config.batch_size}, "
        f"{len(plain)} epochs measured per path (median)"
    )
    print(f"plain model.fit on arrays      : {p:.3f} s/epoch")
    print(
        f"optreg lab train (tf.data path): {q:.3f} s/epoch   ratio {q / p:.3f} "
        f"({'within' if q / p <= 1.05 else 'OUTSIDE'} the 5% target)"
    )
    print(f"  + checkpoint every epoch     : {c:.3f} s ({c / p:.1%} of an epoch)")
    if args.no_sweeps:
        return
    seconds = smoke_sweep_seconds()
    for name, value in seconds.items():
        print(f"smoke sweep {name:<36}: {value:6.1f} s")
    total = sum(seconds.values())
    print(
        f"smoke sweeps of both labs, total          : {total:6.1f} s "
        f"({'within' if total < 300 else 'OUTSIDE'} the 5-minute target)"
    )


if __name__ == "__main__":
    main()
