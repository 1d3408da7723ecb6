"""One character's worker across its restarts: the supervision loop around ``WorkerProcess``.

The loop (one task per character, owned by ``WorkerPool``):

    spawn ─▶ starting ─▶ ready ─▶ (exit) ─▶ policy ─┬─▶ restarting ─(backoff)─▶ spawn
                                                    └─▶ failed ─(operator restart)─▶ spawn

Any exit the pool did not ask for is a crash (workers are OTP "permanent" children). The
lifecycle table (``lifecycle``) and restart policy (``restart_policy``) make every
decision; this module only waits for events: the ``Ready`` frame, the exit report, the
ready timeout, a heartbeat verdict, an operator's restart or reload, the pool's stop.

Every spawn asks the pool for the fork server to fork from (``ForkServers.for_spawn``: the
newest, refreshed when the code on disk changed), so a restart — an operator's or a crash's —
never silently starts older code: when newer code failed to load, the worker records why
it is stale (``stale_note``) for ``ps`` and the log. A reload is a restart that lets the
turn in flight finish (``Timing.reload_grace_s``) and keeps the debugger's port.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil
import structlog

from protocol.pipe import Heartbeat, Shutdown, StartDebugger
from protocol.states import WorkerState, WorkerStateReason
from supervisor.pool.api import WorkerSnapshot
from supervisor.pool.code_fingerprint import FileStamp, same_content, stamp_file
from supervisor.pool.crash_report import CrashReport, decide_after_crash
from supervisor.pool.fork_servers import ForkServer, Refresh
from supervisor.pool.lifecycle import RUNNING, Lifecycle, WorkerLifecycle
from supervisor.pool.liveness import Liveness
from supervisor.pool.restart_policy import Quarantine, RestartPolicy
from supervisor.pool.staleness import join_notes, stale_character, stale_code
from supervisor.pool.worker_process import EmitRecord, FrameCallback, WorkerProcess
from supervisor.pool.zygote_client import ZygoteError
from worker.spec import WorkerSpec

log = structlog.get_logger()

TERM_WAIT_S = 2.0
"""After SIGTERM, how long a stopping worker gets before SIGKILL."""
RESTART_GRACE_S = 1.0
"""An operator's restart lets in-flight requests finish for this long."""


@dataclass(frozen=True, slots=True)
class DebugConfig:
    """Start debugpy in every generation of this worker (``serve --debug ID[:PORT]``). With
    port 0 the first generation's port (the OS's choice) is kept for the later ones, so an
    IDE re-attaches to the same address after a restart or a reload."""

    port: int = 0
    wait: bool = False


@dataclass(frozen=True, slots=True)
class Timing:
    """The supervision timings (seconds) taken from the settings."""

    ready_timeout_s: float
    heartbeat_interval_s: float
    heartbeat_timeout_s: float
    memory_limit_bytes: int | None
    reload_grace_s: float = 10.0
    """A reload lets the worker's requests in flight finish for this long."""


class _Stop(Exception):
    """Internal: the pool stops this worker for good."""


class SupervisedWorker:
    """State, policy, current process and history of one character's worker."""

    def __init__(
        self,
        spec_for: Callable[[int, DebugConfig | None], WorkerSpec],
        fork_server: Callable[[], Awaitable[Refresh]],
        policy: RestartPolicy,
        timing: Timing,
        *,
        character_id: str,
        source_files: Callable[[], list[Path]],
        emit: EmitRecord,
        on_frame: FrameCallback,
        on_state: Callable[[SupervisedWorker], None],
        debug: DebugConfig | None = None,
    ) -> None:
        self.character_id = character_id
        self._source_files = source_files
        self.lifecycle = WorkerLifecycle(character_id)
        self.policy = policy
        self.process: WorkerProcess | None = None
        self.generation = 0
        self.last_crash: CrashReport | None = None
        self.debug_port: int | None = None
        self.code: ForkServer | None = None
        """The fork server the current (or last) process was forked from."""
        self.character_stamps: dict[Path, FileStamp | None] = {}
        """The character's files (its file, the shared lorebooks it names) as they were when
        the current process was forked."""
        self.stale_note: str | None = None
        """Why the current process started from code older than the disk's (set at spawn)."""
        self.character_problem: str | None = None
        """Why the last reload left this worker on its older character file."""
        self.reason: WorkerStateReason = "start"
        self._spec_for = spec_for
        self._fork_server = fork_server
        self._timing = timing
        self._emit = emit
        self._on_frame = on_frame
        self._on_state = on_state
        self._debug = debug
        self._carried_debug_port: int | None = None
        self._bound_debug_port = 0
        self._liveness: Liveness | None = None
        self._next_delay_s = 0.0
        self._stop_grace_s = 0.0
        self._changed = asyncio.Event()
        self._restart_requested = asyncio.Event()
        self._restart_reason: WorkerStateReason = "restart"
        self._stop_requested = asyncio.Event()
        self._debugger_waiters: list[asyncio.Future[int]] = []
        self._log = log.bind(character=character_id)

    # -- what the pool and gateway read -----------------------------------------------------

    @property
    def state(self) -> WorkerState:
        return self.lifecycle.state

    @property
    def serving_process(self) -> WorkerProcess | None:
        """The process a request sent now reaches and that will answer it, else ``None``.
        ``None`` once an operator asked for a restart: the old process stops reading at its
        ``Shutdown``, so a request sent to it then would be lost (and answered
        ``worker_crashed``); the pool answers ``character_restarting`` instead until the new
        worker is ready."""
        process = self.process
        if (self.lifecycle.accepts_requests and process is not None and process.is_ready
                and not self.restart_pending):
            return process
        return None

    @property
    def accepts_requests(self) -> bool:
        return self.serving_process is not None

    @property
    def restart_pending(self) -> bool:
        """An operator's restart (or a reload) was asked for and the new process is not
        spawned yet."""
        return self._restart_requested.is_set()

    @property
    def pending_reason(self) -> WorkerStateReason:
        """What the pending restart is: ``restart`` or ``reload``."""
        return self._restart_reason

    def character_changed(self) -> bool:
        """Whether the character's files on disk (its file, the shared lorebooks it names)
        differ from those the current process was forked with (only for a worker that has
        been forked)."""
        return self.code is not None and not all(
            same_content(path, stamp) for path, stamp in self.character_stamps.items())

    def snapshot(self, *, unique_memory: bool = True,
                 stale_files: dict[int, tuple[str, ...]] | None = None,
                 code_problem: str | None = None) -> WorkerSnapshot:
        """What ``ps`` shows. ``unique_memory=False`` skips USS, which costs a read of
        ``/proc/<pid>/smaps`` (milliseconds): state notifications on the restart path skip it.
        ``stale_files`` (the changed files of each fork server by generation, found once
        for all workers by the pool) and ``code_problem`` (why newer code did not load) fill
        ``stale``; without them it is only what was known at spawn."""
        process = self.process if self.state in RUNNING else None
        rss = uss = None
        if process is not None:
            rss, uss = _memory_of(process.pid, unique=unique_memory)
        code = self.code
        stale = self.stale_note
        if stale_files is not None and code is not None and process is not None:
            stale = join_notes(
                stale_code(stale_files.get(code.generation, ()), code.generation,
                           code_problem),
                stale_character(self.character_changed(), self.character_problem))
        return WorkerSnapshot(
            character_id=self.character_id, state=self.state,
            pid=process.pid if process else None, generation=self.generation,
            uptime_s=round(process.uptime_s, 3) if process else None,
            restarts=self.policy.restarts, rss_bytes=rss, uss_bytes=uss,
            debug_port=self.debug_port if process else None,
            last_crash=self.last_crash.summary if self.last_crash else None,
            reason=self.reason, detail=self._detail(),
            code_generation=code.generation if code is not None else None,
            code_loaded_at=code.loaded_at if code is not None else None,
            stale=stale if process is not None else None,
        )

    def _detail(self) -> str | None:
        if self.reason == "reload":
            code = self.code
            if self.state not in ("ready", "debugging") or code is None:
                return "reloading"
            return f"reloaded: code generation {code.generation}"
        if self.state in ("restarting", "failed", "stopped") and self.last_crash is not None:
            return self.last_crash.summary
        return None

    async def wait_until_serving(self) -> WorkerState:
        """Return once the worker accepts requests, or is ``failed``/``stopped``."""
        # ``stopped`` is also the state before the first spawn: terminal only once stopping;
        # ``failed`` is not terminal once an operator asked for a restart.
        while not (self.accepts_requests
                   or (self.state == "failed" and not self.restart_pending)
                   or (self.state == "stopped" and self._stop_requested.is_set())):
            self._changed.clear()
            await self._changed.wait()
        return self.state

    async def wait_for_generation(self, after: int) -> WorkerState:
        """Once a generation later than ``after`` serves (``ready``, or ``debugging``: its
        debugger listens) or has ended (``restarting``/``failed``/``stopped``), that state."""
        while not (self.generation > after and self.state != "starting"):
            if self.state == "stopped" and self._stop_requested.is_set():
                return self.state
            self._changed.clear()
            await self._changed.wait()
        return self.state

    async def wait_for_debug_port(self) -> int:
        """Return the port once this generation's debugger listens."""
        while self.debug_port is None:
            if self.state in ("failed", "stopped") and self.generation:
                raise RuntimeError(f"worker {self.character_id!r} is {self.state}")
            self._changed.clear()
            await self._changed.wait()
        return self.debug_port

    # -- commands ------------------------------------------------------------------------

    def request_restart(self) -> None:
        """Restart now, clearing quarantine and the restart history."""
        self._restart_reason = "restart"
        self._restart_requested.set()
        self._wake()

    def request_reload(self) -> None:
        """Restart onto the newest code and the character file on disk: like
        ``request_restart``, but requests in flight get ``Timing.reload_grace_s`` to finish
        and a listening debugger comes back on the same port."""
        if self.debug_port is not None:
            self._carried_debug_port = self.debug_port
        self._restart_reason = "reload"
        self._restart_requested.set()
        self._wake()

    def request_stop(self, grace_s: float = 0.0) -> None:
        """Stop for good: in-flight requests get ``grace_s`` seconds to finish."""
        self._stop_grace_s = grace_s
        self._stop_requested.set()
        self._wake()

    async def start_debugger(self, port: int, wait: bool, timeout_s: float) -> int:
        """Ask the running worker to start debugpy; returns its port. The caller has made sure
        the worker accepts requests (``accepts_requests``)."""
        process = self.serving_process
        assert process is not None, "start_debugger needs a serving worker"
        future: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._debugger_waiters.append(future)
        # Importing and starting debugpy blocks the worker for a while (seconds on a busy
        # machine): that silence is not a hang, so heartbeats wait until it has started.
        liveness = self._liveness
        if liveness is not None:
            liveness.suspend()
        try:
            process.send(StartDebugger(port=port, wait=wait))
            return await asyncio.wait_for(future, timeout_s)
        except BaseException:
            if liveness is not None and liveness is self._liveness and self.debug_port is None:
                liveness.resume(time.monotonic())
            raise
        finally:
            with contextlib.suppress(ValueError):
                self._debugger_waiters.remove(future)

    # -- the supervision loop ------------------------------------------------------------

    async def run(self) -> None:
        """Supervise until ``request_stop``; the pool owns this task."""
        try:
            while True:
                await self._one_generation()
                if self.state == "failed":
                    await self._wait_for(self._restart_requested)
                    self._restart_by_operator()
        except _Stop:
            pass
        finally:
            self.reason = "stop"
            self._set(Lifecycle.STOP)

    async def _one_generation(self) -> None:
        """Spawn one process and supervise it until it is gone and the policy has decided
        what comes next (state ``restarting`` after the backoff, or ``failed``)."""
        if self._stop_requested.is_set():
            raise _Stop
        self.generation += 1
        self._set(Lifecycle.SPAWN)
        try:
            process = await self._spawn()
        except (ZygoteError, OSError) as exc:
            self._log.error("worker_spawn_failed", error=str(exc))
            self._crashed(CrashReport(self.character_id, None, self.generation, None, 0.0,
                                      error=f"could not fork: {exc}"), started_at=time.monotonic())
            await self._backoff()
            return
        self.process = process
        try:
            outcome = await self._supervise(process)
        finally:
            self._liveness = None
        grace_s = {"stop": self._stop_grace_s,
                   "restart": (self._timing.reload_grace_s if self._restart_reason == "reload"
                               else RESTART_GRACE_S)}.get(outcome, 0.0)
        exitcode = await self._finish(process, graceful=outcome != "exited", grace_s=grace_s)
        if outcome == "stop":
            raise _Stop
        if outcome == "restart":
            self._restart_by_operator()
            return
        report = process.crash_report(exitcode)
        if self.code is not None:
            report = dataclasses.replace(report, code_root=self.code.report.fingerprint.root,
                                         code_changed=self.code.stale_files())
        self._crashed(report, started_at=process.started_at)
        if self.state == "restarting":
            await self._backoff()

    async def _spawn(self) -> WorkerProcess:
        refresh = await self._fork_server()
        zygote = refresh.server.client
        self.code = refresh.server
        spec = self._spec_for(self.generation, self._next_debug())
        self._carried_debug_port = None
        character_stamps = {path: stamp_file(path) for path in self._source_files()}
        ours, theirs = socket.socketpair()
        out_r, out_w = socket.socketpair()
        err_r, err_w = socket.socketpair()
        try:
            pid = await zygote.spawn(spec, theirs.fileno(), out_w.fileno(), err_w.fileno())
        except BaseException:
            for sock in (ours, out_r, err_r):
                sock.close()
            raise
        finally:
            for sock in (theirs, out_w, err_w):
                sock.close()
        process = WorkerProcess(
            spec, pid, ours, out_r, err_r, zygote.exit_future(pid), emit=self._emit,
            on_client_frame=self._on_frame,
            on_debugger=self._debugger_started, on_ack=self._heartbeat_ack,
        )
        await process.start_readers()
        self.character_stamps = character_stamps
        self.character_problem = None
        self.stale_note = (stale_code(refresh.stale, refresh.server.generation,
                                      refresh.problems[0].summary)
                           if refresh.failed else None)
        self._log.info("worker_spawned", worker_pid=pid, worker_generation=self.generation,
                       code_generation=refresh.server.generation)
        if self.stale_note is not None:
            self._log.warning("worker_code_stale", worker_pid=pid, stale=self.stale_note,
                              files=list(refresh.stale))
        return process

    def _next_debug(self) -> DebugConfig | None:
        """The debugger of the generation about to start: the configured one (on the port
        its first generation got, when the OS chose), or the one a reload carries over."""
        configured = self._debug
        if configured is not None:
            port = configured.port or self._carried_debug_port or self._bound_debug_port
            return DebugConfig(port=port, wait=configured.wait)
        if self._carried_debug_port is not None:
            return DebugConfig(port=self._carried_debug_port)
        return None

    async def _supervise(self, process: WorkerProcess) -> str:
        """Wait for the process's end: ``"exited"`` (crash), ``"restart"`` or ``"stop"``."""
        ready_deadline = time.monotonic() + self._timing.ready_timeout_s
        while True:
            if self._stop_requested.is_set():
                return "stop"
            if self._restart_requested.is_set():
                return "restart"
            if process.exited.done():
                return "exited"
            if process.is_ready and self.state == "starting":
                self._became_ready(process)
            now = time.monotonic()
            timeout: float | None
            if not process.is_ready:
                if self.state == "debugging":
                    timeout = None  # held by --debug-wait: no ready deadline
                elif now >= ready_deadline:
                    process.kill(f"not ready within {self._timing.ready_timeout_s:g} s")
                    timeout = None
                else:
                    timeout = ready_deadline - now
            else:
                timeout = self._heartbeat_tick(process, now)
            self._changed.clear()
            changed = asyncio.ensure_future(self._changed.wait())
            waiters: set[asyncio.Future[Any]] = {process.exited, changed}
            if not process.is_ready:
                waiters.add(process.ready)
            try:
                await asyncio.wait(waiters, timeout=timeout,
                                   return_when=asyncio.FIRST_COMPLETED)
            finally:
                changed.cancel()

    def _became_ready(self, process: WorkerProcess) -> None:
        self._liveness = Liveness.start(time.monotonic(), self._timing.heartbeat_interval_s,
                                        self._timing.heartbeat_timeout_s)
        if self.state == "debugging":
            self._liveness.suspend()
        self._set(Lifecycle.READY)
        self._log.info("worker_ready", worker_pid=process.pid,
                       worker_generation=self.generation,
                       start_ms=round(process.uptime_s * 1000, 1))

    def _heartbeat_tick(self, process: WorkerProcess, now: float) -> float:
        """Send a heartbeat, kill the worker if silent or over its memory limit; returns the
        seconds until the next tick."""
        live = self._liveness
        if live is None:
            self._became_ready(process)
            live = self._liveness
            assert live is not None
        if not self.lifecycle.heartbeats_apply:
            live.suspend()
        if live.is_unresponsive(now):
            silent = live.silent_for(now)
            self._log.error("worker_unresponsive", worker_pid=process.pid,
                            silent_s=round(silent, 2))
            process.kill(f"no heartbeat answered for {silent:.1f} s")
            return self._timing.heartbeat_interval_s
        limit = self._timing.memory_limit_bytes
        if limit is not None:
            rss, _uss = _memory_of(process.pid, unique=False)
            if rss is not None and rss > limit:
                self._log.error("worker_over_memory_limit", rss_bytes=rss, limit_bytes=limit)
                process.kill(f"resident memory {rss >> 20} MiB over the {limit >> 20} MiB limit")
        with contextlib.suppress(ConnectionError):
            process.send(Heartbeat(seq=live.ping()))
        return self._timing.heartbeat_interval_s

    def _heartbeat_ack(self, seq: int) -> None:
        if self._liveness is not None:
            self._liveness.on_ack(seq, time.monotonic())

    def _debugger_started(self, port: int) -> None:
        self.debug_port = port
        if self._debug is not None:
            self._bound_debug_port = port
        if self._liveness is not None:
            self._liveness.suspend()
        if self.state != "debugging":
            self._set(Lifecycle.DEBUGGER)
        self._log.warning("worker_debugging", debug_port=port,
                          attach=f"127.0.0.1:{port}")
        for waiter in self._debugger_waiters:
            if not waiter.done():
                waiter.set_result(port)
        self._wake()

    async def _finish(
        self, process: WorkerProcess, *, graceful: bool, grace_s: float
    ) -> int | None:
        """Make sure the process is gone (gracefully if asked), drain its output; returns
        its exit code."""
        if graceful and not process.exited.done():
            await stop_process(process, grace_s=grace_s)
        exitcode = await process.wait_exit()
        await process.finish()
        return exitcode

    def _crashed(self, report: CrashReport, *, started_at: float) -> None:
        self.last_crash = report
        self.debug_port = None
        self.reason = "crash"
        decision = decide_after_crash(self.policy, report, started_at=started_at,
                                      now=time.monotonic(), character_id=self.character_id,
                                      log=self._log)
        if isinstance(decision, Quarantine):
            self._set(Lifecycle.QUARANTINED)
        else:
            self._next_delay_s = decision.delay_s
            self._set(Lifecycle.CRASHED)
        self.process = None

    async def _backoff(self) -> None:
        """Sleep the policy's delay; a stop or an operator's restart or reload cuts it short
        (and is carried out: the next spawn is the one asked for)."""
        deadline = time.monotonic() + self._next_delay_s
        while (remaining := deadline - time.monotonic()) > 0:
            if self._stop_requested.is_set():
                raise _Stop
            if self._restart_requested.is_set():
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wait_for_any(), timeout=remaining)
        if self._stop_requested.is_set():
            raise _Stop
        if self._restart_requested.is_set():
            self._restart_by_operator()

    def _restart_by_operator(self) -> None:
        reason = self._restart_reason
        self._restart_requested.clear()
        self._restart_reason = "restart"
        self.policy.clear()
        self.process = None
        self.debug_port = None
        self.reason = reason
        if reason == "reload":
            self._log.info("worker_reloading")
            self._set(Lifecycle.RELOAD)
        else:
            self._log.info("worker_restart_requested")
            self._set(Lifecycle.RESTART)

    async def _wait_for(self, event: asyncio.Event) -> None:
        while not event.is_set():
            if self._stop_requested.is_set():
                raise _Stop
            await self._wait_for_any()

    async def _wait_for_any(self) -> None:
        self._changed.clear()
        await self._changed.wait()

    def _wake(self) -> None:
        self._changed.set()

    def _set(self, event: Lifecycle) -> None:
        before = self.lifecycle.state
        after = self.lifecycle.apply(event)
        self._wake()
        if after != before or event in (Lifecycle.RESTART, Lifecycle.RELOAD):
            self._on_state(self)


async def stop_process(process: WorkerProcess, grace_s: float) -> None:
    """Shutdown frame → wait ``grace_s`` (+1 s to close) → SIGTERM → wait → SIGKILL."""
    with contextlib.suppress(ConnectionError):
        process.send(Shutdown(grace_s=grace_s))

    def kill() -> None:
        process.kill("did not stop after SIGTERM")

    escalations: tuple[Callable[[], None], ...] = (process.terminate, kill)
    for wait_s, escalate in zip((grace_s + 1.0, TERM_WAIT_S), escalations, strict=True):
        try:
            await asyncio.wait_for(asyncio.shield(process.exited), wait_s)
            return
        except TimeoutError:
            escalate()
        except ZygoteError:
            return  # the fork server died, and its workers with it
    await process.wait_exit()


def _memory_of(pid: int, *, unique: bool) -> tuple[int | None, int | None]:
    """(RSS, USS) in bytes; ``None`` where unavailable (process gone, no permission) or
    not asked for (``unique=False``)."""
    try:
        proc = psutil.Process(pid)
        if not unique:
            return int(proc.memory_info().rss), None
        try:
            full = proc.memory_full_info()
            return int(full.rss), int(full.uss)
        except (psutil.AccessDenied, AttributeError):
            return int(proc.memory_info().rss), None
    except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
        return None, None

