"""The pool's fork servers: the newest one forks every new worker; older ones live on only
while workers they forked still run.

A fork server holds the code it loaded when it started (``ForkServer.report``). When the files
on disk no longer match (``stale_files``), ``refresh`` starts a new fork server from them,
and only once that one has imported the code and rehearsed a turn does it become the newest;
if it failed (a syntax error, an import error, a failed rehearsal) it is stopped and the old
one keeps forking, with the problems kept for ``ps`` and the log. A failed attempt is not
repeated for the same files on disk (every crash restart would pay a second of preload
otherwise): only an edit of them, or an explicit ``retry``, tries again.

Workers die with their fork server, so a replaced one is stopped only once none of its
workers runs (``retire_idle``). Ownership: ``close`` stops every fork server (and so every
worker). One ``refresh`` or restart of the newest runs at a time.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterable
from dataclasses import dataclass

import structlog

from supervisor.pool.code_fingerprint import FileStamp
from supervisor.pool.preload_report import PreloadProblem, PreloadReport
from supervisor.pool.zygote_client import ZygoteClient, ZygoteError

log = structlog.get_logger()


@dataclass(eq=False)
class ForkServer:
    """One started fork server: ``generation`` counts the fork servers of this pool (1 for
    the first), and is the code generation of every worker it forks."""

    client: ZygoteClient
    generation: int
    report: PreloadReport

    @property
    def loaded_at(self) -> float:
        """When its code was loaded (seconds since the epoch)."""
        return self.report.loaded_at

    def stale_files(self) -> tuple[str, ...]:
        """The files it loaded that have changed on disk since (empty: it is current)."""
        return self.report.fingerprint.changed()


@dataclass(frozen=True, slots=True)
class Refresh:
    """What ``ForkServers.refresh`` found and did.

    ``server`` is the newest fork server after it; ``started`` whether it was started by this
    call; ``stale`` the changed files ``server`` does not hold (non-empty only when the new
    code failed); ``problems`` what failed in the new code."""

    server: ForkServer
    started: bool = False
    stale: tuple[str, ...] = ()
    problems: tuple[PreloadProblem, ...] = ()

    @property
    def failed(self) -> bool:
        return bool(self.problems)


@dataclass(frozen=True, slots=True)
class _FailedAttempt:
    disk: tuple[tuple[str, FileStamp | None], ...]
    problems: tuple[PreloadProblem, ...]


class ForkServers:
    """The fork servers of one pool (see the module docstring)."""

    def __init__(self, *, python: str = sys.executable) -> None:
        self._python = python
        self._newest: ForkServer | None = None
        self._replaced: list[ForkServer] = []
        self._generations = 0
        self._failed: _FailedAttempt | None = None
        self._lock = asyncio.Lock()

    @property
    def newest(self) -> ForkServer | None:
        return self._newest

    @property
    def last_failure(self) -> tuple[PreloadProblem, ...]:
        """The problems of the last failed attempt at new code, while its files are unchanged
        and no later attempt succeeded (empty otherwise)."""
        failed = self._failed
        newest = self._newest
        if failed is None or newest is None:
            return ()
        if newest.report.fingerprint.disk_state(key for key, _ in failed.disk) != failed.disk:
            return ()
        return failed.problems

    async def start(self) -> ForkServer:
        """Start the first fork server. Its problems are logged, but it forks workers anyway:
        with no older code to fall back on, each worker meets the problem itself and reports
        it in its crash report."""
        async with self._lock:
            server = self._accept(await self._launch())
            for problem in server.report.problems:
                log.error("zygote_preload_failed", problem=problem.summary,
                          traceback=problem.traceback, code_generation=server.generation)
            return server

    async def for_spawn(self) -> Refresh:
        """The fork server a new worker should come from: the newest, restarted if it died,
        refreshed if the code on disk changed (a failure already met is not retried)."""
        return await self.refresh(retry=False)

    async def refresh(self, *, retry: bool = True) -> Refresh:
        """Make the newest fork server hold the code on disk (see the module docstring)."""
        async with self._lock:
            newest = self._newest
            if newest is None:
                raise RuntimeError("ForkServers.start() was not awaited")
            if not newest.client.running:
                log.error("zygote_died", zygote_pid=newest.client.pid,
                          code_generation=newest.generation)
                await newest.client.close()
                self._newest = None
                return Refresh(self._accept(await self._launch()), started=True)
            stale = newest.stale_files()
            if not stale:
                return Refresh(newest)
            disk = newest.report.fingerprint.disk_state(stale)
            failed = self._failed
            if not retry and failed is not None and failed.disk == disk:
                return Refresh(newest, stale=stale, problems=failed.problems)
            log.info("code_changed", files=list(stale), code_generation=newest.generation)
            try:
                candidate = await self._launch()
            except ZygoteError as exc:
                return self._refused(newest, stale, disk, (PreloadProblem(
                    f"the new fork server did not start: {exc} (its output is on the "
                    "supervisor's stderr)"),))
            assert candidate.report is not None
            if candidate.report.problems:
                await candidate.close()
                return self._refused(newest, stale, disk, candidate.report.problems)
            self._failed = None
            self._replaced.append(newest)
            server = self._accept(candidate)
            log.info("code_loaded", code_generation=server.generation,
                     zygote_pid=candidate.pid, files=list(stale))
            return Refresh(server, started=True)

    async def retire_idle(self, in_use: Iterable[ForkServer]) -> None:
        """Stop every replaced fork server none of ``in_use`` (the fork servers of the
        workers still running) is."""
        busy = set(map(id, in_use))
        idle = [server for server in self._replaced if id(server) not in busy]
        self._replaced = [server for server in self._replaced if id(server) in busy]
        for server in idle:
            log.info("zygote_retired", zygote_pid=server.client.pid,
                     code_generation=server.generation)
            await server.client.close()

    async def close(self) -> None:
        """Stop every fork server (their workers die with them)."""
        servers = [*self._replaced, *([self._newest] if self._newest else [])]
        self._replaced = []
        for server in servers:
            await server.client.close()

    def _refused(self, newest: ForkServer, stale: tuple[str, ...],
                 disk: tuple[tuple[str, FileStamp | None], ...],
                 problems: tuple[PreloadProblem, ...]) -> Refresh:
        self._failed = _FailedAttempt(disk, problems)
        first = problems[0]
        log.error("code_reload_failed", problem=first.summary, traceback=first.traceback,
                  files=list(stale), problems=[p.summary for p in problems],
                  kept_code_generation=newest.generation)
        return Refresh(newest, stale=stale, problems=problems)

    def _accept(self, client: ZygoteClient) -> ForkServer:
        assert client.report is not None, "a started fork server has said hello"
        self._generations += 1
        server = ForkServer(client, self._generations, client.report)
        self._newest = server
        return server

    async def _launch(self) -> ZygoteClient:
        client = ZygoteClient(python=self._python)
        try:
            await client.start()
        except BaseException:  # cancelled (the server stops): leave no fork server behind
            await client.close()
            raise
        assert client.report is not None
        log.info("zygote_started", zygote_pid=client.pid,
                 problems=len(client.report.problems))
        return client
