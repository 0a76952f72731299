"""Random image transforms with Keras' names and arguments, and pipelines of them.

Each class draws its parameters per image and calls the deterministic function of
``optreg.augmentation.image``; ``Pipeline`` applies each transform with a probability.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from optreg._validation import check_choice, check_int, check_range
from optreg.augmentation.image import (
    FILL_MODES,
    _check_factor_pair,
    _check_sampling,
    _to_nhwc,
    adjust_brightness,
    adjust_contrast,
    adjust_gamma,
    adjust_hue,
    adjust_saturation,
    check_gamma_range,
    check_kernel_size,
    check_value_range,
    crop,
    flip_horizontal,
    flip_vertical,
    median_blur,
    pad,
    rotate,
    translate,
)

__all__ = [
    "RandomFlip",
    "RandomCrop",
    "RandomTranslation",
    "RandomRotation",
    "RandomContrast",
    "RandomBrightness",
    "RandomGamma",
    "RandomHue",
    "RandomSaturation",
    "RandomMedianBlur",
    "Pipeline",
    "augment",
]


# --------------------------------------------------------------------------------------------
# Random transforms: Keras' names and arguments; parameters drawn per image
# --------------------------------------------------------------------------------------------


class RandomTransform:
    """Base class: ``transform(images, rng=None)`` draws parameters for each image and applies
    the deterministic function; without ``rng`` the transform's own generator (seeded by
    ``seed``) is used. The input batch is never modified."""

    def __init__(self, seed: int | None = None) -> None:
        self.seed = None if seed is None else check_int("seed", seed, minimum=0)
        self._generator = np.random.default_rng(seed)

    def __call__(self, images: Any, rng: np.random.Generator | None = None) -> np.ndarray:
        images = np.asarray(images)
        _to_nhwc(images[:0])
        if len(images) == 0:
            return images.copy()
        return self.apply(images, rng if rng is not None else self._generator)

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class RandomFlip(RandomTransform):
    """Flip each image with probability 1/2, as ``keras.layers.RandomFlip``: ``mode`` is
    ``"horizontal"``, ``"vertical"`` or ``"horizontal_and_vertical"`` (two independent draws)."""

    def __init__(self, mode: str = "horizontal_and_vertical", seed: int | None = None) -> None:
        super().__init__(seed)
        self.mode = check_choice(
            "mode", mode, ("horizontal", "vertical", "horizontal_and_vertical")
        )

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        out = images.copy()
        if self.mode in ("horizontal", "horizontal_and_vertical"):
            chosen = rng.random(len(out)) < 0.5
            out[chosen] = flip_horizontal(out[chosen])
        if self.mode in ("vertical", "horizontal_and_vertical"):
            chosen = rng.random(len(out)) < 0.5
            out[chosen] = flip_vertical(out[chosen])
        return out


class RandomCrop(RandomTransform):
    """Random ``height`` x ``width`` window, as ``keras.layers.RandomCrop``, after padding each
    side with ``padding`` pixels (``fill_mode``): with ``padding=4`` and the image's own size,
    the classic CIFAR "pad and crop" (a random shift of up to 4 pixels)."""

    def __init__(
        self,
        height: int,
        width: int,
        padding: int = 0,
        fill_mode: str = "constant",
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        self.height = check_int("height", height, minimum=1)
        self.width = check_int("width", width, minimum=1)
        self.padding = check_int("padding", padding, minimum=0)
        self.fill_mode = check_choice("fill_mode", fill_mode, FILL_MODES)

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        padded = pad(images, self.padding, mode=self.fill_mode)
        h, w = padded.shape[1:3]
        if self.height > h or self.width > w:
            raise ValueError(
                f"crop size ({self.height}, {self.width}) exceeds the padded images ({h}, {w})"
            )
        top = rng.integers(0, h - self.height + 1, size=len(images))
        left = rng.integers(0, w - self.width + 1, size=len(images))
        return crop(padded, top, left, self.height, self.width)


class RandomTranslation(RandomTransform):
    """Shift by a random fraction of the height and width, as ``keras.layers.RandomTranslation``:
    ``height_factor=f`` draws ``dy`` uniformly in ``[-f H, f H]`` (positive: down), a pair
    ``(lower, upper)`` in ``[lower H, upper H]``; likewise ``width_factor`` (positive: right)."""

    def __init__(
        self,
        height_factor: float | Sequence[float],
        width_factor: float | Sequence[float],
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
    ) -> None:
        super().__init__(seed)
        self.height_factor = _check_factor_pair("height_factor", height_factor, -1.0, 1.0)
        self.width_factor = _check_factor_pair("width_factor", width_factor, -1.0, 1.0)
        _check_sampling(interpolation, fill_mode)
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = float(fill_value)

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        n, h, w = images.shape[:3]
        dy = rng.uniform(*self.height_factor, size=n) * h
        dx = rng.uniform(*self.width_factor, size=n) * w
        return translate(images, dy, dx, self.fill_mode, self.interpolation, self.fill_value)


class RandomRotation(RandomTransform):
    """Rotate by a random fraction of a full turn, as ``keras.layers.RandomRotation``:
    ``factor=f`` draws the angle uniformly in ``[-f, f] * 360`` degrees (positive:
    counter-clockwise), a pair ``(lower, upper)`` in ``[lower, upper] * 360``."""

    def __init__(
        self,
        factor: float | Sequence[float],
        fill_mode: str = "reflect",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
    ) -> None:
        super().__init__(seed)
        self.factor = _check_factor_pair("factor", factor, -1.0, 1.0)
        _check_sampling(interpolation, fill_mode)
        self.fill_mode, self.interpolation = fill_mode, interpolation
        self.fill_value = float(fill_value)

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        angle = rng.uniform(*self.factor, size=len(images)) * 360.0
        return rotate(images, angle, self.fill_mode, self.interpolation, self.fill_value)


class RandomContrast(RandomTransform):
    """Contrast factor drawn uniformly in ``[1 - lower, 1 + upper]`` (``factor=f``:
    ``[1 - f, 1 + f]``), as ``keras.layers.RandomContrast``; see :func:`adjust_contrast`."""

    def __init__(
        self,
        factor: float | Sequence[float],
        value_range: Sequence[float] = (0, 255),
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        if isinstance(factor, (int, float)):
            factor = (factor, factor)
        if len(factor) != 2:
            raise ValueError(f"factor must be a number or a pair, got {factor!r}")
        self.factor = (
            check_range("factor", factor[0], 0.0, 1.0),
            check_range("factor", factor[1], 0.0, np.inf),
        )
        self.value_range = check_value_range(value_range)

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        factor = rng.uniform(1.0 - self.factor[0], 1.0 + self.factor[1], size=len(images))
        return adjust_contrast(images, factor, self.value_range)


class RandomBrightness(RandomTransform):
    """Add a random fraction of the value range: ``factor=f`` draws ``delta`` in ``[-f, f]``
    (a pair: ``[lower, upper]``, each in [-1, 1]), as ``keras.layers.RandomBrightness``."""

    def __init__(
        self,
        factor: float | Sequence[float],
        value_range: Sequence[float] = (0, 255),
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        self.factor = _check_factor_pair("factor", factor, -1.0, 1.0)
        self.value_range = check_value_range(value_range)

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        delta = rng.uniform(*self.factor, size=len(images))
        return adjust_brightness(images, delta, self.value_range)


class RandomGamma(RandomTransform):
    """Gamma drawn log-uniformly in ``gamma_range`` (so that 1/2 and 2 are equally likely
    around 1); see :func:`adjust_gamma`. Keras has no such layer: its twin is
    ``optreg.keras.layers.RandomGamma``."""

    def __init__(
        self,
        gamma_range: float | Sequence[float] = (0.8, 1.25),
        value_range: Sequence[float] = (0, 255),
        seed: int | None = None,
    ) -> None:
        super().__init__(seed)
        self.gamma_range = check_gamma_range(gamma_range)
        self.value_range = check_value_range(value_range)

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        low, high = np.log(self.gamma_range)
        gamma = np.exp(rng.uniform(low, high, size=len(images)))
        return adjust_gamma(images, gamma, value_range=self.value_range)


class RandomHue(RandomTransform):
    """Turn the hue by ``delta`` drawn uniformly in ``[-factor, factor]`` (fraction of the
    colour circle, ``factor`` in [0, 0.5]); see :func:`adjust_hue`. Keras' ``RandomHue``
    parametrizes its ``factor`` differently."""

    def __init__(
        self, factor: float, value_range: Sequence[float] = (0, 255), seed: int | None = None
    ) -> None:
        super().__init__(seed)
        self.factor = check_range("factor", factor, 0.0, 0.5)
        self.value_range = check_value_range(value_range)

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        delta = rng.uniform(-self.factor, self.factor, size=len(images))
        return adjust_hue(images, delta, self.value_range)


class RandomSaturation(RandomTransform):
    """Scale the saturation by a factor drawn uniformly in ``[1 - factor, 1 + factor]``
    (``factor`` in [0, 1]); see :func:`adjust_saturation`. Keras' ``RandomSaturation``
    parametrizes its ``factor`` differently."""

    def __init__(
        self, factor: float, value_range: Sequence[float] = (0, 255), seed: int | None = None
    ) -> None:
        super().__init__(seed)
        self.factor = check_range("factor", factor, 0.0, 1.0)
        self.value_range = check_value_range(value_range)

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        factor = rng.uniform(1.0 - self.factor, 1.0 + self.factor, size=len(images))
        return adjust_saturation(images, factor, self.value_range)


class RandomMedianBlur(RandomTransform):
    """Median blur with an odd kernel size drawn uniformly per image from ``kernel_size``
    (an odd int, or a range ``(low, high)`` of odd sizes; size 1 leaves the image as is);
    see :func:`median_blur`. Twin: ``optreg.keras.layers.RandomMedianBlur``."""

    def __init__(self, kernel_size: int | Sequence[int] = (3, 5), seed: int | None = None) -> None:
        super().__init__(seed)
        self.kernel_size = check_kernel_size(kernel_size)

    def apply(self, images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        low, high = self.kernel_size
        sizes = rng.choice(np.arange(low, high + 1, 2), size=len(images))
        out = images.copy()
        for k in np.unique(sizes):  # one pass per distinct size, not per image
            chosen = sizes == k
            out[chosen] = median_blur(images[chosen], int(k))
        return out


class Pipeline:
    """Apply transforms in order, each to each image with its probability, from one seed.

    ``Pipeline([(RandomFlip("horizontal"), 1.0), (RandomRotation(0.05), 0.5)], seed=0)``:
    every image is flipped half of the time (``RandomFlip``'s own coin) and, independently,
    rotated with probability 0.5. A transform given without probability has ``p = 1``. The
    pipeline's generator drives every draw, so the same seed gives the same augmented batch.
    """

    def __init__(self, transforms: Sequence[Any], seed: int | None = None) -> None:
        self.steps: list[tuple[Any, float]] = []
        for item in transforms:
            transform, p = item if isinstance(item, tuple) else (item, 1.0)
            if not callable(transform):
                raise ValueError(f"transforms must be callables, got {transform!r}")
            self.steps.append((transform, check_range("probability", p, 0.0, 1.0)))
        self.seed = None if seed is None else check_int("seed", seed, minimum=0)
        self.rng = np.random.default_rng(seed)

    def __call__(self, images: Any) -> np.ndarray:
        out = _images_batch(images).copy()  # a copy: the caller's batch is never modified
        for transform, p in self.steps:
            chosen = self.rng.random(len(out)) < p  # each image with probability p
            if chosen.any():
                out[chosen] = self._apply(transform, out[chosen])
        return out

    def _apply(self, transform: Any, subset: np.ndarray) -> np.ndarray:
        """``transform(subset)``, drawing from the pipeline's generator; the shape must stay."""
        if isinstance(transform, RandomTransform):
            result = transform(subset, rng=self.rng)
        else:
            result = transform(subset)
        if result.shape != subset.shape:
            raise ValueError(
                f"{transform!r} changed the image shape ({subset.shape} -> "
                f"{result.shape}); a pipeline's transforms must keep it"
            )
        return result


def _images_batch(images: Any) -> np.ndarray:
    """``images`` as an array, checked to be a batch (N, H, W) or (N, H, W, C) of numbers."""
    images = np.asarray(images)
    _to_nhwc(images[:0])
    return images


def augment(images: Any, transforms: Sequence[Any], seed: int | None = None) -> np.ndarray:
    """One call: ``Pipeline(transforms, seed)(images)``."""
    return Pipeline(transforms, seed)(images)
