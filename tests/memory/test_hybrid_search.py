"""Hybrid search with a real (deterministic, offline) embedder, and its failure modes."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest
from structlog.testing import capture_logs

from tests.backends.fake_llm_servers import FakeOpenAIServer
from tests.memory.conftest import NOW, memory
from tests.memory.embedders import HashedTrigramEmbedder, UnreachableEmbedder
from worker.backends.embeddings import OpenAIEmbedder
from worker.memory.ranking import HYBRID_WEIGHTS
from worker.memory.store import MemoryStore

DISTRACTORS = [
    "Sam went to the library for chess.",
    "Sam talked about the weather with Ana.",
    "Sam's sister is called Greta.",
    "Sam loves baking bread.",
    "Sam said they will visit the museum with their cousin.",
    "Sam saw a dog chasing pigeons near the park.",
]


@pytest.fixture
def embedder() -> HashedTrigramEmbedder:
    return HashedTrigramEmbedder()


@pytest.fixture
def hybrid_store(conn: sqlite3.Connection, embedder: HashedTrigramEmbedder) -> MemoryStore:
    return MemoryStore(conn, embedder=embedder)


async def _fill(store: MemoryStore) -> int:
    for text in DISTRACTORS:
        await store.add_with_embedding(memory(text))
    return await store.add_with_embedding(memory("Sam's dog is called Biscuit."))


async def test_hybrid_search_finds_a_misspelling_that_bm25_misses(
    hybrid_store: MemoryStore,
) -> None:
    planted = await _fill(hybrid_store)
    assert hybrid_store.search("Biscuitt", now=NOW) == []
    hits = await hybrid_store.search_hybrid("Biscuitt", 3, now=NOW)
    assert hits[0].id == planted
    assert hits[0].scores["vector"] > max(h.scores["vector"] for h in hits[1:])


async def test_hybrid_scores_are_the_weighted_sum_with_vector_similarity(
    hybrid_store: MemoryStore,
) -> None:
    await _fill(hybrid_store)
    hits = await hybrid_store.search_hybrid("what is my dog called", 5, now=NOW)
    w = HYBRID_WEIGHTS
    for hit in hits:
        s = hit.scores
        assert 0.0 <= s["vector"] <= 1.0
        assert hit.score == pytest.approx(
            w.relevance * s["relevance"] + w.vector * s["vector"]
            + w.recency * s["recency"] + w.importance * s["importance"]
        )
    assert hits[0].text == "Sam's dog is called Biscuit."
    assert "bm25" in hits[0].scores


async def test_add_with_embedding_stores_the_vector_as_float32(
    hybrid_store: MemoryStore, embedder: HashedTrigramEmbedder
) -> None:
    await hybrid_store.add_with_embedding(memory("Sam loves jazz."))
    [stored] = hybrid_store.all()
    assert stored.embedding == (await embedder.embed(["Sam loves jazz."]))[0]


async def test_vectors_survive_an_all_restore_round_trip(hybrid_store: MemoryStore) -> None:
    await _fill(hybrid_store)
    before = hybrid_store.all()
    hybrid_store.clear()
    hybrid_store.restore(before)
    assert hybrid_store.all() == before
    assert (await hybrid_store.search_hybrid("Biscuitt", 1, now=NOW))[0].text.endswith("Biscuit.")


async def test_the_vector_cache_follows_additions_and_deletions(
    hybrid_store: MemoryStore,
) -> None:
    await _fill(hybrid_store)
    await hybrid_store.search_hybrid("Mochi", 1, now=NOW)  # builds the cached matrix
    mochi = await hybrid_store.add_with_embedding(memory("Sam's cat is Mochi.", turn_id=2))
    assert (await hybrid_store.search_hybrid("Mochii", 1, now=NOW))[0].id == mochi
    hybrid_store.delete_from_turn(2)
    assert mochi not in [h.id for h in await hybrid_store.search_hybrid("Mochii", 5, now=NOW)]


async def test_the_vector_cache_follows_a_rollback(
    conn: sqlite3.Connection, hybrid_store: MemoryStore, embedder: HashedTrigramEmbedder
) -> None:
    await _fill(hybrid_store)
    conn.commit()
    undone = await hybrid_store.add_with_embedding(memory("Sam's cat is Mochi."))
    await hybrid_store.search_hybrid("Mochii", 1, now=NOW)  # caches the Mochi vector
    conn.rollback()
    replaced = await hybrid_store.add_with_embedding(memory("Sam's parrot is Kiwi."))
    assert replaced == undone  # SQLite reuses the rolled-back rowid

    hits = await hybrid_store.search_hybrid("Mochii", 10, now=NOW)
    [query_vector] = await embedder.embed(["Mochii"])
    [kiwi_vector] = [m.embedding for m in hybrid_store.all() if m.id == replaced]
    assert kiwi_vector is not None
    expected = float(
        np.dot(query_vector, kiwi_vector) / np.linalg.norm(query_vector)
        / np.linalg.norm(kiwi_vector)
    )
    [kiwi] = [h for h in hits if h.id == replaced]
    assert kiwi.scores["vector"] == pytest.approx(max(0.0, expected), abs=1e-6)


async def test_memories_added_without_a_vector_are_backfilled_by_embed_missing(
    hybrid_store: MemoryStore, embedder: HashedTrigramEmbedder
) -> None:
    for text in DISTRACTORS:
        hybrid_store.add(memory(text))
    assert all(m.embedding is None for m in hybrid_store.all())
    assert await hybrid_store.embed_missing(batch_size=4) == 4
    assert await hybrid_store.embed_missing(batch_size=4) == 2
    assert await hybrid_store.embed_missing(batch_size=4) == 0
    assert all(m.embedding is not None for m in hybrid_store.all())
    assert [len(batch) for batch in embedder.calls] == [4, 2]


async def test_without_an_embedder_hybrid_search_is_lexical_search(store: MemoryStore) -> None:
    for text in DISTRACTORS:
        store.add(memory(text))
    assert await store.search_hybrid("dog", 3, now=NOW) == store.search("dog", 3, now=NOW)
    assert await store.embed_missing() == 0


async def test_an_unreachable_embedder_falls_back_to_lexical_search(
    conn: sqlite3.Connection,
) -> None:
    embedder = UnreachableEmbedder()
    store = MemoryStore(conn, embedder=embedder)
    with capture_logs() as logs:
        stored = await store.add_with_embedding(memory("Sam's dog is called Biscuit."))
        hits = await store.search_hybrid("Biscuit", 3, now=NOW)
    assert store.all()[0].embedding is None
    assert [(log["event"], log["error_code"]) for log in logs] == [
        ("memory_embedding_failed", "llm_unavailable"),
        ("memory_embedding_failed", "llm_unavailable"),
    ]
    assert [h.id for h in hits] == [stored]
    assert "vector" not in hits[0].scores
    assert await store.embed_missing() == 0
    assert embedder.calls == 3


async def test_per_token_vectors_from_llama_cpp_fall_back_to_text_search_with_a_warning(
    conn: sqlite3.Connection,
) -> None:
    async with FakeOpenAIServer(per_token_embeddings=True, models=["embed"]) as server:
        embedder = OpenAIEmbedder(server.base_url, "embed")
        store = MemoryStore(conn, embedder=embedder)
        store.add(memory("Sam's dog is called Biscuit."))
        with capture_logs() as logs:
            hits = await store.search_hybrid("Biscuit", 3, now=NOW)
        await embedder.aclose()
    assert [h.text for h in hits] == ["Sam's dog is called Biscuit."]
    warning = next(r for r in logs if r["event"] == "memory_embedding_failed")
    assert "--pooling mean" in warning["error"] and server.base_url in warning["error"]
