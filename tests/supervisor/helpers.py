"""Small awaitable helpers over real workers (no sleeps: every wait is for an event)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from protocol.pipe import WorkerReply, WorkerRequest
from protocol.queries import StatusRequest
from protocol.session import PingRequest
from supervisor.pool.worker_pool import WorkerPool
from tests.supervisor.conftest import RecordingListener


async def request(
    pool: WorkerPool, listener: RecordingListener, character_id: str, request_id: int,
    message: Any = None, timeout_s: float = 10.0,
) -> Any:
    """Send one request and return its final reply's message (other frames are skipped)."""
    pool.send(character_id, WorkerRequest(session_id="s-test", request_id=request_id,
                                          user="tester",
                                          message=message or PingRequest(message_id="p")))
    async with asyncio.timeout(timeout_s):
        while True:
            cid, frame = await listener.frames.get()
            if (cid == character_id and isinstance(frame, WorkerReply)
                    and frame.request_id == request_id and frame.final):
                return frame.message


async def status(pool: WorkerPool, listener: RecordingListener, character_id: str,
                 request_id: int) -> Any:
    return await request(pool, listener, character_id, request_id,
                         StatusRequest(message_id="st"))


def pid_of(pool: WorkerPool, character_id: str) -> int:
    (snapshot,) = [s for s in pool.snapshots() if s.character_id == character_id]
    assert snapshot.pid is not None
    return snapshot.pid


def zygote_pid(pool: WorkerPool) -> int:
    """The pid of the pool's newest fork server."""
    newest = pool.fork_servers.newest
    assert newest is not None and newest.client.pid is not None
    return newest.client.pid


def log_records(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def wait_until(predicate: Callable[[], bool], timeout_s: float, poll_s: float = 0.02
                     ) -> None:
    """For conditions with no event to await (a record another process appends to a log
    file): poll to a deadline. A process's exit has one: ``process_watch.wait_exited``."""
    async with asyncio.timeout(timeout_s):
        while not predicate():  # noqa: ASYNC110 - no event exists for another file's growth
            await asyncio.sleep(poll_s)
