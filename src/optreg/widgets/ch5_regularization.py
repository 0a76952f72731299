"""The figures of chapter 5 (regularization): dropout and penalties."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from optreg.widgets.engine import Explorer, Line, Panel, Picture, Plot, Slider, png_data_uri

__all__ = ["dropout_explorer", "penalty_explorer"]


# --------------------------------------------------------------------------------------------
# Ready-made explorers of the regularization chapter
# --------------------------------------------------------------------------------------------
def dropout_explorer(
    image: np.ndarray,
    rates: Sequence[float] = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7),
    seeds: Sequence[int] = (0, 1, 2, 3),
) -> Explorer:
    """Inverted dropout (``optreg.regularization.Dropout``) on an image and on hidden units.

    Left, the image after input dropout (kept pixels scaled by 1/(1-rate)); right, the mask of
    a layer of 400 hidden units. The note compares the mean intensity before and after.
    """
    from optreg.regularization import Dropout

    image = np.asarray(image, dtype=np.float64)
    units = np.ones((20, 20))

    def draw(rate: float, seed: int) -> list[Panel]:
        dropped = Dropout(rate, seed=seed).forward(image[None], training=True)[0]
        mask = Dropout(rate, seed=seed + 100).forward(units[None], training=True)[0] > 0
        vmax = 2 * image.max()  # one colour scale for every rate: the 1/(1-p) scaling shows
        return [
            Picture(
                png_data_uri(dropped, cmap="gray_r", vmin=0, vmax=vmax),
                title="input dropout (scaled by 1/(1-rate))",
                width=240,
                note=f"mean pixel {image.mean():.3f} -> {dropped.mean():.3f}",
            ),
            Picture(
                png_data_uri(mask.astype(float), cmap="Greens", vmin=-0.3, vmax=1),
                title="hidden units kept (dark) this step",
                width=240,
                note=f"{mask.mean():.0%} of 400 units kept",
            ),
        ]

    return Explorer(
        draw,
        [
            Slider(
                "rate",
                list(rates),
                label="dropout rate p",
                default=0.2 if 0.2 in rates else None,
                fmt="{:g}",
            ),
            Slider("seed", list(seeds), label="training step (new mask)", default=seeds[0]),
        ],
        title="Inverted dropout: a new random mask at every training step",
        caption="Each unit is dropped with probability p and the survivors are multiplied by "
        "1/(1-p), so the expected activation is unchanged and inference needs no "
        "rescaling.",
    )


def penalty_explorer(
    strengths: Sequence[float] = (0.0, 0.01, 0.03, 0.1, 0.3, 1.0),
    n_features: int = 30,
    steps: int = 1500,
) -> Explorer:
    """The weights of a linear model trained with an L1, L2 or elastic-net penalty
    (``optreg.regularizers``) of growing strength; only 5 of the features matter."""
    from optreg.optimizers import SGD
    from optreg.regularizers import L1, L1L2, L2

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, n_features))
    true_w = np.zeros(n_features)
    true_w[:5] = [3.0, -2.0, 1.5, -1.0, 0.5]
    y = x @ true_w + 0.5 * rng.normal(size=200)
    index = np.arange(n_features)
    makers = {"L1": lambda s: L1(s), "L2": lambda s: L2(s), "L1L2": lambda s: L1L2(s / 2, s / 2)}

    def draw(penalty: str, strength: float) -> list[Panel]:
        regularizer = makers[penalty](strength)
        w = np.zeros(n_features)
        optimizer = SGD(0.02)
        for _ in range(steps):
            grad = x.T @ (x @ w - y) / len(y) + regularizer.gradient(w)
            optimizer.apply([grad], [w])
        small = np.mean(np.abs(w[5:]) < 1e-2)
        return [
            Plot(
                [
                    Line(
                        index, true_w, label="true weights", color="#aaaaaa", markers=True, width=1
                    ),
                    Line(
                        index,
                        w,
                        label=f"{penalty}({strength:g})",
                        color="#d62728",
                        markers=True,
                        width=1.5,
                    ),
                ],
                (0, n_features - 1),
                (-3.5, 3.5),
                title="learned weights",
                xlabel="feature",
                ylabel="w",
                note=f"|w| < 0.01 for {small:.0%} of the 25 useless features; "
                f"‖w‖₂ = {np.linalg.norm(w):.2f}",
            )
        ]

    return Explorer(
        draw,
        [
            Slider("penalty", list(makers), label="penalty", default="L1"),
            Slider(
                "strength",
                list(strengths),
                label="strength λ",
                default=0.1 if 0.1 in strengths else None,
                fmt="{:g}",
            ),
        ],
        title="L1, L2 and elastic-net penalties on a linear model (SGD, 1,500 steps)",
        caption="L2 shrinks every weight smoothly; L1 pushes the useless ones to zero (a sparse "
        "model) at the price of shrinking the useful ones too.",
    )
