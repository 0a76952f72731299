"""NumPy optimizer step vs Keras' built-in ``apply`` on the same parameters, side by side.

    .venv/bin/python bench/bench_optimizers.py            # 10 tensors of 1M float32 = 10M params

For SGD with momentum and Adam, times one step of ``optreg.optimizers`` (in-place NumPy, with its
default threads and with ``workers = 1``) and of ``keras.optimizers`` (TensorFlow backend), both
eager ``apply`` and ``apply`` traced by ``tf.function`` (what ``model.fit`` runs), on identical
parameters and gradients. Each side is
warmed up, then timed over ``--steps`` steps; the many short rounds alternate between the sides
and each side's best round is kept, so that load from other processes affects both alike (the
load average is printed before and after). The goal is a ratio numpy / keras tf.function <= 1.15.

Then measures the NumPy side's memory with ``tracemalloc`` (NumPy reports its array buffers to
it): the peak of new allocations during K steps after the first, for two values of K. The update
rules' temporaries are chunk-sized, so the peak is a few chunks per thread (a chunk is
``Optimizer.chunk_size`` elements), independent of K and of the parameters' size.
"""

from __future__ import annotations

import argparse
import os
import time
import tracemalloc

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from optreg import optimizers as O  # noqa: E402

CASES = {
    "SGD momentum=0.9": ("SGD", {"learning_rate": 0.01, "momentum": 0.9}),
    "Adam": ("Adam", {"learning_rate": 0.001}),
}


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def time_steps(step, steps: int) -> float:
    """Milliseconds per step over ``steps`` steps."""
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return 1000 * (time.perf_counter() - start) / steps


def numpy_side(name, kwargs, init, grads, workers=None):
    optimizer, params = getattr(O, name)(**kwargs), [w.copy() for w in init]
    optimizer.workers = workers
    return lambda: optimizer.apply(grads, params)


def keras_sides(name, kwargs, init, grads):
    import keras
    import tensorflow as tf

    def make_step(mode):
        optimizer = getattr(keras.optimizers, name)(**kwargs)
        variables = [keras.Variable(w) for w in init]
        optimizer.build(variables)
        tensors = [tf.constant(g) for g in grads]

        def apply(g):  # the variables are captured by the closure, the gradients are inputs
            optimizer.apply(g, variables)

        apply = tf.function(apply) if mode == "tf.function" else apply
        return lambda: apply(tensors)

    sides = {mode: make_step(mode) for mode in ("eager", "tf.function")}
    return sides


def allocation_peak(name, kwargs, init, grads, steps: int) -> int:
    optimizer, params = getattr(O, name)(**kwargs), [w.copy() for w in init]
    optimizer.apply(grads, params)  # the first step creates the state and scratch arrays
    tracemalloc.start()
    for _ in range(steps):
        optimizer.apply(grads, params)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tensors", type=int, default=10)
    parser.add_argument("--size", type=int, default=1_000_000, help="elements per tensor")
    parser.add_argument("--steps", type=int, default=3, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(0)
    init = [rng.normal(size=args.size).astype(np.float32) for _ in range(args.tensors)]
    grads = [rng.normal(size=args.size).astype(np.float32) for _ in range(args.tensors)]
    total = args.tensors * args.size
    print(
        f"{args.tensors} float32 tensors x {args.size:,} = {total:,} parameters; "
        f"best of {args.rounds} rounds of {args.steps} steps, after {args.warmup} warm-up steps"
    )

    import keras
    import tensorflow as tf

    print(
        f"numpy {np.__version__}, keras {keras.__version__} (tensorflow {tf.__version__}), "
        f"{os.cpu_count()} CPUs, load average {load_average()}\n"
    )
    header = f"{'optimizer':<18}{'numpy ms':>10}{'(1 thread)':>12}{'keras eager':>13}"
    header += f"{'keras tf.fn':>13}"
    header += f"{'np/eager':>10}{'np/tf.fn':>10}"
    print(header)
    print("-" * len(header))
    for label, (name, kwargs) in CASES.items():
        sides = {
            "numpy": numpy_side(name, kwargs, init, grads),
            "numpy 1 thread": numpy_side(name, kwargs, init, grads, workers=1),
        }
        sides.update(keras_sides(name, kwargs, init, grads))
        for step in sides.values():
            for _ in range(args.warmup):
                step()
        best = {side: float("inf") for side in sides}
        for _ in range(args.rounds):  # alternate the sides, keep each one's best round
            for side, step in sides.items():
                best[side] = min(best[side], time_steps(step, args.steps))
        numpy, eager, traced = best["numpy"], best["eager"], best["tf.function"]
        print(
            f"{label:<18}{numpy:>10.1f}{best['numpy 1 thread']:>12.1f}{eager:>13.1f}"
            f"{traced:>13.1f}{numpy / eager:>10.2f}{numpy / traced:>10.2f}"
        )

    print(f"load average after the timings: {load_average()}")

    chunk = O.Optimizer.chunk_size * init[0].itemsize
    print("\nNumPy allocations after the first step (tracemalloc peak over K steps)")
    print(f"{'optimizer':<18}{'K=5':>12}{'K=20':>12}{'in chunks':>11}{'one tensor':>14}")
    for label, (name, kwargs) in CASES.items():
        peaks = [allocation_peak(name, kwargs, init, grads, k) for k in (5, 20)]
        print(
            f"{label:<18}{peaks[0]:>10,} B{peaks[1]:>10,} B{peaks[1] / chunk:>11.1f}"
            f"{init[0].nbytes:>12,} B"
        )
    print(f"(a chunk: {O.Optimizer.chunk_size:,} elements = {chunk:,} B)")


if __name__ == "__main__":
    main()
