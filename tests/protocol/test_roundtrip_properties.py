"""Round trips over every message type on both codecs, with values derived from the types."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from protocol.frame_codec import encode_frame, from_worker_decoder, to_worker_decoder
from protocol.json_codec import (
    decode_client_message,
    decode_server_message,
    encode_client_message,
    encode_server_message,
)
from protocol.pipe import FromWorker, ToWorker, WorkerReply, WorkerRequest
from protocol.unions import ClientMessage, ServerMessage
from tests.protocol.strategies import messages_of, struct_strategy, union_members

PROPERTY_SETTINGS = settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _names(union: Any) -> list[str]:
    return [member.cls.__name__ for member in union_members(union)]


def _member(union: Any, name: str) -> Any:
    return next(m for m in union_members(union) if m.cls.__name__ == name)


@pytest.mark.parametrize("name", _names(ClientMessage))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_every_client_message_round_trips_through_json(name: str, data: st.DataObject) -> None:
    message = data.draw(struct_strategy(_member(ClientMessage, name)))
    assert decode_client_message(encode_client_message(message)) == message  # type: ignore[arg-type]


@pytest.mark.parametrize("name", _names(ServerMessage))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_every_server_message_round_trips_through_json(name: str, data: st.DataObject) -> None:
    message = data.draw(struct_strategy(_member(ServerMessage, name)))
    assert decode_server_message(encode_server_message(message)) == message  # type: ignore[arg-type]


@pytest.mark.parametrize("name", _names(ToWorker))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_every_frame_to_a_worker_round_trips_through_msgpack(
    name: str, data: st.DataObject
) -> None:
    frame = data.draw(struct_strategy(_member(ToWorker, name)))
    assert to_worker_decoder().feed(encode_frame(frame)) == [frame]  # type: ignore[arg-type]


@pytest.mark.parametrize("name", _names(FromWorker))
@PROPERTY_SETTINGS
@given(data=st.data())
def test_every_frame_from_a_worker_round_trips_through_msgpack(
    name: str, data: st.DataObject
) -> None:
    frame = data.draw(struct_strategy(_member(FromWorker, name)))
    assert from_worker_decoder().feed(encode_frame(frame)) == [frame]  # type: ignore[arg-type]


@settings(max_examples=150, deadline=None)
@given(message=messages_of(ClientMessage))
def test_client_messages_cross_the_pipe_inside_a_worker_request(message: Any) -> None:
    frame = WorkerRequest(session_id="s-1", request_id=7, user="ada", message=message)
    assert to_worker_decoder().feed(encode_frame(frame)) == [frame]


@settings(max_examples=150, deadline=None)
@given(message=messages_of(ServerMessage))
def test_server_messages_cross_the_pipe_inside_a_worker_reply(message: Any) -> None:
    frame = WorkerReply(request_id=7, message=message, final=False)
    assert from_worker_decoder().feed(encode_frame(frame)) == [frame]


@settings(max_examples=60, deadline=None)
@given(frames=st.lists(messages_of(FromWorker), min_size=1, max_size=6), data=st.data())
def test_a_stream_of_frames_decodes_identically_however_it_is_chunked(
    frames: list[msgspec.Struct], data: st.DataObject
) -> None:
    stream = b"".join(encode_frame(frame) for frame in frames)  # type: ignore[arg-type]
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=8)))
    decoder = from_worker_decoder()
    decoded: list[Any] = []
    start = 0
    for cut in [*cuts, len(stream)]:
        decoded.extend(decoder.feed(stream[start:cut]))
        start = cut
    decoder.eof()
    assert decoded == frames
