"""What every HTTP streaming backend promises, checked for Ollama and the OpenAI dialect alike.

Each test runs once per backend against its real-HTTP fake server: one pooled connection,
a delta as soon as its token is written, ``length`` finishes, a mid-stream death that is an
``LLMError`` and never retried, and ``aclose()`` of the stream disconnecting
the server while it holds the stream.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import aclosing
from dataclasses import dataclass

import pytest

from tests.backends.conftest import RecordingSleep
from tests.backends.fake_llm_servers import FakeLLMServer, StreamScript
from tests.backends.helpers import HELLO, collect
from worker.backends.base import GenerationOptions, LLMError, TextDelta
from worker.backends.ollama import OllamaBackend
from worker.backends.openai import OpenAIBackend

Backend = OllamaBackend | OpenAIBackend

CLOSE_WAIT_S = 30.0
"""Bounds a wait that, if the backend failed to close the stream, would never end."""


@dataclass(frozen=True, slots=True)
class Streaming:
    """A fake server, how to build the backend for it, and the request a chat makes."""

    server: FakeLLMServer
    make: Callable[[], Backend]
    chat_request: str


# Per backend: its fake server's fixture, the backend class, its options, its chat request.
BACKENDS: dict[str, tuple[str, type[Backend], GenerationOptions, str]] = {
    "ollama": ("ollama_server", OllamaBackend,
               GenerationOptions(model="llama3.2", temperature=0.8, num_ctx=4096,
                                 max_tokens=512, keep_alive="5m"), "POST /api/chat"),
    "openai": ("openai_server", OpenAIBackend,
               GenerationOptions(model="local-model", temperature=0.8, num_ctx=4096,
                                 max_tokens=256, keep_alive="5m"), "POST /v1/chat/completions"),
}


@pytest.fixture(params=sorted(BACKENDS))
def streaming(request: pytest.FixtureRequest) -> Streaming:
    fixture, backend_class, options, chat_request = BACKENDS[request.param]
    server: FakeLLMServer = request.getfixturevalue(fixture)
    return Streaming(server, lambda: backend_class(server.base_url, options,
                                                   sleep=RecordingSleep()), chat_request)


async def test_consecutive_chats_reuse_one_connection(streaming: Streaming) -> None:
    backend = streaming.make()
    await collect(backend.generate(HELLO))
    await collect(backend.generate(HELLO))
    await backend.aclose()
    assert streaming.server.stats.connections == 1


async def test_first_delta_arrives_while_the_server_holds_the_second(
    streaming: Streaming,
) -> None:
    server = streaming.server
    server.script = StreamScript(token_delay_s=0.05, hold_after=1)
    backend = streaming.make()
    async with aclosing(backend.generate(HELLO)) as stream:
        first = await anext(stream)
        # The server has written one token and is blocked before the second: the delta
        # cannot have waited for more of the reply.
        assert first == TextDelta("Hello")
        assert server.stats.tokens_written == 1
        await server.holding.wait()
        server.release()
        rest = [event async for event in stream]
    await backend.aclose()
    assert [e.text for e in rest if isinstance(e, TextDelta)] == [",", " world", "!"]


async def test_length_finish_is_reported(streaming: Streaming) -> None:
    streaming.server.script = StreamScript(finish_reason="length")
    backend = streaming.make()
    _, done = await collect(backend.generate(HELLO))
    await backend.aclose()
    assert done.finish_reason == "length"


async def test_server_dying_mid_stream_is_an_llm_error_and_not_retried(
    streaming: Streaming,
) -> None:
    streaming.server.script = StreamScript(die_after=2)
    backend = streaming.make()
    with pytest.raises(LLMError, match=r"after 2 token\(s\).*not retried") as info:
        await collect(backend.generate(HELLO))
    await backend.aclose()
    assert type(info.value) is LLMError
    assert streaming.server.stats.requests[streaming.chat_request] == 1


@pytest.mark.usefixtures("drain_forever")
async def test_aclose_disconnects_the_server_while_it_holds_the_stream(
    streaming: Streaming,
) -> None:
    server = streaming.server
    server.script = StreamScript(tokens=["tok"] * 200, hold_after=1)
    backend = streaming.make()
    stream = backend.generate(HELLO)
    await anext(stream)
    await server.holding.wait()
    # The server holds the stream and never ends it by itself, and a drain would wait as
    # long as the stream lasts (drain_forever): the disconnect can only be the backend
    # closing the connection. How fast it does so is measured by bench/cancel_bench.py.
    async with asyncio.timeout(CLOSE_WAIT_S):
        await stream.aclose()
        await server.disconnected.wait()
    assert server.stats.disconnects == 1
    assert server.stats.tokens_written == 1
    await backend.aclose()
