"""What real llama.cpp servers (llama-server, llama-cpp-python's server) and Ollama do that a
tidy fake would not, reproduced by the suite's fake servers: streams cut off without a
finish reason, requests that interrupt a running reply, long silences, context-overflow error
bodies, no usage figures, one vector per token, a server that goes away and comes back."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.backends.conftest import RecordingSleep
from tests.backends.fake_llm_servers import (
    LLAMA_CPP_OVERFLOW,
    LLAMA_CPP_PYTHON_OVERFLOW,
    FakeOllamaServer,
    FakeOpenAIServer,
    StreamScript,
)
from tests.backends.helpers import HELLO, collect
from tests.support.ports import closed_port
from worker.backends.availability import AvailabilityGate, GuardedBackend
from worker.backends.base import (
    ContextOverflow,
    GenerationOptions,
    LLMError,
    LLMIncomplete,
    LLMTimeout,
    LLMUnavailable,
    TextDelta,
)
from worker.backends.embeddings import NonInterruptingEmbedder, OpenAIEmbedder
from worker.backends.http_transport import HTTPTimeouts
from worker.backends.ollama import OllamaBackend
from worker.backends.openai import OpenAIBackend
from worker.backends.server_claims import ServerClaims

OPENAI_DEFAULTS = GenerationOptions(model="local-model", max_tokens=64)
OLLAMA_DEFAULTS = GenerationOptions(model="llama3.2", max_tokens=64)


def openai_backend(url: str, **kwargs: object) -> OpenAIBackend:
    kwargs.setdefault("sleep", RecordingSleep())
    return OpenAIBackend(url, OPENAI_DEFAULTS, **kwargs)  # type: ignore[arg-type]


def ollama_backend(url: str, **kwargs: object) -> OllamaBackend:
    kwargs.setdefault("sleep", RecordingSleep())
    return OllamaBackend(url, OLLAMA_DEFAULTS, **kwargs)  # type: ignore[arg-type]


# -- cut-off replies ---------------------------------------------------------------------


async def test_a_bare_done_without_finish_reason_is_llm_incomplete() -> None:
    async with FakeOpenAIServer(script=StreamScript(tokens=("The", " only"),
                                                    finish_reason=None)) as server:
        backend = openai_backend(server.base_url)
        with pytest.raises(LLMIncomplete, match=r"ended \(\[DONE\]\) after 2 token\(s\) without"
                                                r" a finish_reason.*--interrupt_requests false"
                           ) as caught:
            await collect(backend.generate(HELLO))
        await backend.aclose()
    assert caught.value.code == "llm_incomplete"
    assert caught.value.details == {"tokens": 2}


async def test_end_of_body_without_finish_reason_or_done_is_llm_incomplete() -> None:
    script = StreamScript(tokens=("Half",), finish_reason=None, send_done_marker=False)
    async with FakeOpenAIServer(script=script) as server:
        backend = openai_backend(server.base_url)
        with pytest.raises(LLMIncomplete,
                           match=r"ended \(the end of the response body\) after 1 token"):
            await collect(backend.generate(HELLO))
        await backend.aclose()


async def test_an_ollama_stream_without_done_true_is_llm_incomplete() -> None:
    script = StreamScript(tokens=("Half", " a"), finish_reason=None)
    async with FakeOllamaServer(script=script) as server:
        backend = ollama_backend(server.base_url)
        with pytest.raises(LLMIncomplete, match=r"after 2 token\(s\) without its final"
                                                r" `done: true` line"):
            await collect(backend.generate(HELLO))
        await backend.aclose()


async def test_an_interrupting_server_cuts_a_reply_that_another_request_arrives_during() -> None:
    """The fake reproduces llama-cpp-python: a request to /v1/* ends the running stream."""
    async with FakeOpenAIServer(interrupt_requests=True,
                                script=StreamScript(tokens=("a", "b", "c"), hold_after=1)
                                ) as server:
        backend = openai_backend(server.base_url)
        stream = backend.generate(HELLO)
        assert await anext(stream) == TextDelta("a")
        await server.holding.wait()
        other = openai_backend(server.base_url)
        await other._check_models()  # GET /v1/models, as greenroom's old health check did
        with pytest.raises(LLMIncomplete):
            async for _ in stream:
                pass
        await asyncio.gather(backend.aclose(), other.aclose())
    assert server.interrupted == 1


async def test_the_health_check_never_interrupts_a_running_reply_on_llama_cpp_python() -> None:
    async with FakeOpenAIServer(interrupt_requests=True, serve_health=False,
                                script=StreamScript(tokens=("a", "b", "c"), hold_after=1)
                                ) as server:
        backend = openai_backend(server.base_url)
        stream = backend.generate(HELLO)
        await anext(stream)
        await server.holding.wait()
        prober = openai_backend(server.base_url)
        await prober.check()  # another character's worker starting up
        server.release()
        text = "a" + "".join([e.text async for e in stream if isinstance(e, TextDelta)])
        await asyncio.gather(backend.aclose(), prober.aclose())
    assert text == "abc"
    assert server.interrupted == 0
    assert server.stats.requests["GET /health"] == 1
    assert server.stats.requests["GET /v1/models"] == 0


async def test_a_server_with_health_is_asked_for_its_models_too() -> None:
    async with FakeOpenAIServer(models=["a", "b"]) as server:
        backend = openai_backend(server.base_url)
        with pytest.raises(LLMUnavailable, match="does not list the model 'local-model'"):
            await backend.check()
        await backend.aclose()
    assert server.stats.requests["GET /health"] == 1


async def test_llama_server_still_loading_its_model_is_unavailable() -> None:
    async with FakeOpenAIServer(health_status=503) as server:
        backend = openai_backend(server.base_url)
        with pytest.raises(LLMUnavailable, match=r"HTTP 503 on /health.*loading the model"):
            await backend.check()
        await backend.aclose()


# -- timeouts on silence -----------------------------------------------------------------


async def test_no_first_token_within_the_first_token_limit_is_a_timeout_naming_it() -> None:
    async with FakeOpenAIServer(script=StreamScript(hold_after=0)) as server:
        backend = openai_backend(server.base_url, timeouts=HTTPTimeouts(
            connect_s=1.0, first_token_s=0.1, silence_s=30.0))
        with pytest.raises(LLMTimeout, match=r"sent no token within 0\.1s.*"
                                             r"GREENROOM_LLM_FIRST_TOKEN_TIMEOUT") as caught:
            await collect(backend.generate(HELLO))
        server.release()
        await backend.aclose()
    assert caught.value.code == "timeout"
    assert caught.value.details == {"limit": "first_token", "limit_s": 0.1}


async def test_a_long_first_token_wait_is_fine_when_tokens_then_flow_within_the_silence_limit(
) -> None:
    """The first-token limit is longer than the silence limit: a prompt read for longer than
    the silence limit must not fail, and the tokens after it are held to the silence limit."""
    script = StreamScript(tokens=("a", "b"), hold_after=0)
    async with FakeOpenAIServer(script=script) as server:
        backend = openai_backend(server.base_url, timeouts=HTTPTimeouts(
            connect_s=1.0, first_token_s=30.0, silence_s=0.05))
        stream = backend.generate(HELLO)
        first = asyncio.ensure_future(anext(stream))
        await server.holding.wait()
        await asyncio.sleep(0.1)  # longer than the silence limit, before the first token
        server.release()
        assert await first == TextDelta("a")
        text, done = await collect(stream)
        await backend.aclose()
    assert (text, done.finish_reason) == ("b", "stop")


# -- context overflow --------------------------------------------------------------------


@pytest.mark.parametrize("body", [LLAMA_CPP_OVERFLOW, LLAMA_CPP_PYTHON_OVERFLOW],
                         ids=["llama-server", "llama-cpp-python"])
async def test_a_context_overflow_is_context_overflow_with_the_sizes(body: object) -> None:
    async with FakeOpenAIServer(script=StreamScript(status=400, error_body=body)) as server:
        backend = openai_backend(server.base_url)
        with pytest.raises(ContextOverflow, match=r"\(1131 tokens, the window holds 1024\).*"
                                                  r"--n_ctx") as caught:
            await collect(backend.generate(HELLO))
        await backend.aclose()
    assert caught.value.code == "context_overflow"
    assert caught.value.details == {"prompt_tokens": 1131, "context_tokens": 1024}
    assert "0 token(s)" not in str(caught.value)


async def test_a_stream_closed_silently_before_any_token_is_checked_for_an_overflow() -> None:
    """llama-cpp-python streams 200, then fails an over-long prompt inside the stream and
    closes it without a word; asked once more without streaming, it says why."""
    silent = StreamScript(tokens=(), finish_reason=None, send_done_marker=False)
    async with FakeOpenAIServer() as server:
        server.queue_script(silent)
        server.queue_script(StreamScript(status=400, error_body=LLAMA_CPP_PYTHON_OVERFLOW))
        backend = openai_backend(server.base_url)
        with pytest.raises(ContextOverflow) as caught:
            await collect(backend.generate(HELLO))
        await backend.aclose()
    assert caught.value.details == {"prompt_tokens": 1131, "context_tokens": 1024}
    probe = server.stats.bodies[-1]
    assert probe["stream"] is False and probe["max_tokens"] == 1


async def test_the_overflow_question_is_asked_again_when_the_failed_streams_connection_drops(
        ) -> None:
    """llama-cpp-python also closes the kept-alive connection of the failed stream when the
    next request arrives on it (httpx: "Server disconnected without sending a response"):
    the question goes once more, on a fresh connection."""
    silent = StreamScript(tokens=(), finish_reason=None, send_done_marker=False,
                          then_drop_connection=True)
    async with FakeOpenAIServer() as server:
        server.queue_script(silent)
        server.queue_script(StreamScript(status=400, error_body=LLAMA_CPP_PYTHON_OVERFLOW))
        backend = openai_backend(server.base_url)
        with pytest.raises(ContextOverflow):
            await collect(backend.generate(HELLO))
        await backend.aclose()
    assert server.stats.dropped_requests == 1
    assert server.stats.bodies[-1]["stream"] is False


async def test_an_interrupted_stream_ending_in_done_is_never_asked_again() -> None:
    """A bare ``[DONE]`` is how the server ends a reply another request interrupted:
    asking again would interrupt that request in turn."""
    async with FakeOpenAIServer() as server:
        server.queue_script(StreamScript(tokens=(), finish_reason=None))
        backend = openai_backend(server.base_url)
        with pytest.raises(LLMIncomplete):
            await collect(backend.generate(HELLO))
        await backend.aclose()
    assert server.stats.requests["POST /v1/chat/completions"] == 1


async def test_a_context_overflow_reported_mid_stream_is_context_overflow() -> None:
    script = StreamScript(error_after=0,
                          error_message="Requested tokens (1131) exceed context window of 1024")
    async with FakeOpenAIServer(script=script) as server:
        backend = openai_backend(server.base_url)
        with pytest.raises(ContextOverflow) as caught:
            await collect(backend.generate(HELLO))
        await backend.aclose()
    assert caught.value.details == {"prompt_tokens": 1131, "context_tokens": 1024}


async def test_ollamas_context_error_is_context_overflow_without_sizes() -> None:
    script = StreamScript(status=400, error_message="the input length exceeds the context length")
    async with FakeOllamaServer(script=script) as server:
        backend = ollama_backend(server.base_url)
        with pytest.raises(ContextOverflow, match="GREENROOM_LLM_NUM_CTX") as caught:
            await collect(backend.generate(HELLO))
        await backend.aclose()
    assert caught.value.details == {}


# -- usage -------------------------------------------------------------------------------


async def test_without_usage_from_the_server_the_streamed_tokens_are_counted() -> None:
    async with FakeOpenAIServer(script=StreamScript(send_usage=False)) as server:
        backend = openai_backend(server.base_url)
        _, done = await collect(backend.generate(HELLO))
        await backend.aclose()
    assert (done.completion_tokens, done.usage_source) == (4, "counted")


async def test_usage_the_server_reports_is_marked_reported() -> None:
    async with FakeOpenAIServer() as server:
        backend = openai_backend(server.base_url)
        _, done = await collect(backend.generate(HELLO))
        await backend.aclose()
    assert (done.completion_tokens, done.usage_source) == (4, "reported")


# -- recovery ----------------------------------------------------------------------------


async def test_a_background_probe_lets_chats_through_as_soon_as_the_server_is_back(
        tmp_path: Path) -> None:
    port = closed_port()
    clock = [0.0]
    url = f"http://127.0.0.1:{port}/v1"
    backend = GuardedBackend(openai_backend(url), AvailabilityGate(lambda: clock[0]),
                             claims=ServerClaims(tmp_path, url), probe_interval_s=0.01)
    with pytest.raises(LLMUnavailable, match="cannot reach"):
        await collect(backend.generate(HELLO))
    with pytest.raises(LLMUnavailable, match="probes the LLM server in the background"):
        await collect(backend.generate(HELLO))  # refused within the backoff (clock frozen)
    async with FakeOpenAIServer(port=port) as server:
        async with asyncio.timeout(10):
            await backend.wait_available()
        text, _ = await collect(backend.generate(HELLO))  # the clock never moved
        await backend.aclose()
    assert text == "Hello, world!"
    assert server.stats.requests["GET /health"] >= 1


# -- embeddings --------------------------------------------------------------------------


async def test_one_vector_per_token_is_an_error_saying_how_to_pool() -> None:
    async with FakeOpenAIServer(per_token_embeddings=True, models=["embed"]) as server:
        embedder = OpenAIEmbedder(server.base_url, "embed")
        with pytest.raises(LLMError, match=rf"{server.base_url}.*one vector per token.*"
                                           r"--pooling mean.*pooling_type=1"):
            await embedder.embed(["two words", "and three words"])
        await embedder.aclose()


async def test_no_embeddings_are_asked_of_the_chat_server_while_it_streams_a_reply(
        tmp_path: Path) -> None:
    async with FakeOpenAIServer(interrupt_requests=True, models=["local-model"],
                                script=StreamScript(tokens=("a", "b"), hold_after=1)
                                ) as server:
        chat = GuardedBackend(openai_backend(server.base_url), AvailabilityGate(lambda: 0.0),
                              claims=ServerClaims(tmp_path, server.base_url))
        embedder = NonInterruptingEmbedder(OpenAIEmbedder(server.base_url, "local-model"), chat)
        stream = chat.generate(HELLO)
        await anext(stream)
        await server.holding.wait()
        with pytest.raises(LLMUnavailable, match="GREENROOM_EMBEDDING_BASE_URL"):
            await embedder.embed(["hello"])
        server.release()
        text, _ = await collect(stream)
        vectors = await embedder.embed(["hello"])  # the reply is over: asked normally
        await asyncio.gather(chat.aclose(), embedder.aclose())
    assert text == "b"
    assert server.interrupted == 0
    assert server.stats.requests["POST /v1/embeddings"] == 1 and len(vectors) == 1


async def test_the_unreachable_hint_names_the_configured_port() -> None:
    port = closed_port()
    backend = openai_backend(f"http://127.0.0.1:{port}/v1")
    with pytest.raises(LLMUnavailable, match=rf"--port {port}`") as caught:
        await backend.check()
    await backend.aclose()
    assert "8080" not in str(caught.value)
