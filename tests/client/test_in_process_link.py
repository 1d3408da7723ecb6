"""Local mode is the worker: ``InProcessLink`` in front of the real ``CharacterService``,
doing for its one session what a gateway does (scripted backend, SQLite in a temp dir)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.character import LinkedCharacter
from client.event_hub import EventHub
from client.in_process_link import InProcessLink
from client.interface import CharacterEvent
from client.link import call
from client.local import LocalCharacter
from protocol.chat import CancelRequest, CancelResponse
from protocol.events import TurnEvent, VitalsEvent
from protocol.pipe import EXPORT_CHUNK_WINDOW
from protocol.queries import CharactersRequest, CharactersResponse
from runtime.settings import load_settings
from tests.support.long_history import build_long_history

CHARACTER = "m-playful"


@pytest.fixture
async def link(tmp_path: Path) -> AsyncIterator[tuple[InProcessLink, list[CharacterEvent]]]:
    events: list[CharacterEvent] = []
    settings = load_settings({"data_dir": tmp_path}, environ={})
    in_process = InProcessLink(settings, user="ann", publish=events.append)
    await in_process.attach(CHARACTER)
    try:
        yield in_process, events
    finally:
        await in_process.close()


async def test_the_sessions_own_turn_is_a_vitals_event_but_no_turn_event(
    link: tuple[InProcessLink, list[CharacterEvent]],
) -> None:
    in_process, events = link
    await LinkedCharacter(in_process, EventHub()).chat("Hello!")
    assert [type(event) for event in events] == [VitalsEvent]
    assert not any(isinstance(event, TurnEvent) for event in events)


async def test_cancelling_a_request_not_in_flight_answers_success_false(
    link: tuple[InProcessLink, list[CharacterEvent]],
) -> None:
    in_process, _ = link
    response = await call(in_process, CancelRequest(target_message_id="nothing-like-it"),
                          CancelResponse, failure_ok=True)
    assert response.success is False and "nothing-like-it" in (response.error or "")


async def test_characters_are_listed_in_pages_the_attached_one_ready(
    link: tuple[InProcessLink, list[CharacterEvent]],
) -> None:
    in_process, _ = link
    first = await call(in_process, CharactersRequest(limit=1), CharactersResponse)
    assert len(first.characters) == 1 and first.next_offset == 1 and first.total >= 2
    everyone = await call(in_process, CharactersRequest(), CharactersResponse)
    states = {c.character_id: c.state for c in everyone.characters}
    assert states[CHARACTER] == "ready" and everyone.next_offset is None


async def test_an_export_longer_than_the_credit_window_streams_to_the_end(
    tmp_path: Path,
) -> None:
    # Each chunk taken by the reader grants the worker one more: without the credits the
    # export would stop after EXPORT_CHUNK_WINDOW chunks.
    await build_long_history(tmp_path, CHARACTER, turns=600)
    character = LocalCharacter(load_settings({"data_dir": tmp_path}, environ={}))
    try:
        await character.attach(CHARACTER)
        pieces = [piece async for piece in character.export_text()]
    finally:
        await character.close()
    assert len(pieces) > EXPORT_CHUNK_WINDOW
