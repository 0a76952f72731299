"""06_augmentation: image-batch transforms and EDA text operations with a seed."""

from nbsrc import code, locked, md, solution, tests

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
    locked("imports", """
    import numpy as np
    """),
    md(r"""
    ## 1. Flips (1 point)

    `flip_horizontal(images)` mirrors every image left-right (reverses the **width** axis,
    axis 2), for batches with or without a channel axis.
    """),
    solution("flip_horizontal", """
    def flip_horizontal(images):
        ### BEGIN SOLUTION
        return images[:, :, ::-1].copy()
        ### END SOLUTION
    """),
    tests("test_flip_horizontal", 1, visible="""
    # tests: flip_horizontal
    img = np.array([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]])   # one 2x3 image
    assert np.array_equal(flip_horizontal(img), [[[3.0, 2.0, 1.0], [6.0, 5.0, 4.0]]])
    """, hidden="""
    for seed, shape in [(1, [2, 3, 4]), (2, [3, 2, 5, 3]), (3, [1, 1, 1])]:
        x = _rand(shape, seed, 0.0, 1.0)
        x_in = _arr(x)
        got = _call("flip_horizontal", flip_horizontal, x_in)
        want = [[row[::-1] for row in image] for image in x]
        _close(f"flip_horizontal on a batch of shape {_tuple(shape)}", got, want, rtol=0.0,
               atol=0.0)
        try:
            got.fill(-1.0)  # a view of the input would change the caller's images
        except Exception:
            pass
        _true("flip_horizontal must return a new array: writing into its result changed the "
              "input images (return a copy, not a view)", _nested(x_in) == x)
    """, uses={"flip_horizontal"}),
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
      Shifts larger than the image leave only zeros.
    """),
    solution("crops", """
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
    """),
    tests("test_pad_and_crop", 2, visible="""
    # tests: pad_and_crop on one 2x2 image
    img = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    assert np.array_equal(pad_and_crop(img, 1, [(1, 1)]), img), "offset (pad, pad) is the identity"
    assert np.array_equal(pad_and_crop(img, 1, [(0, 0)]), [[[0.0, 0.0], [0.0, 1.0]]])
    assert np.array_equal(pad_and_crop(img, 1, [(2, 1)]), [[[3.0, 4.0], [0.0, 0.0]]])
    """, hidden="""
    def shifted(image, dy, dx, height, width, channels):
        # pixel (r, c) of the crop is pixel (r + dy - pad, c + dx - pad) of the original
        out = []
        for r in _range(height):
            row = []
            for c in _range(width):
                rr, cc = r + dy, c + dx
                inside = 0 <= rr < height and 0 <= cc < width
                if channels:
                    row.append(image[rr][cc] if inside else [0.0] * channels)
                else:
                    row.append(image[rr][cc] if inside else 0.0)
            out.append(row)
        return out

    for seed, shape, pad in [(4, [3, 4, 5], 2), (5, [2, 3, 3, 2], 1), (6, [4, 5, 4], 3)]:
        x = _rand(shape, seed, 0.0, 1.0)
        offsets = [[0, 2 * pad], [2 * pad, 0], [pad, pad], [1, 2 * pad - 1]][:shape[0]]
        got = _call("pad_and_crop", pad_and_crop, _arr(x), pad, _arr(offsets, "int64"))
        channels = shape[3] if _len(shape) == 4 else 0
        want = [shifted(x[i], offsets[i][0] - pad, offsets[i][1] - pad, shape[1], shape[2],
                        channels) for i in _range(shape[0])]
        _close(f"pad_and_crop(pad={pad}, offsets={offsets}) on shape {_tuple(shape)}", got, want,
               rtol=0.0, atol=0.0)
    """, uses={"pad_and_crop"}),
    tests("test_random_crop_offsets", 1, visible="""
    # tests: random_crop_offsets
    off = random_crop_offsets(500, 2, np.random.default_rng(0))
    assert off.shape == (500, 2), f"expected shape (500, 2), got {off.shape}"
    assert set(np.unique(off)) == {0, 1, 2, 3, 4}, f"expected the values 0..4, got {np.unique(off)}"
    """, hidden="""
    for n, pad in [(3000, 1), (4000, 3)]:
        got = _call("random_crop_offsets", random_crop_offsets, n, pad, _np.random.default_rng(n))
        again = _call("random_crop_offsets", random_crop_offsets, n, pad,
                      _np.random.default_rng(n))
        values = _nested(got)
        _equal(f"random_crop_offsets({n}, {pad}): shape", _shape(values), (n, 2))
        flat = _flat(values)
        _true(f"random_crop_offsets({n}, {pad}): the same seed must give the same offsets",
              flat == _flat(_nested(again)))
        for k in _range(2 * pad + 1):
            share = _len([v for v in flat if v == k]) / _len(flat)
            _true(f"random_crop_offsets({n}, {pad}): offset {k} should appear with frequency "
                  f"{1 / (2 * pad + 1):.3f}, got {share:.3f}", _abs(share - 1 / (2 * pad + 1)) < 0.04)
        _true(f"random_crop_offsets({n}, {pad}): offsets must be integers in [0, {2 * pad}]",
              _len([v for v in flat if v != (v // 1) or v < 0 or v > 2 * pad]) == 0)
        columns = _transpose(values)
        _true(f"random_crop_offsets({n}, {pad}): dy and dx must be drawn independently",
              columns[0] != columns[1])
    """, uses={"random_crop_offsets"}),
    tests("test_translate", 2, visible="""
    # tests: translate
    img = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    assert np.array_equal(translate(img, 1, 0), [[[0.0, 0.0], [1.0, 2.0]]]), translate(img, 1, 0)
    assert np.array_equal(translate(img, 0, -1), [[[2.0, 0.0], [4.0, 0.0]]]), translate(img, 0, -1)
    """, hidden="""
    for seed, shape in [(7, [2, 4, 5]), (8, [1, 3, 3, 2])]:
        x = _rand(shape, seed, 0.0, 1.0)
        height, width = shape[1], shape[2]
        channels = shape[3] if _len(shape) == 4 else 0
        for dy, dx in [(0, 0), (1, 2), (-2, 1), (0, -3), (height, 0), (-1, -width - 2), (2, -1)]:
            x_in = _arr(x)
            got = _call("translate", translate, x_in, dy, dx)
            _close(f"translate(dy={dy}, dx={dx}) on shape {_tuple(shape)}: the input images "
                   f"(must not be modified)", x_in, x, rtol=0.0, atol=0.0)
            want = []
            for image in x:
                out = []
                for r in _range(height):
                    row = []
                    for c in _range(width):
                        rr, cc = r - dy, c - dx
                        if 0 <= rr < height and 0 <= cc < width:
                            row.append(image[rr][cc])
                        else:
                            row.append([0.0] * channels if channels else 0.0)
                    out.append(row)
                want.append(out)
            _close(f"translate(dy={dy}, dx={dx}) on shape {_tuple(shape)}", got, want, rtol=0.0,
                   atol=0.0)
            try:
                got.fill(-1.0)  # a view of the input would change the caller's images
            except Exception:
                pass
            _true(f"translate(dy={dy}, dx={dx}) must return a new array: writing into its "
                  f"result changed the input images", _nested(x_in) == x)
    """, uses={"translate"}),
    md(r"""
    ## 3. Contrast and gamma (1 + 1 points)

    * `adjust_contrast(images, factor)`: for every image and channel, with $\mu$ the mean over
      that image's pixels (height and width), $x \leftarrow \mu + \text{factor}\,(x - \mu)$
      (as `tf.image.adjust_contrast`; no clipping);
    * `adjust_gamma(images, gamma, gain=1.0)`: $x \leftarrow \text{gain}\cdot x^{\gamma}$
      ($\gamma < 1$ brightens dark regions, $\gamma > 1$ darkens them).
    """),
    solution("contrast_gamma", """
    def adjust_contrast(images, factor):
        ### BEGIN SOLUTION
        mean = images.mean(axis=(1, 2), keepdims=True)
        return mean + factor * (images - mean)
        ### END SOLUTION


    def adjust_gamma(images, gamma, gain=1.0):
        ### BEGIN SOLUTION
        return gain * images ** gamma
        ### END SOLUTION
    """),
    tests("test_adjust_contrast", 1, visible="""
    # tests: adjust_contrast
    img = np.array([[[0.2, 0.4], [0.6, 0.8]]])   # mean 0.5
    assert np.allclose(adjust_contrast(img, 2.0), [[[-0.1, 0.3], [0.7, 1.1]]])
    """, hidden="""
    for seed, shape, factor in [(9, [3, 4, 4], 0.5), (10, [2, 3, 5, 3], 1.8), (11, [1, 2, 2], 0.0)]:
        x = _rand(shape, seed, 0.0, 1.0)
        want = []
        for image in x:
            if _len(shape) == 3:
                mean = _sum(_flat(image)) / (shape[1] * shape[2])
                want.append([[mean + factor * (v - mean) for v in row] for row in image])
            else:
                means = [_sum([px[ch] for row in image for px in row]) / (shape[1] * shape[2])
                         for ch in _range(shape[3])]
                want.append([[[means[ch] + factor * (px[ch] - means[ch])
                               for ch in _range(shape[3])] for px in row] for row in image])
        x_in = _arr(x)
        got = _call("adjust_contrast", adjust_contrast, x_in, factor)
        _true("adjust_contrast modified its argument images in place: return a new array",
              _nested(x_in) == x)
        _close(f"adjust_contrast(factor={factor}) on shape {_tuple(shape)}", got, want,
               rtol=1e-9, atol=1e-12)
    """, uses={"adjust_contrast"}),
    tests("test_adjust_gamma", 1, visible="""
    # tests: adjust_gamma
    assert np.allclose(adjust_gamma(np.array([[[0.25, 1.0]]]), 0.5), [[[0.5, 1.0]]])
    """, hidden="""
    for seed, shape, gamma, gain in [(12, [2, 3, 3], 2.2, 1.0), (13, [1, 2, 2, 3], 0.4, 0.8),
                                     (14, [2, 2, 3], 0.7, 1.6)]:  # no clipping
        x = _flat(_rand(shape, seed, 0.0, 1.0))
        x_in = _arr(_reshape(x, _tuple(shape)))
        got = _call("adjust_gamma", adjust_gamma, x_in, gamma, gain)
        _true("adjust_gamma modified its argument images in place: return a new array",
              _flat(_nested(x_in)) == x)
        _close(f"adjust_gamma(gamma={gamma}, gain={gain}) on shape {_tuple(shape)}", got,
               _reshape([gain * v ** gamma for v in x], _tuple(shape)), rtol=1e-9)
    """, uses={"adjust_gamma"}),
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
      the words that have synonyms (a word mapped to an empty list has none), and replace each by a synonym drawn at random from its list.
    """),
    solution("eda", """
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
    """),
    tests("test_random_deletion", 1, visible="""
    # tests: random_deletion
    sentence = "the quick brown fox jumps over the lazy dog".split()
    assert random_deletion(sentence, 0.0, np.random.default_rng(0)) == sentence
    assert len(random_deletion(sentence, 1.0, np.random.default_rng(0))) == 1
    out = random_deletion(sentence, 0.5, np.random.default_rng(0))
    assert out == random_deletion(sentence, 0.5, np.random.default_rng(0)), "same seed, same output"
    """, hidden="""
    def is_subsequence(small, big):
        k = 0
        for w in big:
            if k < _len(small) and small[k] == w:
                k += 1
        return k == _len(small)

    words = [f"w{i}" for i in _range(3000)]
    original = words[:]
    for p in [0.1, 0.3, 0.7]:
        out = _call("random_deletion", random_deletion, words, p, _np.random.default_rng(5))
        _true("random_deletion must not modify its input", words == original)
        _true(f"random_deletion(p={p}) must return a list", _type(out) is _list)
        _true(f"random_deletion(p={p}) must keep the order of the remaining words",
              is_subsequence(out, words))
        deleted = 1 - _len(out) / _len(words)
        _true(f"random_deletion(p={p}): expected a fraction {p} of words deleted, got {deleted:.3f}",
              _abs(deleted - p) < 0.04)
        again = _call("random_deletion", random_deletion, words, p, _np.random.default_rng(5))
        _true(f"random_deletion(p={p}): the same seed must give the same result", out == again)
    short = ["a", "b", "c"]
    seen = []
    for seed in _range(40):
        out = _call("random_deletion", random_deletion, short, 1.0, _np.random.default_rng(seed))
        _true(f"random_deletion(p=1.0) must keep exactly one word of the sentence, got {out}",
              _len(out) == 1 and out[0] in short)
        if out[0] not in seen:
            seen.append(out[0])
        again = _call("random_deletion", random_deletion, short, 1.0, _np.random.default_rng(seed))
        _true(f"random_deletion(p=1.0): the same seed must give the same result, got {out} "
              f"then {again}", out == again)
    _true("random_deletion(p=1.0): the surviving word must be chosen at random", _len(seen) == 3)
    _equal("random_deletion of an empty sentence",
           _call("random_deletion", random_deletion, [], 0.5, _np.random.default_rng(0)), [])
    _equal("random_deletion(p=0)",
           _call("random_deletion", random_deletion, short, 0.0, _np.random.default_rng(0)), short)
    """, uses={"random_deletion"}),
    tests("test_random_swap", 1, visible="""
    # tests: random_swap
    sentence = "one two three four five".split()
    out = random_swap(sentence, 1, np.random.default_rng(0))
    assert sorted(out) == sorted(sentence), "a swap keeps the same words"
    assert sum(a != b for a, b in zip(out, sentence)) == 2, f"one swap changes 2 positions: {out}"
    """, hidden="""
    sentence = ["a", "b", "c", "d", "e", "f"]
    moved, far = [0] * 6, [0]
    for seed in _range(60):
        for n in [1, 2, 3]:
            out = _call("random_swap", random_swap, sentence, n, _np.random.default_rng(seed))
            _true("random_swap must not modify its input", sentence == ["a", "b", "c", "d", "e", "f"])
            _true(f"random_swap(n={n}) must return a list of the same words, got {out}",
                  _type(out) is _list and _len(out) == 6
                  and _len([w for w in sentence if w in out]) == 6)
            changed = [i for i in _range(6) if out[i] != sentence[i]]
            if n == 1:
                _true(f"random_swap(n=1) must exchange two different positions, got {out}",
                      _len(changed) == 2)
                if changed[1] - changed[0] > 1:
                    far[0] += 1
            again = _call("random_swap", random_swap, sentence, n, _np.random.default_rng(seed))
            _true(f"random_swap(n={n}): the same seed must give the same result, got {out} then "
                  f"{again}", out == again)
            _true(f"random_swap(n={n}) changed {_len(changed)} positions, at most {2 * n} allowed",
                  _len(changed) <= 2 * n)
            for i in changed:
                moved[i] += 1
    _true(f"random_swap must pick positions at random; times each position moved: {moved}",
          _min(moved) > 5)
    _true(f"random_swap must pick any two positions, not only neighbours ({far[0]} of 60 single "
          f"swaps exchanged non-adjacent words)", far[0] > 10)
    _equal("random_swap on a one-word sentence",
           _call("random_swap", random_swap, ["solo"], 3, _np.random.default_rng(0)), ["solo"])
    """, uses={"random_swap"}),
    tests("test_synonym_replacement", 2, visible="""
    # tests: synonym_replacement
    synonyms = {"quick": ["fast", "rapid"], "lazy": ["idle"]}
    sentence = "the quick brown fox jumps over the lazy dog".split()
    out = synonym_replacement(sentence, synonyms, 5, np.random.default_rng(0))
    assert out[1] in ("fast", "rapid") and out[7] == "idle", f"got {out}"
    assert [w for i, w in enumerate(out) if i not in (1, 7)] == [w for i, w in enumerate(sentence) if i not in (1, 7)]
    """, hidden="""
    synonyms = {"good": ["fine", "nice", "great"], "big": ["large"], "run": ["sprint", "jog"],
                "cat": []}
    sentence = ["a", "good", "big", "cat", "can", "run", "a", "good", "run"]
    replaceable = [1, 2, 5, 7, 8]
    chosen_positions, chosen_words, same_synonym = [], [], [0]
    for seed in _range(50):
        for n in [0, 1, 2, 3, 7]:
            out = _call("synonym_replacement", synonym_replacement, sentence, synonyms, n,
                        _np.random.default_rng(seed))
            if n == 7 and out[1] == out[7]:
                same_synonym[0] += 1
            _true("synonym_replacement must not modify its input",
                  sentence == ["a", "good", "big", "cat", "can", "run", "a", "good", "run"])
            _true(f"synonym_replacement must return a list of 9 words, got {out}",
                  _type(out) is _list and _len(out) == 9)
            changed = [i for i in _range(9) if out[i] != sentence[i]]
            want = n if n < 5 else 5
            _equal(f"synonym_replacement(n={n}): number of replaced words (sentence {sentence})",
                   _len(changed), want)
            again = _call("synonym_replacement", synonym_replacement, sentence, synonyms, n,
                          _np.random.default_rng(seed))
            _true(f"synonym_replacement(n={n}): the same seed must give the same result, got {out} "
                  f"then {again}", out == again)
            for i in changed:
                _true(f"synonym_replacement replaced {sentence[i]!r} by {out[i]!r}, "
                      f"not one of its synonyms", i in replaceable and out[i] in synonyms[sentence[i]])
                if n == 1 and i not in chosen_positions:
                    chosen_positions.append(i)
                if out[i] not in chosen_words:
                    chosen_words.append(out[i])
    _true(f"synonym_replacement(n=1) must choose the position at random (used only "
          f"{chosen_positions})",
          _len(chosen_positions) == 5)
    _true(f"synonym_replacement must choose synonyms at random (used only {chosen_words})",
          _len(chosen_words) == 6)
    _true(f"synonym_replacement must draw each replaced word's synonym independently (both "
          f"'good' got the same one of 3 synonyms in {same_synonym[0]} of 50 sentences)",
          same_synonym[0] < 35)
    """, uses={"synonym_replacement"}),
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
