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

from optreg.augmentation.image import (
    FILL_MODES as FILL_MODES,
)
from optreg.augmentation.image import (
    INTERPOLATIONS as INTERPOLATIONS,
)
from optreg.augmentation.image import (
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
    hsv_to_rgb,
    median_blur,
    pad,
    rgb_to_hsv,
    rotate,
    translate,
)
from optreg.augmentation.layers import (
    Pipeline,
    RandomBrightness,
    RandomContrast,
    RandomCrop,
    RandomFlip,
    RandomGamma,
    RandomHue,
    RandomMedianBlur,
    RandomRotation,
    RandomSaturation,
    RandomTranslation,
    augment,
)
from optreg.augmentation.layers import (
    RandomTransform as RandomTransform,
)
from optreg.augmentation.text import (
    STOP_WORDS as STOP_WORDS,
)
from optreg.augmentation.text import (
    eda,
    load_thesaurus,
    random_deletion,
    random_insertion,
    random_swap,
    synonym_replacement,
    tokenize,
)

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
    "check_value_range",
    "check_gamma_range",
    "check_kernel_size",
    "load_thesaurus",
    "tokenize",
    "synonym_replacement",
    "random_insertion",
    "random_swap",
    "random_deletion",
    "eda",
]
