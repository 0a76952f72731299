"""Named mistakes of 06_augmentation (read by the grader only; see optreg.grading.diagnose).

Each entry: the graded function, the wrong variant as edits of the solution's answer cell
(``(cell, old, new)``), what a student reads (explanation, what to check) and the book section.
``PROBES`` are the grader's own inputs on which variants and the student's code are compared
(a fresh generator for each implementation, so the random draws are the same for all).
"""

import numpy as np

from optreg.grading.diagnose import Mistake, probe


def images(seed, shape):
    return np.random.default_rng(seed).uniform(0.0, 1.0, shape)


def rng(seed):
    return np.random.default_rng(seed)


SENTENCE = "the quick brown fox jumps over the lazy dog today".split()
SYNONYMS = {"quick": ["fast", "rapid"], "lazy": ["idle"], "dog": ["hound", "pup"], "fox": ["vixen"]}

PROBES = {
    "flip_horizontal": lambda: [probe(images(1, (2, 3, 4))), probe(images(2, (1, 4, 5, 3)))],
    "pad_and_crop": lambda: [
        probe(images(3, (3, 4, 5)), 2, np.array([[0, 4], [1, 3], [4, 0]])),
        probe(images(4, (2, 3, 3, 2)), 1, np.array([[2, 0], [0, 1]])),
    ],
    "random_crop_offsets": lambda: [probe(50, 2, rng(5)), probe(40, 1, rng(6))],
    "translate": lambda: [
        probe(images(7, (2, 5, 6)), dy, dx) for dy, dx in [(1, 2), (-2, 1), (0, -3), (7, 0)]
    ],
    "adjust_contrast": lambda: [
        probe(images(8, (3, 4, 4)), 1.5),
        probe(images(9, (2, 3, 3, 2)), 0.5),
    ],
    "adjust_gamma": lambda: [probe(images(10, (2, 3, 3)), 0.5, 2.0), probe(images(11, (4,)), 2.0)],
    "random_deletion": lambda: [
        probe(SENTENCE, 0.3, rng(12)),
        probe(SENTENCE[:3], 1.0, rng(13)),  # every word deleted: one must stay
    ],
    "random_swap": lambda: [probe(SENTENCE, 3, rng(14)), probe(SENTENCE[:2], 2, rng(15))],
    "synonym_replacement": lambda: [
        probe(SENTENCE, SYNONYMS, 2, rng(16)),
        probe(SENTENCE, SYNONYMS, 3, rng(17)),
    ],
}

MISTAKES = [
    Mistake(
        "flip_vertical",
        function="flip_horizontal",
        title="the images are flipped upside down",
        edits=[("flip_horizontal", "images[:, :, ::-1]", "images[:, ::-1]")],
        explanation="You reverse the rows (a vertical flip). A horizontal flip mirrors left "
        "and right: it reverses the columns, the width axis of a (batch, height, width) batch.",
        check="which axis you reverse.",
        section="06_augmentation#image-transformations",
    ),
    Mistake(
        "crop_offsets_swapped",
        function="pad_and_crop",
        title="the row and column offsets are swapped",
        edits=[
            (
                "crops",
                "for i, (dy, dx) in enumerate(offsets)",
                "for i, (dx, dy) in enumerate(offsets)",
            )
        ],
        explanation="You use each offset pair as (column, row). The offsets are (dy, dx): the "
        "first moves the crop down, the second to the right.",
        check="a crop with offsets (0, 2) of a padded image: it must start two columns right.",
        section="06_augmentation#image-transformations",
    ),
    Mistake(
        "crop_offsets_exclude_end",
        function="random_crop_offsets",
        title="the largest offset is never drawn",
        edits=[("crops", "2 * pad + 1", "2 * pad")],
        explanation="Your offsets go from 0 to 2 pad - 1: the crop that touches the far edge "
        "of the padded image is never chosen. The upper bound of rng.integers is exclusive.",
        check="that an offset of 2 pad can occur.",
        section="06_augmentation#image-transformations",
    ),
    Mistake(
        "translate_wrong_direction",
        function="translate",
        title="the image moves the opposite way",
        edits=[
            (
                "crops",
                "out[:, dst_rows, dst_cols] = images[:, src_rows, src_cols]",
                "out[:, src_rows, src_cols] = images[:, dst_rows, dst_cols]",
            )
        ],
        explanation="Your content moves up when dy is positive. A positive dy moves the "
        "content down (and a positive dx to the right); the uncovered border is filled with "
        "zeros.",
        check="where a pixel at row 0 ends up for dy = 1.",
        section="06_augmentation#image-transformations",
    ),
    Mistake(
        "translate_without_large_shift_guard",
        function="translate",
        title="shifts larger than the image are not handled",
        edits=[
            ("crops", "    if abs(dy) >= height or abs(dx) >= width:\n        return out\n", "")
        ],
        explanation="A shift by the full height or width (or more) moves everything out of the "
        "image: the result is all zeros. Your slicing breaks down for such shifts.",
        check="the result of a shift by the image's height.",
        section="06_augmentation#image-transformations",
    ),
    Mistake(
        "contrast_global_mean",
        function="adjust_contrast",
        title="one mean for the whole batch",
        edits=[("contrast_gamma", "images.mean(axis=(1, 2), keepdims=True)", "images.mean()")],
        explanation="You scale around the mean of the whole batch, so each image's result "
        "depends on the other images. Contrast is adjusted around each image's own mean (per "
        "channel), as in Keras' RandomContrast.",
        check="the axes of your mean.",
        section="06_augmentation#image-transformations",
    ),
    Mistake(
        "gamma_clipped_to_one",
        function="adjust_gamma",
        title="the result is clipped to [0, 1]",
        edits=[
            (
                "contrast_gamma",
                "return gain * images ** gamma",
                "return np.clip(gain * images ** gamma, 0, 1)",
            )
        ],
        explanation="You clip the result. The exercise's gamma adjustment is gain times the "
        "image to the power gamma, without clipping (a gain above 1 can exceed 1).",
        check="the result with gain = 2.",
        section="06_augmentation#image-transformations",
    ),
    Mistake(
        "deletion_may_return_empty",
        function="random_deletion",
        title="every word can be deleted",
        edits=[
            ("eda", "return kept if kept else [words[rng.integers(len(words))]]", "return kept")
        ],
        explanation="When every word happens to be deleted you return an empty sentence. EDA "
        "keeps one randomly chosen word in that case.",
        check="the result with p = 1.",
        section="06_augmentation#text-augmentation",
    ),
    Mistake(
        "swap_same_position",
        function="random_swap",
        title="a word can be swapped with itself",
        edits=[("eda", "size=2, replace=False", "size=2, replace=True")],
        explanation="Your two positions can be the same, so some swaps do nothing. Each swap "
        "exchanges two different positions.",
        check="how the two positions are drawn.",
        section="06_augmentation#text-augmentation",
    ),
    Mistake(
        "synonym_first_positions",
        function="synonym_replacement",
        title="always the first replaceable words",
        edits=[
            (
                "eda",
                "rng.choice(candidates, size=count, replace=False) if count else []",
                "candidates[:count]",
            )
        ],
        explanation="You replace the first n words that have synonyms. The words to replace "
        "are chosen at random among those that have synonyms, without repetition.",
        check="how you choose which positions to replace.",
        section="06_augmentation#text-augmentation",
    ),
]
