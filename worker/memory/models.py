"""The values the memory package trades in: plain, frozen, JSON-able msgspec Structs.

``NewMemory`` is what formation produces and ``MemoryStore.add`` accepts; ``StoredMemory`` is
a row as saved (what snapshots and exports carry); ``MemoryHit`` is one search result with its
score and the real components that made it.
"""

from __future__ import annotations

from typing import Literal

import msgspec

MemoryKind = Literal[
    "fact", "preference", "promise", "question", "emotion", "summary", "message", "reply"
]
"""``message`` and ``reply`` are episodic: one sentence the user (``message``) or the
character (``reply``) said, kept word for word. The others are semantic: what a rule (or, for
``summary``, a model; the deterministic formation never writes it) made of what was said."""

MEMORY_KINDS: tuple[MemoryKind, ...] = (
    "fact",
    "preference",
    "promise",
    "question",
    "emotion",
    "summary",
    "message",
    "reply",
)

EPISODIC_KINDS: frozenset[MemoryKind] = frozenset({"message", "reply"})


class NewMemory(msgspec.Struct, frozen=True):
    """A memory about to be stored.

    ``importance`` is in 0..1, ``valence`` in -1..1, ``created_at`` in unix seconds,
    ``turn_id`` the turn that formed it. ``text`` is the normalised third-person form
    ("Sam's dog is called Biscuit.", or ``Sam said: "…"`` for an episode); ``source`` keeps
    the words as they were said, so both are searchable.
    """

    text: str
    kind: MemoryKind
    importance: float
    valence: float
    created_at: float
    turn_id: int
    user: str
    source: str = ""


class StoredMemory(msgspec.Struct, frozen=True):
    """A memory as saved: its id, the ``NewMemory`` fields and its embedding, if any.

    ``embedding`` is ``None`` when no embedder was configured (or it failed) when the memory
    was stored. Values survive a store round trip exactly (vectors are kept as float32, so
    floats that came out of a store go back in bit-identical).
    """

    id: int
    text: str
    kind: MemoryKind
    importance: float
    valence: float
    created_at: float
    turn_id: int
    user: str
    source: str = ""
    embedding: list[float] | None = None


class MemoryHit(msgspec.Struct, frozen=True):
    """One search result.

    ``score`` is the combined score (see ``worker.memory.ranking``); ``scores`` holds the
    components it was computed from, each in 0..1 except ``bm25`` (FTS5's value, lower is
    better, absent when the text did not match; for a ``reply`` scaled by
    ``worker.memory.store.BM25_SCALE_BY_KIND``): ``relevance``, ``recency``, ``importance``
    and, in hybrid search, ``vector``.
    """

    id: int
    text: str
    kind: MemoryKind
    importance: float
    valence: float
    created_at: float
    turn_id: int
    score: float
    scores: dict[str, float]
    user: str = ""
    source: str = ""
