"""The envelope every WebSocket message shares: ``message_type``, ``message_id``, ``timestamp``.

``Message`` is the base of every client and server message, ``Event`` (which adds
``character_id``) of every event. Subclasses name their wire tag
(``class PingRequest(Message, tag="ping_request")``); msgspec writes it as the
``message_type`` field and dispatches on it when decoding a union. What a message is for is
declared above its class (``protocol.declaration``).

To answer a request, build the response with the request's id
(``ChatResponse(message_id=request.message_id, ...)``) or copy one with
``msgspec.structs.replace(msg, message_id=...)``.
"""

from __future__ import annotations

from datetime import UTC, datetime

import msgspec


def utc_now_iso() -> str:
    """The current UTC time as ISO-8601 with microseconds and ``+00:00``.

    ``+00:00`` rather than ``Z`` so ``datetime.fromisoformat`` parses it on every Python
    version a seed-era client may run.
    """
    return datetime.now(UTC).isoformat(timespec="microseconds")


class Message(
    msgspec.Struct,
    tag_field="message_type",
    kw_only=True,
):
    """Envelope fields shared by every message.

    ``timestamp`` is taken when the Struct is built (or decoded without one), never at import;
    pass ``timestamp=`` explicitly to pin it (tests, replays). Unknown fields in input frames
    are ignored, as the seed-era contract requires.
    """

    message_id: str | None = None
    timestamp: str = msgspec.field(default_factory=utc_now_iso)


class Event(Message):
    """Envelope fields shared by every event: the character it is about.

    Events answer no request (``message_id`` is ``None``); each is declared with
    ``protocol.declaration.event``, which names the subscription that delivers it.
    """

    character_id: str
