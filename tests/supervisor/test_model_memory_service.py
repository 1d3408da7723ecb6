"""The model's memory writing after a turn, through the worker's real ``CharacterService``
and the tests' fake OpenAI-compatible server (in this process, no worker process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from protocol.chat import ChatRequest, ChatResponse, UndoRequest
from protocol.pipe import FromWorker, WorkerReply
from protocol.queries import MemorySearchRequest, MemorySearchResponse
from runtime.settings import load_settings
from tests.backends.fake_llm_servers import FakeOpenAIServer, StreamScript
from tests.supervisor.test_service import Frames, request
from tests.support.paths import BUNDLED_CHARACTERS
from worker.service.character_service import CharacterService

FACT = '{"fact": "Ana\'s sister Ophelia lives in Lisbon."}'
NOTES = "You keep notes"


class CountingFrames(Frames):
    """Frames, noting how many requests the server had seen when each final reply went."""

    def __init__(self, server: FakeOpenAIServer) -> None:
        super().__init__()
        self._server = server
        self.requests_at_reply: dict[int, int] = {}

    def __call__(self, frame: FromWorker) -> None:
        if isinstance(frame, WorkerReply) and frame.final:
            self.requests_at_reply[frame.request_id] = chats(self._server)
        super().__call__(frame)


def chats(server: FakeOpenAIServer) -> int:
    return server.stats.requests["POST /v1/chat/completions"]


def asked_for_notes(server: FakeOpenAIServer) -> list[str]:
    return [str(body) for body in server.stats.bodies if body is not None and NOTES in str(body)]


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer() as fake:
        yield fake


async def open_service(tmp_path: Path, server: FakeOpenAIServer, frames: Frames,
                       **settings: object) -> CharacterService:
    loaded = load_settings({"data_dir": tmp_path, "characters_dir": BUNDLED_CHARACTERS,
                            "engine": "openai", "openai_base_url": server.base_url,
                            "openai_model": "local-model", "model_memory": "auto",
                            **settings}, environ={})
    return await CharacterService.open("m-playful", loaded, frames)


def chat(text: str) -> ChatRequest:
    return ChatRequest(message_id="c", user_message=text)


async def test_the_reply_is_acknowledged_before_the_model_is_asked_and_its_fact_is_found(
        tmp_path: Path, server: FakeOpenAIServer) -> None:
    server.queue_script(StreamScript(tokens=[FACT]), for_text=NOTES)
    frames = CountingFrames(server)
    svc = await open_service(tmp_path, server, frames)
    try:
        svc.submit(request(1, chat("My sister moved to Portugal.")))
        reply = await frames.reply(1)
        assert isinstance(reply, ChatResponse) and reply.response_metadata is not None
        assert frames.requests_at_reply[1] == 1  # only the reply's own request so far
        await svc.model_memory.wait()
        assert len(asked_for_notes(server)) == 1
        svc.submit(request(2, MemorySearchRequest(message_id="s", query="Ophelia Lisbon")))
        found = await frames.reply(2)
        assert isinstance(found, MemorySearchResponse)
        [fact] = [m for m in found.memories if m["kind"] == "fact"]
        assert fact["text"] == "Ana's sister Ophelia lives in Lisbon."
        assert fact["turn_id"] == reply.response_metadata.turn_id
        svc.submit(request(3, UndoRequest(message_id="u")))
        await frames.reply(3)
        svc.submit(request(4, MemorySearchRequest(message_id="s2", query="Ophelia Lisbon")))
        after = await frames.reply(4)
        assert isinstance(after, MemorySearchResponse) and after.memories == []
    finally:
        await svc.close()


async def test_an_extraction_failure_is_logged_and_the_turn_is_fine(
        tmp_path: Path, server: FakeOpenAIServer) -> None:
    server.queue_script(StreamScript(status=500, error_body={"error": "boom"}), for_text=NOTES)
    frames = Frames()
    svc = await open_service(tmp_path, server, frames)
    try:
        with capture_logs() as logs:
            svc.submit(request(1, chat("My sister moved to Portugal.")))
            reply = await frames.reply(1)
            await svc.model_memory.wait()
        assert isinstance(reply, ChatResponse) and reply.success
        [failed] = [r for r in logs if r["event"] == "memory_extraction_failed"]
        assert failed["character"] == "m-playful" and failed["hint"]
        assert failed["turn_id"] == reply.response_metadata.turn_id  # type: ignore[union-attr]
    finally:
        await svc.close()


async def test_off_asks_nothing_after_a_turn(tmp_path: Path, server: FakeOpenAIServer) -> None:
    frames = Frames()
    svc = await open_service(tmp_path, server, frames, model_memory="off")
    try:
        svc.submit(request(1, chat("My sister moved to Portugal.")))
        await frames.reply(1)
        await svc.model_memory.wait()
        assert chats(server) == 1 and asked_for_notes(server) == []
    finally:
        await svc.close()


async def test_a_reflection_is_asked_for_after_n_turns_of_the_user(
        tmp_path: Path, server: FakeOpenAIServer) -> None:
    frames = Frames()
    svc = await open_service(tmp_path, server, frames, model_memory_reflect_every=2)
    try:
        for number in (1, 2):
            svc.submit(request(number, chat(f"Message number {number}.")))
            await frames.reply(number)
            await svc.model_memory.wait()
        asked = asked_for_notes(server)
        assert len(asked) == 3 and "reflection" in asked[2]  # two extractions, one reflection
    finally:
        await svc.close()
