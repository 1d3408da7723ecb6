"""The request handling table covers every client message type, and the gateway's rules on
top of it hold."""

from __future__ import annotations

import pytest

from protocol.declaration import Handling
from protocol.unions import CLIENT_MESSAGE_TYPES
from supervisor.gateway.request_kinds import (
    ADMIN_KINDS,
    ALLOWED_BEFORE_AUTH,
    HANDLING,
    check_gateway_rules,
    is_admin,
    needs_character,
)


def test_every_client_message_type_has_a_handling() -> None:
    assert set(HANDLING) == CLIENT_MESSAGE_TYPES


def test_admin_requests_are_every_admin_handled_kind() -> None:
    assert {"workers_request", "restart_request", "reload_request", "debug_request"} == ADMIN_KINDS
    assert is_admin("debug_request") and not is_admin("chat_request")


def test_status_memory_search_and_ping_bypass_the_turn_queue() -> None:
    for message_type in ("status_request", "memory_search_request", "ping_request"):
        assert HANDLING[message_type] is not Handling.TURN


def test_state_changing_requests_are_turns() -> None:
    for message_type in ("chat_request", "regenerate_request", "undo_request", "reset_request",
                         "load_request", "select_alternative_request"):
        assert HANDLING[message_type] is Handling.TURN


def test_ping_hello_characters_and_admin_need_no_character() -> None:
    for message_type in ("ping_request", "hello", "characters_request", "workers_request",
                         "restart_request", "debug_request", "init_request"):
        assert not needs_character(message_type)


def test_only_hello_is_allowed_before_authentication() -> None:
    assert {"hello"} == ALLOWED_BEFORE_AUTH
    check_gateway_rules(HANDLING, ALLOWED_BEFORE_AUTH)


@pytest.mark.parametrize("message_type", ["chat_request", "workers_request", "no_such_request"])
def test_allowing_a_request_the_gateway_does_not_answer_before_auth_is_refused(
    message_type: str,
) -> None:
    with pytest.raises(RuntimeError, match=message_type):
        check_gateway_rules(HANDLING, ALLOWED_BEFORE_AUTH | {message_type})
