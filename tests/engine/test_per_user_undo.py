"""Undo, regenerate, alternatives and select act on the asking user's last turn only, and
only while nobody has spoken after it: never on another user's turn."""

from __future__ import annotations

import json

import pytest

from tests.engine.characters import sensitive_character
from tests.engine.clock import ManualClock
from tests.engine.conftest import OpenEngine, chat, regenerate
from worker.engine import CharacterEngine, EngineError


def content(engine: CharacterEngine) -> str:
    return json.dumps(engine.export()["content"], sort_keys=True, ensure_ascii=False)


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


async def test_a_turn_another_user_has_answered_after_is_turn_not_last_and_nothing_changes(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "Hello there!", user="alice")
    after_alice = content(engine)
    clock.advance(30)
    await chat(engine, "You are wonderful!", user="bob")
    before = content(engine)
    with pytest.raises(EngineError) as error:
        engine.undo(user="alice")
    assert error.value.code == "turn_not_last"
    assert "'bob'" in error.value.message and "nothing was changed" in error.value.message
    with pytest.raises(EngineError, match="turn_not_last"):
        await regenerate(engine, user="alice")
    with pytest.raises(EngineError, match="turn_not_last"):
        engine.select_alternative(0, user="alice")
    assert engine.alternatives(user="alice") == []
    assert content(engine) == before
    engine.undo(user="bob")  # bob's turn is the last: undone exactly, and alice's is free
    assert content(engine) == after_alice
    engine.undo(user="alice")
    assert json.loads(content(engine))["turns"] == []


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
    turns = engine.export()["content"]["turns"]
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
