"""OpenAIBackend against a real HTTP server speaking the chat-completions SSE stream."""

from __future__ import annotations

import pytest

from tests.backends.conftest import RecordingSleep
from tests.backends.fake_llm_servers import FakeOpenAIServer, StreamScript
from tests.backends.helpers import HELLO, collect, request
from tests.support.ports import closed_port
from worker.backends.backoff import ConnectRetry, ExponentialBackoff
from worker.backends.base import GenerationOptions, LLMError, LLMUnavailable
from worker.backends.openai import OpenAIBackend

DEFAULTS = GenerationOptions(model="local-model", temperature=0.8, num_ctx=4096,
                             max_tokens=256, keep_alive="5m")


def backend_for(url: str, **kwargs: object) -> OpenAIBackend:
    kwargs.setdefault("sleep", RecordingSleep())
    return OpenAIBackend(url, DEFAULTS, **kwargs)  # type: ignore[arg-type]


async def test_streams_the_reply_skipping_comments_and_reports_usage(
    openai_server: FakeOpenAIServer,
) -> None:
    backend = backend_for(openai_server.base_url)
    text, done = await collect(backend.generate(HELLO))
    await backend.aclose()
    assert text == "Hello, world!"
    assert done.backend == "openai"
    assert done.model == "local-model"
    assert done.finish_reason == "stop"
    assert (done.prompt_tokens, done.completion_tokens) == (7, 4)
    assert done.duration_s is not None and done.duration_s > 0


async def test_sends_stream_options_sampling_and_no_ollama_only_fields(
    openai_server: FakeOpenAIServer,
) -> None:
    backend = backend_for(openai_server.base_url)
    await collect(backend.generate(request(top_p=0.5, stop=("###",))))
    await backend.aclose()
    body = openai_server.stats.bodies[-1]
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    assert (body["model"], body["temperature"], body["top_p"]) == ("local-model", 0.8, 0.5)
    assert (body["max_tokens"], body["stop"]) == (256, ["###"])
    assert "num_ctx" not in body and "keep_alive" not in body


async def test_multi_line_data_events_are_joined(openai_server: FakeOpenAIServer) -> None:
    openai_server.script = StreamScript(split_data_lines=True)
    backend = backend_for(openai_server.base_url)
    text, _ = await collect(backend.generate(HELLO))
    await backend.aclose()
    assert text == "Hello, world!"


async def test_stream_without_done_marker_still_finishes(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.script = StreamScript(send_done_marker=False)
    backend = backend_for(openai_server.base_url)
    text, done = await collect(backend.generate(HELLO))
    await backend.aclose()
    assert (text, done.finish_reason) == ("Hello, world!", "stop")


async def test_api_key_is_sent_as_bearer() -> None:
    async with FakeOpenAIServer(api_key="sk-test") as server:
        backend = backend_for(server.base_url, api_key="sk-test")
        text, _ = await collect(backend.generate(HELLO))
        await backend.check()
        await backend.aclose()
    assert text == "Hello, world!"
    assert server.stats.headers[0]["authorization"] == "Bearer sk-test"


async def test_wrong_api_key_is_unavailable_naming_the_variable() -> None:
    async with FakeOpenAIServer(api_key="sk-right") as server:
        backend = backend_for(server.base_url, api_key="sk-wrong")
        with pytest.raises(LLMUnavailable, match=r"HTTP 401.*OPENAI_API_KEY"):
            await collect(backend.generate(HELLO))
        with pytest.raises(LLMUnavailable, match="OPENAI_API_KEY"):
            await backend.check()
        await backend.aclose()


async def test_error_event_mid_stream_is_an_llm_error(openai_server: FakeOpenAIServer) -> None:
    openai_server.script = StreamScript(error_after=1, error_message="context overflow")
    backend = backend_for(openai_server.base_url)
    with pytest.raises(LLMError, match="context overflow"):
        await collect(backend.generate(HELLO))
    await backend.aclose()


async def test_llama_cpp_error_field_mid_stream_is_an_llm_error(
    openai_server: FakeOpenAIServer,
) -> None:
    openai_server.script = StreamScript(error_after=1, error_message="slot unavailable",
                                        error_style="field")
    backend = backend_for(openai_server.base_url)
    with pytest.raises(LLMError, match="slot unavailable"):
        await collect(backend.generate(HELLO))
    await backend.aclose()


async def test_unknown_model_is_unavailable_naming_it(openai_server: FakeOpenAIServer) -> None:
    backend = backend_for(openai_server.base_url)
    with pytest.raises(LLMUnavailable, match=r"does not serve the model 'gpt-9'"):
        await collect(backend.generate(request(model="gpt-9")))
    await backend.aclose()


async def test_base_url_without_v1_is_unavailable_with_a_hint(
    openai_server: FakeOpenAIServer,
) -> None:
    backend = backend_for(openai_server.root_url)
    with pytest.raises(LLMUnavailable, match=r"usually ending in /v1"):
        await collect(backend.generate(HELLO))
    await backend.aclose()


async def test_server_not_running_is_unavailable_after_bounded_retries() -> None:
    sleep = RecordingSleep()
    port = closed_port()
    backend = backend_for(f"http://127.0.0.1:{port}/v1", sleep=sleep,
                          retry=ConnectRetry(attempts=2, backoff=ExponentialBackoff(0.25, 2, 1)))
    with pytest.raises(LLMUnavailable, match=rf"127\.0\.0\.1:{port}.*llama-server"):
        await collect(backend.generate(HELLO))
    await backend.aclose()
    assert sleep.delays == [0.25]


async def test_check_passes_on_a_server_without_a_models_route() -> None:
    async with FakeOpenAIServer(serve_models=False) as server:
        backend = backend_for(server.base_url)
        await backend.check()
        await backend.aclose()
    assert server.stats.requests["GET /v1/models"] == 1


async def test_check_passes_on_a_single_model_server_whatever_its_id() -> None:
    async with FakeOpenAIServer(models=["/models/mistral-7b.gguf"]) as server:
        backend = backend_for(server.base_url)
        await backend.check()
        await backend.aclose()


async def test_check_fails_when_several_models_are_served_but_not_ours() -> None:
    async with FakeOpenAIServer(models=["a", "b"]) as server:
        backend = backend_for(server.base_url)
        with pytest.raises(LLMUnavailable, match=r"'local-model' \(it serves: a, b\)"):
            await backend.check()
        await backend.aclose()


async def test_check_on_a_closed_port_is_unavailable() -> None:
    backend = backend_for(f"http://127.0.0.1:{closed_port()}/v1")
    with pytest.raises(LLMUnavailable, match="OPENAI_BASE_URL"):
        await backend.check()
    await backend.aclose()
