"""Pure request building and chunk decoding for both wire formats."""

from __future__ import annotations

import pytest

from worker.backends.backoff import ConnectRetry, ExponentialBackoff
from worker.backends.base import ChatMessage, GenerationDone, GenerationOptions, LLMError, TextDelta
from worker.backends.ollama_wire import chat_payload as ollama_payload
from worker.backends.ollama_wire import decode_chat_line, installed_models, model_tag_matches
from worker.backends.openai_wire import ChatStreamDecoder, model_ids
from worker.backends.options import merge_options
from worker.backends.sse import SSEEvent

MESSAGES = [ChatMessage("user", "hi")]


def test_ollama_payload_omits_unset_options_but_keeps_num_ctx() -> None:
    payload = ollama_payload(MESSAGES, GenerationOptions(model="m", num_ctx=4096))
    assert payload == {"model": "m", "messages": [{"role": "user", "content": "hi"}],
                       "stream": True, "options": {"num_ctx": 4096}}


def test_ollama_payload_needs_a_model() -> None:
    with pytest.raises(ValueError, match="model"):
        ollama_payload(MESSAGES, GenerationOptions())


def test_ollama_content_line_is_a_delta() -> None:
    line = '{"model":"m","message":{"role":"assistant","content":"Hi"},"done":false}'
    assert decode_chat_line(line, requested_model="m") == TextDelta("Hi")


def test_ollama_empty_content_line_is_nothing() -> None:
    line = '{"message":{"role":"assistant","content":"","thinking":"hmm"},"done":false}'
    assert decode_chat_line(line, requested_model="m") is None


def test_ollama_done_line_without_usage_still_finishes() -> None:
    done = decode_chat_line('{"done":true}', requested_model="m")
    assert isinstance(done, GenerationDone)
    assert (done.model, done.finish_reason, done.tokens_per_s) == ("m", "stop", None)


def test_ollama_error_line_raises() -> None:
    with pytest.raises(LLMError, match="out of memory"):
        decode_chat_line('{"error":"out of memory"}', requested_model="m")


def test_ollama_garbage_line_raises() -> None:
    with pytest.raises(LLMError, match="not JSON"):
        decode_chat_line("<html>", requested_model="m")


@pytest.mark.parametrize(("wanted", "available", "match"), [
    ("llama3.2", "llama3.2:latest", True),
    ("llama3.2:latest", "llama3.2", True),
    ("llama3.2:1b", "llama3.2:latest", False),
    ("llama3.2", "llama3.2:1b", False),
    ("localhost:5000/m", "localhost:5000/m:latest", True),
])
def test_ollama_model_tags_match_with_and_without_latest(
    wanted: str, available: str, match: bool,
) -> None:
    assert model_tag_matches(wanted, available) is match


def test_installed_models_rejects_a_body_without_a_list() -> None:
    with pytest.raises(LLMError):
        installed_models({"oops": 1})


def test_openai_decoder_collects_finish_and_usage_from_one_chunk() -> None:
    decoder = ChatStreamDecoder("requested")
    chunk = ('{"model":"served","choices":[{"index":0,"delta":{"content":"ok"},'
             '"finish_reason":"length"}],"usage":{"prompt_tokens":3,"completion_tokens":1},'
             '"timings":{"predicted_per_second":42.5}}')
    assert decoder.feed(SSEEvent(chunk)) == TextDelta("ok")
    done = decoder.done(duration_s=1.0, generation_s=0.5, counted_tokens=1)
    assert (done.model, done.finish_reason, done.prompt_tokens) == ("served", "length", 3)
    assert done.tokens_per_s == 42.5


def test_openai_decoder_computes_tokens_per_second_when_the_server_does_not() -> None:
    decoder = ChatStreamDecoder("m")
    decoder.feed(SSEEvent('{"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":10}}'))
    assert decoder.done(duration_s=3.0, generation_s=2.0, counted_tokens=10).tokens_per_s == 5.0


def test_openai_decoder_raises_on_error_data() -> None:
    with pytest.raises(LLMError, match="overloaded"):
        ChatStreamDecoder("m").feed(SSEEvent('{"error":{"message":"overloaded"}}'))


def test_a_bare_done_marker_ends_the_stream_but_does_not_complete_the_reply() -> None:
    decoder = ChatStreamDecoder("m")
    assert decoder.feed(SSEEvent("[DONE]")) is None
    assert decoder.saw_done_marker and not decoder.complete


def test_without_usage_the_decoder_reports_counted_tokens_marked_as_counted() -> None:
    decoder = ChatStreamDecoder("m")
    decoder.feed(SSEEvent('{"choices":[{"delta":{},"finish_reason":"stop"}]}'))
    done = decoder.done(duration_s=1.0, generation_s=0.5, counted_tokens=4)
    assert (done.completion_tokens, done.usage_source, done.tokens_per_s) == (4, "counted", 8.0)


def test_reported_usage_is_marked_as_reported() -> None:
    decoder = ChatStreamDecoder("m")
    decoder.feed(SSEEvent('{"choices":[],"usage":{"prompt_tokens":2,"completion_tokens":10}}'))
    done = decoder.done(duration_s=1.0, generation_s=None, counted_tokens=3)
    assert (done.completion_tokens, done.usage_source) == (10, "reported")


def test_model_ids_of_a_non_listing_is_none() -> None:
    assert model_ids(["x"]) is None
    assert model_ids({"data": [{"id": "a"}, {"name": "b"}]}) == ["a"]


def test_merge_keeps_base_values_the_top_leaves_unset() -> None:
    base = GenerationOptions(model="a", temperature=0.8, stop=("x",), keep_alive="5m")
    top = GenerationOptions(temperature=0.1)
    assert merge_options(base, top) == GenerationOptions(model="a", temperature=0.1,
                                                         stop=("x",), keep_alive="5m")


def test_backoff_grows_and_caps() -> None:
    backoff = ExponentialBackoff(initial_s=0.1, factor=3.0, max_s=0.5)
    assert [backoff.delay_s(n) for n in range(5)] == [0.0, 0.1, pytest.approx(0.3), 0.5, 0.5]
    assert backoff.delay_s(10_000) == 0.5


def test_invalid_retry_settings_are_refused() -> None:
    with pytest.raises(ValueError):
        ConnectRetry(attempts=0)
    with pytest.raises(ValueError):
        ExponentialBackoff(factor=0.5)
