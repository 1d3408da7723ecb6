"""A character's saved states: save, load, reset, list and delete named snapshots,
and export the whole history.

Seed-era messages here (``PROTOCOL.md``) are a compatibility contract: their field names,
types and defaults are frozen by clients written for the seed. Response fields other than
``success`` are ``None`` where they do not apply and are still encoded (as ``null``), so a
seed-era client that indexes ``response["vitals"]`` never hits a missing key. Newer
messages are opt-in: nothing is sent to a client that did not ask for it.
"""

from __future__ import annotations

from typing import Final

import msgspec

from protocol.declaration import Handling, request, response, stream_frame
from protocol.envelope import Message
from protocol.fields import MAX_PAGE_SIZE, JsonObject, NonNegativeInt, PageLimit, PageOffset


@request(answer="save_response", handling=Handling.DIRECT, seed=True)
class SaveRequest(Message, tag="save_request"):
    """Save a named snapshot. ``filename`` is a *name*, never a path (see ``check_snapshot_name``);
    ``None`` lets the server pick a timestamped name."""

    filename: str | None = None


@response(seed=True)
class SaveResponse(Message, tag="save_response"):
    """Answers ``save_request``; ``filename`` is the snapshot name actually used."""

    success: bool = True
    filename: str | None = None
    error: str | None = None


@request(answer="load_response", handling=Handling.TURN, seed=True)
class LoadRequest(Message, tag="load_request"):
    """Restore the attached character from the named snapshot."""

    filename: str


@response(seed=True)
class LoadResponse(Message, tag="load_response"):
    """Answers ``load_request``; ``character_info`` describes the restored character."""

    success: bool = True
    character_info: JsonObject | None = None
    error: str | None = None


@request(answer="reset_response", handling=Handling.TURN, seed=True)
class ResetRequest(Message, tag="reset_request"):
    """Reset the character's state (vitals, relationships, turns); memories kept by default."""

    preserve_memories: bool = True


@response(seed=True)
class ResetResponse(Message, tag="reset_response"):
    """Answers ``reset_request``; ``character_info`` describes the character after the reset."""

    success: bool = True
    character_info: JsonObject | None = None
    error: str | None = None


@request(answer="snapshots_response", handling=Handling.DIRECT)
class SnapshotsRequest(Message, tag="snapshots_request"):
    """List the attached character's saved snapshots, oldest first, one page at a time:
    entries ``offset`` .. ``offset + limit - 1`` (``limit`` at most 1000, the default)."""

    offset: PageOffset = 0
    limit: PageLimit = MAX_PAGE_SIZE


@response()
class SnapshotsResponse(Message, tag="snapshots_response"):
    """Answers ``snapshots_request``; each entry has at least ``filename`` and ``created_at``.

    ``total`` counts every snapshot; ``next_offset`` is the ``offset`` of the next page, or
    ``None`` when this page is the last."""

    success: bool = True
    snapshots: list[JsonObject] = msgspec.field(default_factory=list)
    total: int | None = None
    next_offset: int | None = None
    error: str | None = None


@request(answer="delete_snapshot_response", handling=Handling.DIRECT)
class DeleteSnapshotRequest(Message, tag="delete_snapshot_request"):
    """Delete one named snapshot of the attached character."""

    filename: str


@response()
class DeleteSnapshotResponse(Message, tag="delete_snapshot_response"):
    """Answers ``delete_snapshot_request``."""

    success: bool = True
    filename: str | None = None
    error: str | None = None


@request(answer="export_response", handling=Handling.DIRECT)
class ExportRequest(Message, tag="export_request"):
    """Export the attached character's full state as one JSON document.

    Without ``stream`` the document comes whole in ``export_response.document`` (refused with
    ``answer_too_large`` once it outgrows a frame). With ``stream: true`` (opt-in; any size)
    the server sends the document's JSON text as ``export_chunk`` frames carrying this
    request's ``message_id``, then an ``export_response`` with the totals and no ``document``.

    ``user`` (opt-in) exports one user's thread: the turns that user wrote, their
    relationship and the memories about them, with the shared state and no snapshots (which
    hold everyone's); the document's ``user`` says whose it is. ``None``: everything.
    """

    stream: bool = False
    user: str | None = None


@stream_frame
class ExportChunk(Message, tag="export_chunk"):
    """A piece of a streamed export, ``message_id`` = the export request's id.

    ``seq`` counts the chunks of one export from 0; concatenating ``data`` in ``seq`` order
    gives the document's JSON text. ``data`` holds at most ``EXPORT_CHUNK_CHARS`` characters,
    so a chunk frame stays far below both the WebSocket and the pipe frame limits.
    """

    seq: NonNegativeInt
    data: str


EXPORT_CHUNK_CHARS: Final = 64 * 1024
"""The most characters one ``export_chunk.data`` holds: at most 384 KiB as JSON text (6 bytes
per escaped control character), typically about 70 KB."""


@response()
class ExportResponse(Message, tag="export_response"):
    """Answers ``export_request``; ``document`` is self-describing and versioned by the engine.

    After a streamed export ``document`` is ``None`` and the totals let the client check what
    it assembled: ``chunks`` (how many ``export_chunk`` frames came first), ``total_bytes``
    (the UTF-8 length of the whole text) and ``sha256`` (hex digest of those bytes)."""

    success: bool = True
    document: JsonObject | None = None
    chunks: int | None = None
    total_bytes: int | None = None
    sha256: str | None = None
    error: str | None = None
