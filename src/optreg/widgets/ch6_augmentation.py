"""The figures of chapter 6 (data augmentation)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from optreg.widgets.engine import Explorer, Panel, Picture, Slider, png_data_uri

__all__ = ["augmentation_explorer", "test_card"]


# --------------------------------------------------------------------------------------------
# Ready-made explorer of the augmentation chapter
# --------------------------------------------------------------------------------------------
def test_card(size: int = 48) -> np.ndarray:
    """A synthetic RGB image (values 0..255): hue wheel, grey ramp and coloured squares, to show
    the colour transformations on something with every hue."""
    yy, xx = np.mgrid[0:size, 0:size] / (size - 1)
    angle = np.arctan2(yy - 0.5, xx - 0.5) / (2 * np.pi) + 0.5
    hsv = np.stack(
        [angle, np.clip(2 * np.hypot(yy - 0.5, xx - 0.5), 0, 1), np.ones_like(xx)], axis=-1
    )
    from matplotlib.colors import hsv_to_rgb

    image = hsv_to_rgb(hsv)
    image[: size // 6] = xx[: size // 6, :, None]  # a grey ramp on top
    return (image * 255).astype(np.float32)


def augmentation_explorer(
    images: np.ndarray, levels: Sequence[int] = (1, 2, 4), seeds: Sequence[int] = (0, 1)
) -> Explorer:
    """Preview ``optreg.augmentation``'s random layers on grey images (values 0..255).

    Top row: the originals; bottom row: one augmented copy of each. Colour transformations are
    shown on :func:`test_card` copies. The strength slider scales each layer's range.
    """
    from optreg import augmentation as aug

    grey = np.asarray(images, dtype=np.float32)[:6]
    colour = np.stack([test_card()] * 4)
    layers: dict[str, Callable[[int], Any]] = {
        "horizontal flip": lambda k: aug.RandomFlip("horizontal"),
        "crop (padding)": lambda k: aug.RandomCrop(28, 28, padding=k),
        "translation": lambda k: aug.RandomTranslation(0.05 * k, 0.05 * k, fill_mode="constant"),
        "rotation": lambda k: aug.RandomRotation(0.04 * k, fill_mode="constant"),
        "contrast": lambda k: aug.RandomContrast(0.18 * k),
        "brightness": lambda k: aug.RandomBrightness(0.12 * k),
        "gamma": lambda k: aug.RandomGamma((1 / (1 + 0.3 * k), 1 + 0.3 * k)),
        "median blur": lambda k: aug.RandomMedianBlur(2 * k + 1),
        "hue (RGB)": lambda k: aug.RandomHue(0.1 * k),
        "saturation (RGB)": lambda k: aug.RandomSaturation(0.18 * k),
    }

    def tile(batch: np.ndarray) -> np.ndarray:
        """Images side by side with a 2-pixel white gap."""
        gap = np.full((batch.shape[1], 2, *batch.shape[3:]), 255.0)
        return np.concatenate([part for image in batch for part in (image, gap)][:-1], axis=1)

    def draw(transform: str, strength: int, seed: int) -> list[Panel]:
        rgb = "RGB" in transform
        batch = colour if rgb else grey
        out = aug.augment(batch, [layers[transform](strength)], seed=seed)
        spacer = np.full((4, tile(batch).shape[1], *batch.shape[3:]), 255.0)
        grid = np.concatenate([tile(batch), spacer, tile(out)], axis=0)
        if rgb:
            uri = png_data_uri(grid / 255.0)
        else:
            uri = png_data_uri(255.0 - grid, cmap="gray", vmin=0, vmax=255)  # dark clothes
        return [
            Picture(
                uri,
                title="originals (top) and augmented copies (bottom)",
                width=540,
                note=f"{type(layers[transform](strength)).__name__}, strength "
                f"{strength}, seed {seed}",
            )
        ]

    return Explorer(
        draw,
        [
            Slider("transform", list(layers), label="transformation", default="rotation"),
            Slider("strength", list(levels), label="strength", default=2 if 2 in levels else None),
            Slider("seed", list(seeds), label="random draw", default=seeds[0]),
        ],
        title="Image augmentation previews",
    )
