"""The SSE decoder, line by line (pure)."""

from __future__ import annotations

from worker.backends.sse import SSEDecoder, SSEEvent


def feed(lines: list[str]) -> list[SSEEvent]:
    decoder = SSEDecoder()
    events = [e for line in lines if (e := decoder.feed_line(line)) is not None]
    last = decoder.finish()
    return [*events, last] if last is not None else events


def test_a_blank_line_dispatches_the_data() -> None:
    assert feed(["data: {\"a\": 1}", ""]) == [SSEEvent('{"a": 1}')]


def test_comments_are_skipped() -> None:
    assert feed([": keep-alive", "", "data: x", ""]) == [SSEEvent("x")]


def test_multi_line_data_is_joined_with_newlines() -> None:
    assert feed(["data: one", "data: two", ""]) == [SSEEvent("one\ntwo")]


def test_only_one_leading_space_is_removed() -> None:
    assert feed(["data:  two spaces", "data:none", ""]) == [SSEEvent(" two spaces\nnone")]


def test_event_and_id_fields_are_kept() -> None:
    assert feed(["event: ping", "id: 7", "data: x", ""]) == [SSEEvent("x", "ping", "7")]


def test_an_event_without_data_is_not_dispatched() -> None:
    assert feed(["event: ping", "", "retry: 100", ""]) == []


def test_llama_cpp_error_field_becomes_an_error_event() -> None:
    assert feed(['error: {"message": "boom"}', ""]) == [
        SSEEvent('{"message": "boom"}', "error")]


def test_a_pending_event_is_flushed_at_the_end_of_the_stream() -> None:
    assert feed(["data: [DONE]"]) == [SSEEvent("[DONE]")]


def test_a_byte_order_mark_on_the_first_line_is_ignored() -> None:
    assert feed(["\ufeffdata: x", ""]) == [SSEEvent("x")]
