"""Admin requests: inspect workers, restart or reload characters, start a debugger in one
worker.

The gateway refuses them with ``forbidden`` on a connection that sent an ``Origin`` header
(possibly a web page), unless the server has a token and the session presented it.
"""

from __future__ import annotations

from typing import Annotated, Literal

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
    ``code_generation`` is the fork server generation the running process's code comes from
    (1: the one ``serve`` started; each code reload adds one), ``code_loaded_at`` when that
    code was loaded (ISO-8601, UTC); ``stale`` says why the process runs code or a character
    file older than what is on disk (``None``: it runs what is on disk). ``node`` is the Ray
    node the character's actor runs on (``<node id>@<address>``; ``None`` for the local
    placement).
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
    code_generation: int | None = None
    code_loaded_at: str | None = None
    stale: str | None = None
    node: str | None = None


@request(answer="workers_response", handling=Handling.ADMIN)
class WorkersRequest(Message, tag="workers_request"):
    """List every worker (what ``greenroom ps`` shows)."""


@response()
class WorkersResponse(Message, tag="workers_response"):
    """Answers ``workers_request``, sorted by ``character_id``. ``code_generation`` is the
    newest code generation (what a worker started now runs); ``reload_error`` the problem of
    the last attempt at newer code (``file:line: error``), while the files are unchanged."""

    success: bool = True
    workers: list[WorkerInfo] = msgspec.field(default_factory=list)
    error: str | None = None
    code_generation: int | None = None
    reload_error: str | None = None


@request(answer="restart_response", handling=Handling.ADMIN)
class RestartRequest(Message, tag="restart_request"):
    """Restart one character's worker, clearing a ``failed`` quarantine."""

    character_id: str


@response()
class RestartResponse(Message, tag="restart_response"):
    """Answers ``restart_request`` once the restart was initiated (not when it is ready:
    subscribe to ``worker_state`` for that). ``stale`` is set when the new worker will run
    code older than what is on disk, and says why (the newer code failed to load)."""

    success: bool = True
    character_id: str | None = None
    error: str | None = None
    stale: str | None = None


@request(answer="reload_response", handling=Handling.ADMIN)
class ReloadRequest(Message, tag="reload_request"):
    """Bring characters' workers to the code and character files on disk, one at a time,
    sessions attached. ``character_ids`` empty: every character that has a worker."""

    character_ids: list[str] = msgspec.field(default_factory=list)


ReloadResult = Literal["reloaded", "up_to_date", "invalid", "failed", "not_running"]
"""What a reload did to one character (see ``CharacterReloadInfo``)."""


class CharacterReloadInfo(msgspec.Struct, kw_only=True):
    """One character's part of a reload: ``reloaded`` onto the code and file on disk,
    ``up_to_date`` (nothing to do), ``invalid`` (its character file does not load; the running
    worker was left as it was), ``failed`` (the new worker did not start), ``not_running``
    (no worker; it starts from the newest code when first used). ``detail`` says why for
    ``invalid`` and ``failed``; ``generation`` is the worker generation after the reload."""

    character_id: str
    result: ReloadResult
    detail: str | None = None
    generation: int | None = None


@response()
class ReloadResponse(Message, tag="reload_response"):
    """Answers ``reload_request`` once the roll is over. ``success`` is false when anything
    was refused or failed. ``error`` (and ``traceback``) is set when the code on disk failed to
    load or rehearse (``file:line: error``): then no worker was touched. ``code_generation`` is
    the newest code generation, ``code_reloaded`` whether this reload loaded it;
    ``supervisor_files`` are changed files only the supervisor runs, which need a restart of
    ``greenroom serve``."""

    success: bool = True
    code_generation: int | None = None
    code_reloaded: bool = False
    characters: list[CharacterReloadInfo] = msgspec.field(default_factory=list)
    supervisor_files: list[str] = msgspec.field(default_factory=list)
    error: str | None = None
    traceback: str | None = None


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
