"""Frames on the gateway↔worker pipe (fd 3 in the worker).

A tagged union on ``kind`` (not ``message_type``, so a frame and the message it carries never
share a tag namespace). Requests and replies carry the routing fields the gateway needs:
``session_id`` says which client session a request came from, ``request_id`` (unique per
worker channel, chosen by the gateway) matches replies to requests. A streamed reply is several
``WorkerReply`` frames with the same ``request_id``; exactly the last has ``final=True``.

Each frame declares its direction above its class (``@to_worker``/``@from_worker``); the
unions ``ToWorker`` and ``FromWorker`` are derived from those declarations (the type checker
sees both as ``PipeFrame``).
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any, Final, TypeAlias

import msgspec

from protocol.admin import Port
from protocol.declaration import PipeDirection, from_worker, to_worker
from protocol.unions import ClientMessage, EventMessage, ServerMessage, frames_in, union_of

RequestId = Annotated[int, msgspec.Meta(ge=0)]


class PipeFrame(msgspec.Struct, tag_field="kind", kw_only=True):
    """Base of every pipe frame."""


@to_worker
class WorkerRequest(PipeFrame, tag="request"):
    """Gateway → worker: a client's request for this worker's character.

    ``user`` is the speaker name the session authenticated as (``hello.user``, else ``"user"``).
    """

    session_id: str
    request_id: RequestId
    user: str
    message: ClientMessage


@to_worker
class WorkerCancel(PipeFrame, tag="cancel"):
    """Gateway → worker: stop work on ``request_id``; the worker still sends a final reply
    (``error_response`` with code ``cancelled``, or the result if it was already done)."""

    request_id: RequestId


EXPORT_CHUNK_WINDOW: Final = 8
"""How many ``export_chunk`` replies of one streamed export a worker sends before it waits
for an ``ExportCredit``: the most a slow client can leave queued in the gateway per export."""


@to_worker
class ExportCredit(PipeFrame, tag="export_credit"):
    """Gateway → worker: one ``export_chunk`` of ``request_id`` has been written to the
    client's socket, so the worker may send one more (flow control: a streamed export moves
    at the speed of the client that reads it, and the gateway buffers at most
    ``EXPORT_CHUNK_WINDOW`` chunks of it)."""

    request_id: RequestId


@to_worker
class Heartbeat(PipeFrame, tag="heartbeat"):
    """Gateway/supervisor → worker: answer with ``HeartbeatAck`` carrying the same ``seq``."""

    seq: int


@to_worker
class Shutdown(PipeFrame, tag="shutdown"):
    """Supervisor → worker: finish or cancel in-flight turns, persist, exit 0 within
    ``grace_s`` seconds (after which the supervisor kills the process)."""

    grace_s: float


@to_worker
class StartDebugger(PipeFrame, tag="start_debugger"):
    """Supervisor → worker: listen for a debugger on 127.0.0.1:``port`` (0 = OS chooses);
    ``wait`` blocks the worker until one attaches. Answered by ``DebuggerStarted``."""

    port: Port
    wait: bool = False


@from_worker
class WorkerReply(PipeFrame, tag="reply"):
    """Worker → gateway: a response (or ``chat_delta``) to ``request_id``; ``final`` on the last."""

    request_id: RequestId
    message: ServerMessage
    final: bool = True


@from_worker
class WorkerProgress(PipeFrame, tag="progress"):
    """Worker → gateway: ``request_id`` (a chat turn) is still being worked on. Sent every
    few seconds while a turn runs, whether or not its client asked for ``chat_delta``
    frames, so the gateway's request timeout bounds a silent worker, not a long reply. Never
    forwarded to a client."""

    request_id: RequestId


@from_worker
class WorkerEvent(PipeFrame, tag="event"):
    """Worker → gateway: an event for the character's subscribed sessions."""

    message: EventMessage


@from_worker
class Ready(PipeFrame, tag="ready"):
    """Worker → supervisor: the engine is loaded and requests may flow.

    ``generation`` echoes the start count the supervisor gave the worker; ``engine`` names the
    LLM backend in use (``scripted``, ``ollama``, ``openai``).
    """

    pid: int
    character_id: str
    generation: int
    engine: str
    debug_port: int | None = None


@from_worker
class HeartbeatAck(PipeFrame, tag="heartbeat_ack"):
    """Worker → supervisor: answer to ``Heartbeat`` with its ``seq``."""

    seq: int


@from_worker
class LogRecord(PipeFrame, tag="log"):
    """Worker → supervisor: one structured log record (a structlog event dict, JSON-safe)."""

    record: dict[str, Any]


@from_worker
class DebuggerStarted(PipeFrame, tag="debugger_started"):
    """Worker → supervisor: the debugger listens on 127.0.0.1:``port``."""

    port: int


@from_worker
class Fatal(PipeFrame, tag="fatal"):
    """Worker → supervisor: the worker cannot continue (sent just before it exits non-zero)."""

    error: str
    traceback: str | None = None


_BY_DIRECTION: Final = frames_in(sys.modules[__name__], PipeFrame)

if TYPE_CHECKING:
    ToWorker: TypeAlias = PipeFrame
    FromWorker: TypeAlias = PipeFrame
else:
    ToWorker = union_of(_BY_DIRECTION[PipeDirection.TO_WORKER])
    """Every frame the gateway/supervisor sends to a worker (the ``@to_worker`` frames)."""

    FromWorker = union_of(_BY_DIRECTION[PipeDirection.FROM_WORKER])
    """Every frame a worker sends to the gateway/supervisor (the ``@from_worker`` frames)."""
