"""The alternatives messages: listing a turn's replies and selecting one."""

from __future__ import annotations

import json

import pytest

from protocol.chat import (
    AlternativesRequest,
    AlternativesResponse,
    SelectAlternativeRequest,
    SelectAlternativeResponse,
)
from protocol.errors import ErrorCode, ProtocolError
from protocol.frame_codec import encode_frame, to_worker_decoder
from protocol.json_codec import decode_client_message, decode_server_message, encode_server_message
from protocol.pipe import WorkerRequest
from protocol.unions import SEED_MESSAGE_TYPES, response_type_for


def test_each_request_is_answered_by_its_own_response_type() -> None:
    assert response_type_for("alternatives_request") == "alternatives_response"
    assert response_type_for("select_alternative_request") == "select_alternative_response"


def test_a_seed_era_client_never_sees_them() -> None:
    assert not {"alternatives_request", "alternatives_response", "select_alternative_request",
                "select_alternative_response"} & SEED_MESSAGE_TYPES


def test_select_alternative_request_decodes_its_index() -> None:
    message = decode_client_message(
        '{"message_type": "select_alternative_request", "message_id": "sa-1", "index": 2}')
    assert message == SelectAlternativeRequest(message_id="sa-1", index=2,
                                               timestamp=message.timestamp)


@pytest.mark.parametrize("frame", [
    '{"message_type": "select_alternative_request", "message_id": "sa-2"}',
    '{"message_type": "select_alternative_request", "message_id": "sa-2", "index": -1}',
    '{"message_type": "select_alternative_request", "message_id": "sa-2", "index": "0"}',
])
def test_a_missing_negative_or_non_integer_index_is_bad_request_naming_it(frame: str) -> None:
    with pytest.raises(ProtocolError) as error:
        decode_client_message(frame)
    assert error.value.code is ErrorCode.BAD_REQUEST
    assert "index" in error.value.message
    assert error.value.message_id == "sa-2"


def test_an_empty_alternatives_response_still_carries_every_field() -> None:
    frame = json.loads(encode_server_message(AlternativesResponse(message_id="al-1")))
    assert {k: frame[k] for k in ("success", "alternatives", "error")} == {
        "success": True, "alternatives": [], "error": None}


def test_responses_round_trip_through_json() -> None:
    listed = AlternativesResponse(message_id="al-1", alternatives=[
        {"index": 0, "response_text": "Hi.", "created_at": "2024-03-01T10:15:08.000+00:00",
         "current": True}])
    selected = SelectAlternativeResponse(message_id="sa-1", character_info={"turn_count": 3})
    for message in (listed, selected):
        assert decode_server_message(encode_server_message(message)) == message


def test_both_requests_cross_the_worker_pipe() -> None:
    requests: list[AlternativesRequest | SelectAlternativeRequest] = [
        AlternativesRequest(message_id="al-1"),
        SelectAlternativeRequest(message_id="sa-1", index=1)]
    decoder = to_worker_decoder()
    frames = decoder.feed(b"".join(
        encode_frame(WorkerRequest(request_id=n, session_id="s", user="sam",
                                               message=m))
        for n, m in enumerate(requests)))
    assert [f.message for f in frames if isinstance(f, WorkerRequest)] == requests
