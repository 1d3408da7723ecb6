"""A client written for the seed's protocol works unchanged: its frames decode, and every
response it can receive carries the field names of PROTOCOL.md."""

from __future__ import annotations

import json
from typing import Any

import pytest

from protocol.chat import ChatRequest, ChatResponse
from protocol.envelope import Message
from protocol.errors import ErrorResponse
from protocol.json_codec import decode_client_message, encode_server_message
from protocol.queries import (
    MemorySearchRequest,
    MemorySearchResponse,
    StatusRequest,
    StatusResponse,
)
from protocol.session import InitRequest, InitResponse, PingRequest, PingResponse
from protocol.snapshots import (
    LoadRequest,
    LoadResponse,
    ResetRequest,
    ResetResponse,
    SaveRequest,
    SaveResponse,
)
from protocol.turn_summary import PerformanceInfo
from protocol.unions import RESPONSE_TYPES, SEED_MESSAGE_TYPES, message_type_of

SEED_FRAMES: list[tuple[str, Message]] = [
    ('{"message_type": "ping_request"}', PingRequest()),
    (
        '{"message_type": "ping_request", "message_id": null, '
        '"timestamp": "2024-03-01T10:15:00.123456"}',
        PingRequest(timestamp="2024-03-01T10:15:00.123456"),
    ),
    (
        '{"message_type": "init_request", "message_id": "3f2a9c1e-init", '
        '"timestamp": "2024-03-01T10:15:01.000001", "character_id": "m-playful", '
        '"character_config": null, "agent_config": {"temperature": 0.8}}',
        InitRequest(
            message_id="3f2a9c1e-init",
            timestamp="2024-03-01T10:15:01.000001",
            character_id="m-playful",
            agent_config={"temperature": 0.8},
        ),
    ),
    (
        '{"message_type": "chat_request", "message_id": "c-1", '
        '"timestamp": "2024-03-01T10:15:02.5", "user_message": "Hello there!", '
        '"context": {"mood_hint": "cheerful"}}',
        ChatRequest(
            message_id="c-1",
            timestamp="2024-03-01T10:15:02.5",
            user_message="Hello there!",
            context={"mood_hint": "cheerful"},
        ),
    ),
    (
        '{"message_type":"chat_request","user_message":"no id, no timestamp"}',
        ChatRequest(user_message="no id, no timestamp"),
    ),
    (
        '{"message_type": "status_request", "message_id": "s-9", "include_vitals": true, '
        '"include_history": true, "include_performance": false, "client_version": "0.3.1", '
        '"debug": {"nested": [1, 2, 3]}}',
        StatusRequest(message_id="s-9", include_history=True),
    ),
    ('{"message_type": "status_request"}', StatusRequest()),
    (
        '{"message_type": "save_request", "filename": "before-party"}',
        SaveRequest(filename="before-party"),
    ),
    ('{"message_type": "save_request", "filename": null}', SaveRequest()),
    (
        '{"message_type": "load_request", "filename": "before-party"}',
        LoadRequest(filename="before-party"),
    ),
    (
        '{"message_type": "reset_request", "preserve_memories": false}',
        ResetRequest(preserve_memories=False),
    ),
    ('{"message_type": "reset_request"}', ResetRequest(preserve_memories=True)),
    (
        '{"message_type": "memory_search_request", "message_id": "m-4", "query": "coffee"}',
        MemorySearchRequest(message_id="m-4", query="coffee", limit=5),
    ),
    (
        '{"message_type": "memory_search_request", "query": "coffee", "limit": 12, "extra": 1}',
        MemorySearchRequest(query="coffee", limit=12),
    ),
]


def _without_timestamp(message: Message) -> dict[str, Any]:
    fields = {name: getattr(message, name) for name in message.__struct_fields__}
    fields.pop("timestamp")
    return {"type": type(message).__name__, **fields}


@pytest.mark.parametrize("frame, expected", SEED_FRAMES, ids=[f for f, _ in SEED_FRAMES])
def test_a_seed_era_frame_decodes_to_the_expected_message(frame: str, expected: Message) -> None:
    decoded = decode_client_message(frame)
    assert _without_timestamp(decoded) == _without_timestamp(expected)


def test_a_seed_era_frame_keeps_the_timestamp_the_client_sent() -> None:
    decoded = decode_client_message(
        '{"message_type": "ping_request", "timestamp": "2024-03-01T10:15:00.123456"}'
    )
    assert decoded.timestamp == "2024-03-01T10:15:00.123456"


# The response field lists of PROTOCOL.md, written out by hand so a rename in the types fails.
SEED_RESPONSE_FIELDS: dict[type[Message], set[str]] = {
    PingResponse: {"success", "server_time"},
    InitResponse: {"success", "character_name", "character_info", "error"},
    ChatResponse: {
        "success",
        "response_text",
        "character_insights",
        "response_metadata",
        "generation_info",
        "orchestration_summary",
        "cognitive_summary",
        "character_state_summary",
        "performance_info",
        "error",
    },
    StatusResponse: {
        "success",
        "character_summary",
        "vitals",
        "conversation_history",
        "performance_stats",
        "error",
    },
    SaveResponse: {"success", "filename", "error"},
    LoadResponse: {"success", "character_info", "error"},
    ResetResponse: {"success", "character_info", "error"},
    MemorySearchResponse: {"success", "memories", "count", "error"},
}
ENVELOPE = {"message_type", "message_id", "timestamp"}


@pytest.mark.parametrize("response_type", list(SEED_RESPONSE_FIELDS), ids=lambda t: t.__name__)
def test_a_default_seed_response_encodes_every_seed_field(response_type: type[Message]) -> None:
    encoded = json.loads(encode_server_message(response_type(message_id="req-1")))  # type: ignore[arg-type]
    assert set(encoded) >= SEED_RESPONSE_FIELDS[response_type] | ENVELOPE
    assert encoded["message_type"] == message_type_of(response_type)
    assert encoded["message_id"] == "req-1"
    assert encoded["success"] is True


def test_an_error_response_encodes_error_and_error_code_and_details() -> None:
    encoded = json.loads(
        encode_server_message(
            ErrorResponse(
                message_id="c-1", error="No such character", error_code="character_not_found"
            )
        )
    )
    assert encoded["message_type"] == "error_response"
    assert encoded["message_id"] == "c-1"
    assert encoded["error"] == "No such character"
    assert encoded["error_code"] == "character_not_found"
    assert "details" in encoded
    assert encoded["success"] is False


def test_a_filled_chat_response_encodes_the_reply_under_response_text() -> None:
    encoded = json.loads(
        encode_server_message(
            ChatResponse(message_id="c-1", response_text="Oh, hi!",
                         performance_info=PerformanceInfo(timings_ms={"total": 12.0}))
        )
    )
    assert encoded["response_text"] == "Oh, hi!"
    assert encoded["performance_info"] == {"timings_ms": {"total": 12.0}}
    assert encoded["error"] is None


def test_a_memory_search_response_encodes_memories_as_a_list_and_count() -> None:
    encoded = json.loads(
        encode_server_message(
            MemorySearchResponse(memories=[{"content": "likes coffee", "score": 0.9}], count=1)
        )
    )
    assert encoded["memories"] == [{"content": "likes coffee", "score": 0.9}]
    assert encoded["count"] == 1


def test_the_seed_era_contract_is_exactly_the_seeds_message_types() -> None:
    # Frozen: the seed-era contract never grows, so no newer message declares seed=True.
    seed_contract = {
        "ping_request", "init_request", "chat_request", "status_request", "save_request",
        "load_request", "reset_request", "memory_search_request",
        "ping_response", "init_response", "chat_response", "status_response", "save_response",
        "load_response", "reset_response", "memory_search_response", "error_response",
    }  # fmt: skip
    assert seed_contract == SEED_MESSAGE_TYPES


def test_every_seed_request_is_answered_by_a_seed_era_response_type() -> None:
    seed_requests = [cls for cls in RESPONSE_TYPES if message_type_of(cls) in SEED_MESSAGE_TYPES]
    assert len(seed_requests) == 8
    for request in seed_requests:
        assert message_type_of(RESPONSE_TYPES[request]) in SEED_MESSAGE_TYPES
