"""One epoch of a 784-300-100-10 ReLU MLP: ``optreg.nn.fit`` against Keras' ``Model.fit``.

Both models start from the same weights, use the same optimizer (SGD or Adam, same arguments),
batch size 32, shuffled minibatches, 60,000 samples (Fashion-MNIST when it is found, else
random data of the same shape), in this one process. Keras' first epoch (which traces the
training step) is run and reported apart; then the two take turns, one epoch each, ``--rounds``
times, so that both see the same machine load, and the ratio of the median epoch times is the
figure to quote (goal: optreg within 1.5x of Keras).

NumPy's BLAS (OpenBLAS) threads: for 32-row matrices one thread is about as fast as several on
an idle machine and many times faster on a busy one (OpenBLAS' worker threads spin and fight
for the cores), so the default is ``--blas-threads 1``; TensorFlow keeps its own thread pools.

    python bench/bench_mlp.py [--optimizer sgd|adam] [--rounds 3] [--blas-threads 1] [--random]
"""

from __future__ import annotations

import argparse
import os
import sys
import time


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--optimizer", choices=["sgd", "adam"], default="sgd")
    parser.add_argument("--rounds", type=int, default=3, help="timed epochs per library")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--blas-threads", type=int, default=1, help="0: OpenBLAS' default")
    parser.add_argument("--random", action="store_true", help="random data, not Fashion-MNIST")
    return parser.parse_args()


ARGS = parse_args()
# must be set before NumPy loads OpenBLAS
if ARGS.blas_threads > 0:
    for variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[variable] = str(ARGS.blas_threads)
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402

from optreg import nn  # noqa: E402
from optreg import optimizers as np_optimizers  # noqa: E402


def load_data(use_random: bool) -> tuple[np.ndarray, np.ndarray, str]:
    if not use_random:
        from optreg.data import find_fashion_mnist, load_fashion_mnist

        if find_fashion_mnist() is not None:
            data = load_fashion_mnist(validation_size=0, dtype="float32", download=False)
            return data.x_train.reshape(-1, 784), data.y_train.astype(np.int64), "Fashion-MNIST"
    rng = np.random.default_rng(0)
    x = rng.random((60000, 784), dtype=np.float32)
    y = rng.integers(0, 10, size=60000)
    return x, y, "random data shaped like Fashion-MNIST"


def numpy_model() -> nn.Sequential:
    model = nn.Sequential(
        [
            nn.Dense(300, activation="relu", seed=1),
            nn.Dense(100, activation="relu", seed=2),
            nn.Dense(10, seed=3),
        ]
    )
    model.build((None, 784))
    return model


def keras_model(weights: list[np.ndarray]):
    import keras

    model = keras.Sequential(
        [
            keras.Input((784,)),
            keras.layers.Dense(300, activation="relu"),
            keras.layers.Dense(100, activation="relu"),
            keras.layers.Dense(10),
        ]
    )
    model.set_weights(weights)
    return model


def make_optimizers(name: str):
    import keras

    if name == "sgd":
        return np_optimizers.SGD(learning_rate=0.01), keras.optimizers.SGD(learning_rate=0.01)
    return np_optimizers.Adam(learning_rate=1e-3), keras.optimizers.Adam(learning_rate=1e-3)


def main() -> None:
    import keras

    x, y, source = load_data(ARGS.random)
    model = numpy_model()
    twin = keras_model(model.get_weights())
    np_opt, keras_opt = make_optimizers(ARGS.optimizer)
    twin.compile(
        optimizer=keras_opt,
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    blas = ARGS.blas_threads or "default"
    print(f"data: {source}, {len(x)} samples, batch {ARGS.batch_size}, {ARGS.optimizer}")
    print(
        f"numpy {np.__version__} (BLAS threads: {blas}), keras {keras.__version__} "
        f"({keras.backend.backend()}), {os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}"
    )

    def keras_epoch() -> tuple[float, float]:
        start = time.perf_counter()
        history = twin.fit(x, y, batch_size=ARGS.batch_size, epochs=1, shuffle=True, verbose=0)
        return time.perf_counter() - start, history.history["loss"][0]

    def optreg_epoch(seed: int) -> tuple[float, float]:
        start = time.perf_counter()
        history = nn.fit(
            model,
            x,
            y,
            np_opt,
            nn.SoftmaxCrossEntropy(),
            epochs=1,
            batch_size=ARGS.batch_size,
            shuffle=True,
            seed=seed,
        )
        return time.perf_counter() - start, history["loss"][0]

    first, first_loss = keras_epoch()
    print(f"keras first epoch (with tracing): {first:.2f} s, loss {first_loss:.4f}")
    optreg_times, keras_times = [], []
    print(
        f"{'round':>5} {'optreg s':>9} {'keras s':>9} {'ratio':>6} {'optreg loss':>12} "
        f"{'keras loss':>11}"
    )
    for r in range(ARGS.rounds):
        t_np, loss_np = optreg_epoch(seed=r)
        t_k, loss_k = keras_epoch()
        optreg_times.append(t_np)
        keras_times.append(t_k)
        print(
            f"{r + 1:>5} {t_np:>9.2f} {t_k:>9.2f} {t_np / t_k:>6.2f} {loss_np:>12.4f} "
            f"{loss_k:>11.4f}"
        )
    ratio = float(np.median(optreg_times) / np.median(keras_times))
    verdict = "within" if ratio <= 1.5 else "NOT within"
    print(
        f"median epoch: optreg {np.median(optreg_times):.2f} s, keras "
        f"{np.median(keras_times):.2f} s, optreg/keras = {ratio:.2f} ({verdict} the 1.5x goal)"
    )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
