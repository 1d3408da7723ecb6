"""The contract between the gateway and the worker pool, which live in the same process.

The gateway never touches processes; the pool never touches WebSockets. The gateway calls the
methods of ``WorkerPoolApi``; the pool calls back into the gateway through ``PoolListener``
for every frame a worker sends and every change of a worker's state. A worker's state is the
protocol's ``WorkerState`` (``protocol.states``): the words the pool decides by are the words a
client reads in ``worker_state_event``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from protocol.admin import ReloadResult
from protocol.states import WorkerState, WorkerStateReason


class PoolError(Exception):
    """A pool operation failed; ``code`` is the protocol error code to answer with."""

    code = "internal"

    def __init__(self, character_id: str, message: str) -> None:
        super().__init__(message)
        self.character_id = character_id


class CharacterNotFound(PoolError):
    code = "character_not_found"


class CharacterUnavailable(PoolError):
    """Quarantined (``failed``), stopped, or could not start."""

    code = "character_unavailable"


class CharacterRestarting(PoolError):
    code = "character_restarting"


@dataclass(frozen=True, slots=True)
class WorkerSnapshot:
    """What ``greenroom ps`` and ``/healthz`` show for one character's worker."""

    character_id: str
    state: WorkerState
    pid: int | None
    generation: int
    uptime_s: float | None
    restarts: int
    rss_bytes: int | None
    uss_bytes: int | None
    debug_port: int | None
    last_crash: str | None
    reason: WorkerStateReason | None = None
    """Why the worker is in its state: ``start``, ``crash``, ``restart``, ``reload``, ``stop``."""
    detail: str | None = None
    """A human-readable word on that: the crash for ``crash``, what was reloaded for ``reload``."""
    code_generation: int | None = None
    """The fork server generation its code comes from (1: the one ``serve`` started)."""
    code_loaded_at: float | None = None
    """When that code was loaded (seconds since the epoch)."""
    stale: str | None = None
    """Why it runs something older than what is on disk (code or character file), else None."""
    node: str | None = None
    """The Ray node the worker runs on (``--placement ray``: ``<node id>@<address>``); None
    for the local placement."""


@dataclass(frozen=True, slots=True)
class CharacterReload:
    """One character's part of a reload (``ReloadResult``: the words of ``reload_response``);
    ``detail`` says why for ``invalid``/``failed``."""

    character_id: str
    result: ReloadResult
    detail: str | None = None
    generation: int | None = None


@dataclass(frozen=True, slots=True)
class ReloadOutcome:
    """What ``WorkerPoolApi.reload`` did.

    ``code_generation`` is the newest fork server's; ``code_reloaded`` whether this reload
    started it. ``code_error`` (with ``code_traceback``) is set when the code on disk failed to
    load or rehearse: then no worker was touched. ``supervisor_files`` are changed files only
    the supervisor process runs (the gateway's own code), which no reload can replace."""

    code_generation: int
    code_reloaded: bool = False
    code_error: str | None = None
    code_traceback: str | None = None
    characters: tuple[CharacterReload, ...] = ()
    supervisor_files: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """Nothing was refused or failed."""
        return self.code_error is None and all(
            c.result not in ("invalid", "failed") for c in self.characters)


@dataclass(frozen=True, slots=True)
class CodeStatus:
    """The pool's code as a whole: the newest fork server's generation and load time, and the
    problem of the last failed attempt at newer code (``None``: none pending)."""

    generation: int | None
    loaded_at: float | None
    reload_error: str | None


class PoolListener(Protocol):
    """Called on the pool's own tasks (a worker's frame reader, its supervision loop), which
    do not guard these calls: a listener must not raise. What it cannot handle it logs, saying
    what was lost."""

    def on_worker_frame(self, character_id: str, frame: Any) -> None:
        """A ``WorkerReply``, ``WorkerProgress`` or ``WorkerEvent`` (protocol.pipe) arrived
        from that worker."""

    def on_worker_state(
        self, character_id: str, state: WorkerState, snapshot: WorkerSnapshot
    ) -> None:
        """The worker changed state. On a crash this is called (``restarting`` or ``failed``)
        before the restarted worker can send anything, so the gateway can fail in-flight
        requests."""


class NoListener:
    """A ``PoolListener`` that hears nothing: a pool's listener until the gateway is set."""

    def on_worker_frame(self, character_id: str, frame: Any) -> None:
        return None

    def on_worker_state(
        self, character_id: str, state: WorkerState, snapshot: WorkerSnapshot
    ) -> None:
        return None


class WorkerPoolApi(Protocol):
    async def ensure(self, character_id: str) -> None:
        """Start the character's worker if it is not running and wait until it is ready.

        Raises ``CharacterNotFound`` (no such character file), ``CharacterUnavailable``
        (quarantined or failed to start; the message says why and what to do)."""

    def state(self, character_id: str) -> WorkerState | None:
        """None when the character has no worker yet."""

    def send(self, character_id: str, frame: Any) -> None:
        """Queue a ``ToWorker`` frame; never blocks. Raises ``CharacterRestarting`` or
        ``CharacterUnavailable`` when the worker cannot take it now."""

    def snapshots(self) -> list[WorkerSnapshot]: ...

    async def restart(self, character_id: str) -> str | None:
        """Restart now (also clears quarantine), from the newest code: when the code on disk
        changed, a fork server is started from it first. Returns ``None``, or why the new
        worker will run code older than what is on disk (the new code failed to load)."""

    async def reload(self, character_ids: Sequence[str]) -> ReloadOutcome:
        """Bring these characters' workers (every running one when empty) to the code and
        character files on disk, one at a time, sessions attached; see ``WorkerPool.reload``."""

    def code(self) -> CodeStatus: ...

    async def start_debugger(self, character_id: str, port: int | None, wait: bool) -> int:
        """Start debugpy in that worker; returns the port it listens on (127.0.0.1)."""
