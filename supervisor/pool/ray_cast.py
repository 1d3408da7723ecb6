"""``Cast``: the one supervisor of every character in a Ray cluster (``--placement ray``).

A detached, named Ray actor (``CAST_NAME`` in ``NAMESPACE``): however many gateways serve,
exactly one cast exists, and it is the one place that starts each character's actor, watches
it, and applies the restart policy, quarantine and crash reports — the same objects the local
pool uses (``RestartPolicy``, ``WorkerLifecycle``, ``CrashReport``). Each character's actor is
named after it (``host_name``): the name is the lock that keeps one actor per character in
the cluster.

Per character, one supervision task runs the loop of ``supervised_worker`` with Ray's events
in place of a process's: spawn the actor (``CharacterHost``) and ``start`` it (its engine
opens, or it raises: a crash with the error and traceback); watch it — its death surfaces as
``ActorDiedError`` on a stream the cast holds open, an unanswered heartbeat (``ping``) gets it
killed — and on an exit the pool did not ask for, the policy decides: restart after a backoff,
or quarantine (``failed``) until ``restart``.

Gateways follow along with ``changes``: every character's snapshot first, then each state
change in order, and the cast's own log records (crashes, quarantines) for the gateway that
writes the log. A crash is published as ``restarting``/``failed`` before the new actor starts,
so a gateway fails the requests the dead one held before any reply of the new one can arrive.

Ray is imported lazily (the supervisor's other modules never load it): this module is loaded
in a gateway only when ``--placement ray`` is used, and in the cast's own actor process.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any, Final

import structlog

from protocol.states import WorkerState, WorkerStateReason
from runtime.log_chain import route_records
from runtime.settings import Settings
from schemas.loader import character_path
from schemas.problems import InvalidCharacterId
from supervisor.pool.api import CharacterReload, WorkerSnapshot
from supervisor.pool.crash_report import CrashReport, decide_after_crash
from supervisor.pool.lifecycle import RUNNING, Lifecycle, WorkerLifecycle
from supervisor.pool.restart_policy import Quarantine, RestartLimits, RestartPolicy
from worker.spec import WorkerSpec

NAMESPACE: Final = "greenroom"
CAST_NAME: Final = "cast"
RELEASE_TIMEOUT_S: Final = 10.0
"""How long a dead actor's name may take to be freed before the next spawn goes ahead."""
RELEASE_POLL_S: Final = 0.05
STOP_TIMEOUT_S: Final = 5.0
PLACEMENT_TIMEOUT_S: Final = 120.0
"""How long Ray may take to place a new actor (find a node, start a process) before that is
a failed start; the character's own start-up then gets ``GREENROOM_READY_TIMEOUT``."""
"""After a host's ``stop`` (its grace period included), how long before it is killed."""

log = structlog.get_logger()


def host_name(character_id: str) -> str:
    """The Ray actor name of a character's host: the cluster-wide lock on the character."""
    return f"character:{character_id}"


def node_label(node_id: str, node_ip: str) -> str:
    """How ``ps`` names a Ray node: a short node id at its address."""
    return f"{node_id[:8]}@{node_ip}"


def unplaced(pin: str | None) -> str:
    """Why a new actor never ran: Ray found no node (and worker process) for it in time."""
    why = f"Ray found no node for its actor within {PLACEMENT_TIMEOUT_S:g} s"
    if pin is None:
        return why
    return f"{why}: is a node labelled greenroom-data={pin} up (GREENROOM_RAY_PINS)?"


def death_cause(text: str) -> str:
    """One line of Ray's long ``ActorDiedError`` text: why the actor is dead (Ray's "exit
    detail", first sentence, when it gives one)."""
    for marker in ("Worker exit detail: ", "The actor is dead because "):
        start = text.find(marker)
        if start >= 0:
            rest = text[start + len(marker):].strip()
            return rest.split(". ")[0].split("\n")[0].rstrip(".")
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first or "its actor died"


def shared_marker(data_dir: Path) -> str:
    """The deployment's id in the shared data directory's marker (written on first use, on
    the cast's node): unpinned characters start only where they find it."""
    from worker.data_location import SHARED_MARKER

    marker = data_dir / SHARED_MARKER
    with contextlib.suppress(OSError):
        return marker.read_text(encoding="utf-8").strip()
    data_dir.mkdir(parents=True, exist_ok=True)
    deployment = uuid.uuid4().hex
    marker.write_text(deployment + "\n", encoding="utf-8")
    return deployment


class _Stop(Exception):
    """Internal: the cast stops this character for good."""


class CharacterSupervision:
    """One character's actor across its restarts (the cast owns one per character)."""

    def __init__(self, cast: Cast, character_id: str) -> None:
        self.character_id = character_id
        self.lifecycle = WorkerLifecycle(character_id)
        self.policy = RestartPolicy(RestartLimits.of(cast.settings.restart), random.Random())
        self.generation = 0
        self.last_crash: CrashReport | None = None
        self.reason: WorkerStateReason = "start"
        self.pid: int | None = None
        self.node: str | None = None
        self.started_at: float | None = None
        self.rss_bytes: int | None = None
        self.handle: Any = None
        self.has_run = False
        """Its database has been opened (so a start without it would lose data)."""
        self._cast = cast
        self._changed = asyncio.Event()
        self._restart: WorkerStateReason | None = None
        self._next_delay_s = 0.0
        self._stop_grace_s: float | None = None
        self._log = log.bind(character=character_id)

    @property
    def state(self) -> WorkerState:
        return self.lifecycle.state

    def snapshot(self) -> WorkerSnapshot:
        running = self.state in RUNNING and self.pid is not None
        crash = self.last_crash.summary if self.last_crash else None
        return WorkerSnapshot(
            character_id=self.character_id, state=self.state,
            pid=self.pid if running else None, generation=self.generation,
            uptime_s=(round(time.monotonic() - self.started_at, 3)
                      if running and self.started_at is not None else None),
            restarts=self.policy.restarts, rss_bytes=self.rss_bytes if running else None,
            uss_bytes=None, debug_port=None, last_crash=crash, reason=self.reason,
            detail=crash if self.state in ("restarting", "failed", "stopped") else None,
            node=self.node if running else None,
        )

    async def until_settled(self) -> WorkerState:
        """Once the character serves (``ready``), or is ``failed`` with no restart asked
        for, or stopped for good."""
        while not (self.state == "ready"
                   or (self.state == "failed" and self._restart is None)
                   or self._stop_grace_s is not None):
            self._changed.clear()
            await self._changed.wait()
        return self.state

    async def until_generation_settled(self, after: int) -> WorkerState:
        """Once a generation later than ``after`` is ready or has ended (crashed, failed,
        stopped): that state."""
        while not (self.generation > after and self.state != "starting"):
            if self._stop_grace_s is not None and self.state == "stopped":
                break
            self._changed.clear()
            await self._changed.wait()
        return self.state

    def request_restart(self, reason: WorkerStateReason) -> None:
        self._restart = reason
        self._changed.set()

    def request_stop(self, grace_s: float) -> None:
        self._stop_grace_s = grace_s
        self._changed.set()

    async def run(self) -> None:
        try:
            while True:
                await self._one_generation()
                if self.state == "failed":
                    await self._wait(lambda: self._restart is not None)
                    self._restarted_by_operator()
        except _Stop:
            pass
        finally:
            self.reason = "stop"
            self._set(Lifecycle.STOP)

    async def _one_generation(self) -> None:
        from ray.exceptions import RayTaskError

        from worker.data_location import PIN_LABEL

        if self._stop_grace_s is not None:
            raise _Stop
        self.generation += 1
        self._set(Lifecycle.SPAWN)
        started = time.monotonic()
        settings = self._cast.settings
        pin = self._cast.pin_of(self.character_id)
        expect = self._cast.expectation(pinned=pin is not None, has_run=self.has_run)
        placed = False
        try:
            self.handle = self._cast.host_class.options(
                name=host_name(self.character_id), namespace=NAMESPACE, lifetime="detached",
                get_if_exists=True, max_restarts=0, max_task_retries=0, num_cpus=0,
                label_selector={PIN_LABEL: pin} if pin is not None else None,
            ).remote(WorkerSpec(character_id=self.character_id, generation=self.generation,
                                settings=settings))
            # Ray may hold a new actor back until a node (and a worker process) is free for
            # it: that wait is not the character's start-up, which gets the ready timeout.
            async with asyncio.timeout(PLACEMENT_TIMEOUT_S):
                await self._unless_stopped(self.handle.ping.remote())
            placed = True
            async with asyncio.timeout(settings.restart.ready_timeout_s):
                pid, node_id, node_ip, rss = await self._unless_stopped(
                    self.handle.start.remote(expect))
        except _Stop:
            await self._release()
            raise
        except Exception as exc:
            if isinstance(exc, RayTaskError):
                cause = exc.cause if exc.cause is not None else exc
                error, trace = f"{type(cause).__name__}: {cause}", str(exc)
            elif isinstance(exc, TimeoutError):
                error = (f"not ready within {settings.restart.ready_timeout_s:g} s" if placed
                         else unplaced(pin))
                trace = None
            else:
                error, trace = death_cause(str(exc)), traceback.format_exc()
            await self._release()
            self._crashed(CrashReport(self.character_id, None, self.generation, None,
                                      time.monotonic() - started, error=error, traceback=trace),
                          started_at=started)
            await self._after_crash()
            return
        self.pid, self.node, self.rss_bytes = pid, node_label(node_id, node_ip), rss
        self.started_at = time.monotonic()
        self.has_run = True
        self._set(Lifecycle.READY)
        self._log.info("worker_ready", worker_pid=pid, node=self.node,
                       worker_generation=self.generation,
                       start_ms=round((self.started_at - started) * 1000, 1))
        outcome, why = await self._watch()
        if outcome == "stop":
            await self._stop_host(self._stop_grace_s or 0.0)
            raise _Stop
        if outcome == "restart":
            await self._stop_host(settings.restart.shutdown_grace_s
                                  if self._restart == "reload" else 1.0)
            self._restarted_by_operator()
            return
        self._crashed(CrashReport(self.character_id, self.pid, self.generation, None,
                                  time.monotonic() - self.started_at, error=why),
                      started_at=self.started_at)
        await self._after_crash()

    async def _unless_stopped(self, call: Any) -> Any:
        """Await ``call`` (an actor call's reference); raises ``_Stop`` as soon as the cast
        stops this character instead (a start may take long: the shutdown does not wait)."""
        work = asyncio.ensure_future(call)
        try:
            while not work.done():
                if self._stop_grace_s is not None:
                    raise _Stop
                self._changed.clear()
                changed = asyncio.ensure_future(self._changed.wait())
                try:
                    await asyncio.wait({work, changed}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    changed.cancel()
            return work.result()
        finally:
            work.cancel()

    async def _watch(self) -> tuple[str, str]:
        """Until the actor dies (``"died"``, why), or a restart or stop is asked for."""
        timing = self._cast.settings.restart
        death = asyncio.ensure_future(self._death())
        try:
            while True:
                if self._stop_grace_s is not None:
                    return "stop", ""
                if self._restart is not None:
                    return "restart", ""
                if death.done():
                    return "died", death.result()
                self._changed.clear()
                changed = asyncio.ensure_future(self._changed.wait())
                ping = asyncio.ensure_future(self._ping(timing.heartbeat_timeout_s))
                try:
                    done, _ = await asyncio.wait({death, changed, ping},
                                                 timeout=timing.heartbeat_interval_s,
                                                 return_when=asyncio.FIRST_COMPLETED)
                finally:
                    changed.cancel()
                if ping in done and ping.result() is not None:
                    silent = ping.result()
                    self._log.error("worker_unresponsive", worker_pid=self.pid, silent_s=silent)
                    death.cancel()
                    await self._release()
                    return "died", f"no heartbeat answered for {silent:.1f} s"
                ping.cancel()
        finally:
            death.cancel()

    async def _death(self) -> str:
        """Hold an events stream open: Ray ends it with ``ActorDiedError`` when the actor's
        process dies (``ActorUnavailableError`` when its node stops answering). Returns why;
        the actor is then killed for good, and its name released, before anything else."""
        from ray.exceptions import ActorUnavailableError

        try:
            async for ref in self.handle.events.remote(channel="cast", logs=False):
                await ref
            why = "its Ray actor ended its event stream"
        except ActorUnavailableError:
            why = "its Ray actor became unreachable (its node died or was cut off)"
        except Exception as exc:
            why = f"its Ray actor died: {death_cause(str(exc))}"
        await self._release()
        return why

    async def _ping(self, timeout_s: float) -> float | None:
        """``None`` when the actor answered within ``timeout_s``, else the silence."""
        started = time.monotonic()
        try:
            async with asyncio.timeout(timeout_s):
                await self.handle.ping.remote()
        except TimeoutError:
            return time.monotonic() - started
        except Exception:
            return None  # it died: the death stream says so
        return None

    async def _stop_host(self, grace_s: float) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(grace_s + STOP_TIMEOUT_S):
                await self.handle.stop.remote(grace_s)
        await self._release()

    def _kill(self) -> None:
        import ray

        if self.handle is not None:
            with contextlib.suppress(Exception):
                ray.kill(self.handle, no_restart=True)
        self.handle = None

    async def _release(self) -> None:
        """Kill the actor (an unreachable one could otherwise come back beside its
        successor) and wait until Ray has freed its name — the lock — so the next spawn
        creates a new actor instead of finding the dead one (bounded: ``RELEASE_TIMEOUT_S``).
        Ray announces no event for that, so its registry is asked every ``RELEASE_POLL_S``."""
        import ray

        handle = self.handle
        if handle is None:
            return
        self._kill()
        name = host_name(self.character_id)
        deadline = time.monotonic() + RELEASE_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                holder = await asyncio.to_thread(ray.get_actor, name, NAMESPACE)
            except ValueError:
                return
            if holder._actor_id != handle._actor_id:
                return
            await asyncio.sleep(RELEASE_POLL_S)
        self._log.warning("actor_name_not_released", name=name, waited_s=RELEASE_TIMEOUT_S)

    def _crashed(self, report: CrashReport, *, started_at: float) -> None:
        self.last_crash = report
        self.reason = "crash"
        self.pid = None
        decision = decide_after_crash(self.policy, report, started_at=started_at,
                                      now=time.monotonic(), character_id=self.character_id,
                                      log=self._log)
        if isinstance(decision, Quarantine):
            self._set(Lifecycle.QUARANTINED)
        else:
            self._next_delay_s = decision.delay_s
            self._set(Lifecycle.CRASHED)

    async def _after_crash(self) -> None:
        """Back off before the next spawn (``restarting``); a stop or an operator's restart
        cuts it short."""
        if self.state != "restarting":
            return
        deadline = time.monotonic() + self._next_delay_s
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout_at(asyncio.get_running_loop().time()
                                          + max(0.0, deadline - time.monotonic())):
                await self._wait(lambda: self._restart is not None)
        if self._stop_grace_s is not None:
            raise _Stop
        if self._restart is not None:
            self._restarted_by_operator()

    def _restarted_by_operator(self) -> None:
        reason = self._restart or "restart"
        self._restart = None
        self.policy.clear()
        self.pid = None
        self.reason = reason
        self._log.info("worker_reloading" if reason == "reload" else "worker_restart_requested")
        self._set(Lifecycle.RELOAD if reason == "reload" else Lifecycle.RESTART)

    async def _wait(self, condition: Any) -> None:
        while not condition():
            if self._stop_grace_s is not None:
                raise _Stop
            self._changed.clear()
            await self._changed.wait()

    def _set(self, event: Lifecycle) -> None:
        before = self.lifecycle.state
        after = self.lifecycle.apply(event)
        self._changed.set()
        if after != before or event in (Lifecycle.RESTART, Lifecycle.RELOAD):
            self._cast.publish(("state", self.snapshot()))


class Cast:
    """The Ray actor's class (made a Ray actor by ``ray_pool``); see the module docstring.

    ``settings`` are the creating ``serve``'s: every character's actor gets them."""

    def __init__(self, settings: Settings) -> None:
        import ray

        from worker.data_location import parse_pins
        from worker.ray_host import CharacterHost

        self.settings = settings
        self.host_class = ray.remote(CharacterHost)
        self._pins = parse_pins(settings.placement.ray_pins)
        self._deployment = shared_marker(settings.data_dir)
        self._characters: dict[str, CharacterSupervision] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._followers: list[asyncio.Queue[tuple[str, Any]]] = []
        self._loop: asyncio.AbstractEventLoop | None = None

    async def ensure(self, character_id: str) -> tuple[WorkerState, str | None, bool]:
        """Start the character if it is not running; once it is ready or failed: its state,
        the last crash (or why it does not exist) and whether it exists."""
        problem = self._missing(character_id)
        if problem is not None:
            return "stopped", problem, False
        supervision = self._supervision(character_id)
        state = await supervision.until_settled()
        crash = supervision.last_crash.summary if supervision.last_crash else None
        return state, crash, True

    async def restart(self, character_id: str) -> str | None:
        """Restart now (clearing quarantine); a character not running yet is started.
        Returns why not, for a character that does not exist."""
        if character_id in self._characters:
            self._characters[character_id].request_restart("restart")
            return None
        problem = self._missing(character_id)
        if problem is None:
            self._supervision(character_id)
        return problem

    async def reload(self, character_ids: Sequence[str]) -> list[CharacterReload]:
        """Restart each character (every running one when empty) onto the code and the
        character file on disk, one at a time: each new actor is a fresh process, so it
        imports what is on disk. A failed start is reported, and stops the roll."""
        results = []
        for character_id in character_ids or sorted(self._characters):
            supervision = self._characters.get(character_id)
            if supervision is None or supervision.state == "stopped":
                results.append(CharacterReload(character_id, "not_running"))
                continue
            before = supervision.generation
            supervision.request_restart("reload")
            if await supervision.until_generation_settled(before) == "ready":
                results.append(CharacterReload(character_id, "reloaded",
                                               generation=supervision.generation))
            else:
                crash = supervision.last_crash.summary if supervision.last_crash else None
                results.append(CharacterReload(character_id, "failed", crash,
                                               supervision.generation))
        return results

    async def snapshots(self) -> list[WorkerSnapshot]:
        """Every character's snapshot, with its actor's resident memory asked now."""
        async def refresh(supervision: CharacterSupervision) -> None:
            if supervision.handle is not None and supervision.state == "ready":
                with contextlib.suppress(Exception):
                    async with asyncio.timeout(1.0):
                        supervision.rss_bytes = await supervision.handle.memory.remote()

        await asyncio.gather(*(refresh(s) for s in self._characters.values()))
        return [self._characters[cid].snapshot() for cid in sorted(self._characters)]

    async def changes(self, logs: bool) -> AsyncIterator[tuple[str, Any]]:
        """``("state", WorkerSnapshot)`` for every character now, then for every change in
        order; with ``logs`` also ``("log", record)`` for the cast's own log records."""
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        if logs:
            self._route_logs()
        for character_id in sorted(self._characters):
            yield "state", self._characters[character_id].snapshot()
        self._followers.append(queue)
        try:
            while True:
                kind, item = await queue.get()
                if kind == "log" and not logs:
                    continue
                yield kind, item
                if kind == "closed":
                    return
        finally:
            self._followers.remove(queue)

    async def stop(self, grace_s: float) -> None:
        """Stop every character's actor in parallel (in-flight turns get ``grace_s``); the
        followers' streams end."""
        for supervision in self._characters.values():
            supervision.request_stop(grace_s)
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        self.publish(("closed", None))

    def pin_of(self, character_id: str) -> str | None:
        from worker.data_location import pin_of

        return pin_of(character_id, self._pins)

    def expectation(self, *, pinned: bool, has_run: bool) -> Any:
        """The ``DataExpectation`` a character's start is checked against."""
        from worker.data_location import DataExpectation

        return DataExpectation(deployment=None if pinned else self._deployment,
                               database_expected=has_run)

    def publish(self, item: tuple[str, Any]) -> None:
        for queue in self._followers:
            queue.put_nowait(item)

    def _route_logs(self) -> None:
        if self._loop is not None:
            return
        loop = self._loop = asyncio.get_running_loop()

        def deliver(record: Any) -> None:
            loop.call_soon_threadsafe(self.publish, ("log", dict(record)))

        route_records(deliver, level=self.settings.logging.log_level,
                      identity={"process": "cast", "pid": os.getpid()})

    def _missing(self, character_id: str) -> str | None:
        try:
            path = character_path(character_id, self.settings.characters_dir)
        except InvalidCharacterId:
            return f"{character_id!r} is not a valid character id"
        if not path.is_file() and character_id not in self._characters:
            return (f"no character {character_id!r} in {self.settings.characters_dir} "
                    "(list them with `greenroom characters list`)")
        return None

    def _supervision(self, character_id: str) -> CharacterSupervision:
        supervision = self._characters.get(character_id)
        if supervision is None:
            supervision = self._characters[character_id] = CharacterSupervision(self,
                                                                                character_id)
            self._tasks[character_id] = asyncio.get_running_loop().create_task(
                self._supervise(supervision), name=f"supervise {character_id}")
        return supervision

    async def _supervise(self, supervision: CharacterSupervision) -> None:
        try:
            await supervision.run()
        except Exception:
            log.exception("supervisor_bug", character=supervision.character_id)
            raise
