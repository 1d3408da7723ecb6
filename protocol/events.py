"""Events pushed to sessions that subscribed to them in ``hello.subscribe``.

Events answer no request: their ``message_id`` is ``None``. A session that never sent
``hello`` (every seed-era client) receives none.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from protocol.declaration import event
from protocol.envelope import Event
from protocol.fields import JsonObject
from protocol.states import WorkerState, WorkerStateReason


@event(subscription="vitals")
class VitalsEvent(Event, tag="vitals_event"):
    """Subscription ``vitals``: the character's vitals changed (``vitals`` is the full
    current set); ``cause`` says why (``"turn"``, ``"reset"``, ``"load"``, ...).

    ``mood_intensity`` (0…1: how far the levels are from the character's resting state) is
    the server's, so every client shows the same figure. After a turn (``cause: "turn"``)
    the event carries that turn's own numbers, the very ones its ``chat_response`` has:
    ``mood`` and ``mood_intensity`` as the turn left them, ``previous_mood`` (the mood
    before it), ``vitals_delta`` (what the message moved each level by; ``{}`` when the
    state was not touched) and ``user`` (who spoke). For other causes those three are
    ``null``. All four are additions: a client that does not know them ignores them.
    """

    vitals: JsonObject
    mood: str | None = None
    cause: str | None = None
    mood_intensity: float | None = None
    previous_mood: str | None = None
    vitals_delta: dict[str, float] | None = None
    user: str | None = None


@event(subscription="turns")
class TurnEvent(Event, tag="turn_event"):
    """Subscription ``turns``: another session of the same character completed a turn.

    Never sent to the session that made the turn (it has the ``chat_response``).
    """

    user: str
    user_message: str
    response_text: str
    turn_index: Annotated[int, msgspec.Meta(ge=0)]
    session_id: str | None = None


@event(subscription="worker_state")
class WorkerStateEvent(Event, tag="worker_state_event"):
    """Subscription ``worker_state``: the character's worker changed state.

    ``generation`` increases by one with every start of the worker, so a client can tell a
    restart from a repeated event; ``detail`` is a human-readable reason (crash cause, ...);
    ``reason`` says why in one word (``start``, ``crash``, ``restart``, ``reload``, ``stop``).
    """

    state: WorkerState
    detail: str | None = None
    generation: int = 0
    reason: WorkerStateReason | None = None
