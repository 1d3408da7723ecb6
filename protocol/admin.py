"""Admin requests: inspect workers, restart a character, start a debugger in one worker.

The gateway refuses them with ``forbidden`` on a connection that sent an ``Origin`` header
(possibly a web page), unless the server has a token and the session presented it.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from protocol.declaration import Handling, request, response
from protocol.envelope import Message
from protocol.states import WorkerState

Port = Annotated[int, msgspec.Meta(ge=0, le=65535)]


class WorkerInfo(msgspec.Struct, kw_only=True):
    """One character's worker as the supervisor sees it.

    ``pid``/``uptime_s``/memory are ``None`` when no process is running. ``rss_bytes`` and
    ``uss_bytes`` are resident and unique set sizes in bytes; ``uss_bytes`` is ``None`` where
    the OS cannot report it. ``last_crash`` is the last crash report's summary.
    """

    character_id: str
    pid: int | None = None
    state: WorkerState = "stopped"
    uptime_s: float | None = None
    restarts: int = 0
    rss_bytes: int | None = None
    uss_bytes: int | None = None
    sessions: int = 0
    generation: int = 0
    debug_port: int | None = None
    last_crash: str | None = None


@request(answer="workers_response", handling=Handling.ADMIN)
class WorkersRequest(Message, tag="workers_request"):
    """List every worker (what ``greenroom ps`` shows)."""


@response()
class WorkersResponse(Message, tag="workers_response"):
    """Answers ``workers_request``, sorted by ``character_id``."""

    success: bool = True
    workers: list[WorkerInfo] = msgspec.field(default_factory=list)
    error: str | None = None


@request(answer="restart_response", handling=Handling.ADMIN)
class RestartRequest(Message, tag="restart_request"):
    """Restart one character's worker, clearing a ``failed`` quarantine."""

    character_id: str


@response()
class RestartResponse(Message, tag="restart_response"):
    """Answers ``restart_request`` once the restart was initiated (not when it is ready:
    subscribe to ``worker_state`` for that)."""

    success: bool = True
    character_id: str | None = None
    error: str | None = None


@request(answer="debug_response", handling=Handling.ADMIN)
class DebugRequest(Message, tag="debug_request"):
    """Start a debugpy listener in one worker on 127.0.0.1.

    ``port`` ``None`` or 0 lets the OS choose; ``wait`` makes the worker stop until a debugger
    attaches (its heartbeats are suspended meanwhile).
    """

    character_id: str
    port: Port | None = None
    wait: bool = False


@response()
class DebugResponse(Message, tag="debug_response"):
    """Answers ``debug_request`` with where to attach: ``127.0.0.1:port`` in process ``pid``."""

    success: bool = True
    character_id: str | None = None
    pid: int | None = None
    port: int | None = None
    error: str | None = None
