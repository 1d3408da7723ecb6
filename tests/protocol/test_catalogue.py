"""The message catalogue is consistent: unions, response mapping, error codes, schema."""

from __future__ import annotations

from typing import get_args

from protocol.errors import ERROR_CODE_MEANINGS, ErrorCode
from protocol.schema_gen import SCHEMA_PATH, render_schema
from protocol.unions import (
    CLIENT_MESSAGE_TYPES,
    RESPONSE_TYPES,
    ClientMessage,
    ServerMessage,
    message_type_of,
    response_type_for,
)

REQUIRED_ERROR_CODES = {
    "bad_json", "bad_request", "unknown_message_type", "not_initialized",
    "character_not_found", "character_unavailable", "character_restarting", "worker_crashed",
    "timeout", "busy", "payload_too_large", "invalid_name", "unauthorized", "cancelled",
    "llm_unavailable", "llm_error", "internal",
}  # fmt: skip


def test_the_committed_schema_is_generated_from_the_current_types() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(), (
        "schemas/protocol.schema.json is stale: run python -m protocol.schema_gen"
    )


def test_every_client_message_has_a_success_response_in_the_server_union() -> None:
    assert set(RESPONSE_TYPES) == set(get_args(ClientMessage))
    assert set(RESPONSE_TYPES.values()) <= set(get_args(ServerMessage))


def test_wire_tags_are_unique_across_both_directions() -> None:
    tags = [message_type_of(cls) for cls in (*get_args(ClientMessage), *get_args(ServerMessage))]
    assert len(tags) == len(set(tags))


def test_response_type_for_maps_request_tags_to_response_tags() -> None:
    assert response_type_for("chat_request") == "chat_response"
    assert response_type_for("regenerate_request") == "chat_response"
    assert response_type_for("hello") == "hello_response"
    assert {message_type_of(cls) for cls in get_args(ClientMessage)} == CLIENT_MESSAGE_TYPES


def test_the_protocol_md_error_codes_all_exist() -> None:
    assert {code.value for code in ErrorCode} >= REQUIRED_ERROR_CODES


def test_every_error_code_has_a_documented_meaning() -> None:
    assert set(ERROR_CODE_MEANINGS) == set(ErrorCode)
    assert all(meaning.strip() for meaning in ERROR_CODE_MEANINGS.values())
