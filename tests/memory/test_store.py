"""MemoryStore against real SQLite: writes, transactions, round trips and scores."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.memory.conftest import DAY, NOW, memory
from worker.memory.errors import InvalidMemory
from worker.memory.models import StoredMemory
from worker.memory.ranking import LEXICAL_WEIGHTS, RECENCY_ONLY_WEIGHTS, Ranking
from worker.memory.store import MemoryStore


def test_add_returns_the_new_id_and_count_follows(store: MemoryStore) -> None:
    first = store.add(memory("Sam lives in Porto."))
    second = store.add(memory("Sam loves jazz.", kind="preference"))
    assert second > first
    assert store.count() == 2


def test_the_store_never_commits_on_its_own(tmp_path: Path) -> None:
    path = tmp_path / "character.db"
    conn = sqlite3.connect(path)
    statements: list[str] = []
    conn.set_trace_callback(statements.append)
    store = MemoryStore(conn)
    store.add(memory("Sam lives in Porto."))
    store.add_many([memory("Sam loves jazz."), memory("Sam hates mornings.")])
    store.search("Porto", now=NOW)
    store.delete_of_turn(1)
    store.restore(store.all())
    store.clear()
    store.add(memory("Sam lives in Porto."))

    other = sqlite3.connect(path)
    assert other.execute("SELECT count(*) FROM memories").fetchone() == (0,)
    assert not any(s.strip().upper().startswith(("COMMIT", "END")) for s in statements)
    conn.rollback()
    assert store.count() == 0
    other.close()
    conn.close()


def test_memories_are_durable_once_the_caller_commits(tmp_path: Path) -> None:
    path = tmp_path / "character.db"
    conn = sqlite3.connect(path)
    MemoryStore(conn).add(memory("Sam lives in Porto."))
    conn.commit()
    conn.close()
    reopened = sqlite3.connect(path)
    assert [m.text for m in MemoryStore(reopened).all()] == ["Sam lives in Porto."]
    reopened.close()


def test_delete_of_turn_removes_that_turn_only(store: MemoryStore) -> None:
    for turn in (1, 2, 3, 3, 4, 5):
        store.add(memory(f"Sam said thing number {turn}.", turn_id=turn))
    assert store.delete_of_turn(3) == 2
    assert [m.turn_id for m in store.all()] == [1, 2, 4, 5]


def test_deleted_memories_are_no_longer_found(store: MemoryStore) -> None:
    store.add(memory("Sam's dog is called Biscuit.", turn_id=4))
    store.delete_of_turn(4)
    assert store.search("Biscuit", now=NOW) == []


def test_all_then_restore_round_trips_exactly(store: MemoryStore) -> None:
    store.add(memory("Sam lives in Porto.", importance=0.7, valence=-0.25, created_at=NOW - 1.5))
    store.add(memory("Sam loves jazz.", kind="preference", source="I love jazz", turn_id=2))
    store.add(memory("Sam asked: \"why?\"", kind="question", turn_id=3))
    before = store.all()
    store.clear()
    store.add(memory("Something else entirely."))
    store.restore(before)
    assert store.all() == before
    assert [h.id for h in store.search("jazz", now=NOW)] == [before[1].id]


def test_restore_replaces_what_was_there(store: MemoryStore) -> None:
    store.add(memory("Old memory."))
    kept = StoredMemory(
        id=42, text="Sam lives in Porto.", kind="fact", importance=0.7, valence=0.0,
        created_at=NOW, turn_id=9, user="Sam",
    )
    store.restore([kept])
    assert store.all() == [kept]


def test_restore_refuses_duplicate_ids_and_changes_nothing(store: MemoryStore) -> None:
    store.add(memory("Sam lives in Porto."))
    before = store.all()
    duplicate = StoredMemory(
        id=1, text="x", kind="fact", importance=0.5, valence=0.0, created_at=NOW, turn_id=1,
        user="Sam",
    )
    with pytest.raises(InvalidMemory, match="appears twice"):
        store.restore([duplicate, duplicate])
    assert store.all() == before


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        (memory("x", importance=1.5), "importance"),
        (memory("x", valence=-2.0), "valence"),
        (memory("   "), "text is empty"),
        (memory("x", kind="gossip"), "kind 'gossip'"),  # type: ignore[arg-type]
        (memory("x", created_at=float("nan")), "created_at"),
    ],
)
def test_an_invalid_memory_is_refused_with_what_is_wrong(
    store: MemoryStore, bad: object, message: str
) -> None:
    with pytest.raises(InvalidMemory, match=message) as raised:
        store.add(bad)  # type: ignore[arg-type]
    assert raised.value.code == "bad_request"
    assert store.count() == 0


def test_search_finds_the_users_original_words_too(store: MemoryStore) -> None:
    store.add(memory("Sam's dog is called Biscuit.", source="my doggo is called Biscuit"))
    [hit] = store.search("doggo", now=NOW)
    assert hit.source == "my doggo is called Biscuit"


def test_stemming_matches_other_forms_of_a_word(store: MemoryStore) -> None:
    store.add(memory("Sam lives in Porto."))
    [hit] = store.search("where am I living", now=NOW)
    assert hit.text == "Sam lives in Porto."


def test_accents_are_folded(store: MemoryStore) -> None:
    store.add(memory("Sam loves the café downstairs."))
    assert [h.text for h in store.search("cafe", now=NOW)] == ["Sam loves the café downstairs."]


def test_hit_scores_are_the_real_components_of_the_documented_formula(store: MemoryStore) -> None:
    store.add(memory("Sam lives in Porto.", importance=0.7, created_at=NOW - 7 * DAY))
    store.add(memory("Sam lives in a flat in Porto near Porto.", importance=0.3, created_at=NOW))
    hits = store.search("Porto", now=NOW)
    assert len(hits) == 2
    best_bm25 = min(h.scores["bm25"] for h in hits)
    for hit in hits:
        s = hit.scores
        assert s["bm25"] < 0
        assert s["relevance"] == pytest.approx(s["bm25"] / best_bm25)
        assert s["recency"] == pytest.approx(0.5 ** ((NOW - hit.created_at) / (7 * DAY)))
        assert s["importance"] == hit.importance
        w = LEXICAL_WEIGHTS
        assert hit.score == pytest.approx(
            w.relevance * s["relevance"] + w.recency * s["recency"]
            + w.importance * s["importance"]
        )
    assert hits[0].score >= hits[1].score


def test_a_better_text_match_outranks_a_fresher_weaker_one(store: MemoryStore) -> None:
    store.add(memory("Sam's dog is called Biscuit.", created_at=NOW - 3 * DAY))
    store.add(memory("Sam saw a dog at the park.", created_at=NOW))
    hits = store.search("what is my dog called", now=NOW)
    assert hits[0].text == "Sam's dog is called Biscuit."


def test_the_half_life_is_configurable(conn: sqlite3.Connection) -> None:
    store = MemoryStore(conn, ranking=Ranking(half_life_s=DAY))
    store.add(memory("Sam lives in Porto.", created_at=NOW - DAY))
    [hit] = store.search("Porto", now=NOW)
    assert hit.scores["recency"] == pytest.approx(0.5)


def test_a_query_without_searchable_words_ranks_by_recency_and_importance(
    store: MemoryStore,
) -> None:
    store.add(memory("old but vital", importance=1.0, created_at=NOW - 30 * DAY))
    store.add(memory("new and minor", importance=0.1, created_at=NOW))
    store.add(memory("new and important", importance=0.9, created_at=NOW))
    hits = store.search("what is it?", 2, now=NOW)
    assert [h.text for h in hits] == ["new and important", "new and minor"]
    w = RECENCY_ONLY_WEIGHTS
    for hit in hits:
        assert "bm25" not in hit.scores and hit.scores["relevance"] == 0.0
        assert hit.score == pytest.approx(
            w.recency * hit.scores["recency"] + w.importance * hit.scores["importance"]
        )


def test_recency_and_importance_ranking_is_exact_beyond_the_first_window(
    store: MemoryStore,
) -> None:
    # The winner is neither among the newest nor among the most important of the first
    # window the threshold walk reads, so the walk has to widen to find it.
    store.add_many(
        [memory(f"minor {i}", importance=0.0, created_at=NOW - i) for i in range(100)]
        + [memory(f"stale {i}", importance=0.9, created_at=NOW - 60 * DAY) for i in range(100)]
    )
    winner = store.add(memory("vital", importance=0.8, created_at=NOW - 1000))
    [hit] = store.search("", 1, now=NOW)
    assert hit.id == winner


def test_an_empty_store_or_zero_limit_gives_no_hits(store: MemoryStore) -> None:
    assert store.search("dog", now=NOW) == []
    assert store.search("", now=NOW) == []
    store.add(memory("Sam's dog is called Biscuit."))
    assert store.search("dog", 0, now=NOW) == []


def test_the_limit_caps_the_number_of_hits(store: MemoryStore) -> None:
    store.add_many([memory(f"Sam walked the dog on day {i}.") for i in range(20)])
    assert len(store.search("dog", 3, now=NOW)) == 3


def test_opening_a_store_twice_on_one_database_keeps_its_memories(
    conn: sqlite3.Connection,
) -> None:
    MemoryStore(conn).add(memory("Sam lives in Porto."))
    assert MemoryStore(conn).count() == 1


def test_an_old_memory_answering_every_concept_survives_the_match_budget(
    conn: sqlite3.Connection,
) -> None:
    store = MemoryStore(conn, match_budget=10)
    planted = store.add(memory("Sam's dog is called Biscuit.", created_at=NOW - DAY))
    store.add_many(
        [memory(f"Sam saw a dog near shop {i}.") for i in range(30)]
        + [memory(f"Sam's colleague {i} is called Ana.") for i in range(30)]
    )
    hits = store.search("what is my dog called", 3, now=NOW)
    assert hits[0].id == planted
    assert hits[0].scores["relevance"] == 1.0


def test_editing_a_memory_with_plain_sql_keeps_the_index_in_step(
    conn: sqlite3.Connection, store: MemoryStore
) -> None:
    memory_id = store.add(memory("Sam lives in Porto."))
    conn.execute("UPDATE memories SET text = 'Sam lives in Lisbon.' WHERE id = ?", (memory_id,))
    assert store.search("Porto", now=NOW) == []
    assert [h.id for h in store.search("Lisbon", now=NOW)] == [memory_id]


def test_the_id_of_a_deleted_memory_is_never_handed_out_again(store: MemoryStore) -> None:
    store.add(memory("Sam lives in Porto.", turn_id=1))
    last = store.add(memory("Sam loves jazz.", turn_id=2))
    store.delete_of_turn(2)
    assert store.add(memory("Sam hates mornings.", turn_id=3)) == last + 1


def test_reserved_ids_are_skipped_by_new_memories(store: MemoryStore) -> None:
    store.reserve_ids(40)
    assert store.add(memory("Sam lives in Porto.")) == 41
    store.reserve_ids(10)  # never lowers what is reserved
    assert store.add(memory("Sam loves jazz.")) == 42


def test_a_search_for_some_users_ranks_only_their_memories(store: MemoryStore) -> None:
    """Forty better matches about bob must not push sam's one memory out of a short list."""
    for n in range(40):
        store.add(memory(f"Bob's garden has {n} roses.", user="bob"))
    store.add(memory("The garden roses bloom in June.", user=""))
    store.add(memory("Sam's garden has one rose.", user="sam"))
    hits = store.search("How are the roses in the garden?", 5, now=NOW, users=("sam", ""))
    assert {hit.user for hit in hits} == {"sam", ""}
    assert len(hits) == 2
    unfiltered = store.search("How are the roses in the garden?", 5, now=NOW)
    assert "sam" not in {hit.user for hit in unfiltered}


def test_a_users_search_without_searchable_words_keeps_theirs(store: MemoryStore) -> None:
    store.add(memory("Sam likes tea.", user="sam", created_at=NOW - DAY))
    for n in range(3):
        store.add(memory(f"Bob note {n}.", user="bob"))
    [hit] = store.search("?", 5, now=NOW, users=("sam",))
    assert hit.user == "sam"
