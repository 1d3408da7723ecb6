"""Words to their dictionary form with simplemma (pure; English).

FTS5's porter stemmer makes "lives", "living" and "live" one term, but not "grew" and "grow",
"children" and "child", "bought" and "buy". ``lemma`` gives those base forms (from
simplemma's bundled English dictionary: no model, no network), and the memory index and the
query both carry them, so either form finds the other. The dictionary (~25 MB) is loaded on
first use; the fork server's warm-up makes one turn, so workers inherit it loaded.
"""

from __future__ import annotations

from functools import lru_cache

import simplemma

LEMMA_CACHE_SIZE = 65_536
"""Distinct words remembered (a lookup is ~0.3 µs once cached, ~10 µs before)."""

MAX_LEMMA_CHARS = 40
"""Longer "words" (no dictionary has them) are their own lemma, and never cached: the cache
holds at most ``LEMMA_CACHE_SIZE`` short strings whatever people type."""


def lemma(word: str) -> str:
    """The dictionary form of a lower-case ``word`` ("grew" → "grow"); the word itself when
    simplemma does not know it."""
    return word if len(word) > MAX_LEMMA_CHARS else _lemma(word)


@lru_cache(maxsize=LEMMA_CACHE_SIZE)
def _lemma(word: str) -> str:
    return str(simplemma.lemmatize(word, lang="en")).lower()
