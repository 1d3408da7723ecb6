"""CharacterClient against a real ``greenroom serve`` (workers, gateway, SQLite)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.errors import Cancelled, CharacterNotFound, ConnectionFailed, InvalidName
from client.interface import CharacterEvent, ConnectionEvent
from client.remote import CharacterClient
from protocol.events import TurnEvent, VitalsEvent, WorkerStateEvent
from tests.backends.fake_llm_servers import FakeOllamaServer, StreamScript
from tests.support.ports import closed_port
from tests.support.running_server import RunningServer, ServerConfig, running_server

pytestmark = pytest.mark.process

CHARACTER = "m-playful"
EVENT_TIMEOUT_S = 20.0


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(ServerConfig(data_dir=tmp_path, characters=[CHARACTER])) as srv:
        yield srv


async def connect(server: RunningServer, user: str = "ann") -> CharacterClient:
    return await CharacterClient.connect(
        server.url, character_id=CHARACTER, user=user, retry_delay_s=0.2
    )


async def next_matching(events: AsyncIterator[CharacterEvent], wanted: type, **fields: object
                        ) -> CharacterEvent:
    async with asyncio.timeout(EVENT_TIMEOUT_S):
        async for event in events:
            if isinstance(event, wanted) and all(
                getattr(event, name) == value for name, value in fields.items()
            ):
                return event
    raise AssertionError(f"events ended before a {wanted.__name__} {fields}")


async def test_streamed_reply_and_status(server: RunningServer) -> None:
    client = await connect(server)
    try:
        stream = client.chat_stream("Hello! I love hiking.")
        deltas = [delta async for delta in stream]
        assert stream.reply is not None and "".join(deltas) == stream.reply.text
        status = await client.status()
        assert status.summary["turn_count"] == 1
        assert status.vitals["details"]["dopamine"]["baseline"] > 0
    finally:
        await client.close()


async def test_cancel_stops_a_streamed_reply_and_chat_continues(tmp_path: Path) -> None:
    # A fake Ollama holds the reply after two tokens, so the cancel always meets it streaming.
    async with FakeOllamaServer(models=["llama3.2:latest"]) as llm:
        llm.queue_script(StreamScript(tokens=["Once", " upon", " a", " time"], hold_after=2))
        config = ServerConfig(data_dir=tmp_path, characters=[CHARACTER], engine="ollama",
                              env={"OLLAMA_BASE_URL": llm.base_url, "OLLAMA_MODEL": "llama3.2"})
        async with running_server(config) as server:
            client = await connect(server)
            try:
                cancelled: list[bool] = []
                with pytest.raises(Cancelled):
                    async for _ in client.chat_stream("Tell me a long story."):
                        if not cancelled:  # deltas already on the wire still arrive
                            cancelled.append(await client.cancel())
                assert cancelled == [True]
                assert (await client.chat("Hello again.")).text
                assert (await client.status()).summary["turn_count"] == 1
            finally:
                await client.close()


async def test_cancel_after_the_reply_finished_is_a_no_op(server: RunningServer) -> None:
    client = await connect(server)
    try:
        await client.chat("Hello!")
        assert await client.cancel() is False
    finally:
        await client.close()


async def test_snapshot_commands_and_error_codes(server: RunningServer) -> None:
    client = await connect(server)
    try:
        await client.chat("Hello!")
        assert await client.save("one") == "one"
        await client.undo()
        info = await client.load("one")
        assert info["turn_count"] == 1
        assert any(s.get("name", s.get("filename")) == "one" for s in await client.snapshots())
        with pytest.raises(InvalidName):
            await client.save("../escape")
    finally:
        await client.close()


async def test_regenerate_then_pick_the_earlier_reply_remotely(server: RunningServer) -> None:
    client = await connect(server)
    try:
        first = await client.chat("Hello!")
        await client.regenerate_stream().collect()
        assert [a["current"] for a in await client.alternatives()] == [False, True]
        await client.select_alternative(0)
        status = await client.status(include_history=True)
        assert status.history[-1]["response"] == first.text
    finally:
        await client.close()


async def test_attaching_to_an_unknown_character_is_typed(server: RunningServer) -> None:
    with pytest.raises(CharacterNotFound):
        await CharacterClient.connect(server.url, character_id="nobody-here")


async def test_other_clients_see_the_turn_and_the_vitals_change(server: RunningServer) -> None:
    watcher, talker = await connect(server, "watcher"), await connect(server, "bob")
    try:
        events = watcher.events()
        await talker.chat("You are wonderful, thank you!")
        turn = await next_matching(events, TurnEvent)
        assert isinstance(turn, TurnEvent) and turn.user == "bob"
        vitals = await next_matching(events, VitalsEvent)
        assert isinstance(vitals, VitalsEvent) and vitals.character_id == CHARACTER
    finally:
        await watcher.close()
        await talker.close()


async def test_killed_worker_restarts_and_the_session_goes_on(server: RunningServer) -> None:
    client = await connect(server)
    try:
        events = client.events()
        os.kill(await server.worker_pid(CHARACTER), signal.SIGKILL)
        await next_matching(events, WorkerStateEvent, state="restarting")
        await next_matching(events, WorkerStateEvent, state="ready")
        assert (await client.chat("Are you back?")).text
    finally:
        await client.close()


async def test_no_server_is_connection_failed_after_the_attempts() -> None:
    url = f"ws://127.0.0.1:{closed_port()}"
    with pytest.raises(ConnectionFailed) as raised:
        await CharacterClient.connect(url, connect_attempts=2, retry_delay_s=0.01)
    assert raised.value.code == "connection_failed" and url in raised.value.message


async def test_server_restart_reconnects_and_reattaches(tmp_path: Path) -> None:
    port = closed_port()
    config = ServerConfig(data_dir=tmp_path, characters=[CHARACTER],
                          extra_args=["--port", str(port)])
    async with running_server(config) as first:
        client = await CharacterClient.connect(first.url, character_id=CHARACTER,
                                               connect_attempts=3, retry_delay_s=0.5)
        events = client.events()
        await client.chat("Remember me.")
    try:
        await next_matching(events, ConnectionEvent, phase="reconnecting")
        async with running_server(config):
            # Either the automatic round reconnects, or it gave up and the request starts a
            # new round: both end attached to the same character with its history.
            status = await client.status()
            assert status.summary["turn_count"] == 1
            assert client.character_id == CHARACTER
            assert (await client.chat("I am back.")).text
    finally:
        await client.close()
