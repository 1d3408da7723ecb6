"""The WebSocket link's phase table, every (phase, event) pair by plain function calls."""

from __future__ import annotations

from itertools import product
from typing import get_args

import pytest

from client.link_phase import (
    EVENTS,
    PHASES,
    SETTLED,
    TRANSITIONS,
    LinkEvent,
    LinkPhaseError,
    Phase,
    next_phase,
)


def walk(*events: LinkEvent) -> Phase:
    phase: Phase = "idle"
    for event in events:
        phase = next_phase(phase, event)
    return phase


def test_a_first_round_that_connects_leaves_the_link_connected() -> None:
    assert walk("open") == "connecting"
    assert walk("open", "connected") == "connected"


def test_a_dropped_connection_reconnects_and_comes_back() -> None:
    assert walk("open", "connected", "dropped") == "reconnecting"
    assert walk("open", "connected", "dropped", "connected") == "connected"


def test_a_failed_round_is_gone_until_a_request_asks_for_another() -> None:
    gone = ("open", "connected", "dropped", "gave_up")
    assert walk(*gone) == "gone"
    assert walk(*gone, "retry") == "reconnecting"
    assert walk(*gone, "retry", "gave_up") == "gone"
    assert walk(*gone, "retry", "connected") == "connected"


@pytest.mark.parametrize("phase", [p for p in PHASES if p != "closed"])
def test_close_ends_every_phase_but_closed(phase: Phase) -> None:
    assert next_phase(phase, "close") == "closed"


@pytest.mark.parametrize("event", EVENTS)
def test_a_closed_link_stays_closed(event: LinkEvent) -> None:
    with pytest.raises(LinkPhaseError, match="phase 'closed'"):
        next_phase("closed", event)


@pytest.mark.parametrize(
    ("phase", "event"), [pair for pair in product(PHASES, EVENTS) if pair not in TRANSITIONS]
)
def test_every_move_not_in_the_table_raises(phase: Phase, event: LinkEvent) -> None:
    with pytest.raises(LinkPhaseError):
        next_phase(phase, event)


def test_the_table_names_only_known_phases_and_events() -> None:
    assert set(get_args(Phase)) == set(PHASES) and set(get_args(LinkEvent)) == set(EVENTS)
    for (phase, event), after in TRANSITIONS.items():
        assert phase in PHASES and event in EVENTS and after in PHASES


def test_every_phase_is_reachable_from_idle() -> None:
    reached = {"idle"}
    while True:
        more = {after for (phase, _), after in TRANSITIONS.items() if phase in reached}
        if more <= reached:
            break
        reached |= more
    assert reached == set(PHASES)


def test_requests_wait_only_while_attempts_are_under_way() -> None:
    assert set(PHASES) - SETTLED == {"connecting", "reconnecting"}
