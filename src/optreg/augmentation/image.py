"""Deterministic image transforms on batches (N, H, W) or (N, H, W, C), and their argument checks
(shared with ``optreg.keras.layers.augmentation``). See ``optreg.augmentation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from optreg._validation import check_choice, check_int, check_range
from optreg.hyperparameters import checked

__all__ = [
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
    "check_value_range",
    "check_gamma_range",
    "check_kernel_size",
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


def _positive_array(name: str, value: Any) -> np.ndarray:
    """A number or an array of numbers, all ``> 0``, as a float64 array."""
    array = np.asarray(value, dtype=np.float64)
    if np.any(array <= 0):
        raise ValueError(f"{name} must be > 0, got {array!r}")
    return array


def _value_range(name: str, value: Sequence[float]) -> tuple[float, float]:
    return check_value_range(value)


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


@checked(gamma=_positive_array, value_range=_value_range)
def adjust_gamma(
    images: Any, gamma: Any, gain: float = 1.0, value_range: Sequence[float] = (0, 255)
) -> np.ndarray:
    r"""Gamma correction on pixels scaled to [0, 1]:

    .. math:: u = \frac{x - low}{high - low}, \qquad out = low + (high - low)\,
              \mathrm{clip}(\mathrm{gain}\; u^{\gamma}, 0, 1).

    ``gamma < 1`` brightens the dark tones, ``gamma > 1`` darkens them; 0 and 1 are fixed
    points (with ``gain = 1``)."""
    low, high = value_range
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
