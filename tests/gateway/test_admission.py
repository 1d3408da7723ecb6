"""Admission as plain calls: which request a session may send now, and hello's token check."""

from __future__ import annotations

from typing import Any

import pytest

from protocol.admin import RestartRequest
from protocol.chat import ChatRequest
from protocol.queries import StatusRequest
from protocol.session import Hello, PingRequest
from protocol.unions import message_type_of
from runtime.settings import Settings
from supervisor.gateway.admission import (
    MAX_FAILED_AUTH_ATTEMPTS,
    close_after_hello,
    hello_refusal,
    refusal,
)
from supervisor.gateway.auth_throttle import AuthThrottle
from supervisor.gateway.session import SessionState

TOKEN = "s3cret-token"


def state(**fields: Any) -> SessionState:
    return SessionState(session_id="s-1", **{"authenticated": True, **fields})


def refused_code(session: SessionState, message: Any, *, closing: bool = False,
                 **settings: Any) -> str | None:
    answer = refusal(session, message, message_type_of(type(message)),
                     Settings.from_flat(**settings), closing=closing)
    return None if answer is None else answer.error_code


def test_an_attached_authenticated_session_is_admitted() -> None:
    assert refused_code(state(character_id="alpha"), StatusRequest(message_id="m")) is None


def test_while_stopping_every_request_is_shutting_down_first() -> None:
    assert refused_code(state(authenticated=False), PingRequest(), closing=True) == (
        "shutting_down")


def test_without_the_token_only_hello_is_admitted() -> None:
    unauthenticated = state(authenticated=False)
    assert refused_code(unauthenticated, PingRequest(), token=TOKEN) == "unauthorized"
    assert refused_code(unauthenticated, Hello(protocol_version=1), token=TOKEN) is None


def test_a_character_request_before_attaching_is_not_initialized() -> None:
    assert refused_code(state(), StatusRequest()) == "not_initialized"


@pytest.mark.parametrize(("origin", "token", "authenticated", "code"), [
    (None, None, True, None),
    ("http://evil.example", None, True, "forbidden"),
    ("http://evil.example", TOKEN, True, None),
])
def test_admin_requests_from_a_possible_web_page_need_the_token(
    origin: str | None, token: str | None, authenticated: bool, code: str | None
) -> None:
    session = state(origin=origin, authenticated=authenticated)
    settings = {"token": token} if token else {}
    assert refused_code(session, RestartRequest(character_id="alpha"), **settings) == code


def test_a_chat_over_the_length_limit_is_refused_with_its_details() -> None:
    answer = refusal(state(character_id="alpha"), ChatRequest(user_message="x" * 11),
                     "chat_request", Settings.from_flat(max_message_chars=10), closing=False)
    assert answer is not None
    assert (answer.error_code, answer.details) == ("message_too_long",
                                                   {"max_chars": 10, "length": 11})


def test_a_hello_with_the_right_token_authenticates_the_session() -> None:
    session = state(authenticated=False, address="10.0.0.5")
    assert hello_refusal(Hello(protocol_version=1, token=TOKEN), session,
                         Settings.from_flat(token=TOKEN), AuthThrottle(lambda: 0.0)) is None
    assert session.authenticated


def test_wrong_hello_tokens_count_and_the_third_closes_the_session() -> None:
    session = state(authenticated=False, address="10.0.0.5")
    throttle = AuthThrottle(lambda: 0.0)
    for attempt in range(1, MAX_FAILED_AUTH_ATTEMPTS + 1):
        guess = Hello(protocol_version=1, token="guess")
        answer = hello_refusal(guess, session, Settings.from_flat(token=TOKEN), throttle)
        assert answer is not None and answer.error_code == "unauthorized"
        closes = close_after_hello(session, throttle)
        assert (closes is not None) == (attempt == MAX_FAILED_AUTH_ATTEMPTS)
    assert not session.authenticated


def test_a_hello_newer_than_the_server_is_refused_even_when_authenticated() -> None:
    answer = hello_refusal(Hello(protocol_version=99), state(), Settings(),
                           AuthThrottle(lambda: 0.0))
    assert answer is not None and answer.error_code == "unsupported_protocol_version"
