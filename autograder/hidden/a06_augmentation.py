"""Hidden tests of 06_augmentation (run by the grader, outside the sandbox; see ../README.md)."""

import numpy as np

from optreg.grading.checks import as_array, check, close, equal, grades, pure, returns_copy


def images(seed, shape):
    return np.random.default_rng(seed).uniform(0.0, 1.0, shape)


def shifted(x, dy, dx):
    """The batch moved dy pixels down and dx right, zeros where nothing comes in (reference)."""
    out = np.zeros_like(x)
    height, width = x.shape[1], x.shape[2]
    for r in range(height):
        for c in range(width):
            if 0 <= r - dy < height and 0 <= c - dx < width:
                out[:, r, c] = x[:, r - dy, c - dx]
    return out


@grades("test_flip_horizontal", points=1)
def test_flip_horizontal(student):
    for seed, shape in [(1, (2, 3, 4)), (2, (3, 2, 5, 3)), (3, (1, 1, 1))]:
        x = images(seed, shape)
        got = pure(student.flip_horizontal, x)
        close(
            got, x[:, :, ::-1], f"flip_horizontal on a batch of shape {shape}", rtol=0.0, atol=0.0
        )
        returns_copy(student.flip_horizontal, "flip_horizontal")


@grades("test_pad_and_crop", points=2)
def test_pad_and_crop(student):
    for seed, shape, pad in [(4, (3, 4, 5), 2), (5, (2, 3, 3, 2), 1), (6, (4, 5, 4), 3)]:
        x = images(seed, shape)
        corners = [[0, 2 * pad], [2 * pad, 0], [pad, pad], [1, 2 * pad - 1]]
        offsets = np.array(corners[: shape[0]])
        got = pure(student.pad_and_crop, x, pad, offsets)
        # the crop at (dy, dx) is the image moved by (pad - dy, pad - dx)
        want = np.stack(
            [shifted(x[i : i + 1], pad - dy, pad - dx)[0] for i, (dy, dx) in enumerate(offsets)]
        )
        close(
            got,
            want,
            f"pad_and_crop(pad={pad}, offsets={offsets.tolist()}) on shape {shape}",
            rtol=0.0,
            atol=0.0,
        )


@grades("test_random_crop_offsets", points=1)
def test_random_crop_offsets(student):
    for n, pad in [(3000, 1), (4000, 3)]:
        what = f"random_crop_offsets({n}, {pad})"
        got = as_array(student.random_crop_offsets(n, pad, np.random.default_rng(n)), what)
        again = as_array(student.random_crop_offsets(n, pad, np.random.default_rng(n)), what)
        equal(got.shape, (n, 2), what + ": shape")
        check(np.array_equal(got, again), what + ": the same seed must give the same offsets")
        check(
            ((got == np.round(got)) & (got >= 0) & (got <= 2 * pad)).all(),
            f"{what}: offsets must be integers in [0, {2 * pad}]",
        )
        for k in range(2 * pad + 1):
            share = np.mean(got == k)
            check(
                abs(share - 1 / (2 * pad + 1)) < 0.04,
                f"{what}: offset {k} should appear with "
                f"frequency {1 / (2 * pad + 1):.3f}, got {share:.3f}",
            )
        check(
            not np.array_equal(got[:, 0], got[:, 1]),
            f"{what}: dy and dx must be drawn independently",
        )


@grades("test_translate", points=2)
def test_translate(student):
    for seed, shape in [(7, (2, 4, 5)), (8, (1, 3, 3, 2))]:
        x = images(seed, shape)
        height, width = shape[1], shape[2]
        for dy, dx in [
            (0, 0),
            (1, 2),
            (-2, 1),
            (0, -3),
            (height, 0),
            (-1, -width - 2),
            (2, -1),
            (height + 3, width + 3),
        ]:  # a translation larger than the image
            got = pure(student.translate, x, dy, dx)
            close(
                got,
                shifted(x, dy, dx),
                f"translate(dy={dy}, dx={dx}) on shape {shape}",
                rtol=0.0,
                atol=0.0,
            )
            returns_copy(student.translate, f"translate(dy={dy}, dx={dx})")


@grades("test_adjust_contrast", points=1)
def test_adjust_contrast(student):
    for seed, shape, factor in [(9, (3, 4, 4), 0.5), (10, (2, 3, 5, 3), 1.8), (11, (1, 2, 2), 0.0)]:
        x = images(seed, shape)
        mean = x.mean(axis=(1, 2), keepdims=True)
        close(
            pure(student.adjust_contrast, x, factor),
            mean + factor * (x - mean),
            f"adjust_contrast(factor={factor}) on shape {shape}",
            rtol=1e-9,
            atol=1e-12,
        )


@grades("test_adjust_gamma", points=1)
def test_adjust_gamma(student):
    for seed, shape, gamma, gain in [
        (12, (2, 3, 3), 2.2, 1.0),
        (13, (1, 2, 2, 3), 0.4, 0.8),
        (14, (2, 2, 3), 0.7, 1.6),
    ]:  # no clipping
        x = images(seed, shape)
        close(
            pure(student.adjust_gamma, x, gamma, gain),
            gain * x**gamma,
            f"adjust_gamma(gamma={gamma}, gain={gain}) on shape {shape}",
            rtol=1e-9,
        )


def is_subsequence(small, big) -> bool:
    rest = iter(big)
    return all(any(w == v for v in rest) for w in small)


@grades("test_random_deletion", points=1)
def test_random_deletion(student):
    words = [f"w{i}" for i in range(3000)]
    for p in [0.1, 0.3, 0.7]:
        out = pure(student.random_deletion, words, p, np.random.default_rng(5))
        check(isinstance(out, list), f"random_deletion(p={p}) must return a list")
        check(
            is_subsequence(out, words),
            f"random_deletion(p={p}) must keep the order of the remaining words",
        )
        deleted = 1 - len(out) / len(words)
        check(
            abs(deleted - p) < 0.04,
            f"random_deletion(p={p}): expected a fraction {p} of words deleted, got {deleted:.3f}",
        )
        again = student.random_deletion(words, p, np.random.default_rng(5))
        check(out == again, f"random_deletion(p={p}): the same seed must give the same result")
    short, seen = ["a", "b", "c"], set()
    for seed in range(40):
        out = student.random_deletion(short, 1.0, np.random.default_rng(seed))
        check(
            isinstance(out, list) and len(out) == 1 and out[0] in short,
            f"random_deletion(p=1.0) must keep exactly one word of the sentence, got {out!r}",
        )
        seen.add(out[0])
        again = student.random_deletion(short, 1.0, np.random.default_rng(seed))
        check(
            out == again,
            f"random_deletion(p=1.0): the same seed must give the same result, "
            f"got {out} then {again}",
        )
    check(len(seen) == 3, "random_deletion(p=1.0): the surviving word must be chosen at random")
    equal(
        student.random_deletion([], 0.5, np.random.default_rng(0)),
        [],
        "random_deletion of an empty sentence",
    )
    equal(
        student.random_deletion(short, 0.0, np.random.default_rng(0)), short, "random_deletion(p=0)"
    )


@grades("test_random_swap", points=1)
def test_random_swap(student):
    sentence = ["a", "b", "c", "d", "e", "f"]
    moved, far = np.zeros(6), 0
    for seed in range(60):
        for n in [1, 2, 3]:
            out = pure(student.random_swap, sentence, n, np.random.default_rng(seed))
            check(
                isinstance(out, list) and sorted(out) == sentence,
                f"random_swap(n={n}) must return a list of the same words, got {out!r}"[:200],
            )
            changed = [i for i in range(6) if out[i] != sentence[i]]
            if n == 1:
                check(
                    len(changed) == 2,
                    f"random_swap(n=1) must exchange two different positions, got {out}",
                )
                far += changed[1] - changed[0] > 1
            again = student.random_swap(sentence, n, np.random.default_rng(seed))
            check(
                out == again,
                f"random_swap(n={n}): the same seed must give the same result, "
                f"got {out} then {again}",
            )
            check(
                len(changed) <= 2 * n,
                f"random_swap(n={n}) changed {len(changed)} positions, at most {2 * n} allowed",
            )
            moved[changed] += 1
    check(
        moved.min() > 5,
        f"random_swap must pick positions at random; times each position "
        f"moved: {moved.astype(int).tolist()}",
    )
    check(
        far > 10,
        f"random_swap must pick any two positions, not only neighbours ({far} of 60 "
        "single swaps exchanged non-adjacent words)",
    )
    # fewer than two words: returned unchanged (and never an error)
    equal(
        student.random_swap(["solo"], 3, np.random.default_rng(0)),
        ["solo"],
        "random_swap on a one-word sentence",
    )
    equal(
        student.random_swap([], 2, np.random.default_rng(0)), [], "random_swap on an empty sentence"
    )


@grades("test_synonym_replacement", points=2)
def test_synonym_replacement(student):
    synonyms = {
        "good": ["fine", "nice", "great"],
        "big": ["large"],
        "run": ["sprint", "jog"],
        "cat": [],
    }
    sentence = ["a", "good", "big", "cat", "can", "run", "a", "good", "run"]
    replaceable = [1, 2, 5, 7, 8]
    positions, words, same_synonym = set(), set(), 0
    for seed in range(50):
        for n in [0, 1, 2, 3, 7]:
            out = pure(
                student.synonym_replacement, sentence, synonyms, n, np.random.default_rng(seed)
            )
            check(
                isinstance(out, list) and len(out) == 9,
                f"synonym_replacement must return a list of 9 words, got {out!r}"[:200],
            )
            same_synonym += n == 7 and out[1] == out[7]
            changed = [i for i in range(9) if out[i] != sentence[i]]
            equal(
                len(changed),
                min(n, 5),
                f"synonym_replacement(n={n}): number of replaced words (sentence {sentence})",
            )
            again = student.synonym_replacement(sentence, synonyms, n, np.random.default_rng(seed))
            check(
                out == again,
                f"synonym_replacement(n={n}): the same seed must give the same "
                f"result, got {out} then {again}",
            )
            for i in changed:
                check(
                    i in replaceable and out[i] in synonyms[sentence[i]],
                    f"synonym_replacement replaced {sentence[i]!r} by {out[i]!r}, not one of "
                    "its synonyms",
                )
                if n == 1:
                    positions.add(i)
                words.add(out[i])
    check(
        len(positions) == 5,
        f"synonym_replacement(n=1) must choose the position at random "
        f"(used only {sorted(positions)})",
    )
    check(
        len(words) == 6,
        f"synonym_replacement must choose synonyms at random (used only {sorted(words)})",
    )
    check(
        same_synonym < 35,
        f"synonym_replacement must draw each replaced word's synonym "
        f"independently (both 'good' got the same one of 3 synonyms in {same_synonym} of 50 "
        "sentences)",
    )
