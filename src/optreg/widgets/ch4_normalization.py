"""The figures of chapter 4 (normalization)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from optreg.widgets.engine import Explorer, Line, Panel, Plot, Slider

__all__ = ["normalization_explorer"]


# --------------------------------------------------------------------------------------------
# Ready-made explorer of the normalization chapter
# --------------------------------------------------------------------------------------------
def _mlp(normalization: str, depth: int = 4, units: int = 64, seed: int = 0) -> Any:
    """A ReLU MLP with no / batch / layer normalization after each hidden Dense layer."""
    from optreg import nn
    from optreg.normalization import BatchNormalization, LayerNormalization

    layers: list[Any] = []
    for k in range(depth):
        layers.append(nn.Dense(units, kernel_initializer="he_normal", seed=seed + k))
        if normalization == "batch":
            layers.append(BatchNormalization())
        elif normalization == "layer":
            layers.append(LayerNormalization())
        layers.append(nn.Activation("relu"))
    layers.append(nn.Dense(10, seed=seed + depth))
    return nn.Sequential(layers)


def normalization_explorer(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_valid: np.ndarray,
    y_valid: np.ndarray,
    learning_rates: Sequence[float] = (0.003, 0.01, 0.03, 0.1, 0.3),
    epochs: int = 3,
    batch_size: int = 32,
) -> Explorer:
    """The same deep MLP without normalization, with BatchNorm and with LayerNorm, trained by
    plain SGD at the chosen learning rate: training loss per step and validation accuracy."""
    from optreg import nn
    from optreg.optimizers import SGD

    variants = {"none": "#7f7f7f", "batch": "#1f77b4", "layer": "#2ca02c"}

    def run(normalization: str, learning_rate: float) -> tuple[np.ndarray, float]:
        model = _mlp(normalization)
        losses: list[float] = []
        record = nn.LambdaCallback(
            on_train_batch_end=lambda batch, logs: (
                losses.append(logs["batch_loss"]) if "batch_loss" in logs else None
            )
        )
        with np.errstate(all="ignore"):
            try:
                nn.fit(
                    model,
                    x_train,
                    y_train,
                    SGD(learning_rate),
                    "sparse_categorical_crossentropy",
                    epochs=epochs,
                    batch_size=batch_size,
                    seed=0,
                    callbacks=[record],
                )
                accuracy = nn.evaluate(model, x_valid, y_valid, "sparse_categorical_crossentropy")[
                    "accuracy"
                ]
            except ValueError:  # the optimizer refuses non-finite gradients: diverged
                accuracy = float("nan")
        curve = np.array(losses, dtype=float)
        window = 10  # running mean, to see the trend through the minibatch noise
        if len(curve) >= window:
            curve = np.convolve(curve, np.ones(window) / window, mode="valid")
        return curve, accuracy

    def draw(learning_rate: float) -> list[Panel]:
        lines, notes = [], []
        for name, color in variants.items():
            curve, accuracy = run(name, learning_rate)
            keep = slice(None, None, 3)
            lines.append(
                Line(
                    np.arange(len(curve))[keep],
                    curve[keep],
                    label=f"{name}",
                    color=color,
                    width=1.6,
                )
            )
            shown = "diverged" if not np.isfinite(accuracy) else f"{accuracy:.3f}"
            notes.append(f"{name}: {shown}")
        steps = epochs * int(np.ceil(len(x_train) / batch_size))
        return [
            Plot(
                lines,
                (0, steps),
                (0.1, 5.0),
                logy=True,
                title="training loss (running mean of 10 batches)",
                xlabel="step",
                ylabel="loss",
                note="validation accuracy: " + ", ".join(notes),
            )
        ]

    return Explorer(
        draw,
        [
            Slider(
                "learning_rate",
                list(learning_rates),
                label="SGD learning rate",
                default=learning_rates[1],
                fmt="{:g}",
            )
        ],
        title="Four ReLU layers of 64 units: no normalization vs BatchNorm vs LayerNorm",
        caption="Normalized networks train faster at a given rate and tolerate larger rates.",
    )
