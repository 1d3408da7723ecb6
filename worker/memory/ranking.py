"""The memory score: one formula over plain numbers (pure; no SQLite, no clock).

For a query, every candidate memory gets four components, each in 0..1::

    relevance  = (-bm25) / max(-bm25 over this query's candidates)   0 when the text did not match
    vector     = max(0, cosine(query vector, memory vector))         0 without an embedder/vector
    recency    = 0.5 ** (max(0, now - created_at) / half_life_s)
    importance = the memory's importance (0..1, set at formation)

    score = w_relevance * relevance + w_vector * vector + w_recency * recency
            + w_importance * importance

FTS5's ``bm25()`` is negative and unbounded (more negative = better), and its scale depends
on the corpus, so it is made relative to the best match of the same query: the best textual
match has relevance 1.0 and the others are scaled against it. The weights sum to 1, so
``score`` is in 0..1 too. Ties break on newer first, then on higher id, so the order is total
and deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

SECONDS_PER_DAY = 86_400.0


@dataclass(frozen=True, slots=True)
class RankingWeights:
    """Weights of the four components; they should sum to 1 (checked)."""

    relevance: float
    recency: float
    importance: float
    vector: float = 0.0

    def __post_init__(self) -> None:
        parts = (self.relevance, self.recency, self.importance, self.vector)
        if any(part < 0 for part in parts) or not math.isclose(sum(parts), 1.0, abs_tol=1e-9):
            raise ValueError(f"ranking weights must be >= 0 and sum to 1, got {parts}")


LEXICAL_WEIGHTS = RankingWeights(relevance=0.6, recency=0.2, importance=0.2)
"""``search``: text relevance leads; recency and importance break near-ties and lift
important or fresh memories over marginally better text matches."""

HYBRID_WEIGHTS = RankingWeights(relevance=0.35, vector=0.35, recency=0.15, importance=0.15)
"""``search_hybrid`` with an embedder: text and meaning share the relevance budget."""

RECENCY_ONLY_WEIGHTS = RankingWeights(relevance=0.0, recency=0.5, importance=0.5)
"""A query with no searchable word: what is fresh and important."""


@dataclass(frozen=True, slots=True)
class Ranking:
    """How memories are scored; the defaults are the documented ones."""

    half_life_s: float = 7 * SECONDS_PER_DAY
    """A memory this old counts half as recent as a new one."""
    lexical: RankingWeights = LEXICAL_WEIGHTS
    hybrid: RankingWeights = HYBRID_WEIGHTS
    recency_only: RankingWeights = RECENCY_ONLY_WEIGHTS

    def __post_init__(self) -> None:
        if not self.half_life_s > 0:
            raise ValueError(f"half_life_s must be > 0, got {self.half_life_s}")

    def weights_for(self, *, vector: bool, lexical: bool) -> RankingWeights:
        """The weights a search scored with: ``hybrid`` when its hits carry a vector
        component, else ``lexical`` when the query had a searchable word, else
        ``recency_only`` (the store's choice, as ``MemoryStore.search`` documents it)."""
        if vector:
            return self.hybrid
        return self.lexical if lexical else self.recency_only


@dataclass(frozen=True, slots=True)
class Candidate:
    """What ranking needs to know about one memory."""

    id: int
    created_at: float
    importance: float
    bm25: float | None = None
    """FTS5 ``bm25()`` for the query (negative; lower is better); ``None`` if not matched."""
    cosine: float | None = None
    """Cosine similarity with the query vector; ``None`` without vectors."""


@dataclass(frozen=True, slots=True)
class Ranked:
    id: int
    score: float
    scores: dict[str, float]


def recency(age_s: float, half_life_s: float) -> float:
    """Exponential decay: 1.0 now, 0.5 after one half-life; a future time counts as now."""
    return float(0.5 ** (max(0.0, age_s) / half_life_s))


def rank(
    candidates: Sequence[Candidate],
    *,
    now: float,
    weights: RankingWeights,
    half_life_s: float,
    limit: int,
) -> list[Ranked]:
    """Score every candidate with the formula above and return the best ``limit``."""
    best_bm25 = max((-c.bm25 for c in candidates if c.bm25 is not None), default=0.0)
    ranked: list[tuple[float, float, int, Ranked]] = []
    for candidate in candidates:
        scores: dict[str, float] = {}
        relevance = 0.0
        if candidate.bm25 is not None:
            scores["bm25"] = candidate.bm25
            relevance = -candidate.bm25 / best_bm25 if best_bm25 > 0 else 0.0
        scores["relevance"] = relevance
        if candidate.cosine is not None:
            scores["vector"] = max(0.0, candidate.cosine)
        scores["recency"] = recency(now - candidate.created_at, half_life_s)
        scores["importance"] = min(1.0, max(0.0, candidate.importance))
        score = (
            weights.relevance * relevance
            + weights.vector * scores.get("vector", 0.0)
            + weights.recency * scores["recency"]
            + weights.importance * scores["importance"]
        )
        ranked.append((-score, -candidate.created_at, -candidate.id,
                       Ranked(candidate.id, score, scores)))
    ranked.sort(key=lambda entry: entry[:3])
    return [entry[3] for entry in ranked[: max(0, limit)]]
