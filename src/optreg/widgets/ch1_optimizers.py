"""The figures of chapter 1 (optimizers): momentum explorer, optimizer race."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from optreg.widgets.engine import PALETTE, Explorer, Line, Panel, Plot, Slider, landscape_background

__all__ = [
    "momentum_explorer",
    "optimizer_race",
    "RACE_GROUPS",
    "RACE_SETTINGS",
    "safe_trajectory",
]


# --------------------------------------------------------------------------------------------
# Ready-made explorers of the optimizer chapter
# --------------------------------------------------------------------------------------------
def momentum_explorer(
    condition_number: float = 20.0,
    steps: int = 80,
    learning_rates: Sequence[float] | None = None,
    momenta: Sequence[float] | None = None,
) -> Explorer:
    """Distill-style figure: step size and momentum of ``SGD`` on the elongated bowl.

    Left, the trajectory over the contours; right, the loss per step (log scale), with the
    optimal (step size, momentum) pair of the quadratic (Polyak's heavy ball) marked.
    """
    from optreg.landscapes import ElongatedBowl
    from optreg.optimizers import SGD

    bowl = ElongatedBowl(condition_number=condition_number)
    kappa = bowl.condition_number
    if learning_rates is None:
        limit = 2.0 / kappa  # plain gradient descent diverges beyond 2 / lambda_max
        learning_rates = [float(f"{v:.3g}") for v in np.linspace(0.05, 1.2, 12) * limit]
    if momenta is None:
        momenta = [0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.99]
    best_lr = (2.0 / (1.0 + math.sqrt(kappa))) ** 2
    best_momentum = ((math.sqrt(kappa) - 1.0) / (math.sqrt(kappa) + 1.0)) ** 2
    background = landscape_background(bowl)
    start = bowl.default_start
    step_axis = np.arange(steps + 1)
    best_loss = _heavy_ball_loss(bowl, best_lr, best_momentum, start, steps)

    def draw(learning_rate: float, momentum: float) -> list[Panel]:
        path = safe_trajectory(bowl, SGD(learning_rate, momentum=momentum), start, steps)
        loss = bowl.value(path)
        final = loss[-1]
        diverged = not np.isfinite(final) or final > loss[0]
        verdict = "diverges" if diverged else f"{final:.2g}"
        return [
            Plot(
                [Line(path[:, 0], path[:, 1], color="#d62728", markers=True, width=1.5)],
                bowl.xlim,
                bowl.ylim,
                title="trajectory",
                xlabel="x",
                ylabel="y",
                background=background,
                legend=False,
            ),
            Plot(
                [
                    Line(
                        step_axis,
                        loss,
                        label=f"lr={learning_rate:g}, momentum={momentum:g}",
                        color="#d62728",
                    ),
                    Line(
                        step_axis,
                        best_loss,
                        label="optimal pair",
                        color="#7f7f7f",
                        dash="4 3",
                        width=1.5,
                    ),
                ],
                (0, steps),
                (1e-10, 1e2),
                logy=True,
                title="loss",
                xlabel="step",
                ylabel="f(x, y)",
                note=f"loss after {steps} steps: {verdict}",
            ),
        ]

    return Explorer(
        draw,
        [
            Slider("learning_rate", learning_rates, label="step size η", fmt="{:.3g}"),
            Slider("momentum", momenta, label="momentum β", default=0.0, fmt="{:.2f}"),
        ],
        title=f"Momentum on an elongated bowl (condition number κ = {kappa:g})",
        caption=(
            f"Gradient descent is stable only for η < 2/κ = {2 / kappa:.3g}. The best "
            f"heavy-ball pair for this bowl is η = {best_lr:.3g}, β = {best_momentum:.3g} "
            "(dashed)."
        ),
    )


def safe_trajectory(
    function: Any, optimizer: Any, start: Any, steps: int, bound: float = 1e3
) -> np.ndarray:
    """The loop of ``optreg.landscapes.trajectory``, stopped once the point leaves a large box.

    A diverging run would end in infinite gradients, which the optimizers refuse; the rest of
    the path is NaN (drawn as nothing).
    """
    from optreg.landscapes import get

    function = get(function)
    path = np.full((steps + 1, 2), np.nan)
    path[0] = start
    point = path[0].copy()
    with np.errstate(over="ignore", invalid="ignore"):
        for t in range(1, steps + 1):  # trajectory's loop, stopped before a non-finite gradient
            grad = function.gradient(point)
            if not np.all(np.isfinite(grad)):
                break
            optimizer.apply([grad], [point])
            if not np.all(np.isfinite(point)) or np.abs(point).max() > bound:
                break
            path[t] = point
    return path


def _heavy_ball_loss(
    bowl: Any, learning_rate: float, momentum: float, start: Any, steps: int
) -> np.ndarray:
    from optreg.optimizers import SGD

    return bowl.value(safe_trajectory(bowl, SGD(learning_rate, momentum=momentum), start, steps))


class _AsMatrix:
    """Hands an optimizer the 2-vector of a test function as a 1 x 2 matrix: Muon orthogonalizes
    matrices only (a vector would go to its AdamW fallback), and the orthogonal factor of a
    1 x 2 matrix is its direction: Muon's step on it is normalized momentum."""

    def __init__(self, optimizer: Any) -> None:
        self.optimizer = optimizer

    def apply(self, grads: Sequence[np.ndarray], params: Sequence[np.ndarray]) -> None:
        rows = [p.reshape(1, -1) for p in params]  # views: the update lands in params
        self.optimizer.apply([g.reshape(1, -1) for g in grads], rows)


def _race_optimizers() -> dict[str, Callable[[float], Any]]:
    from optreg import optimizers as opt

    return {
        "SGD": lambda lr: opt.SGD(lr),
        "momentum": lambda lr: opt.SGD(lr, momentum=0.9),
        "Nesterov": lambda lr: opt.SGD(lr, momentum=0.9, nesterov=True),
        "Adagrad": lambda lr: opt.Adagrad(lr, initial_accumulator_value=0.0),
        "RMSprop": lambda lr: opt.RMSprop(lr),
        "Adam": lambda lr: opt.Adam(lr),
        "Nadam": lambda lr: opt.Nadam(lr),
        "Lion": lambda lr: opt.Lion(lr),
        "Lamb": lambda lr: opt.Lamb(lr),
        "Adafactor": lambda lr: opt.Adafactor(lr),
        "Muon": lambda lr: _AsMatrix(opt.Muon(lr)),
        "Schedule-Free": lambda lr: opt.ScheduleFreeAdamW(lr),
        "Ftrl": lambda lr: opt.Ftrl(lr),
    }


#: the race's two fields: the classic optimizers, and Adam against those of the 2020s (and Ftrl)
RACE_GROUPS: dict[str, tuple[str, ...]] = {
    "classic": ("SGD", "momentum", "Nesterov", "Adagrad", "RMSprop", "Adam", "Nadam"),
    # Adam sixth in both, so that it keeps its colour
    "2020s vs Adam": ("Lion", "Lamb", "Adafactor", "Muon", "Schedule-Free", "Adam", "Ftrl"),
}

#: landscape -> (steps, start, {optimizer: learning rate at scale 1}). Chosen by hand, about
#: half the best rate of a grid so that the x2 scale still converges; Lion's rate is no divisor
#: of the distance to the minimum, which its sign steps (a lattice) would otherwise hit exactly.
RACE_SETTINGS: dict[str, tuple[int, tuple[float, float], dict[str, float]]] = {
    "elongated_bowl": (
        120,
        (-1.8, 0.6),
        {
            "SGD": 0.09,
            "momentum": 0.02,
            "Nesterov": 0.02,
            "Adagrad": 0.5,
            "RMSprop": 0.03,
            "Adam": 0.1,
            "Nadam": 0.1,
            "Lion": 0.07,
            "Lamb": 0.1,
            "Adafactor": 0.3,
            "Muon": 0.1,
            "Schedule-Free": 0.3,
            "Ftrl": 1.0,
        },
    ),
    "rosenbrock": (
        400,
        (-1.5, 2.0),
        {
            "SGD": 1e-3,
            "momentum": 2e-4,
            "Nesterov": 2e-4,
            "Adagrad": 0.3,
            "RMSprop": 0.01,
            "Adam": 0.05,
            "Nadam": 0.05,
            "Lion": 0.01,
            "Lamb": 0.03,
            "Adafactor": 0.3,
            "Muon": 0.05,
            "Schedule-Free": 0.3,
            "Ftrl": 1.0,
        },
    ),
    "beale": (
        300,
        (1.0, 1.5),
        {
            "SGD": 5e-3,
            "momentum": 1e-3,
            "Nesterov": 1e-3,
            "Adagrad": 0.5,
            "RMSprop": 0.02,
            "Adam": 0.1,
            "Nadam": 0.1,
            "Lion": 0.03,
            "Lamb": 0.01,
            "Adafactor": 0.03,
            "Muon": 0.1,
            "Schedule-Free": 0.3,
            "Ftrl": 1.0,
        },
    ),
    "saddle": (
        60,
        (-1.5, 1e-3),
        {
            "SGD": 0.05,
            "momentum": 0.02,
            "Nesterov": 0.02,
            "Adagrad": 0.3,
            "RMSprop": 0.03,
            "Adam": 0.05,
            "Nadam": 0.05,
            "Lion": 0.05,
            "Lamb": 0.05,
            "Adafactor": 0.05,
            "Muon": 0.05,
            "Schedule-Free": 0.05,
            "Ftrl": 0.3,
        },
    ),
    "himmelblau": (
        200,
        (0.0, 0.0),
        {
            "SGD": 0.01,
            "momentum": 2e-3,
            "Nesterov": 2e-3,
            "Adagrad": 1.0,
            "RMSprop": 0.05,
            "Adam": 0.2,
            "Nadam": 0.2,
            "Lion": 0.07,
            "Lamb": 0.03,
            "Adafactor": 0.1,
            "Muon": 0.1,
            "Schedule-Free": 0.5,
            "Ftrl": 1.0,
        },
    ),
}


def optimizer_race(
    landscapes: Sequence[str] | None = None,
    scales: Sequence[float] = (0.25, 0.5, 1.0, 2.0),
    groups: Sequence[str] | None = None,
) -> Explorer:
    """Several optimizers from one start point on the test functions of ``optreg.landscapes``.

    Drop-downs pick the function and the field (a key of :data:`RACE_GROUPS`); the slider
    multiplies every optimizer's learning rate.
    """
    from optreg.landscapes import get

    names = list(landscapes or RACE_SETTINGS)
    factories = _race_optimizers()
    backgrounds = {name: landscape_background(name) for name in names}

    fields = list(groups or RACE_GROUPS)

    def draw(function: str, field: str, scale: float) -> list[Panel]:
        landscape = get(function)
        steps, start, rates = RACE_SETTINGS[function]
        paths = {
            name: safe_trajectory(landscape, factories[name](rates[name] * scale), start, steps)
            for name in RACE_GROUPS[field]
        }
        keep = slice(None, None, max(1, steps // 150))  # at most ~150 points per line
        lines = [
            Line(p[keep, 0], p[keep, 1], label=name, color=PALETTE[i], width=1.8)
            for i, (name, p) in enumerate(paths.items())
        ]
        offset = 0.0 if landscape.minimum_value is not None else None
        losses = []
        for i, (name, p) in enumerate(paths.items()):
            value = landscape.value(p)
            if offset is None:  # unbounded below: plot the value itself
                losses.append(
                    Line(np.arange(steps + 1)[keep], value[keep], label=name, color=PALETTE[i])
                )
            else:
                losses.append(
                    Line(
                        np.arange(steps + 1)[keep],
                        (value - landscape.minimum_value)[keep],
                        label=name,
                        color=PALETTE[i],
                    )
                )
        if offset is None:
            loss_plot = Plot(
                losses, (0, steps), (-5, 3), title="value", xlabel="step", ylabel="f", legend=False
            )
        else:
            loss_plot = Plot(
                losses,
                (0, steps),
                (1e-8, 1e3),
                logy=True,
                title="distance to the minimum value",
                xlabel="step",
                ylabel="f - f*",
                legend=False,
            )
        return [
            Plot(
                lines,
                landscape.xlim,
                landscape.ylim,
                title=landscape.name,
                background=backgrounds[function],
                xlabel="x",
                ylabel="y",
            ),
            loss_plot,
        ]

    return Explorer(
        draw,
        [
            Slider("function", names, label="test function", default=names[0]),
            Slider("field", fields, label="optimizers", default=fields[0]),
            Slider("scale", list(scales), label="learning-rate scale", default=1.0, fmt="×{:g}"),
        ],
        title="Optimizers on the test functions",
        caption="Each optimizer starts from the same point with its own learning rate, picked "
        "by hand (the table RACE_SETTINGS in optreg.widgets); the slider scales all of them. "
        "Muon sees the point as a 1 x 2 matrix.",
    )
