"""The figures of chapter 3 (initialization and activations)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from optreg.widgets.engine import PALETTE, Explorer, Line, Panel, Plot, Slider

__all__ = ["activation_explorer", "activation_moments", "deep_statistics"]


# --------------------------------------------------------------------------------------------
# Ready-made explorer of the initialization chapter
# --------------------------------------------------------------------------------------------
def _initializer_choices() -> dict[str, Callable[[int], Any]]:
    from optreg import initializers as init

    return {
        "RandomNormal(0.01)": lambda seed: init.RandomNormal(stddev=0.01, seed=seed),
        "RandomNormal(1.0)": lambda seed: init.RandomNormal(stddev=1.0, seed=seed),
        "GlorotNormal": lambda seed: init.GlorotNormal(seed=seed),
        "HeNormal": lambda seed: init.HeNormal(seed=seed),
        "LecunNormal": lambda seed: init.LecunNormal(seed=seed),
        "Orthogonal": lambda seed: init.Orthogonal(seed=seed),
    }


def deep_statistics(
    kernels: Sequence[np.ndarray],
    activation: str,
    batch: int = 128,
    gain: float = 1.0,
    seed: int = 0,
) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Push standard-normal inputs through dense layers with these kernels (biases 0) and back.

    Every kernel is multiplied by ``gain``. Returns the activations of each layer, and the
    standard deviations per layer of the activations and of the back-propagated gradient (the
    gradient w.r.t. each layer's input, for a unit-variance random gradient at the top).
    """
    from optreg import activations

    fn, grad_fn = activations.get(activation)
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(batch, kernels[0].shape[0]))
    outputs, pre = [], []
    for w in kernels:
        z = x @ (gain * w)
        x = fn(z)
        pre.append(z)
        outputs.append(x)
    d = rng.normal(size=x.shape)
    grad_std = np.empty(len(kernels))
    for k in reversed(range(len(kernels))):
        d = (d * grad_fn(pre[k])) @ (gain * kernels[k]).T
        grad_std[k] = d.std()
    return outputs, np.array([o.std() for o in outputs]), grad_std


def activation_moments(
    activation: str, samples: int = 1_000_000, seed: int = 0
) -> dict[str, float]:
    """Moments of ``f(z)`` and ``f'(z)`` for ``z ~ N(0, 1)``, by Monte Carlo.

    A layer ``s' = W f(s)`` with ``Var(w) = scale / n_in`` maps a pre-activation second moment
    ``q = E[s^2]`` to ``q' = scale * E[f(sqrt(q) z)^2]``. Keeping ``q = 1`` asks for
    ``scale = 1 / E[f(z)^2]`` (the second moment, not the variance: the weights' zero mean
    removes ``f``'s mean, not its square). At that scale the back-propagated gradient's second
    moment is multiplied per layer (fan-in = fan-out) by ``chi = scale * E[f'(z)^2]``, and the
    slope of the map ``q -> q'`` at ``q = 1``, ``scale * E[f(z) f'(z) z]``, says whether the
    fixed point attracts (< 1), is neutral (= 1, ReLU-like) or repels (> 1).
    """
    from optreg import activations

    fn, grad_fn = activations.get(activation)
    z = np.random.default_rng(seed).normal(size=samples)
    f, df = fn(z), grad_fn(z)
    second = float(np.mean(f**2))
    scale = 1.0 / second
    return {
        "mean": float(f.mean()),
        "variance": float(f.var()),
        "second_moment": second,
        "grad_second_moment": float(np.mean(df**2)),
        "scale": scale,
        "chi": scale * float(np.mean(df**2)),
        "slope": scale * float(np.mean(f * df * z)),
    }


def activation_explorer(
    activations: Sequence[str] = (
        "sigmoid",
        "tanh",
        "relu",
        "leaky_relu",
        "elu",
        "selu",
        "gelu",
        "swish",
    ),
    gains: Sequence[float] = (0.5, 0.8, 1.0, 1.25, 2.0),
    depth: int = 10,
) -> Explorer:
    """Activation statistics through a deep network, per initializer, activation and gain."""
    width = 100
    kernels = {
        name: [np.asarray(make(seed)((width, width)), dtype=np.float64) for seed in range(depth)]
        for name, make in _initializer_choices().items()
    }
    layers = np.arange(1, depth + 1)
    shown = [1, depth // 2, depth]
    bins = np.linspace(-3, 3, 61)
    centres = (bins[:-1] + bins[1:]) / 2

    def draw(initializer: str, activation: str, gain: float) -> list[Panel]:
        outputs, act_std, grad_std = deep_statistics(kernels[initializer], activation, gain=gain)
        with np.errstate(invalid="ignore", divide="ignore"):
            histograms = []
            for i, k in enumerate(shown):
                values = outputs[k - 1].ravel()
                scale = max(values.std(), 1e-30)
                density, _ = np.histogram(values / scale, bins=bins, density=True)
                histograms.append(
                    Line(centres, density, label=f"layer {k} (std {scale:.2g})", color=PALETTE[i])
                )
        dead = float(np.mean(np.all(outputs[-1] <= 0, axis=0))) if activation == "relu" else None
        note = f"dead units in the last layer: {dead:.0%}" if dead is not None else ""
        return [
            Plot(
                [
                    Line(layers, act_std, label="activations", markers=True),
                    Line(layers, grad_std, label="gradients", markers=True, dash="5 3"),
                ],
                (1, depth),
                (1e-6, 1e3),
                logy=True,
                title="standard deviation per layer",
                xlabel="layer",
                ylabel="std",
                note=note,
            ),
            Plot(
                histograms,
                (-3, 3),
                (0, 1.2),
                title="activations / their std",
                xlabel="value / std",
                ylabel="density",
            ),
        ]

    return Explorer(
        draw,
        [
            Slider("initializer", list(kernels), label="initializer", default="GlorotNormal"),
            Slider("activation", list(activations), label="activation", default="tanh"),
            Slider("gain", list(gains), label="weights × gain", default=1.0, fmt="×{:g}"),
        ],
        title=f"Signal and gradient through {depth} dense layers of {width} units",
        caption="Calibrated initializers keep the spread of activations and gradients roughly "
        "constant across layers; multiply the weights by a gain and watch it vanish or "
        "explode geometrically with depth.",
    )
