"""EDA (Wei and Zou, 2019): synonym replacement, random insertion, swap and deletion of words."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from optreg._validation import check_int, check_range
from optreg.augmentation._seeds import _rng
from optreg.hyperparameters import checked

__all__ = [
    "load_thesaurus",
    "tokenize",
    "synonym_replacement",
    "random_insertion",
    "random_swap",
    "random_deletion",
    "eda",
]


# --------------------------------------------------------------------------------------------
# Text: EDA
# --------------------------------------------------------------------------------------------

#: Function words that synonym replacement and insertion leave alone (as EDA does).
STOP_WORDS = frozenset(
    """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing down during each few for from
    further had has have having he her here hers herself him himself his how i if in into is it
    its itself just me more most my myself no nor not now of off on once only or other our ours
    ourselves out over own same she should so some such than that the their theirs them
    themselves then there these they this those through to too under until up very was we were
    what when where which while who whom why will with would you your yours yourself
    yourselves""".split()
)


@lru_cache(maxsize=1)
def load_thesaurus() -> dict[str, tuple[str, ...]]:
    """The package's small thesaurus: ``{word: (synonym, ...)}`` for common English words."""
    text = resources.files("optreg").joinpath("resources/thesaurus.json").read_text("utf-8")
    return {word: tuple(synonyms) for word, synonyms in json.loads(text).items()}


def tokenize(sentence: str) -> list[str]:
    """Lower-case words (letters and apostrophes), as EDA cleans its input."""
    if not isinstance(sentence, str):
        raise ValueError(f"sentence must be a string, got {type(sentence).__name__}")
    return re.findall(r"[a-z']+", sentence.lower())


def _words(sentence_or_words: str | Sequence[str]) -> list[str]:
    if isinstance(sentence_or_words, str):
        return tokenize(sentence_or_words)
    return list(sentence_or_words)


def _synonyms(word: str, thesaurus: dict[str, Sequence[str]]) -> Sequence[str]:
    return () if word in STOP_WORDS else thesaurus.get(word, ())


def synonym_replacement(
    sentence: str | Sequence[str], n: int, seed: Any = None, thesaurus: dict | None = None
) -> list[str]:
    """Replace ``n`` distinct words that have synonyms (stop words excluded) by a random
    synonym each; fewer when the sentence has fewer such words."""
    n = check_int("n", n, minimum=0)
    rng, thesaurus = _rng(seed), thesaurus if thesaurus is not None else load_thesaurus()
    words = _words(sentence)
    candidates = [i for i, w in enumerate(words) if _synonyms(w, thesaurus)]
    for i in rng.permutation(candidates)[:n]:
        options = _synonyms(words[i], thesaurus)
        words[i] = options[rng.integers(len(options))]
    return words


def random_insertion(
    sentence: str | Sequence[str], n: int, seed: Any = None, thesaurus: dict | None = None
) -> list[str]:
    """``n`` times: take a random word that has synonyms, insert one of its synonyms at a
    random position. Nothing happens when no word has a synonym."""
    n = check_int("n", n, minimum=0)
    rng, thesaurus = _rng(seed), thesaurus if thesaurus is not None else load_thesaurus()
    words = _words(sentence)
    for _ in range(n):
        candidates = [w for w in words if _synonyms(w, thesaurus)]
        if not candidates:
            break
        options = _synonyms(candidates[rng.integers(len(candidates))], thesaurus)
        words.insert(int(rng.integers(len(words) + 1)), options[rng.integers(len(options))])
    return words


@checked(n="integer >= 0")
def random_swap(sentence: str | Sequence[str], n: int, seed: Any = None) -> list[str]:
    """``n`` times: swap the words at two random positions (distinct when possible)."""
    rng = _rng(seed)
    words = _words(sentence)
    if len(words) < 2:
        return words
    for _ in range(n):
        i, j = rng.choice(len(words), size=2, replace=False)
        words[i], words[j] = words[j], words[i]
    return words


def random_deletion(sentence: str | Sequence[str], p: float, seed: Any = None) -> list[str]:
    """Delete each word with probability ``p``; if every word goes, keep one at random."""
    p = check_range("p", p, 0.0, 1.0)
    rng = _rng(seed)
    words = _words(sentence)
    if not words:
        return words
    kept = [w for w, u in zip(words, rng.random(len(words)), strict=True) if u >= p]
    return kept if kept else [words[rng.integers(len(words))]]


def eda(
    sentence: str,
    alpha_sr: float = 0.1,
    alpha_ri: float = 0.1,
    alpha_rs: float = 0.1,
    p_rd: float = 0.1,
    num_aug: int = 9,
    seed: int | None = None,
) -> list[str]:
    """``num_aug`` augmented versions of ``sentence`` (Wei and Zou's EDA).

    For a sentence of ``L`` words, synonym replacement changes ``n = max(1, alpha_sr L)``
    words, random insertion adds ``max(1, alpha_ri L)``, random swap makes ``max(1,
    alpha_rs L)`` swaps and random deletion drops each word with probability ``p_rd``. Each
    operation with a nonzero strength makes ``ceil(num_aug / k)`` sentences (``k`` operations
    enabled); they are shuffled and the first ``num_aug`` returned (the original sentence is
    not included). The same ``seed`` gives the same sentences.
    """
    alphas = {
        "alpha_sr": check_range("alpha_sr", alpha_sr, 0.0, 1.0),
        "alpha_ri": check_range("alpha_ri", alpha_ri, 0.0, 1.0),
        "alpha_rs": check_range("alpha_rs", alpha_rs, 0.0, 1.0),
        "p_rd": check_range("p_rd", p_rd, 0.0, 1.0),
    }
    num_aug = check_int("num_aug", num_aug, minimum=1)
    rng = np.random.default_rng(seed)
    words = tokenize(sentence)
    if not words:
        raise ValueError("sentence must contain at least one word")

    def count(alpha: float) -> int:
        return max(1, int(alpha * len(words)))

    operations = {
        "alpha_sr": lambda: synonym_replacement(words, count(alpha_sr), rng),
        "alpha_ri": lambda: random_insertion(words, count(alpha_ri), rng),
        "alpha_rs": lambda: random_swap(words, count(alpha_rs), rng),
        "p_rd": lambda: random_deletion(words, p_rd, rng),
    }
    enabled = [name for name, value in alphas.items() if value > 0]
    if not enabled:
        raise ValueError("at least one of alpha_sr, alpha_ri, alpha_rs, p_rd must be > 0")
    per_operation = -(-num_aug // len(enabled))
    sentences = [" ".join(operations[name]()) for name in enabled for _ in range(per_operation)]
    order = rng.permutation(len(sentences))[:num_aug]
    return [sentences[i] for i in order]
