"""``RayPool``: ``WorkerPoolApi`` over Ray actors (``--placement ray``), one per gateway.

The gateway sees the same boundary as with the local pool. Behind it:

* the **cast** (``ray_cast.Cast``, one per cluster) supervises every character; this pool
  follows its ``changes`` stream and keeps a mirror of each character's snapshot, so
  ``state``/``snapshots`` answer without a round trip, and reports each change to the
  gateway (``on_worker_state``) in the order the cast made them;
* each character's **host** actor (``worker.ray_host.CharacterHost``) serves requests: a
  ``WorkerRequest`` becomes one streaming-generator call whose frames (deltas, progress, the
  final reply) go to ``on_worker_frame`` as they arrive; ``WorkerCancel`` and
  ``ExportCredit`` are calls of their own that reach the actor at once; one ``events``
  stream per character carries its ``WorkerEvent`` frames (and, for the gateway that writes
  the log, its log records).

A host that dies under a request ends that request's stream with ``ActorDiedError``: the pool
answers it ``worker_crashed`` at once and sends the character nothing more until the cast
reports the new actor ready. ``serve`` creates the cast (``owns_cast``) and stops it, and the
characters' actors, on close; an extra ``gateway`` only joins it.

Ownership: the pool owns its follow task, one events task per character and one task per
request stream; ``close`` cancels and awaits them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

import structlog

from protocol.errors import ErrorCode, ErrorResponse
from protocol.frame_codec import from_worker_decoder
from protocol.pipe import (
    ExportCredit,
    LogRecord,
    ToWorker,
    WorkerCancel,
    WorkerEvent,
    WorkerReply,
    WorkerRequest,
)
from protocol.states import WorkerState
from runtime.settings import Settings
from supervisor.logs.sink import LogSink
from supervisor.pool.api import (
    CharacterNotFound,
    CharacterRestarting,
    CharacterUnavailable,
    CodeStatus,
    NoListener,
    PoolError,
    PoolListener,
    ReloadOutcome,
    WorkerSnapshot,
)
from supervisor.pool.ray_cluster import RayCluster

log = structlog.get_logger()

HEAD_NODE_RESOURCE: Final = "node:__internal_head__"
"""The resource only Ray's head node has."""
REFRESH_INTERVAL_S: Final = 2.0
"""How often the mirror's memory figures are refreshed from the cast (what ``ps`` shows)."""


class NoCast(PoolError):
    code = "character_unavailable"


@dataclass(slots=True)
class _Mirror:
    """What this gateway knows of one character: the cast's last snapshot (and when it came)
    and a handle to its host while it serves."""

    snapshot: WorkerSnapshot
    received_at: float
    handle: Any = None
    generation: int = 0
    events: asyncio.Task[None] | None = None


class RayPool:
    """Implements ``supervisor.pool.api.WorkerPoolApi`` over the cast and the hosts.

    ``cluster`` is the connection (a local head it started, or an address it joined);
    ``owns_cast``: create the cast if there is none, and stop it (and every character's
    actor) on ``close`` — ``serve``; without it (``gateway``) a missing cast is refused.
    ``sink`` receives the workers' and the cast's log records (``serve`` only)."""

    def __init__(
        self,
        settings: Settings,
        cluster: RayCluster,
        listener: PoolListener | None = None,
        *,
        owns_cast: bool = True,
        sink: LogSink | None = None,
    ) -> None:
        self.settings = settings
        self.listener: PoolListener = listener if listener is not None else NoListener()
        self._cluster = cluster
        self._owns_cast = owns_cast
        self._sink = sink
        self._channel = f"gateway-{uuid.uuid4().hex[:12]}"
        self._cast: Any = None
        self._mirrors: dict[str, _Mirror] = {}
        self._changed = asyncio.Event()
        self._follow: asyncio.Task[None] | None = None
        self._refresh: asyncio.Task[None] | None = None
        self._streams: set[asyncio.Task[None]] = set()
        self._closing = False

    @property
    def joined_address(self) -> str | None:
        """The Ray cluster's address once started (what ``--ray-address`` takes)."""
        return self._cluster.address

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Connect to Ray, find (or, owning it, create) the cast, follow its changes."""
        await asyncio.to_thread(self._cluster.connect)  # the first import of Ray
        import ray

        from supervisor.pool.ray_cast import CAST_NAME, NAMESPACE, Cast

        if self._owns_cast:
            from worker.data_location import parse_pins

            try:
                parse_pins(self.settings.placement.ray_pins)
            except ValueError as exc:
                raise NoCast("*", str(exc)) from None
            # On the head node: the cast lives as long as the cluster, wherever actors go.
            self._cast = ray.remote(Cast).options(
                name=CAST_NAME, namespace=NAMESPACE, lifetime="detached", get_if_exists=True,
                num_cpus=0, max_restarts=0, max_concurrency=1000,
                resources={HEAD_NODE_RESOURCE: 0.001},
            ).remote(self.settings)
        else:
            try:
                self._cast = await asyncio.to_thread(ray.get_actor, CAST_NAME, NAMESPACE)
            except ValueError:
                raise NoCast("*", f"no greenroom cast in the Ray cluster at "
                             f"{self._cluster.address}: start `greenroom serve --placement "
                             "ray --ray-address ADDR` there first") from None
        loop = asyncio.get_running_loop()
        self._follow = loop.create_task(self._follow_cast(), name="follow cast")
        self._refresh = loop.create_task(self._refresh_memory(), name="refresh cast")

    async def preload(self, character_ids: Iterable[str]) -> dict[str, WorkerState]:
        """Start these characters concurrently; each one's state once settled."""
        ids = list(dict.fromkeys(character_ids))

        async def one(character_id: str) -> WorkerState:
            try:
                await self.ensure(character_id)
            except CharacterUnavailable:
                return "failed"
            return self.state(character_id) or "failed"

        return dict(zip(ids, await asyncio.gather(*(one(cid) for cid in ids)), strict=True))

    async def close(self, grace_s: float | None = None) -> None:
        """Stop following; with ``owns_cast`` stop every character's actor (in-flight turns
        get ``grace_s``) and the cast; disconnect (stopping a local head). Safe twice."""
        import ray

        if self._closing:
            return
        self._closing = True
        grace = self.settings.restart.shutdown_grace_s if grace_s is None else grace_s
        if self._owns_cast and self._cast is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(grace + 15.0):
                    await self._cast.stop.remote(grace)
            if self._follow is not None:
                # Its stream ends with the cast's "closed": every "stopped" is reported.
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(asyncio.shield(self._follow), 2.0)
            with contextlib.suppress(Exception):
                ray.kill(self._cast, no_restart=True)
        tasks = [t for t in (self._follow, self._refresh) if t is not None]
        tasks += [m.events for m in self._mirrors.values() if m.events is not None]
        tasks += list(self._streams)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await asyncio.to_thread(self._cluster.disconnect)

    # -- WorkerPoolApi -------------------------------------------------------------------

    async def ensure(self, character_id: str) -> None:
        if self._closing:
            raise CharacterUnavailable(character_id, "the server is shutting down")
        state, why, exists = await self._ask_cast(character_id, self._cast.ensure)
        if not exists:
            raise CharacterNotFound(character_id, why)
        if state == "failed":
            raise CharacterUnavailable(character_id, _quarantined(character_id, why))
        if state != "ready":
            raise CharacterUnavailable(character_id, f"character {character_id!r} is {state}")
        # The cast said ready: wait until this gateway's mirror has the host too.
        while (mirror := self._mirrors.get(character_id)) is None or mirror.handle is None:
            if mirror is not None and mirror.snapshot.state == "failed":
                raise CharacterUnavailable(character_id,
                                           _quarantined(character_id, mirror.snapshot.last_crash))
            self._changed.clear()
            await self._changed.wait()

    def state(self, character_id: str) -> WorkerState | None:
        mirror = self._mirrors.get(character_id)
        return mirror.snapshot.state if mirror is not None else None

    def send(self, character_id: str, frame: ToWorker) -> None:
        mirror = self._mirrors.get(character_id)
        if mirror is None:
            raise CharacterUnavailable(
                character_id, f"character {character_id!r} has no worker; attach first")
        handle = mirror.handle
        if handle is None:
            state = mirror.snapshot.state
            if state == "failed":
                raise CharacterUnavailable(character_id,
                                           _quarantined(character_id, mirror.snapshot.last_crash))
            if state == "stopped":
                raise CharacterUnavailable(character_id, f"character {character_id!r} is stopped")
            raise CharacterRestarting(
                character_id, f"character {character_id!r} is {state}; retry when it is ready")
        if isinstance(frame, WorkerRequest):
            task = asyncio.get_running_loop().create_task(
                self._stream(character_id, mirror, frame), name=f"request {character_id}")
            self._streams.add(task)
            task.add_done_callback(self._streams.discard)
        elif isinstance(frame, WorkerCancel):
            handle.cancel.remote(self._channel, frame.request_id)
        elif isinstance(frame, ExportCredit):
            handle.credit.remote(self._channel, frame.request_id)
        else:
            log.debug("frame_not_for_ray_hosts", character=character_id,
                      kind=type(frame).__name__)

    def snapshots(self) -> list[WorkerSnapshot]:
        now = time.monotonic()
        return [_aged(self._mirrors[cid], now) for cid in sorted(self._mirrors)]

    async def restart(self, character_id: str) -> str | None:
        if self._closing:
            raise CharacterUnavailable(character_id, "the server is shutting down")
        problem = await self._ask_cast(character_id, self._cast.restart)
        if problem is not None:
            raise CharacterNotFound(character_id, problem)
        return None

    async def reload(self, character_ids: Sequence[str]) -> ReloadOutcome:
        results = await self._cast.reload.remote(list(character_ids))
        return ReloadOutcome(code_generation=1, characters=tuple(results))

    def code(self) -> CodeStatus:
        return CodeStatus(generation=None, loaded_at=None, reload_error=None)

    async def start_debugger(self, character_id: str, port: int | None, wait: bool) -> int:
        raise PoolError(character_id, f"cannot debug character {character_id!r} here: "
                        "debugging needs `greenroom serve --placement local`")

    # -- internals -----------------------------------------------------------------------

    async def _ask_cast(self, character_id: str, method: Any) -> Any:
        try:
            return await method.remote(character_id)
        except Exception as exc:
            raise CharacterUnavailable(
                character_id, f"character {character_id!r}: the cast (greenroom's supervisor "
                f"in the Ray cluster) did not answer ({type(exc).__name__}); restart "
                "`greenroom serve --placement ray`") from None

    async def _follow_cast(self) -> None:
        """The cast's changes, in order: mirror them and tell the gateway."""
        try:
            async for ref in self._cast.changes.remote(logs=self._sink is not None):
                kind, item = await ref
                if kind == "log":
                    self._emit(item)
                elif kind == "state":
                    await self._on_state(item)
                elif kind == "closed":
                    return
        except Exception as exc:
            if not self._closing:
                log.error("cast_lost", error=f"{type(exc).__name__}: {exc}",
                          fix="restart `greenroom serve --placement ray`")

    async def _on_state(self, snapshot: WorkerSnapshot) -> None:
        import ray

        from supervisor.pool.ray_cast import NAMESPACE, host_name

        character_id = snapshot.character_id
        mirror = self._mirrors.get(character_id)
        if mirror is None:
            mirror = self._mirrors[character_id] = _Mirror(snapshot, time.monotonic())
        mirror.snapshot, mirror.received_at = snapshot, time.monotonic()
        if snapshot.state != "ready":
            mirror.handle = None
        elif mirror.handle is None or mirror.generation != snapshot.generation:
            try:
                handle = await asyncio.to_thread(ray.get_actor, host_name(character_id),
                                                 NAMESPACE)
            except ValueError:
                handle = None  # gone already: the cast's next change says so
            mirror.handle, mirror.generation = handle, snapshot.generation
            if handle is not None:
                if mirror.events is not None:
                    mirror.events.cancel()
                mirror.events = asyncio.get_running_loop().create_task(
                    self._follow_events(character_id, handle), name=f"events {character_id}")
        self._changed.set()
        self.listener.on_worker_state(character_id, snapshot.state, snapshot)

    async def _follow_events(self, character_id: str, handle: Any) -> None:
        decoder = from_worker_decoder()
        try:
            async for ref in handle.events.remote(self._channel, self._sink is not None):
                for frame in decoder.feed(await ref):
                    if isinstance(frame, WorkerEvent):
                        self.listener.on_worker_frame(character_id, frame)
                    elif isinstance(frame, LogRecord):
                        self._emit(frame.record)
        except Exception:
            return  # the host died or stopped: the cast reports it

    async def _stream(self, character_id: str, mirror: _Mirror, request: WorkerRequest) -> None:
        decoder = from_worker_decoder()
        handle = mirror.handle
        try:
            async for ref in handle.request.remote(self._channel, request):
                for frame in decoder.feed(await ref):
                    self.listener.on_worker_frame(character_id, frame)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if mirror.handle is handle:
                mirror.handle = None  # nothing more to this actor: it is gone
            self.listener.on_worker_frame(character_id, WorkerReply(
                request_id=request.request_id, message=ErrorResponse(
                    message_id=request.message.message_id,
                    error_code=str(ErrorCode.WORKER_CRASHED),
                    error=f"The worker of {character_id!r} stopped while handling this "
                          f"request ({type(exc).__name__}); it was lost. Retry when the "
                          "character is ready again.")))

    async def _refresh_memory(self) -> None:
        while True:
            await asyncio.sleep(REFRESH_INTERVAL_S)
            try:
                fresh = await self._cast.snapshots.remote()
            except Exception:
                continue
            now = time.monotonic()
            for snapshot in fresh:
                mirror = self._mirrors.get(snapshot.character_id)
                if (mirror is not None and mirror.snapshot.generation == snapshot.generation
                        and mirror.snapshot.state == snapshot.state):
                    mirror.snapshot, mirror.received_at = snapshot, now

    def _emit(self, record: Any) -> None:
        if self._sink is not None:
            self._sink.emit(record)


def _aged(mirror: _Mirror, now: float) -> WorkerSnapshot:
    """The snapshot with its uptime as of now."""
    snapshot = mirror.snapshot
    if snapshot.uptime_s is None:
        return snapshot
    return replace(snapshot, uptime_s=round(snapshot.uptime_s + now - mirror.received_at, 3))


def _quarantined(character_id: str, crash: str | None) -> str:
    return (f"character {character_id!r} is quarantined after repeated crashes (last: "
            f"{crash or 'unknown cause'}); fix it, then `greenroom restart {character_id}`")
