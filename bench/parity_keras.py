"""For every optimizer, learning-rate schedule and normalization layer Keras ships: is it in
optreg (NumPy), optreg.keras (twin), the book's chapters and a lab, and the largest difference
measured between each implementation and Keras' built-in, with Keras' defaults.

    OPENBLAS_NUM_THREADS=1 .venv/bin/python bench/parity_keras.py      (from the repository root)

Optimizers: 60 steps on a 1-D, a 2-D and a 3-D float32 parameter, gradient 0.5 w + noise (each
implementation feeds back its own weights); largest |w - w_keras| over all entries, relative to
max(1, |w_keras|). Schedules: steps 0..300. Layers: one forward pass in training mode (and one
inference pass for BatchNormalization after it), 4 x 5 x 6 inputs.
"""

import inspect
import json
import os
import re
from pathlib import Path

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
import keras
import numpy as np

from optreg import normalization as N
from optreg import optimizers as O
from optreg import schedules as S
from optreg.keras import layers as KL
from optreg.keras import optimizers as KO
from optreg.keras import schedules as KS
from optreg.keras.models import OPTIMIZERS as LAB_OPTIMIZERS

ROOT = Path.cwd()
CHAPTERS = "\n".join(
    "".join("".join(c["source"]) for c in json.loads(p.read_text())["cells"])
    for p in sorted((ROOT / "book").glob("0*.ipynb"))
)
LAB_TEXT = "\n".join(p.read_text() for p in (ROOT / "book/labs/sweeps").glob("*.yaml"))


def in_book(name):
    return bool(re.search(rf"\b{name}\b", CHAPTERS))


def rel_diff(a, b):
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b) / np.maximum(1.0, np.abs(b))))


SHAPES = [(7,), (5, 4), (3, 4, 6)]


def optimizer_parity(name, steps=60):
    rng = np.random.default_rng(0)
    init = [rng.normal(size=s).astype("float32") for s in SHAPES]
    noise = [[rng.normal(size=s).astype("float32") * 0.1 for s in SHAPES] for _ in range(steps)]
    names = ["bias", "kernel", "conv"]
    # numpy
    lr = 1.0 if name == "Adadelta" else 0.01  # large enough for every one to move
    ours = getattr(O, name)(learning_rate=lr)
    w_np = [w.copy() for w in init]
    ours.build(w_np, names)
    # keras built-in and twin
    results = {}
    for label, cls in [
        ("keras", getattr(keras.optimizers, name)),
        ("twin", getattr(KO, name, None)),
    ]:
        if cls is None:
            continue
        opt = cls(learning_rate=lr)
        vs = [keras.Variable(w.copy(), name=n) for w, n in zip(init, names, strict=True)]
        for k in range(steps):
            grads = [0.5 * keras.ops.convert_to_numpy(v) + noise[k][i] for i, v in enumerate(vs)]
            tensors = [keras.ops.convert_to_tensor(g) for g in grads]
            opt.apply_gradients(zip(tensors, vs, strict=True))
        results[label] = [keras.ops.convert_to_numpy(v) for v in vs]
    for k in range(steps):
        ours.apply([0.5 * w + noise[k][i] for i, w in enumerate(w_np)], w_np)
    ref = results["keras"]
    np_err = max(rel_diff(a, b) for a, b in zip(w_np, ref, strict=True))
    twin_err = (
        max(rel_diff(a, b) for a, b in zip(results["twin"], ref, strict=True))
        if "twin" in results
        else None
    )
    moved = max(float(np.max(np.abs(a - b))) for a, b in zip(ref, init, strict=True))
    return np_err, twin_err, moved


SCHEDULE_ARGS = {
    "ExponentialDecay": dict(initial_learning_rate=0.1, decay_steps=50, decay_rate=0.5),
    "InverseTimeDecay": dict(initial_learning_rate=0.1, decay_steps=50, decay_rate=0.5),
    "PiecewiseConstantDecay": dict(boundaries=[30, 60], values=[0.1, 0.05, 0.01]),
    "PolynomialDecay": dict(
        initial_learning_rate=0.1, decay_steps=100, end_learning_rate=0.001, power=2.0
    ),
    "CosineDecay": dict(
        initial_learning_rate=0.01, decay_steps=100, alpha=0.1, warmup_target=0.1, warmup_steps=20
    ),
    "CosineDecayRestarts": dict(
        initial_learning_rate=0.1, first_decay_steps=20, t_mul=2.0, m_mul=0.7, alpha=0.01
    ),
}


def schedule_parity(name):
    args = SCHEDULE_ARGS[name]
    steps = range(301)
    ref = [float(keras.optimizers.schedules.__dict__[name](**args)(t)) for t in steps]
    ours = [float(getattr(S, name)(**args)(t)) for t in steps] if hasattr(S, name) else None
    twin = [float(getattr(KS, name)(**args)(t)) for t in steps] if hasattr(KS, name) else None
    err = lambda v: None if v is None else rel_diff(v, ref)  # noqa: E731
    return err(ours), err(twin)


LAYER_ARGS = {"GroupNormalization": dict(groups=3)}


def layer_parity(name):
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(4, 5, 6)) * 3 + 1).astype("float32")
    args = LAYER_ARGS.get(name, {})
    builtin = getattr(keras.layers, name)(**args)
    builtin.build(x.shape)
    weights = [rng.normal(size=w.shape).astype("float32") for w in builtin.get_weights()]
    trainable = len(builtin.trainable_weights)
    weights[trainable:] = builtin.get_weights()[trainable:]  # moving statistics as initialized
    builtin.set_weights(weights)
    ref = [keras.ops.convert_to_numpy(builtin(x, training=True))]
    if name == "BatchNormalization":
        ref.append(keras.ops.convert_to_numpy(builtin(x, training=False)))
    errors = []
    if hasattr(N, name):
        ours = getattr(N, name)(**args)
        ours.build(x.shape, dtype="float32")
        # Keras also holds the moving statistics, after the parameters ours has
        for key, w in zip(ours.params, weights[: len(ours.params)], strict=True):
            ours.params[key][...] = w
        out = [ours.forward(x, training=True)]
        if name == "BatchNormalization":
            out.append(ours.forward(x, training=False))
        errors.append(max(rel_diff(a, b) for a, b in zip(out, ref, strict=True)))
    else:
        errors.append(None)
    if hasattr(KL, name):
        twin = getattr(KL, name)(**args)
        twin.build(x.shape)
        twin.set_weights(weights)
        out = [keras.ops.convert_to_numpy(twin(x, training=True))]
        if name == "BatchNormalization":
            out.append(keras.ops.convert_to_numpy(twin(x, training=False)))
        errors.append(max(rel_diff(a, b) for a, b in zip(out, ref, strict=True)))
    else:
        errors.append(None)
    return tuple(errors)


def fmt(v):
    return "—" if v is None else f"{v:.1e}"


def yes(b):
    return "yes" if b else "no"


rows = []
skip = {"Optimizer", "LossScaleOptimizer", "MultiOptimizer"}
for name in sorted(
    n
    for n, o in vars(keras.optimizers).items()
    if inspect.isclass(o) and issubclass(o, keras.optimizers.Optimizer)
):
    if name in skip:
        rows.append(
            (
                "optimizer",
                name,
                "no",
                "no",
                yes(in_book(name)),
                "no",
                "base class or wrapper",
                "",
                "",
            )
        )
        continue
    keys = [k for k, (c, _) in LAB_OPTIMIZERS.items() if c == name]
    lab = [k for k in keys if re.search(rf"optimizer: \[?{k}\b", LAB_TEXT)]
    np_err, twin_err, moved = optimizer_parity(name) if hasattr(O, name) else (None, None, None)
    rows.append(
        (
            "optimizer",
            name,
            yes(hasattr(O, name)),
            yes(hasattr(KO, name)),
            yes(in_book(name)),
            ", ".join(lab) or "no",
            fmt(np_err),
            fmt(twin_err),
            f"weights moved {moved:.2f}",
        )
    )
LAB_SCHEDULES = {
    "ExponentialDecay": "exponential",
    "PiecewiseConstantDecay": "piecewise",
    "CosineDecay": "cosine",
}
for name in sorted(SCHEDULE_ARGS):
    np_err, twin_err = schedule_parity(name)
    lab = LAB_SCHEDULES.get(name)
    rows.append(
        (
            "schedule",
            name,
            yes(hasattr(S, name)),
            yes(hasattr(KS, name)),
            yes(in_book(name)),
            lab if lab and lab in LAB_TEXT else "no",
            fmt(np_err),
            fmt(twin_err),
            "steps 0-300",
        )
    )
LAB_NORMS = {"BatchNormalization": "batch", "LayerNormalization": "layer"}
for name in sorted(n for n in dir(keras.layers) if n.endswith("Normalization")):
    if hasattr(N, name) or hasattr(KL, name):
        np_err, twin_err = layer_parity(name)
    else:
        np_err = twin_err = None
    lab = LAB_NORMS.get(name)
    rows.append(
        (
            "normalization",
            name,
            yes(hasattr(N, name)),
            yes(hasattr(KL, name)),
            yes(in_book(name)),
            yes(bool(lab) and bool(re.search(rf"norm: [^\n]*\b{lab}\b", LAB_TEXT))),
            fmt(np_err),
            fmt(twin_err),
            "one forward" if np_err is not None else "",
        )
    )
print(
    "| kind | Keras 3.15 | NumPy | Keras twin | book | lab"
    " | NumPy vs Keras | twin vs Keras | measured over |"
)
print("|---|---|---|---|---|---|---:|---:|---|")
for r in rows:
    print("| " + " | ".join(r) + " |")
