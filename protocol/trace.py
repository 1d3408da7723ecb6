"""Why a turn went as it did: the trace the engine stored with it, asked for by turn.

``trace_request`` is opt-in (no seed-era client sends it) and read-only: the gateway forwards
it at once, also while a reply streams. The ``trace`` object's inner shape belongs to the
character engine (``docs/engine.md``, "The trace of a turn").
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from protocol.declaration import Handling, request, response
from protocol.envelope import Message
from protocol.fields import JsonObject

TurnIndex = Annotated[int, msgspec.Meta(ge=1)]


@request(answer="trace_response", handling=Handling.DIRECT)
class TraceRequest(Message, tag="trace_request"):
    """The trace of turn ``turn_index`` of the attached character (the 1-based position in
    the conversation, as ``conversation_history`` numbers turns; the newest turn of that
    index if a reset made two); ``None``: its newest turn. A turn that does not exist is
    refused with ``bad_request``."""

    turn_index: TurnIndex | None = None


@response()
class TraceResponse(Message, tag="trace_response"):
    """Answers ``trace_request``: which turn (``turn_id``, ``turn_index``, ``user``, its
    ``user_message``, ``created_at`` ISO-8601) and its ``trace`` — ``None`` for a turn (or a
    reply) stored before greenroom recorded traces."""

    success: bool = True
    turn_id: int | None = None
    turn_index: int | None = None
    user: str | None = None
    user_message: str | None = None
    created_at: str | None = None
    trace: JsonObject | None = None
    error: str | None = None
