"""``RunningServer``: a real ``greenroom serve`` subprocess for tests and benchmarks.

It runs the installed CLI (``supervisor.cli:main``) with the same interpreter, on 127.0.0.1
port 0, with its own data directory and the characters asked for, JSON logs on. Readiness is
event-driven: the gateway's ``gateway_listening`` log record gives the bound port; then
``GET /healthz`` is polled (every ``HEALTH_POLL_S``, under a deadline) until every preloaded
character is ``ready``. Every output line of the server is kept in ``lines`` (and parsed into
``records`` when it is JSON), so a test can wait for a log event or show the log on failure.

The child is started in its own session (``start_new_session``), so a signal sent to the
test's process group never reaches it by accident and ``kill`` can target it alone.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.support.cli_process import greenroom_argv
from tests.support.paths import BUNDLED_CHARACTERS

__all__ = ["BUNDLED_CHARACTERS", "HEALTH_POLL_S", "Launch", "Record", "RunningServer",
           "ServerConfig", "ServerFailed", "running_server", "start_server"]

HEALTH_POLL_S = 0.005
"""How often ``/healthz`` is polled while waiting for workers (5 ms: cold-start figures are
measured with it, so it must stay far below the 2 s goal)."""

Record = dict[str, Any]
_T = TypeVar("_T")


class ServerFailed(Exception):
    """The server exited or did not become ready; the message carries its last output."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """How to start the server. ``env`` adds to (and overrides) the inherited environment;
    ``extra_args`` go after ``serve``'s own flags."""

    data_dir: Path
    characters: Sequence[str] = ()
    characters_dir: Path = BUNDLED_CHARACTERS
    engine: str = "scripted"
    env: Mapping[str, str] = field(default_factory=dict)
    extra_args: Sequence[str] = ()
    ready_timeout_s: float = 30.0

    def argv(self) -> list[str]:
        preload = [arg for character in self.characters for arg in ("-c", character)]
        return greenroom_argv(
            "serve", "--host", "127.0.0.1", "--port", "0", "--data-dir", str(self.data_dir),
            "--engine", self.engine, "--log-format", "json", *preload, *self.extra_args)

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GREENROOM_")}
        env["GREENROOM_CHARACTERS_DIR"] = str(self.characters_dir)
        env["PYTHONUNBUFFERED"] = "1"
        env.update(self.env)
        return env


class RunningServer:
    """A started server. Build it with ``running_server`` (which also stops it)."""

    def __init__(self, config: ServerConfig, process: asyncio.subprocess.Process) -> None:
        self.config = config
        self.process = process
        self.started_at = time.perf_counter()
        self.lines: list[str] = []
        self.records: list[Record] = []
        self.port: int | None = None
        self.listening_after_s: float | None = None
        """Seconds from launch to the ``gateway_listening`` record (the supervisor is up)."""
        self._changed = asyncio.Condition()
        self._streams_open = 2
        self._exited = False
        self._readers = [
            asyncio.create_task(self._pump(stream), name=f"server-output-{name}")
            for name, stream in (("stdout", process.stdout), ("stderr", process.stderr))
            if stream is not None
        ]
        self._readers.append(asyncio.create_task(self._watch_exit(), name="server-exit"))
        self._http = httpx.AsyncClient(timeout=5.0)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("the server has not reported its port yet")
        return f"ws://127.0.0.1:{self.port}"

    # -- output ------------------------------------------------------------------------

    async def _pump(self, stream: asyncio.StreamReader) -> None:
        while line := await stream.readline():
            text = line.decode(errors="replace").rstrip("\n")
            record = _parse_record(text)
            async with self._changed:
                self.lines.append(text)
                if record is not None:
                    self.records.append(record)
                    if record.get("event") == "gateway_listening" and self.port is None:
                        self.port = int(record["port"])
                        self.listening_after_s = time.perf_counter() - self.started_at
                self._changed.notify_all()
        async with self._changed:
            self._streams_open -= 1
            self._changed.notify_all()

    async def _watch_exit(self) -> None:
        await self.process.wait()
        async with self._changed:
            self._exited = True
            self._changed.notify_all()

    async def wait_for_record(self, predicate: Callable[[Record], bool],
                              timeout_s: float = 10.0, *, start: int = 0) -> Record:
        """The first JSON log record (from index ``start`` of ``records``) matching
        ``predicate``; raises ``ServerFailed`` on timeout or exit."""
        return await self._first(self.records, predicate, timeout_s, start)

    async def wait_for_line(self, predicate: Callable[[str], bool],
                            timeout_s: float = 10.0, *, start: int = 0) -> str:
        """The first output line (from index ``start`` of ``lines``, JSON or not) matching
        ``predicate`` — e.g. ``serve``'s plain status lines; raises ``ServerFailed`` on
        timeout or exit."""
        return await self._first(self.lines, predicate, timeout_s, start)

    async def _first(self, seen: list[_T], predicate: Callable[[_T], bool], timeout_s: float,
                     start: int) -> _T:
        async with self._changed:
            try:
                async with asyncio.timeout(timeout_s):
                    while True:
                        for item in seen[start:]:
                            if predicate(item):
                                return item
                        if self._exited and self._streams_open == 0:
                            raise ServerFailed(self._failure("exited"))
                        await self._changed.wait()
            except TimeoutError:
                raise ServerFailed(self._failure(f"nothing matched in {timeout_s} s")
                                   ) from None

    def output_tail(self, lines: int = 40) -> str:
        return "\n".join(self.lines[-lines:])

    def _failure(self, what: str) -> str:
        return (f"greenroom serve (pid {self.pid}, exit {self.process.returncode}): {what}; "
                f"last output:\n{self.output_tail()}")

    # -- health ------------------------------------------------------------------------

    async def healthz(self) -> dict[str, Any]:
        """The full ``/healthz`` document (with the server's token, when it has one)."""
        token = self.config.env.get("GREENROOM_TOKEN")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = await self._http.get(f"http://127.0.0.1:{self.port}/healthz",
                                        headers=headers)
        document: dict[str, Any] = response.json()
        return document

    async def metric(self, name: str) -> float:
        """The value of the unlabelled sample ``name`` of ``/metrics`` (which needs the
        server to have a token, ``GREENROOM_TOKEN`` in the config's env)."""
        token = self.config.env.get("GREENROOM_TOKEN")
        assert token, "/metrics needs GREENROOM_TOKEN in the server's env"
        response = await self._http.get(f"http://127.0.0.1:{self.port}/metrics",
                                        headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name == name and not sample.labels:
                    return float(sample.value)
        raise AssertionError(f"/metrics has no sample {name!r}")

    async def workers(self) -> dict[str, dict[str, Any]]:
        """``/healthz`` workers by character id (state, pid, generation, restarts)."""
        return {w["character_id"]: w for w in (await self.healthz())["workers"]}

    async def worker_pid(self, character_id: str) -> int:
        pid = (await self.workers())[character_id]["pid"]
        assert isinstance(pid, int), f"{character_id} has no running worker"
        return pid

    async def wait_until(self, predicate: Callable[[dict[str, dict[str, Any]]], bool],
                         timeout_s: float) -> dict[str, dict[str, Any]]:
        """Poll ``/healthz`` until ``predicate(workers)`` holds; raises ``ServerFailed``."""
        deadline = time.monotonic() + timeout_s
        while True:
            if self.process.returncode is not None:
                raise ServerFailed(self._failure("exited while waiting"))
            with contextlib.suppress(httpx.TransportError):
                workers = await self.workers()
                if predicate(workers):
                    return workers
            if time.monotonic() > deadline:
                raise ServerFailed(self._failure(f"condition not reached in {timeout_s} s"))
            await asyncio.sleep(HEALTH_POLL_S)

    async def wait_ready(self, characters: Sequence[str] | None = None,
                         timeout_s: float | None = None) -> float:
        """Wait until the port is known and every one of ``characters`` (default: the
        preloaded ones) is ``ready``; returns seconds since the process was started."""
        timeout = self.config.ready_timeout_s if timeout_s is None else timeout_s
        await self.wait_for_record(lambda r: r.get("event") == "gateway_listening", timeout)
        wanted = list(self.config.characters if characters is None else characters)
        await self.wait_until(
            lambda ws: all(ws.get(c, {}).get("state") == "ready" for c in wanted), timeout)
        return time.perf_counter() - self.started_at

    # -- stopping ----------------------------------------------------------------------

    def send_signal(self, signum: signal.Signals) -> None:
        if self.process.returncode is None:
            self.process.send_signal(signum)

    async def wait_exit(self, timeout_s: float) -> int:
        """The exit code (negative: killed by that signal); ``ServerFailed`` on timeout."""
        try:
            async with asyncio.timeout(timeout_s):
                code = await self.process.wait()
                await asyncio.gather(*self._readers)
        except TimeoutError:
            raise ServerFailed(self._failure(f"still running {timeout_s} s after asked to stop")
                               ) from None
        return code

    async def stop(self, timeout_s: float = 15.0) -> int:
        """SIGTERM, wait up to ``timeout_s``, then SIGKILL. Returns the exit code."""
        self.send_signal(signal.SIGTERM)
        try:
            return await self.wait_exit(timeout_s)
        except ServerFailed:
            self.send_signal(signal.SIGKILL)
            return await self.wait_exit(5.0)
        finally:
            await self._http.aclose()


def _parse_record(text: str) -> Record | None:
    if not text.startswith("{"):
        return None
    try:
        record = json.loads(text)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


async def start_server(config: ServerConfig) -> RunningServer:
    """Start ``greenroom serve`` (not waiting for readiness)."""
    config.data_dir.mkdir(parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        *config.argv(), env=config.environment(), cwd=config.data_dir,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE, start_new_session=True)
    return RunningServer(config, process)


@asynccontextmanager
async def running_server(config: ServerConfig, *, wait_ready: bool = True
                         ) -> AsyncIterator[RunningServer]:
    """Start the server, wait until its preloaded characters are ready, yield it, stop it
    (SIGTERM, then SIGKILL) — also when the test failed."""
    server = await start_server(config)
    try:
        if wait_ready:
            await server.wait_ready()
        yield server
    finally:
        if server.process.returncode is None:
            await server.stop()
        else:
            await server.wait_exit(5.0)
            await server._http.aclose()


Launch = Callable[..., Awaitable[RunningServer]]
"""The ``launch`` fixture (``tests/conftest.py``): ``await launch(characters, *, data_dir=None,
wait_ready=True, **ServerConfig fields)`` starts a server that is stopped after the test."""
