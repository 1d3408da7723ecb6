"""Who receives what beyond the answers to their own requests: the subscription rules.

Pure functions over plain values. The rules, which make seed-era compatibility hold by
construction:

* events go only to sessions attached to the event's character that subscribed to its kind in
  ``hello.subscribe``; a session that never sent ``hello`` has no subscriptions, so it never
  receives an event;
* a ``turn_event`` never goes to the session that made the turn (it has the reply);
* ``chat_delta`` and ``export_chunk`` frames go only to the requesting session, and only
  when its request asked for ``stream: true``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from protocol.events import TurnEvent
from protocol.unions import EVENT_SUBSCRIPTIONS, EventMessage


@dataclass(frozen=True, slots=True)
class Audience:
    """What the fan-out rules need to know about one session."""

    session_id: str
    character_id: str | None
    subscriptions: frozenset[str]


def event_recipients(event: EventMessage, audience: Iterable[Audience]) -> list[str]:
    """Session ids that receive ``event``, in the order ``audience`` lists them."""
    kind = EVENT_SUBSCRIPTIONS[type(event)]
    maker = event.session_id if isinstance(event, TurnEvent) else None
    return [
        member.session_id
        for member in audience
        if member.character_id == event.character_id
        and kind in member.subscriptions
        and member.session_id != maker
    ]


def delivers_deltas(*, stream_requested: bool, abandoned: bool) -> bool:
    """Whether a ``chat_delta`` (or ``export_chunk``) of a request reaches its session."""
    return stream_requested and not abandoned
