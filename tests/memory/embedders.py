"""Deterministic test embedders: real objects implementing ``worker.backends.base.Embedder``."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from worker.backends.base import LLMUnavailable


class HashedTrigramEmbedder:
    """Character trigrams of the lower-cased text, counted into ``dimension`` hashed buckets.

    Close spellings ("Biscuit"/"Biscuitt") share most trigrams, so their vectors are close —
    a similarity that BM25 over whole (stemmed) words cannot see. ``calls`` records every
    batch it was asked to embed.
    """

    def __init__(self, dimension: int = 256) -> None:
        self.dimension = dimension
        self.calls: list[list[str]] = []

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls.append(list(texts))
        return [self._vector(text) for text in texts]

    def _vector(self, text: str) -> list[float]:
        vector = [0.0] * self.dimension
        padded = f" {' '.join(text.lower().split())} "
        for start in range(len(padded) - 2):
            digest = hashlib.blake2b(padded[start : start + 3].encode(), digest_size=4).digest()
            vector[int.from_bytes(digest, "little") % self.dimension] += 1.0
        return vector


class UnreachableEmbedder:
    """An embedder whose server is down: every call raises ``LLMUnavailable``."""

    def __init__(self) -> None:
        self.calls = 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        raise LLMUnavailable("embedding server http://127.0.0.1:9 is not reachable")
