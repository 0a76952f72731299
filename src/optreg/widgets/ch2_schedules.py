"""The figures of chapter 2 (learning-rate schedules)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from optreg.widgets.engine import Explorer, Line, Panel, Plot, Slider

__all__ = ["schedule_explorer", "noisy_regression", "train_regression"]


# --------------------------------------------------------------------------------------------
# Ready-made explorer of the schedules chapter
# --------------------------------------------------------------------------------------------
def noisy_regression(
    n_samples: int = 512, n_features: int = 20, noise: float = 1.0, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """A noisy linear regression problem (feature scales 0.5..2) for the schedule demos."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n_samples, n_features)) * np.geomspace(0.5, 2.0, n_features)
    w_true = rng.normal(size=n_features)
    return x, x @ w_true + noise * rng.normal(size=n_samples)


def train_regression(
    learning_rate: Any,
    x: np.ndarray,
    y: np.ndarray,
    steps: int = 1000,
    batch_size: int = 4,
    plateau: Any = None,
    evaluate_every: int = 50,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Minibatch SGD (``optreg.optimizers.SGD``) on a least-squares problem.

    ``learning_rate`` is a float or an ``optreg.schedules`` schedule. With ``plateau`` (an
    ``optreg.schedules.ReduceLROnPlateau``), the full-data loss is reported to it every
    ``evaluate_every`` steps and the optimizer takes the rate it returns (performance
    scheduling). Returns ``(rates, losses)`` per step (full-data mean squared error / 2).
    """
    from optreg.optimizers import SGD

    rng = np.random.default_rng(seed)
    w = np.zeros(x.shape[1])
    optimizer = SGD(learning_rate)
    rates, losses = np.empty(steps), np.empty(steps)
    for t in range(steps):
        index = rng.integers(0, len(x), batch_size)
        residual = x[index] @ w - y[index]
        rates[t] = optimizer.current_learning_rate()
        optimizer.apply([x[index].T @ residual / batch_size], [w])
        losses[t] = 0.5 * np.mean((x @ w - y) ** 2)
        if not np.isfinite(losses[t]) or losses[t] > 1e8:  # diverged: stop here
            rates[t + 1 :], losses[t + 1 :] = np.nan, np.nan
            break
        if plateau is not None and (t + 1) % evaluate_every == 0:
            optimizer.learning_rate = plateau.update(losses[t])
    return rates, losses


def schedule_explorer(
    steps: int = 1000, peak_rates: Sequence[float] = (0.01, 0.03, 0.06, 0.1, 0.2)
) -> Explorer:
    """The schedules of ``optreg.schedules`` on one noisy regression problem.

    Pick a schedule and its initial (or peak) rate; left, the rate per step; right, the training
    loss of minibatch SGD with that schedule against a constant rate (grey).
    """
    from optreg import schedules

    x, y = noisy_regression()
    s = steps // 4
    w_best = np.linalg.lstsq(x, y, rcond=None)[0]
    best = 0.5 * np.mean((x @ w_best - y) ** 2)  # the lowest loss any rate can reach

    def make(name: str, eta0: float) -> tuple[Any, Any]:
        """(learning rate or schedule, plateau scheduler or None)."""
        if name == "constant":
            return eta0, None
        if name == "performance (plateau)":
            return eta0, schedules.ReduceLROnPlateau(eta0, factor=0.3, patience=2)
        table = {
            "power": lambda: schedules.PowerDecay(eta0, decay_steps=s / 4, power=1.0),
            "exponential": lambda: schedules.ExponentialDecay(
                eta0, decay_steps=s * 2, decay_rate=0.1
            ),
            "piecewise constant": lambda: schedules.PiecewiseConstantDecay(
                [s, 2 * s], [eta0, eta0 / 10, eta0 / 100]
            ),
            "cosine with warm-up": lambda: schedules.CosineDecay(
                eta0 / 10, decay_steps=steps - s // 2, warmup_target=eta0, warmup_steps=s // 2
            ),
            "1cycle": lambda: schedules.OneCycle(steps, max_learning_rate=eta0),
            # periods of steps/7, 2 steps/7 and 4 steps/7: the last one ends with the run
            "cosine with warm restarts": lambda: schedules.CosineDecayRestarts(
                eta0, first_decay_steps=steps / 7, t_mul=2.0, m_mul=0.7, alpha=1e-3
            ),
        }
        return table[name](), None

    names = [
        "constant",
        "power",
        "exponential",
        "piecewise constant",
        "performance (plateau)",
        "cosine with warm-up",
        "1cycle",
        "cosine with warm restarts",
    ]
    baselines = {eta0: train_regression(eta0, x, y, steps)[1] - best for eta0 in peak_rates}
    t = np.arange(steps)

    def draw(schedule: str, learning_rate: float) -> list[Panel]:
        rate, plateau = make(schedule, learning_rate)
        rates, losses = train_regression(rate, x, y, steps, plateau=plateau)
        losses = losses - best
        tail = np.nanmean(losses[-100:]) if np.isfinite(losses[-100:]).all() else float("nan")
        keep = slice(None, None, 4)  # every 4th step is plenty for the eye
        return [
            Plot(
                [Line(t[keep], rates[keep], label=schedule, color="#1f77b4")],
                (0, steps),
                (1e-6, 0.5),
                logy=True,
                title="learning rate",
                xlabel="step",
                ylabel="η(t)",
            ),
            Plot(
                [
                    Line(
                        t[keep], baselines[learning_rate][keep], label="constant", color="#aaaaaa"
                    ),
                    Line(t[keep], losses[keep], label=schedule, color="#d62728", width=1.5),
                ],
                (0, steps),
                (1e-4, 1e3),
                logy=True,
                title="training loss above its minimum",
                xlabel="step",
                ylabel="loss - min",
                note=f"mean excess loss over the last 100 steps: {tail:.3g}",
            ),
        ]

    return Explorer(
        draw,
        [
            Slider("schedule", names, label="schedule", default="exponential"),
            Slider(
                "learning_rate",
                list(peak_rates),
                label="initial / peak rate η₀",
                default=peak_rates[len(peak_rates) // 2],
                fmt="{:g}",
            ),
        ],
        title="Learning-rate schedules: minibatch SGD (batch 4) on a noisy regression",
        caption="With a constant rate, SGD stalls at a noise floor set by the rate; decaying "
        "the rate lowers the floor. Too large a rate diverges whatever the schedule.",
    )
