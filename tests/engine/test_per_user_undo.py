"""Undo, regenerate, alternatives and select act on the asking user's last turn only —
never on another user's — also when others have spoken after it (then only the user's own
thread changes, not the shared state)."""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from tests.engine.characters import sensitive_character
from tests.engine.clock import ManualClock
from tests.engine.conftest import OpenEngine, RecordingBackend, chat, exported, regenerate
from worker.engine.character_engine import CharacterEngine
from worker.engine.database import database_path
from worker.engine.errors import EngineError


def content(engine: CharacterEngine) -> str:
    return json.dumps(exported(engine)["content"], sort_keys=True, ensure_ascii=False)


async def test_undo_by_a_user_without_turns_is_nothing_to_undo_and_keeps_the_others(
        open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "Hello there!", user="alice")
    await chat(engine, "My dog is called Biscuit.", user="alice")
    before = content(engine)
    for user in ("bob", "user"):  # a hello'd stranger, and a session that never said hello
        with pytest.raises(EngineError) as error:
            engine.undo(user=user)
        assert error.value.code == "nothing_to_undo"
        assert repr(user) in error.value.message
    assert content(engine) == before


async def test_regenerate_and_select_by_another_user_leave_the_reply_alone(
        open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "Why does the moon glow at night?", user="alice")
    before = content(engine)
    with pytest.raises(EngineError, match="nothing_to_undo"):
        await regenerate(engine, user="bob")
    with pytest.raises(EngineError, match="nothing_to_undo"):
        engine.select_alternative(0, user="bob")
    assert engine.alternatives(user="bob") == []
    assert content(engine) == before
    assert len(engine.alternatives(user="alice")) == 1


async def test_undo_removes_the_users_own_last_turns_in_order(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    states = [content(engine)]
    for message in ("Hello there!", "My dog is called Biscuit."):
        await chat(engine, message, user="alice")
        clock.advance(30)
        states.append(content(engine))
    assert engine.undo(user="alice").user_message == "My dog is called Biscuit."
    assert content(engine) == states[1]
    engine.undo(user="alice")
    assert content(engine) == states[0]


def part(engine: CharacterEngine, key: str, user: str | None = None) -> Any:
    """One part of the live content: ``state``, or the ``relationships``/``memories`` of
    ``user`` (of everybody without one)."""
    value = exported(engine)["content"][key]
    if user is not None:
        value = [item for item in value if item["user"] == user]
    return value


def rounded(vitals: dict[str, float]) -> dict[str, float]:
    return {name: round(level, 2) for name, level in vitals.items()}


def current_levels(engine: CharacterEngine) -> dict[str, float]:
    """The vitals now, as ``status`` reports them (rounded to 2 places)."""
    vitals = engine.status().vitals
    assert vitals is not None
    return {name: level["level"] for name, level in vitals["details"].items()}


async def test_undo_of_a_turn_others_answered_after_takes_it_out_of_the_users_thread(
        open_engine: OpenEngine, clock: ManualClock, tmp_path: Path) -> None:
    """alice speaks twice, bob after her: alice's undo removes her last turn (row, kept
    replies, memories), gives her relationship back its value from before that turn
    exactly, and leaves the shared state and everything of bob's as they are."""
    engine = open_engine(sensitive_character())
    await chat(engine, "My dog is called Biscuit.", user="alice")
    clock.advance(30)
    alices_relationship = part(engine, "relationships", "alice")
    alices_memories = part(engine, "memories", "alice")
    await chat(engine, "You are a stupid useless idiot and I hate you. I live in Porto.",
               user="alice")
    await regenerate(engine, user="alice")  # the turn has a kept reply too
    clock.advance(30)
    await chat(engine, "You are wonderful!", user="bob")
    state, bobs = part(engine, "state"), part(engine, "relationships", "bob")
    bobs_memories, turns = part(engine, "memories", "bob"), exported(engine)["content"]["turns"]
    assert part(engine, "relationships", "alice") != alices_relationship

    undone = engine.undo(user="alice")

    assert (undone.turn_id, undone.user) == (2, "alice")
    assert undone.vitals_restored is False
    assert undone.reason is not None and "'bob'" in undone.reason
    assert exported(engine)["content"]["turns"] == [turns[0], turns[2]]
    assert part(engine, "state") == state  # byte for byte: vitals, mood, turn count
    assert part(engine, "relationships", "alice") == alices_relationship
    assert part(engine, "relationships", "bob") == bobs
    assert part(engine, "memories") == alices_memories + bobs_memories
    assert rounded(undone.vitals) == current_levels(engine)
    with contextlib.closing(sqlite3.connect(database_path(tmp_path, engine.character.id))) as db:
        assert db.execute("SELECT COUNT(*) FROM turn_alternatives").fetchone() == (0,)

    again = engine.undo(user="alice")  # her first turn: bob spoke after it too
    assert (again.turn_id, again.vitals_restored) == (1, False)
    assert [t["user"] for t in exported(engine)["content"]["turns"]] == ["bob"]
    assert part(engine, "relationships", "alice") == []  # she had none before it
    assert part(engine, "memories") == bobs_memories
    assert part(engine, "state") == state
    with pytest.raises(EngineError, match="nothing_to_undo"):
        engine.undo(user="alice")


async def test_undo_of_the_characters_last_turn_after_a_thread_undo_is_exact(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    """bob's turn is the last one: his undo restores the state from before it exactly —
    which holds the feelings of alice's turn, taken out of her thread but lived."""
    engine = open_engine(sensitive_character())
    await chat(engine, "You are a stupid useless idiot and I hate you", user="alice")
    clock.advance(30)
    before_bob = part(engine, "state")
    await chat(engine, "You are wonderful!", user="bob")
    assert engine.undo(user="alice").vitals_restored is False
    undone = engine.undo(user="bob")
    assert (undone.vitals_restored, undone.reason) == (True, None)
    assert part(engine, "state") == before_bob
    assert exported(engine)["content"]["turns"] == []
    assert (await chat(engine, "Hi!", user="carol")).turn_index == 2  # alice's 1 was lived


async def test_regenerate_of_a_turn_others_answered_after_replaces_only_its_reply(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    """The new reply is asked for with the very prompt the turn's first reply had (the
    history before it, the feelings and relationship of its time); it replaces the reply
    in alice's thread, the old one is kept, and the shared state is not touched."""
    backend = RecordingBackend()
    engine = open_engine(sensitive_character(), backend=backend)
    await chat(engine, "My dog is called Biscuit.", user="alice")
    clock.advance(30)
    original = await chat(engine, "Why does the moon glow at night?", user="alice")
    clock.advance(30)
    await chat(engine, "You are wonderful!", user="bob")
    clock.advance(30)
    state, relationships = part(engine, "state"), part(engine, "relationships")
    before = exported(engine)["content"]["turns"]

    again = await regenerate(engine, user="alice")

    assert backend.prompts[3] == backend.prompts[1]
    assert again.response_text != original.response_text  # the backend's next variant
    assert (again.turn_id, again.turn_index, again.regenerated) == (2, 2, True)
    assert again.vitals_reappraised is False and again.vitals_delta == {}
    assert rounded(again.vitals) == current_levels(engine)
    assert again.appraisal == original.appraisal
    assert part(engine, "state") == state
    assert part(engine, "relationships") == relationships
    turns = exported(engine)["content"]["turns"]
    assert [turns[0], turns[2]] == [before[0], before[2]]
    assert turns[1]["reply"] == again.response_text
    assert turns[1]["created_at"] == before[1]["created_at"]  # the turn keeps its time
    assert turns[1]["record"]["vitals_after"] == before[1]["record"]["vitals_after"]
    assert [a["reply"] for a in turns[1]["alternatives"]] == [original.response_text]
    assert [m["text"] for m in part(engine, "memories") if m["turn_id"] == 2] == list(
        again.memories_formed)
    assert [r["current"] for r in engine.alternatives(user="alice")] == [False, True]


async def test_select_on_a_turn_others_answered_after_restores_its_thread_exactly(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    """alice's turn has two replies, then bob speaks: alice can still list and select
    them; her relationship and the turn's memories become exactly each reply's own, and the
    shared state stays as it is."""
    engine = open_engine(sensitive_character())
    await chat(engine, "Hello there! I live in Porto.", user="alice")
    first = (part(engine, "relationships", "alice"), part(engine, "memories", "alice"))
    clock.advance(20)
    await regenerate(engine, user="alice")
    second = (part(engine, "relationships", "alice"), part(engine, "memories", "alice"))
    assert first != second  # each reply left its own relationship and memories
    clock.advance(30)
    await chat(engine, "You are wonderful!", user="bob")
    state, bobs = part(engine, "state"), part(engine, "memories", "bob")
    assert [r["current"] for r in engine.alternatives(user="alice")] == [False, True]

    engine.select_alternative(0, user="alice")
    assert (part(engine, "relationships", "alice"), part(engine, "memories", "alice")) == first
    assert [r["current"] for r in engine.alternatives(user="alice")] == [True, False]
    engine.select_alternative(1, user="alice")
    assert (part(engine, "relationships", "alice"), part(engine, "memories", "alice")) == second
    assert part(engine, "state") == state
    assert part(engine, "memories", "bob") == bobs
    assert [t["user"] for t in exported(engine)["content"]["turns"]] == ["alice", "bob"]


async def test_undo_restores_the_users_relationship_and_keeps_the_other_users(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "Hello there!", user="alice")
    clock.advance(30)
    await chat(engine, "You are wonderful!", user="bob")
    clock.advance(30)
    before_second = content(engine)
    await chat(engine, "You are a stupid useless idiot and I hate you", user="alice")
    undone = engine.undo(user="alice")
    assert (undone.user, undone.turn_index) == ("alice", 3)
    assert content(engine) == before_second  # bob's relationship and vitals included


async def test_regenerate_by_the_turns_user_replaces_only_that_reply(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "Hello there!", user="bob")
    clock.advance(30)
    original = await chat(engine, "Why does the moon glow at night?", user="alice")
    again = await regenerate(engine, user="alice")
    assert (again.turn_id, again.user) == (original.turn_id, "alice")
    turns = exported(engine)["content"]["turns"]
    assert [t["user"] for t in turns] == ["bob", "alice"]
    assert [a["reply"] for a in turns[1]["alternatives"]] == [original.response_text]


async def test_save_while_a_turn_streams_stores_the_committed_state(
        open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "Hello there!", user="alice")
    committed = content(engine)
    stream = engine.chat("Tell me a story.", user="bob")
    await stream.__anext__()
    assert engine.save("mid-reply") == "mid-reply"
    async for _event in stream:
        pass
    engine.load("mid-reply")
    assert content(engine) == committed
