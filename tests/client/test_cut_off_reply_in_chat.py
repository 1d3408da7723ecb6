"""The chat with a reply the LLM server cut off: shown marked as incomplete, not saved, and
saved by ``/keep`` — over a real local character whose backend talks to the fake
OpenAI-compatible server."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.local import LocalCharacter
from client.screen import PlainScreen
from client.session import ChatSession
from runtime.settings import load_settings
from tests.backends.fake_llm_servers import FakeOpenAIServer, StreamScript
from tests.client.chat_driver import run


@pytest.fixture
async def chat(tmp_path: Path) -> AsyncIterator[tuple[ChatSession, io.StringIO, FakeOpenAIServer]]:
    out = io.StringIO()
    async with FakeOpenAIServer(models=["local-model"]) as server:
        settings = load_settings({"data_dir": tmp_path, "engine": "openai",
                                  "openai_base_url": server.base_url,
                                  "openai_model": "local-model",
                                  # counts the LLM's requests: no model-written memories
                                  "model_memory": "off"}, environ={})
        character = LocalCharacter(settings, user="ann")
        session = ChatSession(character, PlainScreen(out), vitals="off")
        await session.attached(await character.attach("m-playful"))
        try:
            yield session, out, server
        finally:
            await character.close()




async def turns(session: ChatSession) -> int:
    return int((await session.character.status()).summary["turn_count"])


async def test_a_cut_off_reply_is_shown_as_incomplete_and_kept_only_on_keep(
    chat: tuple[ChatSession, io.StringIO, FakeOpenAIServer],
) -> None:
    session, out, server = chat
    server.queue_script(StreamScript(tokens=("The only", " thing"), finish_reason=None))
    cut = await run(session, out, "Tell me a story.")
    after_cut = await turns(session)
    kept = await run(session, out, "/keep")
    again = await run(session, out, "/keep")

    assert "The only thing […]" in cut
    assert "llm_incomplete" in cut or "cut off" in cut
    assert "/keep saves it" in cut
    assert after_cut == 0
    assert "kept the cut-off reply" in kept
    assert await turns(session) == 1
    assert "nothing to keep" in again
    assert server.stats.requests["POST /v1/chat/completions"] == 1
