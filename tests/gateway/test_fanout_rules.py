"""Who receives events and deltas: the subscription rules."""

from __future__ import annotations

from protocol.events import TurnEvent, VitalsEvent, WorkerStateEvent
from supervisor.gateway.fanout import Audience, delivers_deltas, event_recipients

ALL = frozenset({"vitals", "turns", "worker_state"})


def turn(maker: str | None, character: str = "a") -> TurnEvent:
    return TurnEvent(
        character_id=character,
        user="u",
        user_message="hi",
        response_text="hello",
        turn_index=0,
        session_id=maker,
    )


def test_session_without_hello_receives_no_event_of_any_kind() -> None:
    seed = [Audience("seed", "a", frozenset())]
    assert event_recipients(turn("x"), seed) == []
    assert event_recipients(VitalsEvent(character_id="a", vitals={}), seed) == []
    assert event_recipients(WorkerStateEvent(character_id="a", state="ready"), seed) == []


def test_turn_event_skips_the_session_that_made_the_turn() -> None:
    audience = [Audience("maker", "a", ALL), Audience("other", "a", ALL)]
    assert event_recipients(turn("maker"), audience) == ["other"]


def test_events_reach_only_sessions_of_that_character() -> None:
    audience = [Audience("on-a", "a", ALL), Audience("on-b", "b", ALL), Audience("none", None, ALL)]
    assert event_recipients(VitalsEvent(character_id="a", vitals={}), audience) == ["on-a"]


def test_each_event_kind_needs_its_own_subscription() -> None:
    audience = [
        Audience("vitals", "a", frozenset({"vitals"})),
        Audience("turns", "a", frozenset({"turns"})),
        Audience("state", "a", frozenset({"worker_state"})),
    ]
    assert event_recipients(VitalsEvent(character_id="a", vitals={}), audience) == ["vitals"]
    assert event_recipients(turn(None), audience) == ["turns"]
    assert event_recipients(WorkerStateEvent(character_id="a", state="ready"), audience) == [
        "state"
    ]


def test_vitals_event_also_reaches_the_subscribed_maker() -> None:
    audience = [Audience("maker", "a", ALL)]
    assert event_recipients(VitalsEvent(character_id="a", vitals={}), audience) == ["maker"]


def test_deltas_only_for_streamed_requests_still_awaited() -> None:
    assert delivers_deltas(stream_requested=True, abandoned=False)
    assert not delivers_deltas(stream_requested=False, abandoned=False)
    assert not delivers_deltas(stream_requested=True, abandoned=True)
