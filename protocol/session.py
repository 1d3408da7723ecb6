"""Opening a session: ping, the seed's ``init_request`` and the newer ``hello``
handshake.

Seed-era messages here (``PROTOCOL.md``) are a compatibility contract: their field names,
types and defaults are frozen by clients written for the seed. Response fields other than
``success`` are ``None`` where they do not apply and are still encoded (as ``null``), so a
seed-era client that indexes ``response["vitals"]`` never hits a missing key. Newer
messages are opt-in: nothing is sent to a client that did not ask for it.
"""

from __future__ import annotations

import msgspec

from protocol.declaration import Handling, request, response
from protocol.envelope import Message, utc_now_iso
from protocol.fields import JsonObject, NonNegativeInt
from protocol.states import EventKind


@request(answer="ping_response", handling=Handling.GATEWAY, seed=True)
class PingRequest(Message, tag="ping_request"):
    """Is the server there? Answered by ``ping_response``; needs no character."""


@response(seed=True)
class PingResponse(Message, tag="ping_response"):
    """Answers ``ping_request``; ``server_time`` is the server's clock when it answered."""

    success: bool = True
    server_time: str = msgspec.field(default_factory=utc_now_iso)


@request(answer="init_response", handling=Handling.ATTACH, seed=True)
class InitRequest(Message, tag="init_request"):
    """Attach this session to a character, starting its worker if needed.

    Never resets the character and never replaces it for other clients. ``character_config``
    and ``agent_config`` are accepted for seed compatibility but are not trusted to define a
    character.
    """

    character_id: str
    character_config: JsonObject | None = None
    agent_config: JsonObject | None = None


@response(seed=True)
class InitResponse(Message, tag="init_response"):
    """Answers ``init_request``; ``character_info`` is filled on success."""

    success: bool = True
    character_name: str | None = None
    character_info: JsonObject | None = None
    error: str | None = None


@request(answer="hello_response", handling=Handling.GATEWAY)
class Hello(Message, tag="hello"):
    """Handshake a newer client sends first.

    Announces the client's ``protocol_version``, authenticates with ``token`` (required when
    the server is not on loopback), names the ``user`` for relationship state, subscribes to
    event kinds, and optionally attaches to ``character_id`` at once (like ``init_request``).
    """

    protocol_version: NonNegativeInt
    client_name: str | None = None
    token: str | None = None
    user: str | None = None
    subscribe: list[EventKind] = msgspec.field(default_factory=list)
    character_id: str | None = None


@response()
class HelloResponse(Message, tag="hello_response"):
    """Answers ``hello``. ``protocol_version`` is the version the server will speak;
    ``capabilities`` lists the ``message_type`` values it accepts."""

    success: bool = True
    protocol_version: int | None = None
    server_version: str | None = None
    session_id: str | None = None
    capabilities: list[str] = msgspec.field(default_factory=list)
    error: str | None = None
