"""The contract between the gateway and the worker pool, which live in the same process.

The gateway never touches processes; the pool never touches WebSockets. The gateway calls the
methods of ``WorkerPoolApi``; the pool calls back into the gateway through ``PoolListener``
for every frame a worker sends and every change of a worker's state. A worker's state is the
protocol's ``WorkerState`` (``protocol.states``): the words the pool decides by are the words a
client reads in ``worker_state_event``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from protocol.states import WorkerState


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

    async def restart(self, character_id: str) -> None:
        """Restart now (also clears quarantine)."""

    async def start_debugger(self, character_id: str, port: int | None, wait: bool) -> int:
        """Start debugpy in that worker; returns the port it listens on (127.0.0.1)."""
