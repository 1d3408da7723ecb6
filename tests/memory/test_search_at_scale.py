"""A memory from turn 3 of 50 is found by a paraphrase among 100,000 generated memories
(the planted turn stores what a turn stores: its fact and its episodes)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from bench.memory_bench import synthetic_memories
from worker.memory.formation import form_memories
from worker.memory.store import MemoryStore

TURNS = 50
TURN_SECONDS = 600.0
END = 1_700_000_000.0
START = END - (TURNS - 1) * TURN_SECONDS
GENERATED = 100_000


@pytest.fixture(scope="module")
def large_store() -> Iterator[tuple[MemoryStore, int, int]]:
    """100k generated memories over 50 turns, with the user's dog named in turn 3: the
    store, the fact's id, and how many memories turn 3 formed."""
    conn = sqlite3.connect(":memory:")
    store = MemoryStore(conn)
    generated = synthetic_memories(GENERATED, seed=1234, start=START, end=END, turns=TURNS)
    before_turn_3 = [m for m in generated if m.turn_id < 3]
    store.add_many(before_turn_3)
    fact, *episodes = form_memories(
        user_message="Oh, and my dog is called Biscuit.", reply="What a lovely name!",
        valence=0.3, arousal=0.3, turn_id=3, now=START + 2 * TURN_SECONDS, user="Sam",
    )
    assert fact.kind == "fact" and [m.kind for m in episodes] == ["message", "reply"]
    planted_id = store.add(fact)
    store.add_many(episodes)
    store.add_many(generated[len(before_turn_3):])
    conn.commit()
    yield store, planted_id, 1 + len(episodes)
    conn.close()


def test_the_store_holds_the_generated_memories_and_the_planted_one(
    large_store: tuple[MemoryStore, int, int],
) -> None:
    store, _, planted = large_store
    assert store.count() == GENERATED + planted


@pytest.mark.parametrize(
    "query",
    [
        "what's the name of my pet?",
        "what is my dog called?",
        "do you remember what my puppy is named",
        "my dog's name",
        "what did I call my dog",
    ],
)
def test_a_paraphrased_query_finds_the_planted_memory_in_the_top_3(
    large_store: tuple[MemoryStore, int, int], query: str
) -> None:
    store, planted_id, _ = large_store
    hits = store.search(query, 3, now=END)
    assert planted_id in [hit.id for hit in hits], [hit.text for hit in hits]
