"""Real processes: a pool with a fork server, workers, a recording listener, a log file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
import structlog

from protocol.states import WorkerState
from runtime.log_chain import route_records
from runtime.log_records import to_json_line
from runtime.settings import Settings, load_settings
from supervisor.logs.sink import LogSink, RotatingJsonlFile
from supervisor.pool.api import WorkerSnapshot
from supervisor.pool.worker_pool import WorkerPool
from tests.support.character_copies import with_bundled

THREE = ("m-playful", "zen-master", "f-serious")


class RecordingListener:
    """The gateway's side of the contract, recording everything the pool reports."""

    def __init__(self) -> None:
        self.frames: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        self.states: list[tuple[str, WorkerState, WorkerSnapshot]] = []
        self._changed = asyncio.Event()

    def on_worker_frame(self, character_id: str, frame: Any) -> None:
        self.frames.put_nowait((character_id, frame))

    def on_worker_state(
        self, character_id: str, state: WorkerState, snapshot: WorkerSnapshot
    ) -> None:
        self.states.append((character_id, state, snapshot))
        self._changed.set()

    def states_of(self, character_id: str) -> list[WorkerState]:
        return [state for cid, state, _ in self.states if cid == character_id]

    async def wait_for(
        self, predicate: Callable[[], bool], timeout_s: float = 10.0
    ) -> None:
        async with asyncio.timeout(timeout_s):
            while not predicate():
                self._changed.clear()
                await self._changed.wait()

    async def wait_state(
        self, character_id: str, state: WorkerState, *, after: int = 0, timeout_s: float = 10.0
    ) -> WorkerSnapshot:
        """The snapshot of the first report of ``state`` at index ≥ ``after``."""
        found: list[WorkerSnapshot] = []

        def seen() -> bool:
            found[:] = [snap for cid, st, snap in self.states[after:]
                        if cid == character_id and st == state]
            return bool(found)

        await self.wait_for(seen, timeout_s)
        return found[0]


@pytest.fixture
def characters_dir(tmp_path: Path) -> Path:
    """The test's own characters directory holding the ``THREE`` bundled characters."""
    target = tmp_path / "characters"
    with_bundled(target, THREE)
    return target


@pytest.fixture
def make_settings(tmp_path: Path, characters_dir: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        flags: dict[str, Any] = {
            "data_dir": tmp_path / "data", "characters_dir": characters_dir,
            "heartbeat_interval_s": 0.2, "heartbeat_timeout_s": 1.0, "ready_timeout_s": 10.0,
            "restart_backoff_initial_s": 0.01, "restart_backoff_max_s": 0.05,
            "log_level": "debug",
        }
        flags.update(overrides)
        return load_settings(flags, environ={}, dotenv_path=tmp_path / "none.env")

    return make


@pytest.fixture
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "data" / "logs" / "greenroom.jsonl"


@pytest.fixture
async def start_pool(
    make_settings: Callable[..., Settings], log_file: Path
) -> AsyncIterator[Callable[..., Any]]:
    pools: list[WorkerPool] = []
    sinks: list[LogSink] = []

    async def start(**kwargs: Any) -> tuple[WorkerPool, RecordingListener]:
        settings_overrides = kwargs.pop("settings", {})
        listener = RecordingListener()
        sink = LogSink(RotatingJsonlFile(log_file, 1 << 24, 1), None, to_json_line, "debug")
        sinks.append(sink)
        route_records(sink.emit, level="debug")  # the pool's own records, as `serve` does
        pool = WorkerPool(make_settings(**settings_overrides), listener, sink=sink, **kwargs)
        pools.append(pool)
        await pool.start()
        return pool, listener

    yield start
    for pool in pools:
        await pool.close(grace_s=1.0)
    structlog.reset_defaults()
    for sink in sinks:
        sink.close()
