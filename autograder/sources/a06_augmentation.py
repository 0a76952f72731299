"""06_augmentation: image-batch transforms and EDA text operations with a seed."""

from nbsrc import code, locked, md, solution, tests, written

NAME = "06_augmentation"

CELLS = [
    md("""
    # Assignment 6 — Data augmentation

    Augmentation creates new training examples by transforming existing ones in ways that do not
    change their label: a shirt flipped left-right is still a shirt. You will write the classic
    image transforms on **batches** of images, arrays of shape `(batch, height, width)` or
    `(batch, height, width, channels)` with values in `[0, 1]`, and three of the EDA ("easy data
    augmentation") operations on sentences given as lists of words.

    NumPy and the standard library only; return new arrays or lists, never modify your inputs.
    Random operations receive a NumPy `Generator` `rng` and draw all their randomness from it,
    so that the same seed reproduces the same augmentation.
    """),
    locked(
        "imports",
        """
    import numpy as np
    """,
    ),
    md(r"""
    ## 1. Flips (1 point)

    `flip_horizontal(images)` mirrors every image left-right (reverses the **width** axis,
    axis 2), for batches with or without a channel axis. Return a new array, not a view of the
    input (`images[:, :, ::-1]` alone is a view).

    *The grader also checks:* other batch shapes with and without channels (a 1x1 image
    included), that the result is a new array, and that `images` is not modified.
    """),
    solution(
        "flip_horizontal",
        """
    def flip_horizontal(images):
        ### BEGIN SOLUTION
        return images[:, :, ::-1].copy()
        ### END SOLUTION
    """,
    ),
    tests(
        "test_flip_horizontal",
        """
    # tests: flip_horizontal on one 2x3 image, then on a batch with a channel axis
    img = np.array([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]])
    got = flip_horizontal(img)
    assert np.array_equal(got, [[[3.0, 2.0, 1.0], [6.0, 5.0, 4.0]]]), f"got {got}"
    assert not np.shares_memory(got, img), "flip_horizontal must return a new array, not a view"
    assert np.array_equal(img, [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]), "flip_horizontal modified images"
    rgb = np.arange(12.0).reshape(1, 2, 2, 3)
    assert np.array_equal(flip_horizontal(rgb), rgb[:, :, ::-1]), "with channels: reverse axis 2"
    """,
    ),
    md(r"""
    ## 2. Padded random crops and translations (2 + 1 + 2 points)

    A random crop with padding shifts each image by a few pixels: pad the image with `pad` zeros
    on every side (top, bottom, left, right), then cut a window of the original size whose top-left
    corner is at `(dy, dx)` in the padded image, with `0 <= dy, dx <= 2 * pad`
    (`(pad, pad)` gives back the original image).

    * `pad_and_crop(images, pad, offsets)`: `offsets` has shape `(batch, 2)`, one `(dy, dx)` per
      image;
    * `random_crop_offsets(n, pad, rng)`: an integer array of shape `(n, 2)` with every offset
      drawn uniformly from `0, 1, ..., 2 * pad` (both ends included);
    * `translate(images, dy, dx)`: move the content of every image `dy` pixels **down** and `dx`
      pixels **right** (negative values move up/left), filling the uncovered pixels with zeros.
      Shifts larger than the image leave only zeros. Return a new array even for a zero shift.

    *The grader also checks:* other batch shapes with and without channels, offsets at every
    corner of the padded image, random offsets' shape, integer values and range, the frequency
    of each offset (uniform within a few percent), that `dy` and `dx` are drawn independently,
    translations in every direction, by the full image size and beyond, and that no input is
    modified.
    """),
    solution(
        "crops",
        """
    def pad_and_crop(images, pad, offsets):
        ### BEGIN SOLUTION
        height, width = images.shape[1], images.shape[2]
        widths = [(0, 0), (pad, pad), (pad, pad)] + [(0, 0)] * (images.ndim - 3)
        padded = np.pad(images, widths)
        out = np.empty_like(images)
        for i, (dy, dx) in enumerate(offsets):
            out[i] = padded[i, dy:dy + height, dx:dx + width]
        return out
        ### END SOLUTION


    def random_crop_offsets(n, pad, rng):
        ### BEGIN SOLUTION
        return rng.integers(0, 2 * pad + 1, size=(n, 2))
        ### END SOLUTION


    def translate(images, dy, dx):
        ### BEGIN SOLUTION
        height, width = images.shape[1], images.shape[2]
        out = np.zeros_like(images)
        if abs(dy) >= height or abs(dx) >= width:
            return out
        src_rows = slice(max(0, -dy), height - max(0, dy))
        dst_rows = slice(max(0, dy), height - max(0, -dy))
        src_cols = slice(max(0, -dx), width - max(0, dx))
        dst_cols = slice(max(0, dx), width - max(0, -dx))
        out[:, dst_rows, dst_cols] = images[:, src_rows, src_cols]
        return out
        ### END SOLUTION
    """,
    ),
    tests(
        "test_pad_and_crop",
        """
    # tests: pad_and_crop on one 2x3 image
    img = np.array([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]])
    assert np.array_equal(pad_and_crop(img, 1, [(1, 1)]), img), "offset (pad, pad) is the identity"
    got = pad_and_crop(img, 1, [(0, 0)])
    assert np.array_equal(got, [[[0.0, 0.0, 0.0], [0.0, 1.0, 2.0]]]), f"offset (0, 0): got {got}"
    offsets = [(2, 1)]
    got = pad_and_crop(img, 1, offsets)
    assert np.array_equal(got, [[[4.0, 5.0, 6.0], [0.0, 0.0, 0.0]]]), f"offset (2, 1): got {got}"
    assert np.array_equal(img, [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]), "pad_and_crop modified images"
    assert offsets == [(2, 1)], "pad_and_crop modified offsets"
    """,
    ),
    tests(
        "test_random_crop_offsets",
        """
    # tests: random_crop_offsets
    off = random_crop_offsets(500, 2, np.random.default_rng(0))
    assert off.shape == (500, 2), f"expected shape (500, 2), got {off.shape}"
    assert np.issubdtype(off.dtype, np.integer), f"expected integers, got dtype {off.dtype}"
    assert set(np.unique(off)) == {0, 1, 2, 3, 4}, f"expected the values 0..4, got {np.unique(off)}"
    again = random_crop_offsets(500, 2, np.random.default_rng(0))
    assert np.array_equal(off, again), "the same rng seed must give the same offsets"
    """,
    ),
    tests(
        "test_translate",
        """
    # tests: translate one 2x3 image
    img = np.array([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]])
    got = translate(img, 1, 0)
    assert np.array_equal(got, [[[0.0, 0.0, 0.0], [1.0, 2.0, 3.0]]]), f"dy=1: got {got}"
    got = translate(img, 0, -1)
    assert np.array_equal(got, [[[2.0, 3.0, 0.0], [5.0, 6.0, 0.0]]]), f"dx=-1: got {got}"
    got = translate(img, -1, 2)
    assert np.array_equal(got, [[[0.0, 0.0, 4.0], [0.0, 0.0, 0.0]]]), f"dy=-1, dx=2: got {got}"
    got = translate(img, 0, 0)
    assert np.array_equal(got, img) and not np.shares_memory(got, img), "no shift: a new copy"
    assert np.array_equal(translate(img, 0, 5), np.zeros_like(img)), "a shift beyond the image: zeros"
    assert np.array_equal(img, [[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]]), "translate modified images"
    """,
    ),
    md(r"""
    ## 3. Contrast and gamma (1 + 1 points)

    * `adjust_contrast(images, factor)`: for every image and channel, with $\mu$ the mean over
      that image's pixels (height and width), $x \leftarrow \mu + \text{factor}\,(x - \mu)$
      (as `tf.image.adjust_contrast`; no clipping);
    * `adjust_gamma(images, gamma, gain=1.0)`: $x \leftarrow \text{gain}\cdot x^{\gamma}$
      ($\gamma < 1$ brightens dark regions, $\gamma > 1$ darkens them).

    *The grader also checks:* other batch shapes with and without channels (the mean is per
    image and channel), `factor` 0, other `gamma` and `gain`, and that `images` is not modified.
    """),
    solution(
        "contrast_gamma",
        """
    def adjust_contrast(images, factor):
        ### BEGIN SOLUTION
        mean = images.mean(axis=(1, 2), keepdims=True)
        return mean + factor * (images - mean)
        ### END SOLUTION


    def adjust_gamma(images, gamma, gain=1.0):
        ### BEGIN SOLUTION
        return gain * images ** gamma
        ### END SOLUTION
    """,
    ),
    tests(
        "test_adjust_contrast",
        """
    # tests: adjust_contrast on two 2x3 images (means 0.5 and 0.25)
    img = np.array([[[0.2, 0.4, 0.9], [0.6, 0.8, 0.1]], [[0.0, 0.25, 0.5], [0.5, 0.25, 0.0]]])
    given = img.copy()
    got = adjust_contrast(img, 2.0)
    want = [[[-0.1, 0.3, 1.3], [0.7, 1.1, -0.3]], [[-0.25, 0.25, 0.75], [0.75, 0.25, -0.25]]]
    assert np.shape(got) == (2, 2, 3) and np.allclose(got, want), f"expected {want}, got {got}"
    assert np.array_equal(img, given), "adjust_contrast modified images"
    """,
    ),
    tests(
        "test_adjust_gamma",
        """
    # tests: adjust_gamma on one 2x3 image
    img = np.array([[[0.25, 1.0, 0.0], [0.04, 0.81, 0.36]]])
    given = img.copy()
    got = adjust_gamma(img, 0.5)
    assert np.allclose(got, [[[0.5, 1.0, 0.0], [0.2, 0.9, 0.6]]]), f"got {got}"
    got = adjust_gamma(img, 2.0, gain=2.0)
    assert np.allclose(got, 2 * img ** 2), f"gamma=2, gain=2: got {got}"
    assert np.array_equal(img, given), "adjust_gamma modified images"
    """,
    ),
    md(r"""
    ## 4. EDA text operations (1 + 1 + 2 points)

    EDA (Wei & Zou, 2019) augments a sentence with four cheap operations; you write three. A
    sentence is a list of words; return a **new** list.

    * `random_deletion(words, p, rng)`: delete each word independently with probability `p`
      (keep it when `rng.random() >= p`), preserving the order. If every word was deleted, return
      a list with one word of the sentence chosen at random. An empty sentence stays empty.
    * `random_swap(words, n, rng)`: `n` times, choose two **different** positions at random and
      exchange their words. Sentences with fewer than two words are returned unchanged.
    * `synonym_replacement(words, synonyms, n, rng)`: `synonyms` maps a word to a list of
      replacements. Choose `min(n, number of replaceable positions)` **different** positions among
      the words that have synonyms (a word mapped to an empty list has none), and replace each
      by a synonym drawn at random from its list.

    *The grader also checks:* long sentences (the fraction of deleted words), `p = 1` (the
    surviving word chosen at random), `n` from 0 to more than the replaceable words, that
    positions and synonyms are drawn at random and independently, the same seed giving the
    same result, one-word and empty sentences, and that the sentence is not modified.
    """),
    solution(
        "eda",
        """
    def random_deletion(words, p, rng):
        ### BEGIN SOLUTION
        if not words:
            return []
        kept = [w for w, u in zip(words, rng.random(len(words))) if u >= p]
        return kept if kept else [words[rng.integers(len(words))]]
        ### END SOLUTION


    def random_swap(words, n, rng):
        ### BEGIN SOLUTION
        words = list(words)
        if len(words) < 2:
            return words
        for _ in range(n):
            i, j = rng.choice(len(words), size=2, replace=False)
            words[i], words[j] = words[j], words[i]
        return words
        ### END SOLUTION


    def synonym_replacement(words, synonyms, n, rng):
        ### BEGIN SOLUTION
        words = list(words)
        candidates = [i for i, w in enumerate(words) if synonyms.get(w)]
        count = min(n, len(candidates))
        for i in rng.choice(candidates, size=count, replace=False) if count else []:
            options = synonyms[words[i]]
            words[i] = options[rng.integers(len(options))]
        return words
        ### END SOLUTION
    """,
    ),
    tests(
        "test_random_deletion",
        """
    # tests: random_deletion
    sentence = "the quick brown fox jumps over the lazy dog".split()
    given = list(sentence)
    assert random_deletion(sentence, 0.0, np.random.default_rng(0)) == sentence
    assert len(random_deletion(sentence, 1.0, np.random.default_rng(0))) == 1
    out = random_deletion(sentence, 0.5, np.random.default_rng(0))
    assert out == random_deletion(sentence, 0.5, np.random.default_rng(0)), "same seed, same output"
    assert 0 < len(out) < len(sentence) and all(w in sentence for w in out), f"got {out}"
    assert random_deletion([], 0.5, np.random.default_rng(0)) == [], "an empty sentence stays empty"
    assert sentence == given, "random_deletion modified the sentence: return a new list"
    """,
    ),
    tests(
        "test_random_swap",
        """
    # tests: random_swap
    sentence = "one two three four five".split()
    out = random_swap(sentence, 1, np.random.default_rng(0))
    assert sorted(out) == sorted(sentence), "a swap keeps the same words"
    assert sum(a != b for a, b in zip(out, sentence)) == 2, f"one swap changes 2 positions: {out}"
    assert out == random_swap(sentence, 1, np.random.default_rng(0)), "same seed, same output"
    assert random_swap(["solo"], 2, np.random.default_rng(0)) == ["solo"], "one word: unchanged"
    assert sentence == "one two three four five".split(), "random_swap modified the sentence"
    """,
    ),
    tests(
        "test_synonym_replacement",
        """
    # tests: synonym_replacement
    synonyms = {"quick": ["fast", "rapid"], "lazy": ["idle"], "dog": []}
    sentence = "the quick brown fox jumps over the lazy dog".split()
    out = synonym_replacement(sentence, synonyms, 5, np.random.default_rng(0))
    assert out[1] in ("fast", "rapid") and out[7] == "idle", f"got {out}"
    assert [w for i, w in enumerate(out) if i not in (1, 7)] == [w for i, w in enumerate(sentence) if i not in (1, 7)]
    one = synonym_replacement(sentence, synonyms, 1, np.random.default_rng(0))
    assert sum(a != b for a, b in zip(one, sentence)) == 1, f"n=1 replaces one word: got {one}"
    assert sentence == "the quick brown fox jumps over the lazy dog".split(), "the sentence was modified"
    assert synonyms == {"quick": ["fast", "rapid"], "lazy": ["idle"], "dog": []}, "synonyms modified"
    """,
    ),
    written(
        "explain_label_preserving",
        r"""
    ### In your own words (2 points, graded by hand)

    Augmentation must not change the label. For **one** image transform and **one** EDA
    operation of this assignment, describe a dataset or task where it *would* change the label
    (or the meaning), and explain why augmentations are applied only during training and not to
    the validation or test sets. (Three to five sentences.)
    """,
        r"""
    A horizontal flip is label-preserving for clothes (Fashion-MNIST) but not for handwritten
    characters or text in images: a flipped "b" reads as "d", and flipped digits like 2 or 7
    are no longer valid digits. Random deletion or synonym replacement can change the meaning of
    a sentence for sentiment analysis: deleting "not" in "not good" flips the sentiment, and
    replacing a word by a "synonym" can change the nuance. Augmentation is a regularizer that
    enlarges the training distribution; validation and test sets must stay the untouched data
    the model will meet, otherwise the measured accuracy no longer estimates real performance
    (and random transforms would make the evaluation noisy).
    """,
    ),
    md("""
    ## 5. Try it

    The cell below (not graded) applies a random augmentation pipeline to a toy batch and
    prints one sentence through the EDA operations. In the labs the same transforms run as Keras
    layers inside the model, on the GPU, only during training.
    """),
    code("""
    rng = np.random.default_rng(0)
    batch = rng.random((4, 8, 8))
    offsets = random_crop_offsets(len(batch), 2, rng)
    augmented = adjust_gamma(adjust_contrast(pad_and_crop(flip_horizontal(batch), 2, offsets), 1.3)
                             .clip(0, 1), 0.8)
    print("offsets:", offsets.tolist(), "mean before/after:", batch.mean().round(3),
          augmented.mean().round(3))
    sentence = "a good cat can run a long way".split()
    print(random_swap(synonym_replacement(sentence, {"good": ["fine"], "run": ["jog"]}, 1, rng),
                      1, rng))
    print(random_deletion(sentence, 0.2, rng))
    """),
]
