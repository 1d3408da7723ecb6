"""LocalCharacter: the worker's real CharacterService in this process (scripted backend, SQLite in
a temp data dir)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.errors import Cancelled, CharacterNotFound, GreenroomError, InvalidName, NothingToUndo
from client.interface import Character
from client.local import LocalCharacter
from protocol.events import VitalsEvent
from runtime.settings import load_settings

CHARACTER = "m-playful"


@pytest.fixture
async def toby(tmp_path: Path) -> AsyncIterator[LocalCharacter]:
    character = LocalCharacter(load_settings({"data_dir": tmp_path}, environ={}), user="ann")
    await character.attach(CHARACTER)
    try:
        yield character
    finally:
        await character.close()


def test_local_character_satisfies_the_interface(toby: LocalCharacter) -> None:
    character: Character = toby
    assert character.mode == "local"
    assert character.character_id == CHARACTER


async def test_streamed_deltas_add_up_to_the_reply(toby: LocalCharacter) -> None:
    stream = toby.chat_stream("Hello! I love hiking in the mountains.")
    deltas = [delta async for delta in stream]
    assert len(deltas) > 1
    assert stream.reply is not None
    assert "".join(deltas) == stream.reply.text
    assert stream.reply.mood


async def test_a_turn_moves_the_vitals_and_counts(toby: LocalCharacter) -> None:
    before = await toby.status()
    await toby.chat("You are wonderful, thank you so much!")
    after = await toby.status()
    assert after.summary["turn_count"] == before.summary["turn_count"] + 1
    assert after.vitals["oxytocin"] > before.vitals["oxytocin"]


async def test_memory_search_finds_what_the_user_said(toby: LocalCharacter) -> None:
    await toby.chat("I love hiking in the mountains.")
    memories = await toby.search_memory("hiking", limit=3)
    assert memories and "hiking" in memories[0]["text"]


async def test_cancel_stops_the_reply_and_commits_nothing(toby: LocalCharacter) -> None:
    stream = toby.chat_stream("Tell me everything about your food truck.")
    cancelled: list[bool] = []
    with pytest.raises(Cancelled):
        async for _ in stream:
            if not cancelled:
                cancelled.append(await toby.cancel())
    assert cancelled == [True]
    assert (await toby.status()).summary["turn_count"] == 0
    assert not await toby.cancel()


async def test_chat_continues_after_a_cancelled_reply(toby: LocalCharacter) -> None:
    stream = toby.chat_stream("first")
    with pytest.raises(Cancelled):
        async for _ in stream:
            await toby.cancel()
    reply = await toby.chat("second")
    assert reply.text


async def test_save_undo_load_round_trip(toby: LocalCharacter) -> None:
    await toby.chat("Hello there.")
    name = await toby.save("after-hello")
    assert name == "after-hello"
    await toby.chat("I had a terrible day.")
    await toby.undo()
    await toby.undo()
    assert (await toby.status()).summary["turn_count"] == 0
    info = await toby.load("after-hello")
    assert info["turn_count"] == 1
    assert [s["name"] for s in await toby.snapshots()] == ["after-hello"]


async def test_path_like_snapshot_name_is_refused(toby: LocalCharacter) -> None:
    with pytest.raises(InvalidName) as raised:
        await toby.save("../escape")
    assert raised.value.code == "invalid_name"


async def test_undo_without_turns_says_nothing_to_undo(toby: LocalCharacter) -> None:
    with pytest.raises(NothingToUndo):
        await toby.undo()


async def test_regenerate_replaces_the_last_reply(toby: LocalCharacter) -> None:
    await toby.chat("Hello!")
    reply = await toby.regenerate_stream().collect()
    assert reply.text
    assert (await toby.status()).summary["turn_count"] == 1


async def test_reset_with_wipe_forgets_memories(toby: LocalCharacter) -> None:
    await toby.chat("I love hiking in the mountains.")
    await toby.reset(preserve_memories=False)
    assert await toby.search_memory("hiking") == []


async def test_export_is_one_document_naming_the_character(toby: LocalCharacter) -> None:
    await toby.chat("Hello!")
    document = await toby.export()
    assert document["character_id"] == CHARACTER


async def test_each_change_publishes_a_vitals_event(toby: LocalCharacter) -> None:
    events = toby.events()
    await toby.chat("Hello!")
    event = await asyncio.wait_for(anext(events), 5)
    assert isinstance(event, VitalsEvent) and event.cause == "turn"
    assert event.vitals["details"]["dopamine"]["baseline"] > 0


async def test_a_local_reply_carries_what_the_workers_chat_response_carries(
    toby: LocalCharacter,
) -> None:
    reply = await toby.chat("Hello! I love hiking.")
    assert reply.metadata["user"] == "ann" and reply.metadata["turn_index"] == 1
    assert reply.metadata["incomplete"] is False and "timings_ms" in reply.metadata
    assert reply.vitals and reply.vitals_delta and set(reply.vitals_delta) <= set(reply.vitals)
    assert reply.mood and reply.mood_intensity is not None


async def test_local_snapshots_are_listed_under_the_wire_name(toby: LocalCharacter) -> None:
    await toby.save("first")
    assert [s["filename"] for s in await toby.snapshots()] == ["first"]


async def test_a_field_out_of_range_is_refused_as_a_server_refuses_it(
    toby: LocalCharacter,
) -> None:
    with pytest.raises(GreenroomError) as refused:
        await toby.search_memory("hiking", limit=5000)
    assert refused.value.code == "bad_request"
    assert "memory_search_request" in refused.value.message


async def test_unknown_character_is_character_not_found(tmp_path: Path) -> None:
    character = LocalCharacter(load_settings({"data_dir": tmp_path}, environ={}))
    try:
        with pytest.raises(CharacterNotFound):
            await character.attach("nobody-here")
    finally:
        await character.close()


async def test_requests_before_attach_say_not_initialized(tmp_path: Path) -> None:
    character = LocalCharacter(load_settings({"data_dir": tmp_path}, environ={}))
    try:
        with pytest.raises(GreenroomError) as raised:
            await character.status()
        assert raised.value.code == "not_initialized"
    finally:
        await character.close()


async def test_lists_the_bundled_characters_marking_the_open_one(toby: LocalCharacter) -> None:
    entries = {entry.character_id: entry for entry in await toby.list_characters()}
    assert CHARACTER in entries and len(entries) >= 2
    assert entries[CHARACTER].state == "ready"


async def test_a_message_over_the_limit_is_refused_in_local_mode(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": tmp_path, "max_message_chars": 50}, environ={})
    character = LocalCharacter(settings, user="ann")
    await character.attach(CHARACTER)
    try:
        with pytest.raises(GreenroomError) as refused:
            await character.chat("x" * 51)
    finally:
        await character.close()
    assert refused.value.code == "message_too_long"
    assert refused.value.details == {"max_chars": 50, "length": 51}


async def test_a_turns_vitals_event_carries_the_numbers_of_its_answer(
    toby: LocalCharacter,
) -> None:
    events = toby.events()
    reply = await toby.chat("You are wonderful, thank you so much!")
    event = await asyncio.wait_for(anext(events), 5)
    assert isinstance(event, VitalsEvent) and event.cause == "turn"
    assert (event.user, event.mood, event.mood_intensity, event.previous_mood) == (
        "ann", reply.mood, reply.mood_intensity, reply.previous_mood)
    assert event.vitals_delta == reply.vitals_delta
    assert reply.vitals is not None
    assert {name: event.vitals[name] for name in reply.vitals} == reply.vitals


async def test_a_vitals_event_that_is_no_turn_has_the_intensity_and_no_deltas(
    toby: LocalCharacter,
) -> None:
    await toby.chat("Hello!")
    events = toby.events()
    await toby.reset()
    event = await asyncio.wait_for(anext(events), 5)
    assert isinstance(event, VitalsEvent) and event.cause == "reset"
    assert event.mood_intensity == 0.0  # back at the resting state
    assert (event.vitals_delta, event.previous_mood, event.user) == (None, None, None)
