"""The sans-I/O pipe decoder: any chunking, several frames per chunk, and hard failures."""

from __future__ import annotations

import pytest

from protocol.chat import ChatDelta, ChatResponse
from protocol.errors import ErrorCode, ProtocolError
from protocol.events import VitalsEvent
from protocol.frame_codec import encode_frame, from_worker_decoder, to_worker_decoder
from protocol.json_codec import decode_client_message
from protocol.nesting import MAX_NESTING_DEPTH, PIPE_MAX_NESTING_DEPTH
from protocol.pipe import (
    FromWorker,
    Heartbeat,
    HeartbeatAck,
    LogRecord,
    Ready,
    Shutdown,
    WorkerEvent,
    WorkerReply,
    WorkerRequest,
)

FRAMES: list[FromWorker] = [
    Ready(pid=4242, character_id="m-playful", generation=3, engine="scripted"),
    WorkerReply(
        request_id=1, message=ChatDelta(message_id="c-1", delta="Hel", index=0), final=False
    ),
    WorkerReply(request_id=1, message=ChatResponse(message_id="c-1", response_text="Hello")),
    WorkerEvent(message=VitalsEvent(character_id="m-playful", vitals={"dopamine": 61.5})),
    LogRecord(record={"event": "turn committed", "level": "info", "turn": 12}),
    HeartbeatAck(seq=99),
]
STREAM = b"".join(encode_frame(frame) for frame in FRAMES)


def test_several_frames_in_one_chunk_all_decode_in_order() -> None:
    decoder = from_worker_decoder()
    assert decoder.feed(STREAM) == FRAMES
    assert decoder.pending_bytes == 0


def test_a_stream_split_at_any_byte_boundary_decodes_the_same() -> None:
    for cut in range(len(STREAM) + 1):
        decoder = from_worker_decoder()
        assert decoder.feed(STREAM[:cut]) + decoder.feed(STREAM[cut:]) == FRAMES, f"cut at {cut}"
        decoder.eof()


def test_a_stream_fed_one_byte_at_a_time_decodes_the_same() -> None:
    decoder = from_worker_decoder()
    decoded = [frame for i in range(len(STREAM)) for frame in decoder.feed(STREAM[i : i + 1])]
    assert decoded == FRAMES


def test_the_length_prefix_is_four_bytes_big_endian() -> None:
    encoded = encode_frame(Heartbeat(seq=1))
    assert int.from_bytes(encoded[:4], "big") == len(encoded) - 4


def test_a_length_prefix_over_the_limit_is_payload_too_large() -> None:
    decoder = to_worker_decoder(max_frame_bytes=1024)
    with pytest.raises(ProtocolError) as caught:
        decoder.feed((1025).to_bytes(4, "big"))
    assert caught.value.code is ErrorCode.PAYLOAD_TOO_LARGE


def test_encoding_a_frame_over_the_limit_is_payload_too_large() -> None:
    with pytest.raises(ProtocolError) as caught:
        encode_frame(LogRecord(record={"blob": "x" * 2000}), max_frame_bytes=1024)
    assert caught.value.code is ErrorCode.PAYLOAD_TOO_LARGE


def test_a_body_that_is_not_msgpack_is_bad_frame() -> None:
    decoder = to_worker_decoder()
    with pytest.raises(ProtocolError) as caught:
        decoder.feed((3).to_bytes(4, "big") + b"\xc1\xc1\xc1")
    assert caught.value.code is ErrorCode.BAD_FRAME


def test_a_frame_meant_for_the_other_direction_is_bad_frame() -> None:
    with pytest.raises(ProtocolError) as caught:
        to_worker_decoder().feed(encode_frame(HeartbeatAck(seq=1)))
    assert caught.value.code is ErrorCode.BAD_FRAME


def test_good_frames_before_a_bad_one_are_returned_and_the_error_follows() -> None:
    decoder = to_worker_decoder()
    good = encode_frame(Heartbeat(seq=5))
    assert decoder.feed(good + (1).to_bytes(4, "big") + b"\xc1") == [Heartbeat(seq=5)]
    with pytest.raises(ProtocolError):
        decoder.feed(b"")


def test_a_failed_decoder_stays_failed() -> None:
    decoder = to_worker_decoder()
    with pytest.raises(ProtocolError):
        decoder.feed((1).to_bytes(4, "big") + b"\xc1")
    with pytest.raises(ProtocolError):
        decoder.feed(encode_frame(Shutdown(grace_s=1.0)))
    with pytest.raises(ProtocolError):
        decoder.eof()


def test_eof_in_the_middle_of_a_frame_is_bad_frame() -> None:
    decoder = from_worker_decoder()
    decoder.feed(STREAM[:-1])
    with pytest.raises(ProtocolError) as caught:
        decoder.eof()
    assert caught.value.code is ErrorCode.BAD_FRAME


def test_eof_between_frames_is_clean() -> None:
    decoder = from_worker_decoder()
    decoder.feed(STREAM)
    decoder.eof()


def test_an_unencodable_log_record_raises_bad_frame() -> None:
    with pytest.raises(ProtocolError) as caught:
        encode_frame(LogRecord(record={"huge": 2**70}))
    assert caught.value.code is ErrorCode.BAD_FRAME


def _log_frame(levels: int) -> bytes:
    """A log frame nested ``levels`` deep in all (the frame's own map is the first level)."""
    body = b"\x82\xa4kind\xa3log\xa6record" + b"\x81\xa1a" * (levels - 1) + b"\x01"
    return len(body).to_bytes(4, "big") + body


def test_a_log_record_nested_deeper_than_greenrooms_limit_is_bad_frame_on_every_version(
) -> None:
    with pytest.raises(ProtocolError) as caught:
        from_worker_decoder().feed(_log_frame(PIPE_MAX_NESTING_DEPTH + 1))
    assert caught.value.code is ErrorCode.BAD_FRAME
    assert str(PIPE_MAX_NESTING_DEPTH) in caught.value.message


def test_a_log_record_nested_exactly_to_the_limit_is_decoded() -> None:
    (frame,) = from_worker_decoder().feed(_log_frame(PIPE_MAX_NESTING_DEPTH))
    assert isinstance(frame, LogRecord)


def test_a_frame_nested_far_past_the_recursion_limit_is_bad_frame() -> None:
    with pytest.raises(ProtocolError) as caught:
        from_worker_decoder().feed(_log_frame(200_000))
    assert caught.value.code is ErrorCode.BAD_FRAME

def test_a_client_frame_nested_to_the_websocket_limit_crosses_the_pipe() -> None:
    inner = MAX_NESTING_DEPTH - 1
    client_frame = ('{"message_type": "chat_request", "message_id": "d", "user_message": "x", '
                    '"context": ' + '{"a": ' * inner + "1" + "}" * inner + "}")
    request = WorkerRequest(session_id="s", request_id=1, user="u",
                            message=decode_client_message(client_frame))
    (frame,) = to_worker_decoder().feed(encode_frame(request))
    assert frame == request
