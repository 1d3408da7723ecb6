"""Memories people manage: added ones are found, survive undo and restarts and round-trip
through snapshots and exports exactly; corrected ones are searched by their new text;
forgotten ones stay gone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from protocol.memories import MAX_MEMORY_CHARS
from tests.engine.conftest import OpenEngine, chat, exported, regenerate
from worker.engine.character_engine import CharacterEngine
from worker.engine.errors import EngineError


async def found(engine: CharacterEngine, query: str) -> list[str]:
    return [hit.text for hit in await engine.search_memory(query, 5)
            if hit.scores.get("relevance", 0.0) > 0.0]


async def test_an_added_memory_is_found_by_memory_search(open_engine: OpenEngine) -> None:
    engine = open_engine()
    added = await engine.add_memory("Sam is allergic to peanuts.", user="sam")
    assert added.turn_id == 0 and added.user == "sam" and added.kind == "fact"
    assert "Sam is allergic to peanuts." in await found(engine, "peanuts allergy")
    assert engine.character_info()["memory_count"] == 1


async def test_an_added_memory_is_listed_and_filtered_by_user(open_engine: OpenEngine) -> None:
    engine = open_engine()
    first = await engine.add_memory("Sam likes tea.", user="sam")
    await engine.add_memory("Ann likes coffee.", user="ann", kind="preference",
                            importance=0.4)
    everyone, total = engine.memories()
    assert total == 2 and [m.text for m in everyone] == ["Sam likes tea.", "Ann likes coffee."]
    anns, total = engine.memories(user="ann")
    assert total == 1 and anns[0].kind == "preference" and anns[0].importance == 0.4
    page, total = engine.memories(1, 1)
    assert total == 2 and [m.text for m in page] == ["Ann likes coffee."]
    only, total = engine.memories(memory_id=first.id)
    assert total == 1 and only[0].id == first.id
    preferences, total = engine.memories(kinds=["preference", "promise"])
    assert total == 1 and [m.text for m in preferences] == ["Ann likes coffee."]
    assert engine.memories(user="sam", kinds=["preference"]) == ([], 0)
    with pytest.raises(EngineError) as refused:
        engine.memories(kinds=["gossip"])
    assert refused.value.code == "bad_request" and "'gossip'" in str(refused.value)


async def test_update_changes_the_text_and_what_search_finds(open_engine: OpenEngine) -> None:
    engine = open_engine()
    added = await engine.add_memory("Sam's dog is called Biscuit.", user="sam")
    changed = await engine.update_memory(added.id, text="Sam's dog is called Pepper.",
                                         importance=0.5)
    assert (changed.id, changed.created_at, changed.turn_id) == (
        added.id, added.created_at, added.turn_id)
    assert changed.text == "Sam's dog is called Pepper." and changed.importance == 0.5
    assert await found(engine, "Biscuit") == []
    assert await found(engine, "Pepper") == ["Sam's dog is called Pepper."]


async def test_a_deleted_memory_stays_gone_after_a_restart(open_engine: OpenEngine,
                                                           tmp_path: Path) -> None:
    engine = open_engine()
    await chat(engine, "My dog is called Biscuit.", user="sam")
    formed, _ = engine.memories()
    assert formed and formed[0].turn_id >= 1
    gone = engine.delete_memory(formed[0].id)
    assert gone == formed[0]
    engine.close()
    reopened = open_engine()
    assert formed[0].id not in [m.id for m in reopened.memories()[0]]
    assert formed[0].text not in await found(reopened, "Biscuit dog")


@pytest.mark.parametrize("call", ["update", "delete"])
async def test_an_unknown_id_is_memory_not_found(open_engine: OpenEngine, call: str) -> None:
    engine = open_engine()
    with pytest.raises(EngineError) as error:
        if call == "update":
            await engine.update_memory(42, text="anything")
        else:
            engine.delete_memory(42)
    assert error.value.code == "memory_not_found" and "42" in error.value.message


@pytest.mark.parametrize(("text", "code"), [
    ("   ", "memory_empty"),
    ("x" * (MAX_MEMORY_CHARS + 1), "memory_too_long"),
])
async def test_an_empty_or_too_long_text_is_refused_and_nothing_changes(
        open_engine: OpenEngine, text: str, code: str) -> None:
    engine = open_engine()
    kept = await engine.add_memory("Sam likes tea.", user="sam")
    for attempt in (engine.add_memory(text), engine.update_memory(kept.id, text=text)):
        with pytest.raises(EngineError) as error:
            await attempt
        assert error.value.code == code
    assert engine.memories() == ([kept], 1)


async def test_an_unknown_kind_is_a_bad_request(open_engine: OpenEngine) -> None:
    engine = open_engine()
    with pytest.raises(EngineError) as error:
        await engine.add_memory("Sam likes tea.", kind="gossip")
    assert error.value.code == "bad_request" and "fact" in error.value.message


async def test_undo_and_regenerate_never_remove_a_remembered_memory(
        open_engine: OpenEngine) -> None:
    engine = open_engine()
    await chat(engine, "Hello there!", user="sam")
    remembered = await engine.add_memory("Sam is allergic to peanuts.", user="sam")
    await chat(engine, "My dog is called Biscuit.", user="sam")
    await regenerate(engine, user="sam")
    engine.undo(user="sam")
    engine.undo(user="sam")
    assert engine.memories() == ([remembered], 1)


async def test_a_remembered_memory_round_trips_through_a_snapshot_exactly(
        open_engine: OpenEngine) -> None:
    engine = open_engine()
    await chat(engine, "My dog is called Biscuit.", user="sam")
    remembered = await engine.add_memory("Sam is allergic to peanuts.", user="sam")
    before = json.dumps(exported(engine)["content"], sort_keys=True)
    engine.save("with-memory")
    engine.delete_memory(remembered.id)
    engine.load("with-memory")
    assert json.dumps(exported(engine)["content"], sort_keys=True) == before
    assert remembered in engine.memories()[0]


async def test_a_remembered_memory_round_trips_through_export_and_import(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    engine = open_engine()
    remembered = await engine.add_memory("Sam is allergic to peanuts.", user="sam")
    document = exported(engine)
    assert [m["turn_id"] for m in document["content"]["memories"]] == [0]
    CharacterEngine.import_document(document, data_dir=tmp_path / "other")
    imported = open_engine(data_dir=tmp_path / "other")
    assert imported.memories() == ([remembered], 1)
    assert exported(imported)["content"] == document["content"]


async def test_memory_changes_are_refused_while_a_reply_streams(
        open_engine: OpenEngine) -> None:
    engine = open_engine()
    stream = engine.chat("Hello there!")
    await anext(stream)
    try:
        with pytest.raises(EngineError) as error:
            await engine.add_memory("Sam likes tea.")
        assert error.value.code == "busy"
        assert engine.memories() == ([], 0)
    finally:
        await stream.aclose()
