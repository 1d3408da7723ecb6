"""Recall: facts said in ordinary sentences are found again by questions in other words."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

from tests.engine.characters import sensitive_character
from tests.engine.conftest import OpenEngine, chat
from tests.memory.conftest import NOW, memory
from tests.memory.recall_cases import RECALL_CASES, SMALL_TALK, RecallCase
from worker.memory.formation import form_memories
from worker.memory.models import MemoryHit
from worker.memory.store import MemoryStore

TURN_SECONDS = 600.0


@pytest.fixture(scope="module")
def conversation() -> Iterator[tuple[MemoryStore, dict[str, int], float]]:
    """Every case said by user sam after a line of small talk, each turn storing what a turn
    stores (its semantic memories and episodes): the store, each fact's turn, the time after."""
    conn = sqlite3.connect(":memory:")
    store = MemoryStore(conn)
    turn_of: dict[str, int] = {}
    now, turn = NOW, 0
    for index, case in enumerate(RECALL_CASES):
        for message in (SMALL_TALK[index % len(SMALL_TALK)], case.said):
            turn, now = turn + 1, now + TURN_SECONDS
            store.add_many(form_memories(
                user_message=message, reply="Mm, I see. Tell me more.", valence=0.0,
                arousal=0.2, turn_id=turn, now=now, user="sam"))
        turn_of[case.said] = turn
    yield store, turn_of, now
    conn.close()


def answers(hit: MemoryHit, case: RecallCase, turn_id: int) -> bool:
    return hit.turn_id == turn_id and case.answer.lower() in f"{hit.text} {hit.source}".lower()


def test_nine_in_ten_paraphrased_questions_find_their_fact_in_the_top_3(
        conversation: tuple[MemoryStore, dict[str, int], float]) -> None:
    store, turn_of, now = conversation
    missed = [
        f"{case.said} <- {case.question}" for case in RECALL_CASES
        if not any(answers(hit, case, turn_of[case.said])
                   for hit in store.search(case.question, 3, now=now))
    ]
    assert len(missed) <= len(RECALL_CASES) // 10, missed


FILLER = ("Sam likes rainy days.", "Sam works at the bakery.", "Sam went hiking in May.",
          "Sam's sister is a nurse.", "Sam reads a lot of novels.")


def test_a_fact_and_the_episode_of_its_sentence_take_one_place_in_the_results(
        store: MemoryStore) -> None:
    for text in FILLER:  # BM25 needs a corpus in which a dog is not every other memory
        store.add(memory(text, turn_id=3))
    for m in form_memories(user_message="My dog is called Biscuit.", reply="", valence=0.0,
                           arousal=0.2, turn_id=1, now=NOW, user="sam"):
        store.add(m)
    store.add(memory("Sam's cat is called Mochi.", turn_id=2, source="my cat is called Mochi"))
    hits = store.search("what is my dog called", 3, now=NOW)
    assert [h.kind for h in hits] == ["fact", "fact"]
    assert "Biscuit" in hits[0].text


def test_the_characters_echo_does_not_outrank_the_users_own_words(store: MemoryStore) -> None:
    for m in form_memories(
            user_message="Last Tuesday I lost my wallet on the tram, in the rain, again.",
            reply="Wallet lost?", valence=0.0, arousal=0.2, turn_id=1, now=NOW, user="sam"):
        store.add(m)
    hits = store.search("where did I lose my purse", 3, now=NOW)
    assert [h.kind for h in hits][-1] == "reply"


def test_a_memory_covering_the_whole_question_outranks_a_shorter_partial_match(
        store: MemoryStore) -> None:
    store.add(memory('Sam said: "I adore jazz."', kind="message", importance=0.3,
                     source="I adore jazz."))
    store.add(memory('Sam said: "My favourite place in the world is a tiny beach in Crete."',
                     kind="message", importance=0.3,
                     source="My favourite place in the world is a tiny beach in Crete."))
    [best, other] = store.search("Where do I love going most?", 2, now=NOW)
    assert "Crete" in best.text
    assert best.scores["coverage"] == 1.0 > other.scores["coverage"]


async def test_where_does_my_sister_live_finds_the_sentence_no_rule_recognised(
        open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "My sister Ophelia moved to Lisbon last spring.", user="sam")
    for message in ("How's your day going?", "The weather is grey.", "I'm allergic to peanuts."):
        await chat(engine, message, user="sam")
    [best, *_] = await engine.search_memory("where does my sister live", 3)
    assert best.turn_id == 1 and "Lisbon" in best.text
    [allergy, *_] = await engine.search_memory("is there any food I must avoid?", 3)
    assert "peanuts" in allergy.text
