"""Every way a client frame can be wrong ends in one ProtocolError with a stable code and,
when the frame is an object with a string message_id, that id."""

from __future__ import annotations

import json

import pytest

from protocol.chat import ChatResponse
from protocol.errors import ErrorCode, ProtocolError
from protocol.json_codec import (
    decode_client_message,
    decode_server_message,
    encode_server_message,
    error_response_for,
)
from protocol.nesting import MAX_NESTING_DEPTH


def _error_of(frame: str | bytes, max_bytes: int = 1024 * 1024) -> ProtocolError:
    with pytest.raises(ProtocolError) as caught:
        decode_client_message(frame, max_bytes=max_bytes)
    return caught.value


def test_malformed_json_is_bad_json() -> None:
    error = _error_of('{"message_type": "ping_request",')
    assert error.code is ErrorCode.BAD_JSON
    assert error.message_id is None


def test_a_lone_surrogate_in_the_text_is_bad_json() -> None:
    assert _error_of('{"message_type": "chat_request", "user_message": "\ud800"}').code is (
        ErrorCode.BAD_JSON
    )


def test_a_json_array_is_bad_request() -> None:
    assert _error_of('[{"message_type": "ping_request"}]').code is ErrorCode.BAD_REQUEST


def test_a_missing_message_type_is_bad_request_and_keeps_the_message_id() -> None:
    error = _error_of('{"message_id": "m-1", "user_message": "hi"}')
    assert (error.code, error.message_id) == (ErrorCode.BAD_REQUEST, "m-1")


def test_a_non_string_message_type_is_bad_request() -> None:
    assert _error_of('{"message_type": 7, "message_id": "m-2"}').code is ErrorCode.BAD_REQUEST


def test_an_unknown_message_type_is_reported_with_its_id() -> None:
    error = _error_of('{"message_type": "dance_request", "message_id": "m-3"}')
    assert (error.code, error.message_id) == (ErrorCode.UNKNOWN_MESSAGE_TYPE, "m-3")
    assert "dance_request" in error.message


def test_a_server_message_type_sent_by_a_client_is_unknown() -> None:
    assert _error_of('{"message_type": "chat_response"}').code is ErrorCode.UNKNOWN_MESSAGE_TYPE


def test_a_missing_required_field_is_bad_request_naming_the_field() -> None:
    error = _error_of('{"message_type": "chat_request", "message_id": "m-4"}')
    assert (error.code, error.message_id) == (ErrorCode.BAD_REQUEST, "m-4")
    assert "user_message" in error.message


def test_a_field_of_the_wrong_type_is_bad_request_naming_the_field() -> None:
    error = _error_of(
        '{"message_type": "status_request", "include_vitals": "yes", "message_id": "m"}'
    )
    assert (error.code, error.message_id) == (ErrorCode.BAD_REQUEST, "m")
    assert "include_vitals" in error.message


def test_an_out_of_range_limit_is_bad_request() -> None:
    error = _error_of('{"message_type": "memory_search_request", "query": "q", "limit": 0}')
    assert error.code is ErrorCode.BAD_REQUEST


def _nested_chat_frame(levels: int) -> str:
    """A chat_request whose free-form ``context`` nests the frame ``levels`` deep in all."""
    inner = levels - 1
    return ('{"message_type": "chat_request", "message_id": "d-1", "user_message": "x", '
            '"context": ' + '{"a": ' * inner + "1" + "}" * inner + "}")


def test_a_frame_nested_deeper_than_greenrooms_limit_is_bad_request_on_every_version() -> None:
    error = _error_of(_nested_chat_frame(MAX_NESTING_DEPTH + 1))
    assert error.code is ErrorCode.BAD_REQUEST
    assert str(MAX_NESTING_DEPTH) in error.message
    assert error.details == {"max_depth": MAX_NESTING_DEPTH}


def test_a_frame_nested_exactly_to_the_limit_is_decoded() -> None:
    assert decode_client_message(_nested_chat_frame(MAX_NESTING_DEPTH)).message_id == "d-1"


def test_brackets_inside_strings_do_not_count_as_nesting() -> None:
    text = '[{"' * 500 + '\\"' + "}]" * 500
    frame = ('{"message_type": "chat_request", "message_id": "s-1", "user_message": '
             + json.dumps(text) + "}")
    assert decode_client_message(frame).user_message == text


def test_a_lone_surrogate_escape_is_bad_json_naming_it_with_the_message_id() -> None:
    error = _error_of('{"message_type": "chat_request", "message_id": "u-1", '
                      '"user_message": "\\ud800"}')
    assert (error.code, error.message_id) == (ErrorCode.BAD_JSON, "u-1")
    assert "surrogate" in error.message and "ud800" in error.message
    assert "truncated" not in error.message


def test_a_5000_digit_integer_is_bad_json_naming_it_with_the_message_id() -> None:
    error = _error_of('{"message_type": "memory_search_request", "message_id": "i-1", '
                      '"query": "q", "limit": ' + "7" * 5000 + "}")
    assert (error.code, error.message_id) == (ErrorCode.BAD_JSON, "i-1")
    assert "5000 digits" in error.message


def test_nan_is_bad_json_naming_it_with_the_message_id() -> None:
    error = _error_of('{"message_type": "hello", "message_id": "n-1", "client": NaN}')
    assert (error.code, error.message_id) == (ErrorCode.BAD_JSON, "n-1")
    assert "NaN" in error.message


def test_a_deeply_nested_array_is_bad_request() -> None:
    assert _error_of("[" * 5000 + "]" * 5000).code is ErrorCode.BAD_REQUEST


def test_a_non_string_message_id_is_not_echoed() -> None:
    error = _error_of('{"message_type": "chat_request", "message_id": 42}')
    assert error.message_id is None


def test_a_frame_over_the_limit_is_payload_too_large() -> None:
    frame = '{"message_type": "chat_request", "user_message": "' + "x" * 200 + '"}'
    error = _error_of(frame, max_bytes=100)
    assert error.code is ErrorCode.PAYLOAD_TOO_LARGE
    assert error.details == {"max_bytes": 100}


def test_the_limit_counts_utf8_bytes_not_characters() -> None:
    frame = '{"message_type": "chat_request", "user_message": "' + "é" * 40 + '"}'
    assert len(frame) <= 100 < len(frame.encode())
    assert _error_of(frame, max_bytes=100).code is ErrorCode.PAYLOAD_TOO_LARGE


def test_a_frame_exactly_at_the_limit_decodes() -> None:
    frame = '{"message_type": "ping_request"}'
    assert decode_client_message(frame, max_bytes=len(frame)).message_id is None


def test_a_binary_frame_is_refused_but_its_message_id_is_kept() -> None:
    error = _error_of(b'{"message_type": "ping_request", "message_id": "b-1"}')
    assert (error.code, error.message_id) == (ErrorCode.BINARY_NOT_SUPPORTED, "b-1")


def test_the_error_response_for_a_protocol_error_echoes_id_and_code() -> None:
    response = error_response_for(_error_of('{"message_type": "chat_request", "message_id": "z"}'))
    assert response.message_id == "z"
    assert response.error_code == "bad_request"
    assert "user_message" in response.error
    assert response.success is False


def test_a_server_frame_of_a_client_type_is_unknown_to_the_client_decoder() -> None:
    with pytest.raises(ProtocolError) as caught:
        decode_server_message('{"message_type": "chat_request", "user_message": "hi"}')
    assert caught.value.code is ErrorCode.UNKNOWN_MESSAGE_TYPE


def test_an_unencodable_free_form_value_raises_internal_with_the_message_id() -> None:
    response = ChatResponse(message_id="c-9", orchestration_summary={"when": object()})
    with pytest.raises(ProtocolError) as caught:
        encode_server_message(response)
    assert (caught.value.code, caught.value.message_id) == (ErrorCode.INTERNAL, "c-9")
