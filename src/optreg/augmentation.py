"""Data augmentation in NumPy: image transforms and EDA for text.

Images
------
Images come in batches, ``(N, H, W)`` (grayscale) or ``(N, H, W, C)``, of integers (``uint8``:
the result is rounded and clipped back to the dtype) or floats (kept in their dtype). Pass
``image[None]`` for a single image. Photometric transforms take a ``value_range``, the range
of a pixel, ``(0, 255)`` by default as in Keras (``(0, 1)`` for images scaled to [0, 1]).

Each transform exists twice:

* a deterministic function with explicit parameters, e.g. ``rotate(images, angle=90)``,
  ``adjust_gamma(images, gamma=0.5)``, ``median_blur(images, kernel_size=3)``: what the
  transform *does*, testable by hand;
* a random layer-like class with the name and the arguments of its Keras counterpart, e.g.
  ``RandomRotation(factor=0.1)``, which draws the parameters per image and calls the function.

Geometric transforms sample the input through an *inverse map*: for every output pixel compute
where it comes from in the input and interpolate there (``"nearest"`` or ``"bilinear"``);
points that fall outside are filled according to ``fill_mode`` (Keras' modes: ``"constant"``
with ``fill_value``, ``"nearest"``, ``"reflect"`` = (d c b a | a b c d | d c b a), ``"wrap"``).

:class:`Pipeline` chains random transforms, applying each one to each image with a probability,
reproducibly from a seed (``augment`` is the one-call form).

Text (EDA, Wei and Zou, 2019)
-----------------------------
Four cheap operations on a sentence's words: synonym replacement (thesaurus shipped in
``optreg/resources/thesaurus.json``), random insertion of a synonym, random swap, random
deletion; :func:`eda` makes ``num_aug`` augmented sentences from one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from optreg._validation import check_choice, check_int, check_range

__all__ = [
    # deterministic image functions
    "flip_horizontal",
    "flip_vertical",
    "pad",
    "crop",
    "translate",
    "rotate",
    "adjust_contrast",
    "adjust_brightness",
    "adjust_gamma",
    "rgb_to_hsv",
    "hsv_to_rgb",
    "adjust_hue",
    "adjust_saturation",
    "median_blur",
    # random transforms and pipelines
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
    # shared argument checks (also used by the Keras layers)
    "check_value_range",
    "check_gamma_range",
    "check_kernel_size",
    # text
    "load_thesaurus",
    "tokenize",
    "synonym_replacement",
    "random_insertion",
    "random_swap",
    "random_deletion",
    "eda",
]

FILL_MODES = ("constant", "nearest", "reflect", "wrap")
INTERPOLATIONS = ("nearest", "bilinear")


# --------------------------------------------------------------------------------------------
# Argument checks shared with optreg.keras.layers.augmentation
# --------------------------------------------------------------------------------------------


def check_value_range(value_range: Sequence[float]) -> tuple[float, float]:
    """``(low, high)`` with ``low < high``."""
    if len(value_range) != 2:
        raise ValueError(f"value_range must be a pair (low, high), got {value_range!r}")
    low, high = (float(v) for v in value_range)
    if not low < high:
        raise ValueError(f"value_range must have low < high, got {value_range!r}")
    return low, high


def check_gamma_range(gamma_range: float | Sequence[float]) -> tuple[float, float]:
    """A gamma ``> 0`` or an interval ``(low, high)`` with ``0 < low <= high``."""
    if isinstance(gamma_range, (int, float)):
        gamma_range = (gamma_range, gamma_range)
    if len(gamma_range) != 2:
        raise ValueError(f"gamma_range must be a number or a pair, got {gamma_range!r}")
    low, high = (float(g) for g in gamma_range)
    if not 0 < low <= high:
        raise ValueError(f"gamma_range must satisfy 0 < low <= high, got {gamma_range!r}")
    return low, high


def check_kernel_size(kernel_size: int | Sequence[int]) -> tuple[int, int]:
    """An odd size ``>= 1`` or a range ``(low, high)`` of odd sizes, ``low <= high``."""
    if isinstance(kernel_size, (int, np.integer)):
        kernel_size = (kernel_size, kernel_size)
    if len(kernel_size) != 2:
        raise ValueError(f"kernel_size must be an odd int or a pair, got {kernel_size!r}")
    low, high = (check_int("kernel_size", k, minimum=1) for k in kernel_size)
    if low % 2 == 0 or high % 2 == 0 or low > high:
        raise ValueError(f"kernel_size must be odd sizes with low <= high, got {kernel_size!r}")
    return low, high


def _check_factor_pair(name: str, factor: float | Sequence[float], low: float, high: float):
    """Keras' ``factor`` convention: ``f`` means ``(-f, f)``, a pair is ``(lower, upper)``;
    every bound must lie in ``[low, high]``."""
    if isinstance(factor, (int, float)):
        factor = (-abs(float(factor)), abs(float(factor)))
    if len(factor) != 2:
        raise ValueError(f"{name} must be a number or a pair (lower, upper), got {factor!r}")
    lower = check_range(name, factor[0], low, high)
    upper = check_range(name, factor[1], low, high)
    if lower > upper:
        raise ValueError(f"{name} must have lower <= upper, got {factor!r}")
    return lower, upper


def _rng(seed: int | np.random.Generator | None) -> np.random.Generator:
    return seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)


# --------------------------------------------------------------------------------------------
# Batches: (N, H, W) or (N, H, W, C) in, the same shape and dtype out
# --------------------------------------------------------------------------------------------


def _to_nhwc(images: Any) -> tuple[np.ndarray, bool]:
    """A float64 (N, H, W, C) copy-or-view and whether the input had no channel axis."""
    images = np.asarray(images)
    if images.ndim not in (3, 4):
        raise ValueError(
            f"images must be a batch (N, H, W) or (N, H, W, C), got shape {images.shape}"
        )
    if images.dtype.kind not in "uif":
        raise ValueError(f"images must be numeric, got dtype {images.dtype}")
    gray = images.ndim == 3
    x = images[..., None] if gray else images
    return x.astype(np.float64), gray


def _from_nhwc(x: np.ndarray, gray: bool, like: np.ndarray) -> np.ndarray:
    """Back to the input's layout and dtype (integers: rounded and clipped to the dtype)."""
    like = np.asarray(like)
    if gray:
        x = x[..., 0]
    if like.dtype.kind in "ui":
        info = np.iinfo(like.dtype)
        return np.clip(np.rint(x), info.min, info.max).astype(like.dtype)
    return x.astype(like.dtype)


def flip_horizontal(images: Any) -> np.ndarray:
    """Mirror left-right: ``out[n, i, j] = images[n, i, W - 1 - j]``."""
    images = np.asarray(images)
    _to_nhwc(images[:0])  # shape and dtype check only
    return images[:, :, ::-1].copy()


def flip_vertical(images: Any) -> np.ndarray:
    """Mirror top-bottom: ``out[n, i, j] = images[n, H - 1 - i, j]``."""
    images = np.asarray(images)
    _to_nhwc(images[:0])
    return images[:, ::-1].copy()


def pad(images: Any, padding: int, mode: str = "constant", fill_value: float = 0) -> np.ndarray:
    """Add ``padding`` pixels on every side; ``mode`` is ``"constant"`` (``fill_value``),
    ``"nearest"``, ``"reflect"`` or ``"wrap"`` as for the geometric transforms."""
    padding = check_int("padding", padding, minimum=0)
    check_choice("mode", mode, FILL_MODES)
    images = np.asarray(images)
    _to_nhwc(images[:0])
    widths = [(0, 0), (padding, padding), (padding, padding)] + [(0, 0)] * (images.ndim - 3)
    numpy_mode = {"nearest": "edge", "reflect": "symmetric", "wrap": "wrap"}.get(mode, mode)
    if mode == "constant":
        return np.pad(images, widths, mode="constant", constant_values=fill_value)
    return np.pad(images, widths, mode=numpy_mode)


def crop(images: Any, top: Any, left: Any, height: int, width: int) -> np.ndarray:
    """``images[n, top_n : top_n + height, left_n : left_n + width]`` for each image ``n``;
    ``top`` and ``left`` are ints or one per image."""
    images = np.asarray(images)
    _to_nhwc(images[:0])
    n, h, w = images.shape[:3]
    height = check_int("height", height, minimum=1)
    width = check_int("width", width, minimum=1)
    top = np.broadcast_to(np.asarray(top, dtype=np.intp), (n,))
    left = np.broadcast_to(np.asarray(left, dtype=np.intp), (n,))
    if n and (top.min() < 0 or left.min() < 0 or top.max() + height > h or left.max() + width > w):
        raise ValueError(
            f"crop window ({height}, {width}) at offsets top={top.tolist()}, "
            f"left={left.tolist()} does not fit in images of size ({h}, {w})"
        )
    rows = top[:, None] + np.arange(height)  # (N, height)
    cols = left[:, None] + np.arange(width)  # (N, width)
    return images[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def _fold(index: np.ndarray, size: int, fill_mode: str) -> np.ndarray:
    """Map integer indices outside ``[0, size)`` back inside, for the non-constant modes."""
    if fill_mode == "nearest":
        return np.clip(index, 0, size - 1)
    if fill_mode == "wrap":
        return np.mod(index, size)
    # reflect about the edge of the last pixel: period 2 size, second half mirrored
    index = np.mod(index, 2 * size)
    return np.where(index >= size, 2 * size - 1 - index, index)


def _gather(x, rows, cols, fill_mode, fill_value):
    """``x[n, rows, cols]`` (x is N, H, W, C; rows and cols N, H', W') with out-of-range
    indices handled by ``fill_mode``."""
    n, h, w = x.shape[:3]
    batch = np.arange(n)[:, None, None]
    if fill_mode == "constant":
        inside = (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
        values = x[batch, np.clip(rows, 0, h - 1), np.clip(cols, 0, w - 1)]
        return np.where(inside[..., None], values, fill_value)
    return x[batch, _fold(rows, h, fill_mode), _fold(cols, w, fill_mode)]


def _sample(x, src_rows, src_cols, interpolation, fill_mode, fill_value):
    """Inverse mapping: ``out[n, i, j] = x`` interpolated at ``(src_rows, src_cols)[n, i, j]``."""
    if interpolation == "nearest":
        rows = np.floor(src_rows + 0.5).astype(np.intp)
        cols = np.floor(src_cols + 0.5).astype(np.intp)
        return _gather(x, rows, cols, fill_mode, fill_value)
    r0, c0 = np.floor(src_rows), np.floor(src_cols)
    fr, fc = (src_rows - r0)[..., None], (src_cols - c0)[..., None]
    r0, c0 = r0.astype(np.intp), c0.astype(np.intp)
    return (
        (1 - fr) * (1 - fc) * _gather(x, r0, c0, fill_mode, fill_value)
        + (1 - fr) * fc * _gather(x, r0, c0 + 1, fill_mode, fill_value)
        + fr * (1 - fc) * _gather(x, r0 + 1, c0, fill_mode, fill_value)
        + fr * fc * _gather(x, r0 + 1, c0 + 1, fill_mode, fill_value)
    )


def _check_sampling(interpolation: str, fill_mode: str) -> None:
    check_choice("interpolation", interpolation, INTERPOLATIONS)
    check_choice("fill_mode", fill_mode, FILL_MODES)


def translate(
    images: Any,
    dy: Any,
    dx: Any,
    fill_mode: str = "constant",
    interpolation: str = "nearest",
    fill_value: float = 0.0,
) -> np.ndarray:
    """Shift the content ``dy`` pixels down and ``dx`` pixels right (negative: up, left):
    ``out[n, i, j] = images[n, i - dy_n, j - dx_n]``. Shifts are numbers or one per image,
    fractional shifts are interpolated."""
    _check_sampling(interpolation, fill_mode)
    x, gray = _to_nhwc(images)
    n, h, w = x.shape[:3]
    dy = np.broadcast_to(np.asarray(dy, dtype=np.float64), (n,))[:, None, None]
    dx = np.broadcast_to(np.asarray(dx, dtype=np.float64), (n,))[:, None, None]
    rows, cols = np.meshgrid(
        np.arange(h, dtype=np.float64), np.arange(w, dtype=np.float64), indexing="ij"
    )
    out = _sample(x, rows - dy, cols - dx, interpolation, fill_mode, fill_value)
    return _from_nhwc(out, gray, images)


def rotate(
    images: Any,
    angle: Any,
    fill_mode: str = "constant",
    interpolation: str = "bilinear",
    fill_value: float = 0.0,
) -> np.ndarray:
    """Rotate counter-clockwise (as displayed) by ``angle`` degrees about the image centre.

    Inverse map, in coordinates centred at ``((H - 1) / 2, (W - 1) / 2)`` with rows down:
    the output pixel ``(r, c)`` comes from ``(cos a r + sin a c, -sin a r + cos a c)``. A
    quarter turn of a square image equals ``np.rot90(images, axes=(1, 2))``. ``angle`` is a
    number or one per image; the output keeps the input's size (corners are filled).
    """
    _check_sampling(interpolation, fill_mode)
    x, gray = _to_nhwc(images)
    n, h, w = x.shape[:3]
    theta = np.deg2rad(np.broadcast_to(np.asarray(angle, dtype=np.float64), (n,)))
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    cy, cx = (h - 1) / 2, (w - 1) / 2
    r, c = np.meshgrid(np.arange(h) - cy, np.arange(w) - cx, indexing="ij")
    src_rows = cos * r + sin * c + cy
    src_cols = -sin * r + cos * c + cx
    out = _sample(x, src_rows, src_cols, interpolation, fill_mode, fill_value)
    return _from_nhwc(out, gray, images)


def _per_image(values: Any, n: int) -> np.ndarray:
    """A number or one number per image, shaped to broadcast over (N, H, W, C)."""
    return np.broadcast_to(np.asarray(values, dtype=np.float64), (n,))[:, None, None, None]


def adjust_contrast(
    images: Any, factor: Any, value_range: Sequence[float] = (0, 255)
) -> np.ndarray:
    """``(x - mean) * factor + mean``, mean over each image's pixels per channel, clipped to
    ``value_range`` (Keras' ``RandomContrast`` / ``tf.image.adjust_contrast``)."""
    low, high = check_value_range(value_range)
    x, gray = _to_nhwc(images)
    mean = x.mean(axis=(1, 2), keepdims=True)
    out = (x - mean) * _per_image(factor, len(x)) + mean
    return _from_nhwc(np.clip(out, low, high), gray, images)


def adjust_brightness(
    images: Any, delta: Any, value_range: Sequence[float] = (0, 255)
) -> np.ndarray:
    """``x + delta * (high - low)``, clipped: ``delta`` is a fraction of the value range, as in
    Keras' ``RandomBrightness``."""
    low, high = check_value_range(value_range)
    x, gray = _to_nhwc(images)
    out = x + _per_image(delta, len(x)) * (high - low)
    return _from_nhwc(np.clip(out, low, high), gray, images)


def adjust_gamma(
    images: Any, gamma: Any, gain: float = 1.0, value_range: Sequence[float] = (0, 255)
) -> np.ndarray:
    r"""Gamma correction on pixels scaled to [0, 1]:

    .. math:: u = \frac{x - low}{high - low}, \qquad out = low + (high - low)\,
              \mathrm{clip}(\mathrm{gain}\; u^{\gamma}, 0, 1).

    ``gamma < 1`` brightens the dark tones, ``gamma > 1`` darkens them; 0 and 1 are fixed
    points (with ``gain = 1``)."""
    low, high = check_value_range(value_range)
    gamma = np.asarray(gamma, dtype=np.float64)
    if np.any(gamma <= 0):
        raise ValueError(f"gamma must be > 0, got {gamma!r}")
    x, gray = _to_nhwc(images)
    u = np.clip((x - low) / (high - low), 0.0, 1.0)
    out = low + (high - low) * np.clip(gain * u ** _per_image(gamma, len(x)), 0.0, 1.0)
    return _from_nhwc(out, gray, images)


def rgb_to_hsv(rgb: Any) -> np.ndarray:
    """RGB in [0, 1] (last axis 3) to HSV in [0, 1]: ``v = max``, ``s = (max - min) / max``,
    hue the position on the colour hexagon divided by 6 (0 for greys)."""
    rgb = np.asarray(rgb, dtype=np.float64)
    if rgb.shape[-1] != 3:
        raise ValueError(f"rgb must have 3 channels on its last axis, got shape {rgb.shape}")
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    v = rgb.max(axis=-1)
    chroma = v - rgb.min(axis=-1)
    safe = np.where(chroma > 0, chroma, 1.0)
    s = np.where(v > 0, chroma / np.where(v > 0, v, 1.0), 0.0)
    h = np.where(
        v == r,
        np.mod((g - b) / safe, 6.0),
        np.where(v == g, (b - r) / safe + 2.0, (r - g) / safe + 4.0),
    )
    h = np.where(chroma > 0, h / 6.0, 0.0)
    return np.stack([h, s, v], axis=-1)


def hsv_to_rgb(hsv: Any) -> np.ndarray:
    """Inverse of :func:`rgb_to_hsv` (hue taken modulo 1)."""
    hsv = np.asarray(hsv, dtype=np.float64)
    if hsv.shape[-1] != 3:
        raise ValueError(f"hsv must have 3 channels on its last axis, got shape {hsv.shape}")
    h, s, v = np.mod(hsv[..., 0], 1.0) * 6.0, hsv[..., 1], hsv[..., 2]
    sector = np.floor(h).astype(int) % 6
    f = h - np.floor(h)
    p, q, t = v * (1 - s), v * (1 - s * f), v * (1 - s * (1 - f))
    # (r, g, b) for the six sectors of the hexagon
    table = [(v, t, p), (q, v, p), (p, v, t), (p, q, v), (t, p, v), (v, p, q)]
    rgb = [np.choose(sector, [row[k] for row in table]) for k in range(3)]
    return np.stack(rgb, axis=-1)


def _hsv_adjust(images, value_range, change):
    low, high = check_value_range(value_range)
    x, gray = _to_nhwc(images)
    if gray or x.shape[-1] != 3:
        raise ValueError(f"images must be RGB (N, H, W, 3), got shape {np.shape(images)}")
    hsv = rgb_to_hsv(np.clip((x - low) / (high - low), 0.0, 1.0))
    change(hsv)
    return _from_nhwc(low + (high - low) * hsv_to_rgb(hsv), gray, images)


def adjust_hue(images: Any, delta: Any, value_range: Sequence[float] = (0, 255)) -> np.ndarray:
    """Turn the hue by ``delta`` (a fraction of the full colour circle; one per image or one
    for all): ``h <- (h + delta) mod 1`` in HSV space. RGB images only."""
    delta = np.broadcast_to(np.asarray(delta, dtype=np.float64), (len(np.asarray(images)),))

    def change(hsv):
        hsv[..., 0] = np.mod(hsv[..., 0] + delta[:, None, None], 1.0)

    return _hsv_adjust(images, value_range, change)


def adjust_saturation(
    images: Any, factor: Any, value_range: Sequence[float] = (0, 255)
) -> np.ndarray:
    """Scale the saturation: ``s <- clip(s * factor, 0, 1)`` in HSV space (0 gives grey)."""
    factor = np.broadcast_to(np.asarray(factor, dtype=np.float64), (len(np.asarray(images)),))
    if np.any(factor < 0):
        raise ValueError(f"factor must be >= 0, got {factor!r}")

    def change(hsv):
        hsv[..., 1] = np.clip(hsv[..., 1] * factor[:, None, None], 0.0, 1.0)

    return _hsv_adjust(images, value_range, change)


def median_blur(images: Any, kernel_size: int = 3) -> np.ndarray:
    """Replace each pixel by the median of its ``kernel_size`` x ``kernel_size`` neighbourhood,
    per channel; borders repeat the edge pixels (as OpenCV's ``medianBlur``). Removes
    salt-and-pepper noise while keeping edges, unlike a mean blur."""
    low, high = check_kernel_size(kernel_size)
    if low != high:
        raise ValueError(f"kernel_size must be one odd size here, got {kernel_size!r}")
    images = np.asarray(images)
    x, gray = _to_nhwc(images)
    k = low
    half = k // 2
    padded = np.pad(x, [(0, 0), (half, half), (half, half), (0, 0)], mode="edge")
    windows = np.lib.stride_tricks.sliding_window_view(padded, (k, k), axis=(1, 2))
    out = np.median(windows.reshape(*windows.shape[:4], k * k), axis=-1)
    return _from_nhwc(out, gray, images)


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
        out = np.array(images)  # a copy: the caller's batch is never modified
        _to_nhwc(out[:0])
        for transform, p in self.steps:
            chosen = self.rng.random(len(out)) < p
            if chosen.any():
                subset = out[chosen]
                if isinstance(transform, RandomTransform):
                    result = transform(subset, rng=self.rng)
                else:
                    result = transform(subset)
                if result.shape != subset.shape:
                    raise ValueError(
                        f"{transform!r} changed the image shape ({subset.shape} -> "
                        f"{result.shape}); a pipeline's transforms must keep it"
                    )
                out[chosen] = result
        return out


def augment(images: Any, transforms: Sequence[Any], seed: int | None = None) -> np.ndarray:
    """One call: ``Pipeline(transforms, seed)(images)``."""
    return Pipeline(transforms, seed)(images)


# --------------------------------------------------------------------------------------------
# Text: EDA
# --------------------------------------------------------------------------------------------

#: Function words that synonym replacement and insertion leave alone (as EDA does).
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves""".split()
)


@lru_cache(maxsize=1)
def load_thesaurus() -> dict[str, tuple[str, ...]]:
    """The package's small thesaurus: ``{word: (synonym, ...)}`` for common English words."""
    text = resources.files("optreg").joinpath("resources/thesaurus.json").read_text("utf-8")
    return {word: tuple(synonyms) for word, synonyms in json.loads(text).items()}


def tokenize(sentence: str) -> list[str]:
    """Lower-case words (letters and apostrophes), as EDA cleans its input."""
    if not isinstance(sentence, str):
        raise ValueError(f"sentence must be a string, got {type(sentence).__name__}")
    return re.findall(r"[a-z']+", sentence.lower())


def _words(sentence_or_words: str | Sequence[str]) -> list[str]:
    if isinstance(sentence_or_words, str):
        return tokenize(sentence_or_words)
    return list(sentence_or_words)


def _synonyms(word: str, thesaurus: dict[str, Sequence[str]]) -> Sequence[str]:
    return () if word in STOP_WORDS else thesaurus.get(word, ())


def synonym_replacement(
    sentence: str | Sequence[str], n: int, seed: Any = None, thesaurus: dict | None = None
) -> list[str]:
    """Replace ``n`` distinct words that have synonyms (stop words excluded) by a random
    synonym each; fewer when the sentence has fewer such words."""
    n = check_int("n", n, minimum=0)
    rng, thesaurus = _rng(seed), thesaurus if thesaurus is not None else load_thesaurus()
    words = _words(sentence)
    candidates = [i for i, w in enumerate(words) if _synonyms(w, thesaurus)]
    for i in rng.permutation(candidates)[:n]:
        options = _synonyms(words[i], thesaurus)
        words[i] = options[rng.integers(len(options))]
    return words


def random_insertion(
    sentence: str | Sequence[str], n: int, seed: Any = None, thesaurus: dict | None = None
) -> list[str]:
    """``n`` times: take a random word that has synonyms, insert one of its synonyms at a
    random position. Nothing happens when no word has a synonym."""
    n = check_int("n", n, minimum=0)
    rng, thesaurus = _rng(seed), thesaurus if thesaurus is not None else load_thesaurus()
    words = _words(sentence)
    for _ in range(n):
        candidates = [w for w in words if _synonyms(w, thesaurus)]
        if not candidates:
            break
        options = _synonyms(candidates[rng.integers(len(candidates))], thesaurus)
        words.insert(int(rng.integers(len(words) + 1)), options[rng.integers(len(options))])
    return words


def random_swap(sentence: str | Sequence[str], n: int, seed: Any = None) -> list[str]:
    """``n`` times: swap the words at two random positions (distinct when possible)."""
    n = check_int("n", n, minimum=0)
    rng = _rng(seed)
    words = _words(sentence)
    if len(words) < 2:
        return words
    for _ in range(n):
        i, j = rng.choice(len(words), size=2, replace=False)
        words[i], words[j] = words[j], words[i]
    return words


def random_deletion(sentence: str | Sequence[str], p: float, seed: Any = None) -> list[str]:
    """Delete each word with probability ``p``; if every word goes, keep one at random."""
    p = check_range("p", p, 0.0, 1.0)
    rng = _rng(seed)
    words = _words(sentence)
    if not words:
        return words
    kept = [w for w, u in zip(words, rng.random(len(words)), strict=True) if u >= p]
    return kept if kept else [words[rng.integers(len(words))]]


def eda(
    sentence: str,
    alpha_sr: float = 0.1,
    alpha_ri: float = 0.1,
    alpha_rs: float = 0.1,
    p_rd: float = 0.1,
    num_aug: int = 9,
    seed: int | None = None,
) -> list[str]:
    """``num_aug`` augmented versions of ``sentence`` (Wei and Zou's EDA).

    For a sentence of ``L`` words, synonym replacement changes ``n = max(1, alpha_sr L)``
    words, random insertion adds ``max(1, alpha_ri L)``, random swap makes ``max(1,
    alpha_rs L)`` swaps and random deletion drops each word with probability ``p_rd``. Each
    operation with a nonzero strength makes ``ceil(num_aug / k)`` sentences (``k`` operations
    enabled); they are shuffled and the first ``num_aug`` returned (the original sentence is
    not included). The same ``seed`` gives the same sentences.
    """
    alphas = {
        "alpha_sr": check_range("alpha_sr", alpha_sr, 0.0, 1.0),
        "alpha_ri": check_range("alpha_ri", alpha_ri, 0.0, 1.0),
        "alpha_rs": check_range("alpha_rs", alpha_rs, 0.0, 1.0),
        "p_rd": check_range("p_rd", p_rd, 0.0, 1.0),
    }
    num_aug = check_int("num_aug", num_aug, minimum=1)
    rng = np.random.default_rng(seed)
    words = tokenize(sentence)
    if not words:
        raise ValueError("sentence must contain at least one word")

    def count(alpha: float) -> int:
        return max(1, int(alpha * len(words)))

    operations = {
        "alpha_sr": lambda: synonym_replacement(words, count(alpha_sr), rng),
        "alpha_ri": lambda: random_insertion(words, count(alpha_ri), rng),
        "alpha_rs": lambda: random_swap(words, count(alpha_rs), rng),
        "p_rd": lambda: random_deletion(words, p_rd, rng),
    }
    enabled = [name for name, value in alphas.items() if value > 0]
    if not enabled:
        raise ValueError("at least one of alpha_sr, alpha_ri, alpha_rs, p_rd must be > 0")
    per_operation = -(-num_aug // len(enabled))
    sentences = [" ".join(operations[name]()) for name in enabled for _ in range(per_operation)]
    order = rng.permutation(len(sentences))[:num_aug]
    return [sentences[i] for i in order]
