"""Managing memories through a real ``greenroom serve`` (supervisor, gateway, worker
process): the requests remotely, and a forgotten memory staying gone after the worker is
killed and restarted."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.errors import GreenroomError
from client.remote import CharacterClient
from protocol.events import WorkerStateEvent
from tests.support.running_server import RunningServer, ServerConfig, running_server

pytestmark = pytest.mark.process

CHARACTER = "m-playful"
EVENT_TIMEOUT_S = 20.0


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[RunningServer]:
    async with running_server(ServerConfig(data_dir=tmp_path, characters=[CHARACTER])) as srv:
        yield srv


async def test_remember_update_forget_remotely_and_forgotten_stays_gone_after_a_restart(
        server: RunningServer) -> None:
    client = await CharacterClient.connect(server.url, character_id=CHARACTER, user="ann",
                                           retry_delay_s=0.2)
    try:
        await client.chat("My dog is called Biscuit.")
        kept = await client.remember("I am allergic to peanuts.")
        assert kept.remembered and kept.user == "ann"
        assert [m["id"] for m in await client.search_memory("peanuts")] == [kept.id]
        changed = await client.update_memory(kept.id, text="I am allergic to cashews.")
        assert changed.text == "I am allergic to cashews."
        formed = [m for m in await client.memories(user="ann") if not m.remembered]
        assert formed and formed[0].turn_id == 1
        said = await client.memories(user="ann", kinds=["message", "reply"])
        assert said and {m.kind for m in said} <= {"message", "reply"}
        assert "Biscuit" in said[0].text
        assert {m.id for m in said} < {m.id for m in formed}  # the fact made of it is not
        gone = await client.forget(formed[0].id)
        assert gone.id == formed[0].id
        with pytest.raises(GreenroomError) as error:
            await client.forget(formed[0].id)
        assert error.value.code == "memory_not_found"
        await client.undo()  # the turn goes; the remembered memory stays

        events = client.events()
        os.kill(await server.worker_pid(CHARACTER), signal.SIGKILL)
        async with asyncio.timeout(EVENT_TIMEOUT_S):
            async for event in events:
                if isinstance(event, WorkerStateEvent) and event.state == "ready":
                    break
        assert [m.text for m in await client.memories()] == ["I am allergic to cashews."]
        document = await client.export()
        assert [m["turn_id"] for m in document["content"]["memories"]] == [0]
    finally:
        await client.close()
