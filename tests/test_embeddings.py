"""optreg.embeddings on a corpus whose co-occurrences are known by construction."""

import numpy as np
import pytest

from optreg import embeddings


def toy_corpus():
    # "cat" and "dog" share every context, "car" and "bus" share theirs: two groups.
    rng = np.random.default_rng(0)
    sentences = []
    for _ in range(300):
        animal, vehicle = rng.choice(["cat", "dog"]), rng.choice(["car", "bus"])
        sentences.append(["pet", "the", animal, "eats", "food"])
        sentences.append(["drive", "the", vehicle, "burns", "fuel"])
    return sentences


def test_words_with_the_same_contexts_are_nearest_neighbours():
    vectors = embeddings.train_ppmi_embeddings(toy_corpus(), dim=3, window=2, min_count=1)
    assert vectors.most_similar("cat", 1)[0][0] == "dog"
    assert vectors.most_similar("bus", 1)[0][0] == "car"
    similarity = dict(vectors.most_similar("cat", len(vectors.words) - 1))
    assert similarity["dog"] > similarity["car"] + 0.5


def test_vectors_have_unit_norm_and_unknown_words_are_refused():
    vectors = embeddings.train_ppmi_embeddings(toy_corpus(), dim=3, min_count=1)
    np.testing.assert_allclose(np.linalg.norm(vectors.vectors, axis=1), 1.0)
    with pytest.raises(ValueError, match="vocabulary"):
        vectors.most_similar("zebra")
    with pytest.raises(ValueError, match="dim"):
        embeddings.train_ppmi_embeddings(toy_corpus(), dim=50, min_count=1)


def test_embedding_replacement_swaps_content_words_for_neighbours_only():
    vectors = embeddings.train_ppmi_embeddings(toy_corpus(), dim=3, min_count=1)
    out = embeddings.embedding_replacement("the cat eats food", 1, vectors, k=1, seed=0)
    assert len(out) == 4 and out[0] == "the"  # a stop word is never replaced
    changed = [(a, b) for a, b in zip("the cat eats food".split(), out, strict=True) if a != b]
    assert len(changed) == 1
    word, replacement = changed[0]
    assert replacement == vectors.most_similar(word, 1)[0][0]
    assert embeddings.embedding_replacement("the cat", 0, vectors, seed=0) == ["the", "cat"]
