"""Alternatives: every reply a regenerated turn has had can be listed and made current
again, restoring exactly what that reply left behind."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.engine.characters import sensitive_character
from tests.engine.clock import ManualClock
from tests.engine.conftest import OpenEngine, chat, exported, regenerate
from worker.engine.character_engine import CharacterEngine
from worker.engine.database import database_path
from worker.engine.database_schema import SCHEMA_VERSION
from worker.engine.errors import EngineError

FACT = "My dog is called Biscuit and he loves the beach."


def live(engine: CharacterEngine) -> str:
    """Everything a reply leaves behind — state, relationships, memories (ids and vectors
    included), the turns with their current replies — without the kept alternatives (which
    selecting another reply rearranges by design) and the replies' traces (one per reply,
    by position: they accumulate with the replies)."""
    content: dict[str, Any] = exported(engine)["content"]
    for turn in content["turns"]:
        del turn["alternatives"]
        turn.pop("traces", None)
    return json.dumps(content, sort_keys=True, ensure_ascii=False)


def without_memory_ids(state: str) -> str:
    """``live`` state without the memories' ids: a reply kept without an outcome is
    re-derived, and its memories get fresh ids (ids are never reused)."""
    content = json.loads(state)
    for memory in content["memories"]:
        del memory["id"]
    return json.dumps(content, sort_keys=True, ensure_ascii=False)


async def three_replies(engine: CharacterEngine, clock: ManualClock) -> list[str]:
    """Turn 1, then turn 2 answered three times (30 s apart, so each reply leaves a
    different state behind); returns the live state after each of turn 2's replies."""
    await chat(engine, "Hello there!")
    clock.advance(30)
    await chat(engine, FACT)
    states = [live(engine)]
    for _ in range(2):
        clock.advance(30)
        await regenerate(engine)
        states.append(live(engine))
    assert len(set(states)) == 3, "each reply must leave a different state for these tests"
    assert json.loads(states[0])["memories"], "turn 2 must form memories for these tests"
    return states


async def test_regenerate_gives_a_different_reply_with_the_scripted_backend(
        open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    first = await chat(engine, "Why does the moon glow at night?")
    second = await regenerate(engine)
    third = await regenerate(engine)
    assert len({first.response_text, second.response_text, third.response_text}) == 3


async def test_regenerating_a_first_greeting_changes_the_reply(open_engine: OpenEngine) -> None:
    engine = open_engine()
    first = await chat(engine, "Hello there!")
    assert first.response_text != (await regenerate(engine)).response_text


async def test_alternatives_lists_every_reply_in_order_with_one_current(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    await three_replies(engine, clock)
    replies = engine.alternatives()
    export = exported(engine)["content"]["turns"][-1]
    assert [r["index"] for r in replies] == [0, 1, 2]
    assert [r["current"] for r in replies] == [False, False, True]
    assert replies[2]["response_text"] == export["reply"]
    assert [r["response_text"] for r in replies[:2]] == [
        a["reply"] for a in export["alternatives"]]
    assert replies[0]["created_at"] < replies[1]["created_at"] < replies[2]["created_at"]


async def test_a_turn_never_regenerated_has_one_current_reply(open_engine: OpenEngine) -> None:
    engine = open_engine()
    result = await chat(engine, "Hello there!")
    assert [(r["index"], r["response_text"], r["current"]) for r in engine.alternatives()] == [
        (0, result.response_text, True)]


async def test_alternatives_is_empty_without_a_turn(open_engine: OpenEngine) -> None:
    assert open_engine().alternatives() == []


@pytest.mark.parametrize("index", [0, 1, 2])
async def test_select_alternative_restores_exactly_what_that_reply_left_behind(
        open_engine: OpenEngine, clock: ManualClock, index: int) -> None:
    engine = open_engine(sensitive_character())
    states = await three_replies(engine, clock)
    clock.advance(600)
    info = engine.select_alternative(index)
    assert live(engine) == states[index]
    assert [r["current"] for r in engine.alternatives()] == [i == index for i in range(3)]
    assert info["turn_count"] == 2


async def test_selecting_back_and_forth_is_exact_every_time(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    states = await three_replies(engine, clock)
    for index in (0, 2, 1, 0, 2):
        engine.select_alternative(index)
        assert live(engine) == states[index]


async def test_select_alternative_brings_back_that_replys_memories(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    await three_replies(engine, clock)
    engine.select_alternative(0)
    hits = await engine.search_memory("Biscuit dog")
    assert hits and "Biscuit" in hits[0].text


async def test_selecting_the_current_reply_changes_nothing(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    states = await three_replies(engine, clock)
    before = exported(engine)["content"]
    engine.select_alternative(2)
    assert exported(engine)["content"] == before
    assert live(engine) == states[2]


async def test_undo_after_select_returns_to_before_the_turn(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "Hello there!")
    before_turn = live(engine)
    clock.advance(30)
    await chat(engine, FACT)
    clock.advance(30)
    await regenerate(engine)
    engine.select_alternative(0)
    undone = engine.undo()
    assert live(engine) == before_turn
    assert engine.alternatives()[0]["current"]  # turn 1 is the last turn again
    assert undone.turn_index == 2


async def test_regenerate_after_select_keeps_the_selected_reply_as_an_alternative(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    states = await three_replies(engine, clock)
    engine.select_alternative(0)
    clock.advance(30)
    fourth = await regenerate(engine)
    replies = engine.alternatives()
    assert [r["index"] for r in replies] == [0, 1, 2, 3]
    assert replies[3] == {**replies[3], "current": True, "response_text": fourth.response_text}
    engine.select_alternative(0)
    assert live(engine) == states[0]


async def test_select_alternative_without_a_turn_is_nothing_to_undo(
        open_engine: OpenEngine) -> None:
    with pytest.raises(EngineError) as error:
        open_engine().select_alternative(0)
    assert error.value.code == "nothing_to_undo"


@pytest.mark.parametrize("index", [-1, 3, 99])
async def test_select_alternative_with_an_unknown_index_is_bad_request_and_changes_nothing(
        open_engine: OpenEngine, clock: ManualClock, index: int) -> None:
    engine = open_engine(sensitive_character())
    await three_replies(engine, clock)
    before = exported(engine)["content"]
    with pytest.raises(EngineError) as error:
        engine.select_alternative(index)
    assert error.value.code == "bad_request"
    assert "0 to 2" in error.value.message and "sensitive" in error.value.message
    assert exported(engine)["content"] == before


async def test_after_a_reset_the_old_turns_replies_cannot_be_selected(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    await three_replies(engine, clock)
    engine.reset(preserve_memories=True)
    assert engine.alternatives() == []
    with pytest.raises(EngineError, match="nothing_to_undo"):
        engine.select_alternative(0)


async def test_select_alternative_while_a_reply_streams_is_busy(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    await three_replies(engine, clock)
    stream = engine.chat("And another thing")
    await stream.__anext__()
    with pytest.raises(EngineError, match="busy"):
        engine.select_alternative(0)
    assert len(engine.alternatives()) == 3  # listing works meanwhile
    await stream.aclose()


async def test_save_and_load_keep_the_alternatives_selectable(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    states = await three_replies(engine, clock)
    engine.save("three replies")
    engine.undo()
    engine.load("three replies")
    engine.select_alternative(1)
    assert live(engine) == states[1]


async def test_export_import_round_trip_keeps_alternatives_exact(
        open_engine: OpenEngine, clock: ManualClock, tmp_path: Path) -> None:
    source = open_engine(sensitive_character(), data_dir=tmp_path / "a")
    states = await three_replies(source, clock)
    document = json.loads(json.dumps(exported(source)))  # through real JSON text
    assert document["format_version"] == 1
    CharacterEngine.import_document(document, data_dir=tmp_path / "b")
    copy = open_engine(sensitive_character(), data_dir=tmp_path / "b")
    assert copy.alternatives() == source.alternatives()
    copy.select_alternative(0)
    source.select_alternative(0)
    assert live(copy) == states[0]
    assert exported(copy)["content"] == exported(source)["content"]


async def test_an_export_without_outcomes_still_imports_and_selects(
        open_engine: OpenEngine, clock: ManualClock, tmp_path: Path) -> None:
    source = open_engine(sensitive_character(), data_dir=tmp_path / "a")
    states = await three_replies(source, clock)
    document = json.loads(json.dumps(exported(source)))
    for alternative in document["content"]["turns"][-1]["alternatives"]:
        del alternative["outcome"]  # as written before replies could be selected
    CharacterEngine.import_document(document, data_dir=tmp_path / "b")
    copy = open_engine(sensitive_character(), data_dir=tmp_path / "b")
    copy.select_alternative(0)
    # Re-derived with the same vitals settings: the same state, relationship and memories.
    assert without_memory_ids(live(copy)) == without_memory_ids(states[0])


async def test_a_schema_1_database_is_migrated_and_its_old_alternatives_select(
        open_engine: OpenEngine, clock: ManualClock, tmp_path: Path) -> None:
    engine = open_engine(sensitive_character())
    states = await three_replies(engine, clock)
    engine.close()
    conn = sqlite3.connect(database_path(tmp_path, sensitive_character().id))
    for column in ("state_after", "relationship_after", "memories"):  # back to schema 1
        conn.execute(f"ALTER TABLE turn_alternatives DROP COLUMN {column}")
    conn.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    conn.commit()
    conn.close()
    reopened = open_engine(sensitive_character())
    assert [r["current"] for r in reopened.alternatives()] == [False, False, True]
    reopened.select_alternative(1)
    assert without_memory_ids(live(reopened)) == without_memory_ids(states[1])
    reopened.select_alternative(2)  # kept by this greenroom, with its outcome
    assert live(reopened) == states[2]
    reopened.close()
    conn = sqlite3.connect(database_path(tmp_path, sensitive_character().id))
    version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    conn.close()
    assert version == (str(SCHEMA_VERSION),)
