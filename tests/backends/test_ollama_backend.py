"""OllamaBackend against a real HTTP server speaking Ollama's NDJSON stream."""

from __future__ import annotations

import asyncio
from contextlib import aclosing

import pytest

from tests.backends.conftest import RecordingSleep
from tests.backends.fake_llm_servers import (
    FakeOllamaServer,
    StreamScript,
    unaccepting_port,
)
from tests.backends.helpers import HELLO, collect, request
from tests.support.ports import closed_port
from worker.backends.backoff import ConnectRetry, ExponentialBackoff
from worker.backends.base import (
    GenerationOptions,
    LLMError,
    LLMTimeout,
    LLMUnavailable,
    TextDelta,
)
from worker.backends.http_transport import HTTPTimeouts
from worker.backends.ollama import OllamaBackend

DEFAULTS = GenerationOptions(model="llama3.2", temperature=0.8, num_ctx=4096, max_tokens=512,
                             keep_alive="5m")


def backend_for(url: str, sleep: RecordingSleep | None = None, **kwargs: object) -> OllamaBackend:
    return OllamaBackend(url, DEFAULTS, sleep=sleep or RecordingSleep(), **kwargs)  # type: ignore[arg-type]


async def test_streams_the_reply_and_reports_usage(ollama_server: FakeOllamaServer) -> None:
    backend = backend_for(ollama_server.base_url)
    text, done = await collect(backend.generate(HELLO))
    await backend.aclose()
    assert text == "Hello, world!"
    assert done.backend == "ollama"
    assert done.model == "llama3.2"
    assert done.finish_reason == "stop"
    assert done.prompt_tokens == 7
    assert done.completion_tokens == 4
    assert done.duration_s == pytest.approx(2.0)
    assert done.tokens_per_s == pytest.approx(50.0)
    assert done.extra["load_duration_s"] == pytest.approx(0.5)


async def test_sends_model_options_num_ctx_and_keep_alive(ollama_server: FakeOllamaServer) -> None:
    backend = backend_for(ollama_server.base_url)
    await collect(backend.generate(request(temperature=0.3, top_p=0.9, stop=("\nUser:",))))
    await backend.aclose()
    body = ollama_server.stats.bodies[-1]
    assert body["model"] == "llama3.2"
    assert body["stream"] is True
    assert body["keep_alive"] == "5m"
    assert body["options"] == {"temperature": 0.3, "top_p": 0.9, "num_ctx": 4096,
                               "num_predict": 512, "stop": ["\nUser:"]}
    assert body["messages"] == [{"role": "system", "content": "You are Mira."},
                                {"role": "user", "content": "Hello!"}]


async def test_slow_tokens_each_delta_precedes_the_next_token(
    ollama_server: FakeOllamaServer,
) -> None:
    ollama_server.script = StreamScript(token_delay_s=0.05)
    backend = backend_for(ollama_server.base_url)
    seen_when_received: list[int] = []
    async with aclosing(backend.generate(HELLO)) as stream:
        async for event in stream:
            if isinstance(event, TextDelta):
                seen_when_received.append(ollama_server.stats.tokens_written)
    await backend.aclose()
    # Delta k is handed over while the server has written exactly k tokens (it is sleeping
    # 50 ms before token k+1): nothing is batched.
    assert seen_when_received == [1, 2, 3, 4]


async def test_error_line_mid_stream_is_an_llm_error(ollama_server: FakeOllamaServer) -> None:
    ollama_server.script = StreamScript(error_after=2, error_message="CUDA out of memory")
    backend = backend_for(ollama_server.base_url)
    deltas: list[str] = []
    with pytest.raises(LLMError, match="CUDA out of memory") as info:
        async for event in backend.generate(HELLO):
            if isinstance(event, TextDelta):
                deltas.append(event.text)
    await backend.aclose()
    assert deltas == ["Hello", ","]
    assert info.value.code == "llm_error"


async def test_missing_model_on_chat_is_unavailable_with_pull_hint(
    ollama_server: FakeOllamaServer,
) -> None:
    backend = backend_for(ollama_server.base_url)
    with pytest.raises(LLMUnavailable, match=r"`ollama pull mistral`") as info:
        await collect(backend.generate(request(model="mistral")))
    await backend.aclose()
    assert info.value.code == "llm_unavailable"
    assert "'mistral'" in str(info.value)


async def test_error_status_is_an_llm_error_with_the_servers_words(
    ollama_server: FakeOllamaServer,
) -> None:
    ollama_server.script = StreamScript(status=400, error_message="invalid options: num_ctx")
    backend = backend_for(ollama_server.base_url)
    with pytest.raises(LLMError, match=r"HTTP 400: invalid options: num_ctx"):
        await collect(backend.generate(HELLO))
    await backend.aclose()


async def test_server_not_running_is_unavailable_after_bounded_connect_retries() -> None:
    sleep = RecordingSleep()
    port = closed_port()
    backend = backend_for(f"http://127.0.0.1:{port}", sleep,
                          retry=ConnectRetry(attempts=3, backoff=ExponentialBackoff(0.1, 2, 1)))
    with pytest.raises(LLMUnavailable, match=rf"127\.0\.0\.1:{port}.*`ollama serve`") as info:
        await collect(backend.generate(HELLO))
    await backend.aclose()
    assert "tried 3 time(s)" in str(info.value)
    assert sleep.delays == [0.1, 0.2]


async def test_connect_refused_before_any_token_is_retried_until_the_server_is_up() -> None:
    port = closed_port()
    server = FakeOllamaServer(port=port)

    class StartServerOnFirstRetry(RecordingSleep):
        async def __call__(self, seconds: float) -> None:
            await super().__call__(seconds)
            if len(self.delays) == 1:
                await server.start()

    sleep = StartServerOnFirstRetry()
    backend = backend_for(f"http://127.0.0.1:{port}", sleep)
    try:
        text, _ = await collect(backend.generate(HELLO))
    finally:
        await backend.aclose()
        await server.stop()
    assert text == "Hello, world!"
    assert len(sleep.delays) == 1
    assert server.stats.requests["POST /api/chat"] == 1


@pytest.mark.usefixtures("drain_forever")
async def test_cancelling_the_consuming_task_disconnects_the_server(
    ollama_server: FakeOllamaServer,
) -> None:
    ollama_server.script = StreamScript(tokens=["tok"] * 200, hold_after=1)
    backend = backend_for(ollama_server.base_url)
    received = asyncio.Event()

    async def consume() -> None:
        async with aclosing(backend.generate(HELLO)) as stream:
            async for _ in stream:
                received.set()

    task = asyncio.create_task(consume())
    await received.wait()
    await ollama_server.holding.wait()
    task.cancel()
    # Held and never drained (drain_forever): only closing the connection disconnects it.
    async with asyncio.timeout(30):
        with pytest.raises(asyncio.CancelledError):
            await task
        await ollama_server.disconnected.wait()
    assert ollama_server.stats.disconnects == 1
    assert ollama_server.stats.tokens_written == 1
    await backend.aclose()


async def test_next_chat_works_after_a_failed_one(ollama_server: FakeOllamaServer) -> None:
    ollama_server.queue_script(StreamScript(die_after=1))
    backend = backend_for(ollama_server.base_url)
    with pytest.raises(LLMError):
        await collect(backend.generate(HELLO))
    text, _ = await collect(backend.generate(HELLO))
    await backend.aclose()
    assert text == "Hello, world!"


async def test_silence_between_tokens_is_a_timeout_naming_the_limit(
    ollama_server: FakeOllamaServer,
) -> None:
    ollama_server.script = StreamScript(hold_after=1)
    backend = backend_for(ollama_server.base_url,
                          timeouts=HTTPTimeouts(connect_s=1.0, first_token_s=5.0, silence_s=0.05))
    with pytest.raises(LLMTimeout, match=r"no token for 0\.05s after 1 token.*"
                                         r"GREENROOM_LLM_SILENCE_TIMEOUT") as caught:
        await collect(backend.generate(HELLO))
    assert caught.value.code == "timeout"
    ollama_server.release()
    await backend.aclose()


async def test_check_passes_when_the_model_is_installed_without_tag(
    ollama_server: FakeOllamaServer,
) -> None:
    backend = backend_for(ollama_server.base_url)
    await backend.check()
    await backend.aclose()
    assert ollama_server.stats.requests["GET /api/tags"] == 1


async def test_check_names_the_missing_model_and_the_pull_command() -> None:
    async with FakeOllamaServer(models=["qwen2.5:7b"]) as server:
        backend = backend_for(server.base_url)
        with pytest.raises(LLMUnavailable, match=r"'llama3.2'.*installed: qwen2.5:7b.*"
                                                 r"`ollama pull llama3.2`"):
            await backend.check()
        await backend.aclose()


async def test_check_on_a_closed_port_names_the_url_and_ollama_serve() -> None:
    port = closed_port()
    backend = backend_for(f"http://127.0.0.1:{port}")
    with pytest.raises(LLMUnavailable, match=rf"http://127\.0\.0\.1:{port}/api/tags.*ollama serve"):
        await backend.check()
    await backend.aclose()


async def test_connect_timeout_is_unavailable_naming_the_setting_and_not_retried() -> None:
    sleep = RecordingSleep()
    with unaccepting_port() as port:
        backend = backend_for(f"http://127.0.0.1:{port}", sleep,
                              timeouts=HTTPTimeouts(connect_s=0.2, first_token_s=5.0))
        with pytest.raises(LLMUnavailable,
                           match=r"no connection within 0\.2s, GREENROOM_LLM_CONNECT_TIMEOUT"):
            await collect(backend.generate(HELLO))
        await backend.aclose()
    assert sleep.delays == []
