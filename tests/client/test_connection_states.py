"""What the user sees for each connection and worker state, and how errors are typed."""

from __future__ import annotations

import pytest

from client.errors import (
    Cancelled,
    CharacterUnavailable,
    ConnectionFailed,
    GreenroomError,
    InvalidName,
    error_for,
)
from client.interface import ConnectionEvent
from client.render import connection_notice, event_notice, worker_state_notice
from protocol.errors import ErrorCode
from protocol.events import TurnEvent, WorkerStateEvent


def test_reconnecting_shows_the_attempt_count() -> None:
    notice = connection_notice(ConnectionEvent("reconnecting", attempt=2, max_attempts=3))
    assert notice == "server gone — reconnecting (2/3)"


def test_back_after_a_reconnect() -> None:
    assert (connection_notice(ConnectionEvent("back")) or "").startswith("back")


def test_gone_carries_the_error_code() -> None:
    notice = connection_notice(ConnectionEvent("gone", code="connection_failed"))
    assert notice is not None and "[connection_failed]" in notice


def test_first_connection_attempt_is_silent_later_ones_are_shown() -> None:
    assert connection_notice(ConnectionEvent("connecting", attempt=1, max_attempts=3)) is None
    assert connection_notice(ConnectionEvent("connecting", attempt=2, max_attempts=3)) == (
        "connecting — attempt 2/3"
    )


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("restarting", "character toby restarting…"),
        ("ready", "back — toby is ready"),
        ("debugging", "character toby is paused in a debugger"),
    ],
)
def test_worker_states_read_as_sentences(state: str, expected: str) -> None:
    event = WorkerStateEvent(character_id="toby", state=state)  # type: ignore[arg-type]
    assert worker_state_notice(event) == expected


def test_failed_worker_names_the_code_and_the_remedy() -> None:
    notice = worker_state_notice(
        WorkerStateEvent(character_id="toby", state="failed", detail="5 crashes in 30 s")
    )
    assert notice is not None
    assert "[character_unavailable]" in notice and "greenroom restart toby" in notice


def test_another_users_turn_is_announced() -> None:
    event = TurnEvent(character_id="toby", user="bob", user_message="hi  there",
                      response_text="hello", turn_index=3)
    assert event_notice(event) == "bob said to toby: hi there"


@pytest.mark.parametrize(
    ("code", "cls"),
    [
        (ErrorCode.CANCELLED, Cancelled),
        (ErrorCode.CHARACTER_RESTARTING, CharacterUnavailable),
        (ErrorCode.WORKER_CRASHED, CharacterUnavailable),
        (ErrorCode.INVALID_NAME, InvalidName),
        ("connection_failed", ConnectionFailed),
    ],
)
def test_error_codes_map_to_typed_exceptions(code: str, cls: type[GreenroomError]) -> None:
    error = error_for(code, "what happened")
    assert type(error) is cls
    assert error.code == str(code)


def test_unknown_codes_from_a_newer_server_stay_readable() -> None:
    error = error_for("brand_new_code", "something new")
    assert type(error) is GreenroomError
    assert str(error) == "something new [brand_new_code]"
