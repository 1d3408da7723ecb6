"""Frames on the gateway↔worker pipe (fd 3 in the worker).

A tagged union on ``kind`` (not ``message_type``, so a frame and the message it carries never
share a tag namespace). Requests and replies carry the routing fields the gateway needs:
``session_id`` says which client session a request came from, ``request_id`` (unique per
worker channel, chosen by the gateway) matches replies to requests. A streamed reply is several
``WorkerReply`` frames with the same ``request_id``; exactly the last has ``final=True``.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from protocol.admin import Port
from protocol.unions import ClientMessage, EventMessage, ServerMessage

RequestId = Annotated[int, msgspec.Meta(ge=0)]


class PipeFrame(msgspec.Struct, tag_field="kind", kw_only=True):
    """Base of every pipe frame."""


class WorkerRequest(PipeFrame, tag="request"):
    """Gateway → worker: a client's request for this worker's character.

    ``user`` is the speaker name the session authenticated as (``hello.user``, else ``"user"``).
    """

    session_id: str
    request_id: RequestId
    user: str
    message: ClientMessage


class WorkerCancel(PipeFrame, tag="cancel"):
    """Gateway → worker: stop work on ``request_id``; the worker still sends a final reply
    (``error_response`` with code ``cancelled``, or the result if it was already done)."""

    request_id: RequestId


class Heartbeat(PipeFrame, tag="heartbeat"):
    """Gateway/supervisor → worker: answer with ``HeartbeatAck`` carrying the same ``seq``."""

    seq: int


class Shutdown(PipeFrame, tag="shutdown"):
    """Supervisor → worker: finish or cancel in-flight turns, persist, exit 0 within
    ``grace_s`` seconds (after which the supervisor kills the process)."""

    grace_s: float


class StartDebugger(PipeFrame, tag="start_debugger"):
    """Supervisor → worker: listen for a debugger on 127.0.0.1:``port`` (0 = OS chooses);
    ``wait`` blocks the worker until one attaches. Answered by ``DebuggerStarted``."""

    port: Port
    wait: bool = False


class WorkerReply(PipeFrame, tag="reply"):
    """Worker → gateway: a response (or ``chat_delta``) to ``request_id``; ``final`` on the last."""

    request_id: RequestId
    message: ServerMessage
    final: bool = True


class WorkerProgress(PipeFrame, tag="progress"):
    """Worker → gateway: ``request_id`` (a chat turn) is still being worked on. Sent every
    few seconds while a turn runs, whether or not its client asked for ``chat_delta``
    frames, so the gateway's request timeout bounds a silent worker, not a long reply. Never
    forwarded to a client."""

    request_id: RequestId


class WorkerEvent(PipeFrame, tag="event"):
    """Worker → gateway: an event for the character's subscribed sessions."""

    message: EventMessage


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


class HeartbeatAck(PipeFrame, tag="heartbeat_ack"):
    """Worker → supervisor: answer to ``Heartbeat`` with its ``seq``."""

    seq: int


class LogRecord(PipeFrame, tag="log"):
    """Worker → supervisor: one structured log record (a structlog event dict, JSON-safe)."""

    record: dict[str, Any]


class DebuggerStarted(PipeFrame, tag="debugger_started"):
    """Worker → supervisor: the debugger listens on 127.0.0.1:``port``."""

    port: int


class Fatal(PipeFrame, tag="fatal"):
    """Worker → supervisor: the worker cannot continue (sent just before it exits non-zero)."""

    error: str
    traceback: str | None = None


ToWorker = WorkerRequest | WorkerCancel | Heartbeat | Shutdown | StartDebugger
"""Every frame the gateway/supervisor sends to a worker."""

FromWorker = (
    WorkerReply | WorkerProgress | WorkerEvent | Ready | HeartbeatAck | LogRecord
    | DebuggerStarted | Fatal
)
"""Every frame a worker sends to the gateway/supervisor."""
