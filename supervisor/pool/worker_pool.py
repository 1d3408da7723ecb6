"""``WorkerPool``: one supervised worker process per character, behind ``WorkerPoolApi``.

The gateway calls ``ensure``/``send``/``restart``/``reload``/``start_debugger``/``snapshots``;
the pool calls back ``listener.on_worker_frame`` for every reply/event a worker sends and
``listener.on_worker_state`` for every state change (a crash is reported before the
restarted worker can send anything). Workers are forked by the newest fork server (zygote,
``fork_servers``), which every spawn refreshes when the code on disk changed; each
character's restarts are governed by its own ``RestartPolicy``.

A reload (``reload``) first makes the newest fork server hold the code on disk — if the new
code fails to load or rehearse, nothing else happens and the outcome says why — then checks
each character file with that code, and rolls the workers that run older code or an older
file one at a time: the turn in flight finishes, the worker stops, a new one is forked,
and the next worker goes only once this one serves. Sessions stay attached throughout; the
gateway answers their requests ``character_restarting`` meanwhile, and the client retries.

Ownership: the pool owns one supervision task per character and awaits all of them in
``close``; ``close`` stops every worker in parallel (Shutdown → SIGTERM → SIGKILL) and then
the fork servers, leaving no process behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import random
import sys
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import structlog

from protocol.pipe import ToWorker
from protocol.states import WorkerState
from runtime.log_records import level_rank
from runtime.settings import Settings
from schemas.loader import character_path, source_files
from schemas.problems import InvalidCharacterId
from supervisor.logs.sink import LogSink
from supervisor.pool.api import (
    CharacterNotFound,
    CharacterReload,
    CharacterRestarting,
    CharacterUnavailable,
    CodeStatus,
    NoListener,
    PoolError,
    PoolListener,
    ReloadOutcome,
    WorkerSnapshot,
)
from supervisor.pool.code_fingerprint import PROJECT_ROOT, CodeFingerprint, module_files
from supervisor.pool.fork_servers import ForkServer, ForkServers, Refresh
from supervisor.pool.lifecycle import RUNNING
from supervisor.pool.restart_policy import RestartLimits, RestartPolicy
from supervisor.pool.staleness import stale_code
from supervisor.pool.supervised_worker import DebugConfig, SupervisedWorker, Timing
from worker.spec import WorkerSpec

log = structlog.get_logger()

DEBUGGER_START_TIMEOUT_S = 15.0


class WorkerPool:
    """Implements ``supervisor.pool.api.WorkerPoolApi``.

    ``listener`` may be set after construction (``pool.listener = gateway``): the gateway
    and the pool reference each other. ``debug`` maps character ids to the debugger every
    generation of that worker starts with (``serve --debug``). ``rng`` draws restart jitter.
    """

    def __init__(
        self,
        settings: Settings,
        listener: PoolListener | None = None,
        *,
        sink: LogSink | None = None,
        debug: Mapping[str, DebugConfig] | None = None,
        rng: random.Random | None = None,
        python: str = sys.executable,
    ) -> None:
        self.settings = settings
        self.listener: PoolListener = listener if listener is not None else NoListener()
        self._sink = sink
        self._debug = dict(debug or {})
        self._rng = rng if rng is not None else random.Random()
        self._fork_servers = ForkServers(python=python)
        self._reload_lock = asyncio.Lock()
        # The supervisor's own code (gateway, pool): no reload replaces it.
        self._own_code = CodeFingerprint(str(PROJECT_ROOT), {}).including(
            module_files(sys.modules))
        self._workers: dict[str, SupervisedWorker] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._closing = False
        self._limits = RestartLimits.of(settings.restart)
        limit_mb = settings.restart.worker_memory_limit_mb
        self._timing = Timing(
            ready_timeout_s=settings.restart.ready_timeout_s,
            heartbeat_interval_s=settings.restart.heartbeat_interval_s,
            heartbeat_timeout_s=settings.restart.heartbeat_timeout_s,
            memory_limit_bytes=limit_mb * 1024 * 1024 if limit_mb is not None else None,
            reload_grace_s=settings.restart.shutdown_grace_s,
        )

    # -- lifecycle of the pool -------------------------------------------------------------

    async def start(self) -> None:
        """Start the fork server (its preload is the one interpreter start-up paid)."""
        await self._fork_servers.start()

    @property
    def fork_servers(self) -> ForkServers:
        return self._fork_servers

    async def preload(self, character_ids: Iterable[str]) -> dict[str, WorkerState]:
        """Start these characters concurrently and wait for each to serve or fail; returns
        each one's state (``ready``/``debugging``/``failed``). Unknown ids raise."""
        ids = list(dict.fromkeys(character_ids))
        for character_id in ids:
            self._check_exists(character_id)
        results = await asyncio.gather(*(self._start_and_wait(cid) for cid in ids))
        return dict(zip(ids, results, strict=True))

    def launch(self, character_id: str) -> None:
        """Start the character's worker without waiting for it (a ``--debug-wait`` worker
        is held until a debugger attaches)."""
        self._check_exists(character_id)
        self._worker(character_id)

    async def wait_for_debugger(self, character_id: str, timeout_s: float) -> int:
        """The port of the character's debugger once it listens (``TimeoutError`` after
        ``timeout_s``)."""
        async with asyncio.timeout(timeout_s):
            return await self._worker(character_id).wait_for_debug_port()

    async def close(self, grace_s: float | None = None) -> None:
        """Stop every worker in parallel — ``Shutdown(grace_s)``, then SIGTERM, then
        SIGKILL — and the fork server. Safe to call twice."""
        grace = self.settings.restart.shutdown_grace_s if grace_s is None else grace_s
        self._closing = True
        # Each supervision task stops its own process: all of them at once, in parallel.
        for worker in self._workers.values():
            worker.request_stop(grace)
        if self._tasks:
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        await self._fork_servers.close()

    # -- WorkerPoolApi -------------------------------------------------------------------

    async def ensure(self, character_id: str) -> None:
        if self._closing:
            raise CharacterUnavailable(character_id, "the server is shutting down")
        self._check_exists(character_id)
        state = await self._start_and_wait(character_id)
        if state == "failed":
            raise CharacterUnavailable(character_id, self._failed_message(character_id))
        if state == "stopped":
            raise CharacterUnavailable(character_id,
                                       f"character {character_id!r} is stopped")

    def state(self, character_id: str) -> WorkerState | None:
        worker = self._workers.get(character_id)
        return worker.state if worker is not None else None

    def send(self, character_id: str, frame: ToWorker) -> None:
        worker = self._workers.get(character_id)
        if worker is None:
            raise CharacterUnavailable(
                character_id, f"character {character_id!r} has no worker; attach first")
        process = worker.serving_process
        if process is not None:
            try:
                process.send(frame)
                return
            except ConnectionError as exc:
                raise CharacterRestarting(
                    character_id, f"character {character_id!r}'s worker just went away "
                    f"({exc}); it is being restarted") from None
        if worker.restart_pending:
            why = ("reloading onto the code and character file on disk"
                   if worker.pending_reason == "reload"
                   else "restarting (an operator asked for it)")
            raise CharacterRestarting(
                character_id, f"character {character_id!r} is {why}; retry when it is ready")
        if worker.state == "failed":
            raise CharacterUnavailable(character_id, self._failed_message(character_id))
        if worker.state == "stopped":
            raise CharacterUnavailable(character_id, f"character {character_id!r} is stopped")
        raise CharacterRestarting(
            character_id, f"character {character_id!r} is {worker.state}; retry when "
            "it is ready")

    def snapshots(self) -> list[WorkerSnapshot]:
        stale_files = {server.generation: server.stale_files()
                       for server in self._codes_in_use()}
        problems = self._fork_servers.last_failure
        problem = problems[0].summary if problems else None
        return [self._workers[cid].snapshot(stale_files=stale_files, code_problem=problem)
                for cid in sorted(self._workers)]

    def code(self) -> CodeStatus:
        newest = self._fork_servers.newest
        problems = self._fork_servers.last_failure
        return CodeStatus(
            generation=newest.generation if newest is not None else None,
            loaded_at=newest.loaded_at if newest is not None else None,
            reload_error=problems[0].summary if problems else None)

    async def restart(self, character_id: str) -> str | None:
        if self._closing:
            raise CharacterUnavailable(character_id, "the server is shutting down")
        worker = self._workers.get(character_id)
        if worker is None:
            self._check_exists(character_id)
        # The new worker forks from code as new as the disk's, or says why it cannot.
        refresh = await self._fork_server_for_spawn()
        if worker is None:
            self._worker(character_id)
        else:
            worker.request_restart()
        if not refresh.failed:
            return None
        return stale_code(refresh.stale, refresh.server.generation, refresh.problems[0].summary)

    async def reload(self, character_ids: Sequence[str] = ()) -> ReloadOutcome:
        """Bring the workers of ``character_ids`` (every one that has a worker when empty) to
        the code and character files on disk (see the module docstring). Unknown ids raise
        ``CharacterNotFound`` before anything is done. One reload runs at a time."""
        if self._closing:
            raise CharacterUnavailable(character_ids[0] if character_ids else "*",
                                       "the server is shutting down")
        targets = list(dict.fromkeys(character_ids))
        for character_id in targets:
            self._check_exists(character_id)
        async with self._reload_lock:
            refresh = await self._fork_servers.refresh(retry=True)
            supervisor_files = self._own_code.changed()
            if supervisor_files:
                log.warning("supervisor_code_changed", files=list(supervisor_files),
                            fix="restart `greenroom serve` to run it; workers reload without")
            if refresh.failed:
                first = refresh.problems[0]
                return ReloadOutcome(code_generation=refresh.server.generation,
                                     code_error=first.summary, code_traceback=first.traceback,
                                     supervisor_files=supervisor_files)
            results = []
            for character_id in targets or sorted(self._workers):
                results.append(await self._reload_one(character_id, refresh.server))
            await self._fork_servers.retire_idle(self._codes_in_use())
        outcome = ReloadOutcome(code_generation=refresh.server.generation,
                                code_reloaded=refresh.started, characters=tuple(results),
                                supervisor_files=supervisor_files)
        log.info("reload_done", code_generation=outcome.code_generation,
                 code_reloaded=outcome.code_reloaded,
                 **{result: [c.character_id for c in outcome.characters if c.result == result]
                    for result in ("reloaded", "up_to_date", "invalid", "failed")})
        return outcome

    async def _reload_one(self, character_id: str, server: ForkServer) -> CharacterReload:
        worker = self._workers.get(character_id)
        if worker is None or worker.state == "stopped":
            return CharacterReload(character_id, "not_running")
        if (worker.code is server and worker.state != "failed"
                and not worker.character_changed()):
            return CharacterReload(character_id, "up_to_date", generation=worker.generation)
        problem = await server.client.check_character(character_id,
                                                      self.settings.characters_dir)
        if problem is not None:
            worker.character_problem = problem
            log.error("character_reload_refused", character=character_id, problem=problem,
                      kept_generation=worker.generation)
            return CharacterReload(character_id, "invalid", problem, worker.generation)
        before = worker.generation
        worker.request_reload()
        state = await worker.wait_for_generation(before)
        if state in ("ready", "debugging"):
            return CharacterReload(character_id, "reloaded", generation=worker.generation)
        crash = worker.last_crash.summary if worker.last_crash else f"it is {state}"
        return CharacterReload(character_id, "failed", crash, worker.generation)

    async def start_debugger(self, character_id: str, port: int | None, wait: bool) -> int:
        if importlib.util.find_spec("debugpy") is None:
            raise PoolError(
                character_id,
                f"cannot debug character {character_id!r}: debugpy is not installed; "
                "install it with `pip install 'greenroom[debug]'`")
        worker = self._workers.get(character_id)
        if worker is None:
            raise CharacterUnavailable(
                character_id, f"character {character_id!r} is not running; attach to it (or "
                "start it with `serve -c`) before debugging it")
        # Right after a restart (or a crash) the debugger goes into the new worker: wait for
        # it (the caller bounds the wait); a quarantined or stopped worker fails at once.
        await worker.wait_until_serving()
        if not worker.accepts_requests:
            raise CharacterUnavailable(
                character_id, f"character {character_id!r} is {worker.state}; it has no "
                "running worker to debug")
        if worker.debug_port is not None:
            return worker.debug_port
        try:
            return await worker.start_debugger(port or 0, wait, DEBUGGER_START_TIMEOUT_S)
        except TimeoutError:
            raise PoolError(character_id, f"character {character_id!r}: the debugger did not "
                            f"start within {DEBUGGER_START_TIMEOUT_S:g} s; see the log") from None

    # -- internals -----------------------------------------------------------------------

    def _check_exists(self, character_id: str) -> None:
        try:
            path = character_path(character_id, self.settings.characters_dir)
        except InvalidCharacterId:
            raise CharacterNotFound(character_id,
                                    f"{character_id!r} is not a valid character id") from None
        if not path.is_file() and character_id not in self._workers:
            raise CharacterNotFound(
                character_id, f"no character {character_id!r} in "
                f"{self.settings.characters_dir} (list them with `greenroom characters list`)")

    def _failed_message(self, character_id: str) -> str:
        worker = self._workers[character_id]
        crash = worker.last_crash.summary if worker.last_crash else "unknown cause"
        return (f"character {character_id!r} is quarantined after repeated crashes (last: "
                f"{crash}); fix it, then run `greenroom restart {character_id}`")

    async def _start_and_wait(self, character_id: str) -> WorkerState:
        return await self._worker(character_id).wait_until_serving()

    def _worker(self, character_id: str) -> SupervisedWorker:
        worker = self._workers.get(character_id)
        if worker is not None:
            return worker
        worker = SupervisedWorker(
            self._spec_for(character_id), self._fork_server_for_spawn,
            RestartPolicy(self._limits, self._rng), self._timing,
            character_id=character_id,
            source_files=lambda: source_files(character_id, self.settings.characters_dir),
            emit=self._emit,
            on_frame=lambda frame: self.listener.on_worker_frame(character_id, frame),
            on_state=self._on_state, debug=self._debug.get(character_id),
        )
        self._workers[character_id] = worker
        self._tasks[character_id] = asyncio.get_running_loop().create_task(
            self._supervise(worker), name=f"supervise {character_id}")
        return worker

    async def _supervise(self, worker: SupervisedWorker) -> None:
        try:
            await worker.run()
        except Exception:
            # A bug in the supervision loop must not take the other characters down.
            log.exception("supervisor_bug", character=worker.character_id)
            raise

    def _spec_for(self, character_id: str) -> Any:
        settings = self.settings

        def spec(generation: int, debug: DebugConfig | None) -> WorkerSpec:
            return WorkerSpec(
                character_id=character_id, generation=generation, settings=settings,
                debug_port=debug.port if debug else None,
                debug_wait=debug.wait if debug else False,
            )

        return spec

    async def _fork_server_for_spawn(self) -> Refresh:
        refresh = await self._fork_servers.for_spawn()
        if refresh.started:
            await self._fork_servers.retire_idle(self._codes_in_use())
        return refresh

    def _codes_in_use(self) -> list[ForkServer]:
        """The fork servers of the workers whose process runs (or is being forked)."""
        return [worker.code for worker in self._workers.values()
                if worker.code is not None and worker.state in RUNNING]

    def _emit(self, record: Mapping[str, Any]) -> None:
        if self._sink is not None:
            self._sink.emit(record)
        else:
            fields = {k: v for k, v in record.items() if k not in ("event", "level")}
            with contextlib.suppress(Exception):
                level = level_rank(record.get("level", "info"))
                log.log(level, str(record.get("event", "")), **fields)

    def _on_state(self, worker: SupervisedWorker) -> None:
        snapshot = worker.snapshot(unique_memory=False)
        log.info("worker_state", character=worker.character_id, state=snapshot.state,
                 worker_generation=worker.generation)
        self.listener.on_worker_state(worker.character_id, snapshot.state, snapshot)

