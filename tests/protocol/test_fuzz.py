"""Thousands of random and mutated frames: the decoders answer with a message or with one
ProtocolError whose code (and message_id) an independent oracle predicts — nothing else.

Deterministic: a fixed seed drives every case, so a failure reproduces exactly.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Iterator
from typing import Any

from protocol.chat import ChatDelta, ChatResponse
from protocol.errors import ErrorCode, ProtocolError
from protocol.events import WorkerStateEvent
from protocol.frame_codec import encode_frame, from_worker_decoder
from protocol.json_codec import decode_client_message
from protocol.pipe import Fatal, FromWorker, Heartbeat, LogRecord, Ready, WorkerEvent, WorkerReply
from protocol.queries import StatusResponse
from protocol.turn_summary import GenerationInfo
from protocol.unions import CLIENT_MESSAGE_TYPES

SEED = 20240301
MAX_BYTES = 4096

VALID_FRAMES = [
    '{"message_type": "ping_request", "message_id": "p-1"}',
    '{"message_type": "init_request", "message_id": "i-1", "character_id": "m-playful"}',
    '{"message_type": "chat_request", "message_id": "c-1", "user_message": "Hi!", '
    '"context": {"k": [1, 2.5, null]}, "stream": true}',
    '{"message_type": "status_request", "include_history": true, "timestamp": "2024-01-01"}',
    '{"message_type": "save_request", "message_id": "s-1", "filename": "before-party"}',
    '{"message_type": "load_request", "filename": "before-party"}',
    '{"message_type": "reset_request", "preserve_memories": false}',
    '{"message_type": "memory_search_request", "query": "coffee", "limit": 3}',
    '{"message_type": "hello", "protocol_version": 1, "token": "t", "subscribe": ["vitals"]}',
    '{"message_type": "cancel_request", "target_message_id": "c-1"}',
    '{"message_type": "debug_request", "character_id": "zen-master", "port": 5678}',
    '{"message_type": "workers_request", "message_id": "w-1"}',
]

JSONISH = '{}[]":,0123456789.eE+-truefalsn \\/\x00\x1fé€\U0001f600\ud800'
JUNK_VALUES: list[Any] = [
    None, True, 0, -1, 2**70, 1.5, "", "x", "chat_request", "hello", "chat_response",
    [], {}, [1, "a"], {"a": {"b": None}},
]  # fmt: skip


class _NotStrictJson(ValueError):
    pass


def _reject_constant(name: str) -> Any:
    raise _NotStrictJson(name)


def _strict_json_value_ok(value: Any) -> bool:
    """False if the stdlib parse produced something strict JSON forbids (inf, surrogates)."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, str):
        return not any(0xD800 <= ord(char) <= 0xDFFF for char in value)
    if isinstance(value, list):
        return all(_strict_json_value_ok(item) for item in value)
    if isinstance(value, dict):
        return all(_strict_json_value_ok(k) and _strict_json_value_ok(v) for k, v in value.items())
    return True


def _oracle(frame: str) -> tuple[ErrorCode | None, str | None]:
    """The expected error code (``None``: decodes or is ``bad_request``) and message_id,
    computed with the stdlib json module, independently of the codec."""
    if len(frame.encode("utf-8", "surrogatepass")) > MAX_BYTES:
        return ErrorCode.PAYLOAD_TOO_LARGE, None
    try:
        frame.encode("utf-8")
        parsed = json.loads(frame, parse_constant=_reject_constant)
    except ValueError:
        return ErrorCode.BAD_JSON, None
    if not _strict_json_value_ok(parsed):
        return ErrorCode.BAD_JSON, None
    if not isinstance(parsed, dict):
        return ErrorCode.BAD_REQUEST, None
    raw_id = parsed.get("message_id")
    message_id = raw_id if isinstance(raw_id, str) else None
    message_type = parsed.get("message_type")
    if not isinstance(message_type, str):
        return ErrorCode.BAD_REQUEST, message_id
    if message_type not in CLIENT_MESSAGE_TYPES:
        return ErrorCode.UNKNOWN_MESSAGE_TYPE, message_id
    return None, message_id


def _byte_mutation(rng: random.Random, frame: str) -> str:
    chars = list(frame)
    for _ in range(rng.randint(1, 4)):
        position = rng.randint(0, len(chars))
        action = rng.randrange(4)
        if action == 0 and chars:
            del chars[min(position, len(chars) - 1)]
        elif action == 1:
            chars.insert(position, rng.choice(JSONISH))
        elif action == 2:
            chars = chars[:position]
        else:
            chars[position:position] = chars[position : position + rng.randint(1, 8)]
    return "".join(chars)


def _structural_mutation(rng: random.Random, frame: str) -> str:
    value: Any = json.loads(frame)
    for _ in range(rng.randint(1, 3)):
        action = rng.randrange(5)
        keys = list(value) if isinstance(value, dict) else []
        if action == 0 and keys:
            del value[rng.choice(keys)]
        elif action == 1 and keys:
            value[rng.choice(keys)] = rng.choice(JUNK_VALUES)
        elif action == 2 and isinstance(value, dict):
            value["message_type"] = rng.choice(JUNK_VALUES)
        elif action == 3 and isinstance(value, dict):
            value["message_id"] = rng.choice([*JUNK_VALUES, "id-" + str(rng.random())])
        elif action == 4:
            value = rng.choice([[value], {"frame": value}, value])
    return json.dumps(value, ensure_ascii=rng.random() < 0.5)


def _random_text(rng: random.Random) -> str:
    return "".join(rng.choice(JSONISH) for _ in range(rng.randint(0, 60)))


def _fuzz_frames(rng: random.Random) -> Iterator[str]:
    for _ in range(3000):
        yield _byte_mutation(rng, rng.choice(VALID_FRAMES))
    for _ in range(3000):
        yield _structural_mutation(rng, rng.choice(VALID_FRAMES))
    for _ in range(1500):
        yield _random_text(rng)
    yield '{"message_type": "chat_request", "user_message": "' + "x" * MAX_BYTES + '"}'


def test_only_protocol_errors_with_the_predicted_code_and_id_come_out_of_json_decoding() -> None:
    rng = random.Random(SEED)
    outcomes: dict[str, int] = {}
    for frame in _fuzz_frames(rng):
        expected_code, expected_id = _oracle(frame)
        try:
            message = decode_client_message(frame, max_bytes=MAX_BYTES)
        except ProtocolError as error:
            outcome = error.code.value
            if expected_code is None:
                assert error.code is ErrorCode.BAD_REQUEST, frame
            else:
                assert error.code is expected_code, frame
            if error.code is not ErrorCode.PAYLOAD_TOO_LARGE:
                assert error.message_id == expected_id, frame
        else:
            outcome = "decoded"
            assert expected_code is None, frame
            assert message.message_id == expected_id, frame
        outcomes[outcome] = outcomes.get(outcome, 0) + 1
    # The corpus must really reach every branch, or the test proves little.
    assert set(outcomes) >= {
        "decoded", "bad_json", "bad_request", "unknown_message_type", "payload_too_large",
    }, outcomes  # fmt: skip


def test_random_binary_frames_are_refused_as_binary_not_supported() -> None:
    rng = random.Random(SEED)
    for _ in range(500):
        data = rng.randbytes(rng.randint(0, 80))
        try:
            decode_client_message(data, max_bytes=MAX_BYTES)
        except ProtocolError as error:
            assert error.code is ErrorCode.BINARY_NOT_SUPPORTED
        else:
            raise AssertionError(f"binary frame {data!r} was accepted")


PIPE_FRAMES: list[FromWorker] = [
    Ready(pid=1, character_id="m-playful", generation=1, engine="scripted", debug_port=None),
    WorkerReply(request_id=3, message=ChatDelta(message_id="c", delta="he", index=0), final=False),
    WorkerReply(request_id=3, message=ChatResponse(
        response_text="hello", generation_info=GenerationInfo(
            backend="scripted", model="scripted", finish_reason="stop", usage_source="counted"))),
    WorkerReply(request_id=4, message=StatusResponse(vitals={"cortisol": 12.5})),
    WorkerEvent(message=WorkerStateEvent(character_id="m-playful", state="ready", generation=2)),
    LogRecord(record={"event": "x", "n": [1, 2, {"k": None}]}),
    Fatal(error="boom", traceback="Traceback ..."),
]


def test_only_protocol_errors_come_out_of_the_pipe_decoder_for_mutated_streams() -> None:
    rng = random.Random(SEED)
    stream = bytearray(b"".join(encode_frame(frame) for frame in PIPE_FRAMES))
    codes: set[ErrorCode] = set()
    for _ in range(2000):
        mutated = bytearray(stream)
        for _ in range(rng.randint(1, 6)):
            mutated[rng.randrange(len(mutated))] = rng.randrange(256)
        decoder = from_worker_decoder(max_frame_bytes=1 << 16)
        try:
            position = 0
            while position < len(mutated):
                step = rng.randint(1, 64)
                for frame in decoder.feed(bytes(mutated[position : position + step])):
                    assert type(frame) in {type(f) for f in PIPE_FRAMES} | {Heartbeat}
                position += step
            decoder.eof()
        except ProtocolError as error:
            assert error.code in {ErrorCode.BAD_FRAME, ErrorCode.PAYLOAD_TOO_LARGE}
            codes.add(error.code)
    assert codes == {ErrorCode.BAD_FRAME, ErrorCode.PAYLOAD_TOO_LARGE}


def test_random_bytes_on_the_pipe_only_raise_protocol_errors() -> None:
    rng = random.Random(SEED + 1)
    for _ in range(1000):
        decoder = from_worker_decoder(max_frame_bytes=1 << 12)
        try:
            decoder.feed(rng.randbytes(rng.randint(0, 200)))
            decoder.eof()
        except ProtocolError as error:
            assert error.code in {ErrorCode.BAD_FRAME, ErrorCode.PAYLOAD_TOO_LARGE}
