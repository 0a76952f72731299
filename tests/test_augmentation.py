"""optreg.augmentation: hand-checkable outputs, independent references, seeds, statistics."""

from __future__ import annotations

import colorsys

import numpy as np
import pytest

from optreg import augmentation as A


def grid(n=1, h=4, w=4):
    return np.arange(n * h * w, dtype=np.uint8).reshape(n, h, w)


def rgb_batch(n=3, h=5, w=6, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=(n, h, w, 3), dtype=np.uint8)


# --------------------------------------------------------------------------------------------
# Deterministic transforms
# --------------------------------------------------------------------------------------------


def test_flips():
    x = np.array([[[1, 2, 3], [4, 5, 6]]], dtype=np.uint8)
    np.testing.assert_array_equal(A.flip_horizontal(x), [[[3, 2, 1], [6, 5, 4]]])
    np.testing.assert_array_equal(A.flip_vertical(x), [[[4, 5, 6], [1, 2, 3]]])
    rgb = rgb_batch()
    np.testing.assert_array_equal(A.flip_horizontal(rgb), rgb[:, :, ::-1, :])
    assert A.flip_horizontal(x).dtype == np.uint8


def test_pad_and_crop_offsets():
    x = grid()  # 0..15
    padded = A.pad(x, 1)
    assert padded.shape == (1, 6, 6)
    np.testing.assert_array_equal(padded[0, 0], 0)
    np.testing.assert_array_equal(padded[0, 1:5, 1:5], x[0])
    np.testing.assert_array_equal(A.pad(x, 1, mode="nearest")[0, 0, :3], [0, 0, 1])
    np.testing.assert_array_equal(A.pad(x, 2, mode="reflect")[0, 2, :4], [1, 0, 0, 1])
    # two images, two offsets
    xs = grid(2)
    out = A.crop(xs, top=[0, 1], left=[2, 0], height=2, width=2)
    np.testing.assert_array_equal(out[0], [[2, 3], [6, 7]])
    np.testing.assert_array_equal(out[1], [[20, 21], [24, 25]])


def test_random_crop_with_padding_is_a_shift_of_at_most_padding():
    x = grid(50, 6, 6) % 200 + 1  # no zeros inside, so the padding is visible
    out = A.RandomCrop(6, 6, padding=2, seed=0)(x)
    assert out.shape == x.shape
    padded = A.pad(x, 2)
    shifts = set()
    for i in range(50):
        matches = [
            (t, l)
            for t in range(5)
            for l in range(5)
            if np.array_equal(padded[i, t : t + 6, l : l + 6], out[i])
        ]
        assert matches, "every output must be a window of the padded image"
        shifts.add(matches[0])
    assert len(shifts) > 10  # many different offsets were drawn


def test_rotation_by_quarter_turns_equals_rot90():
    x = np.random.default_rng(1).integers(0, 256, size=(2, 7, 7, 3), dtype=np.uint8)
    for interpolation in ("nearest", "bilinear"):
        np.testing.assert_array_equal(
            A.rotate(x, 90, interpolation=interpolation), np.rot90(x, 1, axes=(1, 2))
        )
        np.testing.assert_array_equal(
            A.rotate(x, -90, interpolation=interpolation), np.rot90(x, -1, axes=(1, 2))
        )
        np.testing.assert_array_equal(
            A.rotate(x, 180, interpolation=interpolation), x[:, ::-1, ::-1]
        )
    np.testing.assert_array_equal(A.rotate(x, 0), x)
    # one angle per image
    out = A.rotate(x, [90, 0], interpolation="nearest")
    np.testing.assert_array_equal(out[0], np.rot90(x[0], 1))
    np.testing.assert_array_equal(out[1], x[1])


def test_rotation_fills_the_corners():
    x = np.full((1, 9, 9), 200, dtype=np.uint8)
    out = A.rotate(x, 45, fill_mode="constant", fill_value=0)
    assert out[0, 0, 0] == 0 and out[0, 4, 4] == 200
    assert (A.rotate(x, 45, fill_mode="nearest") == 200).all()


def test_translation_by_whole_pixels():
    x = grid()
    out = A.translate(x, 1, -1)  # down 1, left 1, zeros come in
    expected = np.zeros_like(x)
    expected[0, 1:, :3] = x[0, :3, 1:]
    np.testing.assert_array_equal(out, expected)
    np.testing.assert_array_equal(
        A.translate(x, 2, 3, fill_mode="wrap"), np.roll(x, (2, 3), axis=(1, 2))
    )
    # reflect: (d c b a | a b c d | d c b a)
    out = A.translate(np.array([[[1, 2, 3, 4]]], np.uint8), 0, 2, fill_mode="reflect")
    np.testing.assert_array_equal(out, [[[2, 1, 1, 2]]])
    # a half-pixel shift averages neighbours (bilinear)
    row = np.array([[[0.0, 10.0, 20.0, 30.0]]])
    out = A.translate(row, 0, 0.5, fill_mode="nearest", interpolation="bilinear")
    np.testing.assert_allclose(out, [[[0.0, 5.0, 15.0, 25.0]]])


def test_contrast_and_brightness_formulas():
    x = np.array([[[0.2, 0.4], [0.6, 0.8]]])
    np.testing.assert_allclose(
        A.adjust_contrast(x, 2.0, value_range=(0, 1)), [[[0.0, 0.3], [0.7, 1.0]]]
    )  # mean 0.5, clipped
    np.testing.assert_allclose(A.adjust_brightness(x, 0.1, value_range=(0, 1)), x + 0.1)
    u8 = np.array([[[100, 250]]], np.uint8)
    np.testing.assert_array_equal(A.adjust_brightness(u8, 0.1), [[[126, 255]]])  # +25.5, clip
    rgb = rgb_batch()
    out = A.adjust_contrast(rgb.astype(float), 0.5)
    np.testing.assert_allclose(out.mean(axis=(1, 2)), rgb.mean(axis=(1, 2)))


def test_gamma_formula():
    x = np.array([[[0, 64, 128, 255]]], dtype=np.uint8)
    out = A.adjust_gamma(x, 0.5)
    expected = np.rint(255 * np.sqrt(x / 255.0))
    np.testing.assert_array_equal(out, expected)
    f = np.array([[[0.25, 0.5]]])
    np.testing.assert_allclose(A.adjust_gamma(f, 2.0, value_range=(0, 1)), f**2)
    np.testing.assert_allclose(A.adjust_gamma(f, 1.0, value_range=(0, 1)), f)


def naive_median_blur(image, k):
    h, w = image.shape
    half = k // 2
    out = np.empty_like(image)
    for i in range(h):
        for j in range(w):
            rows = [min(max(r, 0), h - 1) for r in range(i - half, i + half + 1)]
            cols = [min(max(c, 0), w - 1) for c in range(j - half, j + half + 1)]
            out[i, j] = np.median([image[r, c] for r in rows for c in cols])
    return out


def test_median_blur_equals_a_naive_loop():
    rng = np.random.default_rng(2)
    x = rng.integers(0, 256, size=(2, 6, 7), dtype=np.uint8)
    for k in (1, 3, 5):
        out = A.median_blur(x, k)
        for i in range(2):
            np.testing.assert_array_equal(out[i], naive_median_blur(x[i], k))
    rgb = rgb_batch()
    out = A.median_blur(rgb, 3)
    for c in range(3):
        np.testing.assert_array_equal(out[1, :, :, c], naive_median_blur(rgb[1, :, :, c], 3))


def test_median_blur_removes_salt_and_pepper():
    x = np.full((1, 8, 8), 100, np.uint8)
    x[0, 3, 4] = 255
    x[0, 6, 1] = 0
    assert (A.median_blur(x, 3) == 100).all()


def test_hsv_round_trip_and_reference():
    rgb = np.random.default_rng(3).random((4, 5, 3))
    rgb[0, 0] = [0.5, 0.5, 0.5]  # grey: hue and saturation 0
    rgb[0, 1] = 0.0  # black
    hsv = A.rgb_to_hsv(rgb)
    np.testing.assert_allclose(A.hsv_to_rgb(hsv), rgb, atol=1e-12)
    for pixel, expected in zip(rgb.reshape(-1, 3), hsv.reshape(-1, 3), strict=True):
        np.testing.assert_allclose(colorsys.rgb_to_hsv(*pixel), expected, atol=1e-12)


def test_hue_and_saturation():
    red = np.zeros((1, 1, 1, 3))
    red[..., 0] = 1.0
    np.testing.assert_allclose(
        A.adjust_hue(red, 1 / 3, value_range=(0, 1)), [[[[0, 1, 0]]]], atol=1e-12
    )  # a third of the circle: red -> green
    np.testing.assert_allclose(A.adjust_hue(red, 1.0, value_range=(0, 1)), red, atol=1e-12)
    grey = A.adjust_saturation(rgb_batch(), 0.0)
    assert (grey.max(axis=-1) - grey.min(axis=-1) <= 1).all()
    np.testing.assert_array_equal(A.adjust_saturation(rgb_batch(), 1.0), rgb_batch())
    np.testing.assert_array_equal(A.adjust_hue(rgb_batch(), 0.0), rgb_batch())


# --------------------------------------------------------------------------------------------
# Random transforms, seeds and probabilities
# --------------------------------------------------------------------------------------------

TRANSFORMS = [
    A.RandomFlip(),
    A.RandomCrop(5, 6, padding=1),
    A.RandomTranslation(0.2, 0.2),
    A.RandomRotation(0.1),
    A.RandomContrast(0.3),
    A.RandomBrightness(0.2),
    A.RandomGamma((0.5, 2.0)),
    A.RandomHue(0.1),
    A.RandomSaturation(0.5),
    A.RandomMedianBlur((1, 5)),
]


@pytest.mark.parametrize("transform", TRANSFORMS, ids=lambda t: type(t).__name__)
def test_random_transforms_are_reproducible_and_keep_shape_and_dtype(transform):
    x = rgb_batch(8)
    before = x.copy()
    a = transform(x, rng=np.random.default_rng(5))
    b = transform(x, rng=np.random.default_rng(5))
    c = transform(x, rng=np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)
    assert a.shape == x.shape and a.dtype == x.dtype
    np.testing.assert_array_equal(x, before)  # the input is untouched


def test_random_flip_probability_is_one_half():
    x = np.zeros((4000, 1, 2), np.uint8)
    x[:, 0, 1] = 1
    out = A.RandomFlip("horizontal", seed=0)(x)
    fraction = np.mean(out[:, 0, 0] == 1)
    assert abs(fraction - 0.5) < 4 * np.sqrt(0.25 / 4000)  # 4 standard errors


def test_pipeline_applies_each_transform_with_its_probability():
    x = np.full((5000, 2, 2), 100, np.uint8)
    pipeline = A.Pipeline([(lambda im: im + 1, 0.3), (lambda im: im + 10, 0.8)], seed=1)
    out = pipeline(x)[:, 0, 0].astype(int) - 100
    p_first = np.mean(out % 10 == 1)
    p_second = np.mean(out >= 10)
    se = np.sqrt(0.25 / 5000)
    assert abs(p_first - 0.3) < 4 * se and abs(p_second - 0.8) < 4 * se
    # the two choices are independent: P(both) = 0.24
    assert abs(np.mean(out == 11) - 0.24) < 4 * se
    np.testing.assert_array_equal(x, 100)


def test_augment_is_reproducible_from_its_seed():
    x = rgb_batch(16, 8, 8)
    steps = [
        (A.RandomFlip("horizontal"), 1.0),
        (A.RandomRotation(0.1), 0.5),
        (A.RandomGamma((0.7, 1.4)), 0.5),
        (A.RandomMedianBlur(3), 0.2),
    ]
    np.testing.assert_array_equal(A.augment(x, steps, seed=3), A.augment(x, steps, seed=3))
    assert not np.array_equal(A.augment(x, steps, seed=3), A.augment(x, steps, seed=4))
    np.testing.assert_array_equal(A.augment(x, [(A.RandomRotation(0.2), 0.0)], seed=0), x)


def test_random_parameters_stay_in_their_ranges():
    x = np.full((400, 1, 1), 0.5)
    gammas = np.log(A.RandomGamma((0.5, 2.0), value_range=(0, 1), seed=0)(x)[:, 0, 0]) / np.log(0.5)
    assert gammas.min() >= 0.5 - 1e-12 and gammas.max() <= 2.0 + 1e-12
    assert abs(np.mean(np.log(gammas))) < 0.1  # log-uniform: symmetric around gamma = 1
    deltas = A.RandomBrightness(0.2, value_range=(0, 1), seed=0)(x)[:, 0, 0] - 0.5
    assert deltas.min() >= -0.2 and deltas.max() <= 0.2 and deltas.std() > 0.1


def test_bad_image_arguments():
    x = rgb_batch()
    with pytest.raises(ValueError, match="images must be a batch"):
        A.rotate(np.zeros((4, 4)), 10)
    with pytest.raises(ValueError, match="padding"):
        A.pad(x, -1)
    with pytest.raises(ValueError, match="fill_mode"):
        A.RandomRotation(0.1, fill_mode="mirror")
    with pytest.raises(ValueError, match="factor"):
        A.RandomRotation(1.5)
    with pytest.raises(ValueError, match="factor"):
        A.RandomBrightness((0.3, -0.3))
    with pytest.raises(ValueError, match="gamma_range"):
        A.RandomGamma((0.0, 1.0))
    with pytest.raises(ValueError, match="kernel_size"):
        A.median_blur(x, 4)
    with pytest.raises(ValueError, match="value_range"):
        A.adjust_contrast(x, 1.0, value_range=(1, 0))
    with pytest.raises(ValueError, match="probability"):
        A.Pipeline([(A.RandomFlip(), 1.5)])
    with pytest.raises(ValueError, match="RGB"):
        A.adjust_hue(grid(), 0.1)
    with pytest.raises(ValueError, match="does not fit"):
        A.crop(grid(), 3, 0, 2, 2)
    with pytest.raises(ValueError, match="gamma"):
        A.adjust_gamma(x, -1.0)


# --------------------------------------------------------------------------------------------
# Text
# --------------------------------------------------------------------------------------------

SENTENCE = "The quick brown fox jumps over the lazy dog near the old house"


def test_thesaurus_is_shipped_and_well_formed():
    thesaurus = A.load_thesaurus()
    assert len(thesaurus) >= 300
    for word, synonyms in thesaurus.items():
        assert word.isalpha() and word.islower() and synonyms and word not in synonyms
    assert "large" in thesaurus["big"]


def test_synonym_replacement_uses_synonyms_of_content_words_only():
    thesaurus = A.load_thesaurus()
    words = A.tokenize(SENTENCE)
    out = A.synonym_replacement(SENTENCE, 3, seed=0)
    changed = [(a, b) for a, b in zip(words, out, strict=True) if a != b]
    assert len(out) == len(words) and len(changed) == 3
    for old, new in changed:
        assert old not in A.STOP_WORDS and new in thesaurus[old]
    # more replacements than candidates: every candidate changes, nothing else
    candidates = sum(1 for w in words if w in thesaurus and w not in A.STOP_WORDS)
    out = A.synonym_replacement(SENTENCE, 100, seed=0)
    assert sum(a != b for a, b in zip(words, out, strict=True)) == candidates


def test_random_insertion_swap_deletion():
    words = A.tokenize(SENTENCE)
    thesaurus = A.load_thesaurus()
    inserted = A.random_insertion(SENTENCE, 2, seed=1)
    assert len(inserted) == len(words) + 2
    extra = list(inserted)
    for w in words:
        extra.remove(w)
    assert all(any(e in thesaurus.get(w, ()) for w in words) for e in extra)
    swapped = A.random_swap(SENTENCE, 1, seed=2)
    assert sorted(swapped) == sorted(words)
    assert sum(a != b for a, b in zip(words, swapped, strict=True)) == 2
    assert A.random_deletion(SENTENCE, 0.0, seed=0) == words
    assert len(A.random_deletion(SENTENCE, 1.0, seed=0)) == 1
    kept = [len(A.random_deletion(SENTENCE, 0.3, seed=s)) for s in range(400)]
    assert abs(np.mean(kept) / len(words) - 0.7) < 0.03  # each word kept with p = 0.7
    assert A.random_insertion("of the and", 3, seed=0) == ["of", "the", "and"]


def test_eda_is_deterministic_per_seed_and_valid():
    a = A.eda(SENTENCE, num_aug=8, seed=0)
    assert a == A.eda(SENTENCE, num_aug=8, seed=0)
    assert a != A.eda(SENTENCE, num_aug=8, seed=1)
    assert len(a) == 8 and all(isinstance(s, str) and s for s in a)
    assert len(set(a)) > 3
    vocabulary = set(A.tokenize(SENTENCE)) | {
        s for w in A.tokenize(SENTENCE) for s in A.load_thesaurus().get(w, ())
    }
    assert all(set(s.split()) <= vocabulary for s in a)
    only_swaps = A.eda(SENTENCE, 0, 0, 0.2, 0, num_aug=4, seed=0)
    assert all(sorted(s.split()) == sorted(A.tokenize(SENTENCE)) for s in only_swaps)


def test_bad_text_arguments():
    with pytest.raises(ValueError, match="alpha_sr"):
        A.eda(SENTENCE, alpha_sr=1.5)
    with pytest.raises(ValueError, match="num_aug"):
        A.eda(SENTENCE, num_aug=0)
    with pytest.raises(ValueError, match="p must be"):
        A.random_deletion(SENTENCE, -0.1)
    with pytest.raises(ValueError, match="at least one word"):
        A.eda("  ... ")
    with pytest.raises(ValueError, match="at least one of"):
        A.eda(SENTENCE, 0, 0, 0, 0)
    with pytest.raises(ValueError, match="sentence must be a string"):
        A.tokenize(42)
