"""A server whose page answers never advance must not hang the client in its page loops.

The server here is a few lines of websockets on 127.0.0.1 answering ``hello``, ``init`` and
the two paged lists — with ``next_offset`` pointing back at the page just sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.server import ServerConnection, serve

from client.errors import PROTOCOL_VIOLATION, GreenroomError
from client.remote import CharacterClient
from protocol.json_codec import decode_client_message, encode_server_message
from protocol.queries import CharacterListing, CharactersRequest, CharactersResponse
from protocol.session import Hello, HelloResponse, InitRequest, InitResponse
from protocol.snapshots import SnapshotsRequest, SnapshotsResponse
from protocol.states import PROTOCOL_VERSION
from protocol.unions import ServerMessage

pytestmark = pytest.mark.timeout(30)


def stuck_answer(message: object) -> ServerMessage:
    """Characters: the next page starts where this one did. Snapshots: page 0 leads to
    page 1, which leads back to page 0."""
    if isinstance(message, Hello):
        return HelloResponse(message_id=message.message_id, protocol_version=PROTOCOL_VERSION,
                             session_id="s-stuck")
    if isinstance(message, InitRequest):
        return InitResponse(message_id=message.message_id, character_name="Stuck")
    if isinstance(message, CharactersRequest):
        listing = CharacterListing(character_id="stuck", name="Stuck")
        return CharactersResponse(message_id=message.message_id, characters=[listing],
                                  total=2, next_offset=message.offset)
    assert isinstance(message, SnapshotsRequest), message
    return SnapshotsResponse(message_id=message.message_id,
                             snapshots=[{"filename": "a", "created_at": "2026-01-01"}],
                             total=2, next_offset=1 if message.offset == 0 else 0)


async def answer_stuck(ws: ServerConnection) -> None:
    async for frame in ws:
        await ws.send(encode_server_message(stuck_answer(decode_client_message(frame))))


@pytest.fixture
async def stuck_client() -> AsyncIterator[CharacterClient]:
    async with serve(answer_stuck, "127.0.0.1", 0) as server:
        port = next(iter(server.sockets)).getsockname()[1]
        client = await CharacterClient.connect(f"ws://127.0.0.1:{port}", character_id="stuck",
                                               connect_attempts=1)
        try:
            yield client
        finally:
            await client.close()


async def test_a_characters_page_that_does_not_advance_is_a_protocol_violation(
    stuck_client: CharacterClient,
) -> None:
    with pytest.raises(GreenroomError) as refused:
        async with asyncio.timeout(10):  # before, the loop never ended
            await stuck_client.list_characters()
    assert refused.value.code == PROTOCOL_VIOLATION
    assert "next_offset 0" in str(refused.value) and "does not advance" in str(refused.value)


async def test_a_snapshots_page_that_goes_back_is_a_protocol_violation(
    stuck_client: CharacterClient,
) -> None:
    with pytest.raises(GreenroomError) as refused:
        async with asyncio.timeout(10):
            await stuck_client.snapshots()
    assert refused.value.code == PROTOCOL_VIOLATION
    assert "snapshots_response for offset 1 gave next_offset 0" in str(refused.value)
