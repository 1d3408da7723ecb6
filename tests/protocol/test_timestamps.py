"""Timestamps are real times taken when a message is built or decoded, never at import."""

from __future__ import annotations

from datetime import UTC, datetime

from protocol.chat import ChatRequest
from protocol.json_codec import decode_client_message
from protocol.session import PingResponse


def _parse(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp)


def test_a_built_message_is_stamped_with_the_current_utc_time() -> None:
    before = datetime.now(UTC)
    message = ChatRequest(user_message="hi")
    after = datetime.now(UTC)
    stamp = _parse(message.timestamp)
    assert stamp.utcoffset() is not None and stamp.utcoffset().total_seconds() == 0  # type: ignore[union-attr]
    assert before <= stamp <= after


def test_two_messages_built_in_sequence_have_non_decreasing_distinct_stamps() -> None:
    first = PingResponse()
    second = PingResponse()
    assert _parse(first.timestamp) <= _parse(second.timestamp)
    assert first.timestamp is not second.timestamp


def test_server_time_is_the_current_time() -> None:
    before = datetime.now(UTC)
    response = PingResponse()
    assert before <= _parse(response.server_time) <= datetime.now(UTC)


def test_a_frame_without_a_timestamp_is_stamped_when_decoded() -> None:
    before = datetime.now(UTC)
    message = decode_client_message('{"message_type": "ping_request"}')
    assert before <= _parse(message.timestamp) <= datetime.now(UTC)


def test_an_explicit_timestamp_pins_the_message_time() -> None:
    assert ChatRequest(user_message="x", timestamp="2024-01-01T00:00:00+00:00").timestamp == (
        "2024-01-01T00:00:00+00:00"
    )
