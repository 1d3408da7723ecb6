"""Episodes through whole turns of the engine: stored with the turn, counted, undone,
replaced and restored exactly with its replies, carried by snapshots and exports."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tests.engine.characters import sensitive_character
from tests.engine.clock import ManualClock
from tests.engine.conftest import OpenEngine, chat, exported, regenerate
from worker.backends.base import GenerationDone, GenerationRequest, TextDelta
from worker.backends.scripted import ScriptedBackend
from worker.engine.character_engine import CharacterEngine


def memories(engine: CharacterEngine, **match: Any) -> list[dict[str, Any]]:
    """The live memories (as the export holds them) whose fields equal ``match``."""
    found: list[dict[str, Any]] = exported(engine)["content"]["memories"]
    return [m for m in found if all(m[key] == value for key, value in match.items())]


def content(engine: CharacterEngine) -> str:
    return json.dumps(exported(engine)["content"], sort_keys=True)


class ShorterAndShorterReplies(ScriptedBackend):
    """Reply 0 is three sentences, reply 1 two, later ones one: the replies of one turn
    form different numbers of episodes."""

    async def generate(self, request: GenerationRequest
                       ) -> AsyncIterator[TextDelta | GenerationDone]:
        variant = request.context.variant if request.context is not None else 0
        for number in range(max(1, 3 - variant)):
            yield TextDelta(f"Reply sentence {number} of variant {variant}. ")
        yield GenerationDone(backend=self.name, model="", finish_reason="stop",
                             usage_source="counted")


async def test_a_turn_stores_its_sentences_beside_its_rule_memories(
        open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    result = await chat(engine, "My dog is called Biscuit. My sister moved to Lisbon.",
                        user="sam")
    kinds = [m["kind"] for m in memories(engine, turn_id=result.turn_id)]
    assert kinds[:3] == ["fact", "message", "message"] and set(kinds[3:]) == {"reply"}
    said = memories(engine, kind="message")
    assert [m["source"] for m in said] == ["My dog is called Biscuit.",
                                          "My sister moved to Lisbon."]
    assert {(m["user"], m["created_at"]) for m in said} == {("sam", 1_800_000_000.0)}
    assert [m["text"] for m in memories(engine, turn_id=result.turn_id)] == list(
        result.memories_formed)


async def test_memory_count_is_every_memory_stored(open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    for message in ("My sister moved to Lisbon.", "I'm allergic to peanuts.",
                    "I'm thinking of learning the guitar."):
        await chat(engine, message, user="sam")
    stored = len(memories(engine))
    assert stored >= 6  # each message, and the replies, though no rule knows these
    assert engine.character_info()["memory_count"] == stored
    summary = engine.status().character_summary
    assert summary is not None and summary["memory_count"] == stored


async def test_undo_removes_the_turns_episodes_and_nothing_else(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "I'm allergic to peanuts.", user="sam")
    clock.advance(30)
    before = content(engine)
    result = await chat(engine, "My sister moved to Lisbon. She loves it there.", user="sam")
    formed = memories(engine, turn_id=result.turn_id)
    assert len([m for m in formed if m["kind"] == "message"]) == 2
    assert engine.undo(user="sam").memories_removed == len(formed)
    assert content(engine) == before


async def test_undo_of_a_turn_others_answered_after_keeps_their_episodes(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "My sister moved to Lisbon.", user="alice")
    clock.advance(30)
    await chat(engine, "I'm allergic to peanuts.", user="bob")
    bobs = memories(engine, user="bob")
    engine.undo(user="alice")
    assert memories(engine) == bobs


async def test_replies_of_different_lengths_select_back_exactly_after_others_spoke(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    """Reply 0 forms three reply episodes, reply 1 two: the ids reply 0's memories had are
    kept with it and never handed to the memories made meanwhile (bob's), so choosing it
    again puts its memories back with their own ids."""
    engine = open_engine(sensitive_character(), backend=ShorterAndShorterReplies())
    await chat(engine, "I'm thinking of learning the guitar.", user="alice")
    first = memories(engine, user="alice")
    clock.advance(30)
    await regenerate(engine, user="alice")
    second = memories(engine, user="alice")
    assert len([m for m in first if m["kind"] == "reply"]) == 3
    assert len([m for m in second if m["kind"] == "reply"]) == 2
    clock.advance(30)
    await chat(engine, "I'm allergic to peanuts.", user="bob")
    bobs = memories(engine, user="bob")

    engine.select_alternative(0, user="alice")
    assert memories(engine, user="alice") == first
    engine.select_alternative(1, user="alice")
    assert memories(engine, user="alice") == second
    assert memories(engine, user="bob") == bobs


async def test_a_snapshot_and_an_export_carry_the_episodes_exactly(
        open_engine: OpenEngine, clock: ManualClock, tmp_path: Path) -> None:
    engine = open_engine(sensitive_character(), data_dir=tmp_path / "a")
    await chat(engine, "My sister moved to Lisbon.", user="sam")
    clock.advance(30)
    engine.save("lisbon")
    saved = content(engine)
    await chat(engine, "I'm allergic to peanuts.", user="sam")
    engine.load("lisbon")
    assert content(engine) == saved
    assert memories(engine, kind="message")

    CharacterEngine.import_document(exported(engine), data_dir=tmp_path / "b")
    copy = open_engine(sensitive_character(), data_dir=tmp_path / "b")
    assert content(copy) == saved
    [hit, *_] = await copy.search_memory("where does my sister live", 3)
    assert "Lisbon" in hit.text


async def test_an_imported_reply_kept_aside_selects_exactly_after_new_turns(
        open_engine: OpenEngine, clock: ManualClock, tmp_path: Path) -> None:
    """After three ever shorter replies and choosing the first again, the replies kept aside
    hold ids above every live one; an imported copy reserves them, so a new turn's memories
    cannot take them and choosing such a reply still puts it back exactly."""
    source = open_engine(sensitive_character(), data_dir=tmp_path / "a",
                         backend=ShorterAndShorterReplies())
    await chat(source, "I'm thinking of learning the guitar.", user="alice")
    for _ in range(2):
        clock.advance(30)
        await regenerate(source, user="alice")
    source.select_alternative(0, user="alice")
    CharacterEngine.import_document(json.loads(json.dumps(exported(source))),
                                    data_dir=tmp_path / "b")
    copy = open_engine(sensitive_character(), data_dir=tmp_path / "b",
                       backend=ShorterAndShorterReplies())
    clock.advance(30)
    await chat(copy, "I'm allergic to peanuts. Also shellfish. And pollen, sadly.", user="bob")
    copy.select_alternative(1, user="alice")
    source.select_alternative(1, user="alice")
    assert memories(copy, user="alice") == memories(source, user="alice")
