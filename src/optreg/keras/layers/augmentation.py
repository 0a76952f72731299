"""Image augmentation layers that Keras 3 lacks: random gamma correction and median blur.

Twins of ``optreg.augmentation.RandomGamma`` and ``RandomMedianBlur`` (same arguments, same
argument checks, same formulas), written with ``keras.ops`` and ``keras.random`` so they run
on any backend. They compose with Keras' own augmentation layers, e.g.::

    augment = keras.Sequential([
        keras.layers.RandomFlip("horizontal"),
        keras.layers.RandomTranslation(0.1, 0.1),
        keras.layers.RandomRotation(0.05),
        keras.layers.RandomContrast(0.2),
        RandomGamma((0.8, 1.25)),
        RandomMedianBlur(3),
    ])

(Keras 3 already has ``RandomHue`` and ``RandomSaturation``, so they are not repeated here.)
Like Keras' augmentation layers they act only at training time (``training=True``, the default
when called directly) and return their input unchanged at inference. Images are channels-last,
batched ``(N, H, W, C)`` or single ``(H, W, C)``; the output is in the layer's compute dtype.
"""

from __future__ import annotations

import math

import keras
from keras import ops

from optreg.augmentation import check_gamma_range, check_kernel_size, check_value_range

__all__ = ["RandomGamma", "RandomMedianBlur"]


def _batched(inputs, dtype):
    x = ops.cast(inputs, dtype)
    unbatched = len(x.shape) == 3
    if len(x.shape) not in (3, 4):
        raise ValueError(f"images must be (H, W, C) or (N, H, W, C), got shape {x.shape}")
    return (ops.expand_dims(x, 0) if unbatched else x), unbatched


@keras.saving.register_keras_serializable(package="optreg")
class RandomGamma(keras.layers.Layer):
    r"""Random gamma correction, one gamma per image, drawn log-uniformly in ``gamma_range``:

    .. math:: \gamma = \exp(U[\log \gamma_{low}, \log \gamma_{high}]), \qquad
              out = low + (high - low) \left(\frac{x - low}{high - low}\right)^{\gamma}

    with ``(low, high) = value_range``. A single number fixes gamma. Twin of
    ``optreg.augmentation.RandomGamma`` / ``adjust_gamma``.
    """

    def __init__(self, gamma_range=(0.8, 1.25), value_range=(0, 255), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.gamma_range = check_gamma_range(gamma_range)
        self.value_range = check_value_range(value_range)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=True):
        if not training:
            return inputs
        x, unbatched = _batched(inputs, self.compute_dtype)
        low, high = self.value_range
        log_low, log_high = (math.log(g) for g in self.gamma_range)
        log_gamma = keras.random.uniform(
            (ops.shape(x)[0], 1, 1, 1),
            log_low,
            log_high,
            seed=self.seed_generator,
            dtype=self.compute_dtype,
        )
        u = ops.clip((x - low) / (high - low), 0.0, 1.0)
        out = low + (high - low) * ops.power(u, ops.exp(log_gamma))
        return ops.squeeze(out, 0) if unbatched else out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "gamma_range": self.gamma_range,
            "value_range": self.value_range,
            "seed": self.seed,
        }


def _median_blur(x, kernel_size: int):
    """Median over ``kernel_size`` x ``kernel_size`` windows, edges repeated (NHWC input)."""
    if kernel_size == 1:
        return x
    half = kernel_size // 2
    h, w = ops.shape(x)[1], ops.shape(x)[2]
    # edge padding = gathering with clipped indices
    rows = ops.clip(ops.arange(-half, h + half), 0, h - 1)
    cols = ops.clip(ops.arange(-half, w + half), 0, w - 1)
    padded = ops.take(ops.take(x, rows, axis=1), cols, axis=2)
    windows = [
        padded[:, i : i + h, j : j + w, :] for i in range(kernel_size) for j in range(kernel_size)
    ]
    stacked = ops.sort(ops.stack(windows, axis=-1), axis=-1)
    return stacked[..., kernel_size * kernel_size // 2]  # the middle of an odd count


@keras.saving.register_keras_serializable(package="optreg")
class RandomMedianBlur(keras.layers.Layer):
    """Median blur with an odd kernel size drawn uniformly per image from ``kernel_size``
    (an odd int, or a range ``(low, high)`` of odd sizes; 1 leaves an image unchanged).
    Borders repeat the edge pixels. Twin of ``optreg.augmentation.RandomMedianBlur`` /
    ``median_blur``.
    """

    def __init__(self, kernel_size=(3, 5), seed=None, **kwargs):
        super().__init__(**kwargs)
        self.kernel_size = check_kernel_size(kernel_size)
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)

    def call(self, inputs, training=True):
        if not training:
            return inputs
        x, unbatched = _batched(inputs, self.compute_dtype)
        low, high = self.kernel_size
        sizes = list(range(low, high + 1, 2))
        if len(sizes) == 1:
            out = _median_blur(x, sizes[0])
        else:
            choice = keras.random.randint(
                (ops.shape(x)[0], 1, 1, 1), 0, len(sizes), seed=self.seed_generator
            )
            out = ops.zeros_like(x)
            for i, k in enumerate(sizes):
                out = ops.where(ops.equal(choice, i), _median_blur(x, k), out)
        return ops.squeeze(out, 0) if unbatched else out

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "kernel_size": self.kernel_size, "seed": self.seed}
