"""Opt-in client messages beyond the seed: handshake, streaming, cancel, undo, regenerate,
alternatives, character list, snapshots and export.

Nothing here is ever sent to a client that did not ask for it: each response answers a request
only a newer client sends, and ``chat_delta`` flows only for ``stream: true`` requests.
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from protocol.envelope import Message
from protocol.messages import JsonObject
from protocol.states import EventKind, WorkerState

NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]


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


class HelloResponse(Message, tag="hello_response"):
    """Answers ``hello``. ``protocol_version`` is the version the server will speak;
    ``capabilities`` lists the ``message_type`` values it accepts."""

    success: bool = True
    protocol_version: int | None = None
    server_version: str | None = None
    session_id: str | None = None
    capabilities: list[str] = msgspec.field(default_factory=list)
    error: str | None = None


class ChatDelta(Message, tag="chat_delta"):
    """A piece of a streamed reply, ``message_id`` = the chat request's id.

    ``index`` counts deltas of one reply from 0; concatenating ``delta`` in index order gives
    the final ``chat_response.response_text``.
    """

    delta: str
    index: NonNegativeInt


GenerationPhase = Literal["queued", "reading_prompt", "streaming"]


class GenerationStatus(Message, tag="generation_status"):
    """Where a streamed reply stands before its text arrives, ``message_id`` = the chat
    request's id; sent only for ``stream: true`` requests, at each change of ``phase``:

    * ``queued``: the turn waits behind another turn of the same character (the gateway);
    * ``reading_prompt``: the request went to the LLM server, which is queueing it, loading
      the model or reading the prompt (no token yet);
    * ``streaming``: the first token came (sent once, right after the first ``chat_delta``,
      so that it never delays it).

    ``elapsed_s``: seconds since the server started on the request (``queued``: 0).
    """

    phase: GenerationPhase
    elapsed_s: float = 0.0


class CancelRequest(Message, tag="cancel_request"):
    """Cancel the in-flight chat/regenerate whose ``message_id`` is ``target_message_id``.

    The cancelled request itself answers ``error_response`` with code ``cancelled``.
    """

    target_message_id: str


class CancelResponse(Message, tag="cancel_response"):
    """Answers ``cancel_request``; ``success`` false (with ``error``) when nothing matched."""

    success: bool = True
    target_message_id: str | None = None
    error: str | None = None


class UndoRequest(Message, tag="undo_request"):
    """Remove this session's last turn (user message and reply) from the character."""


class UndoResponse(Message, tag="undo_response"):
    """Answers ``undo_request``; ``character_info`` describes the character afterwards."""

    success: bool = True
    character_info: JsonObject | None = None
    error: str | None = None


class RegenerateRequest(Message, tag="regenerate_request"):
    """Replace this session's last reply with a new one; answered exactly like a chat
    (``chat_delta`` frames when ``stream``, then ``chat_response``). ``keep_partial`` as for
    ``chat_request``: the cut-off text of the last failed regenerate becomes the reply."""

    stream: bool = False
    keep_partial: bool = False


class AlternativesRequest(Message, tag="alternatives_request"):
    """List every reply the attached character's last turn has had (it gains one per
    ``regenerate_request``), to pick one with ``select_alternative_request``."""


class AlternativesResponse(Message, tag="alternatives_response"):
    """Answers ``alternatives_request``. Each entry: ``index`` (int, 0 = the first reply, in
    the order produced), ``response_text``, ``created_at`` (ISO-8601) and ``current`` (bool;
    exactly one is true). Empty when there is no turn whose reply can change."""

    success: bool = True
    alternatives: list[JsonObject] = msgspec.field(default_factory=list)
    error: str | None = None


class SelectAlternativeRequest(Message, tag="select_alternative_request"):
    """Make reply ``index`` (from ``alternatives_response``) the last turn's current reply;
    the character's state, vitals, relationship and memories become exactly what they were
    when that reply was produced."""

    index: NonNegativeInt


class SelectAlternativeResponse(Message, tag="select_alternative_response"):
    """Answers ``select_alternative_request``; ``character_info`` describes the character
    afterwards."""

    success: bool = True
    character_info: JsonObject | None = None
    error: str | None = None


class CharacterListing(msgspec.Struct, kw_only=True):
    """One configured character and its worker's state."""

    character_id: str
    name: str
    archetype: str | None = None
    description: str | None = None
    state: WorkerState = "stopped"


class CharactersRequest(Message, tag="characters_request"):
    """List every configured character; needs no ``init_request``."""


class CharactersResponse(Message, tag="characters_response"):
    """Answers ``characters_request``, sorted by ``character_id``."""

    success: bool = True
    characters: list[CharacterListing] = msgspec.field(default_factory=list)
    error: str | None = None


class SnapshotsRequest(Message, tag="snapshots_request"):
    """List the attached character's saved snapshots."""


class SnapshotsResponse(Message, tag="snapshots_response"):
    """Answers ``snapshots_request``; each entry has at least ``filename`` and ``created_at``."""

    success: bool = True
    snapshots: list[JsonObject] = msgspec.field(default_factory=list)
    error: str | None = None


class DeleteSnapshotRequest(Message, tag="delete_snapshot_request"):
    """Delete one named snapshot of the attached character."""

    filename: str


class DeleteSnapshotResponse(Message, tag="delete_snapshot_response"):
    """Answers ``delete_snapshot_request``."""

    success: bool = True
    filename: str | None = None
    error: str | None = None


class ExportRequest(Message, tag="export_request"):
    """Export the attached character's full state as one JSON document."""


class ExportResponse(Message, tag="export_response"):
    """Answers ``export_request``; ``document`` is self-describing and versioned by the engine."""

    success: bool = True
    document: JsonObject | None = None
    error: str | None = None
