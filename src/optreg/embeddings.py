"""Small word embeddings trained offline, and text augmentation by embedding neighbours.

The embeddings are counted, not downloaded: positive pointwise mutual information (PPMI) between
words and their neighbours within a window, with the context distribution smoothed by the power
0.75, factorized by a truncated SVD (Levy, Goldberg and Dagan, 2015: as good as word2vec on
small corpora). The default corpus is the documentation that ships with every CPython
(``pydoc_data.topics``, the text of ``help()`` topics, PSF licence): no network, the same table on
every machine with the same Python.

Embedding-neighbour replacement swaps words for their nearest neighbours in the embedding space
(nlpaug's ``WordEmbsAug``, TextAttack's ``WordSwapEmbedding``). Neighbours are words used in
similar contexts: often synonyms, but also antonyms and co-hyponyms ("true" and "false"), which
may change the meaning.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from optreg._validation import check_int
from optreg.augmentation import STOP_WORDS, tokenize

__all__ = ["WordVectors", "embedding_replacement", "python_docs_corpus", "train_ppmi_embeddings"]


class WordVectors:
    """A vocabulary and its unit-norm vectors; ``most_similar`` ranks by cosine similarity."""

    def __init__(self, words: Sequence[str], vectors: np.ndarray) -> None:
        vectors = np.asarray(vectors, dtype=float)
        if vectors.ndim != 2 or len(vectors) != len(words):
            raise ValueError(f"vectors must have one row per word, got {vectors.shape}")
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        self.words = list(words)
        self.vectors = vectors / np.where(norms > 0, norms, 1.0)
        self.index = {word: i for i, word in enumerate(self.words)}

    def __contains__(self, word: str) -> bool:
        return word in self.index

    def most_similar(self, word: str, k: int = 5) -> list[tuple[str, float]]:
        """The ``k`` nearest other words and their cosine similarities, most similar first."""
        k = check_int("k", k, 1)
        if word not in self.index:
            raise ValueError(f"word {word!r} is not in the vocabulary")
        similarity = self.vectors @ self.vectors[self.index[word]]
        similarity[self.index[word]] = -np.inf
        best = np.argsort(-similarity)[:k]
        return [(self.words[i], float(similarity[i])) for i in best]


def python_docs_corpus() -> list[list[str]]:
    """The sentences (lists of lower-case words) of CPython's bundled ``help()`` topics."""
    from pydoc_data import topics

    text = "\n".join(topics.topics.values())
    sentences = (tokenize(s) for s in re.split(r"[.!?;:\n]+", text))
    return [s for s in sentences if len(s) >= 3]


def train_ppmi_embeddings(
    sentences: Iterable[Sequence[str]],
    dim: int = 100,
    window: int = 2,
    min_count: int = 5,
    max_vocab: int = 3000,
) -> WordVectors:
    """PPMI of word/context counts within ``window`` words, factorized by a rank-``dim`` SVD.

    Vocabulary: the ``max_vocab`` most frequent words seen at least ``min_count`` times. Vectors:
    ``U_d sqrt(S_d)`` of the SVD of the PPMI matrix.
    """
    dim, window = check_int("dim", dim, 1), check_int("window", window, 1)
    min_count, max_vocab = (
        check_int("min_count", min_count, 1),
        check_int("max_vocab", max_vocab, 2),
    )
    sentences = [list(s) for s in sentences]
    counts = Counter(word for s in sentences for word in s)
    words = [w for w, c in counts.most_common(max_vocab) if c >= min_count]
    if len(words) <= dim:
        raise ValueError(f"the corpus has {len(words)} frequent words, need more than dim={dim}")
    index = {w: i for i, w in enumerate(words)}
    # One flat array of word ids, sentences separated by `window` unknowns (-1), so that no
    # window spans two sentences.
    ids = np.array([index.get(w, -1) for s in sentences for w in [*s, *[None] * window]])
    cooccurrence = np.zeros((len(words), len(words)))
    for offset in range(1, window + 1):
        left, right = ids[:-offset], ids[offset:]
        both = (left >= 0) & (right >= 0)
        for a, b in [(left[both], right[both]), (right[both], left[both])]:
            np.add.at(cooccurrence, (a, b), 1.0)
    total = cooccurrence.sum()
    row = cooccurrence.sum(axis=1, keepdims=True)
    context = cooccurrence.sum(axis=0, keepdims=True) ** 0.75
    context *= total / context.sum()
    with np.errstate(divide="ignore", invalid="ignore"):
        ppmi = np.maximum(np.log(cooccurrence * total / (row * context)), 0.0)
    ppmi[~np.isfinite(ppmi)] = 0.0
    u, s, _ = np.linalg.svd(ppmi, full_matrices=False)
    return WordVectors(words, u[:, :dim] * np.sqrt(s[:dim]))


def embedding_replacement(
    sentence: str | Sequence[str],
    n: int,
    vectors: WordVectors,
    k: int = 5,
    seed: Any = None,
) -> list[str]:
    """Replace ``n`` distinct words (stop words and unknown words excluded) by one of their
    ``k`` nearest neighbours each, drawn at random; fewer when the sentence has fewer such words."""
    n, k = check_int("n", n, 0), check_int("k", k, 1)
    rng = np.random.default_rng(seed)
    words = tokenize(sentence) if isinstance(sentence, str) else list(sentence)
    candidates = [i for i, w in enumerate(words) if w in vectors and w not in STOP_WORDS]
    for i in rng.permutation(candidates)[:n]:
        neighbours = [w for w, _ in vectors.most_similar(words[i], k)]
        words[i] = neighbours[rng.integers(len(neighbours))]
    return words
