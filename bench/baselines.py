"""The baselines greenroom's figures are compared against, measured in the same run.

* ``bare_echo_server``: a websockets server (same library, same settings as the gateway:
  compression off) that sends every text frame straight back, in a process of its own as
  the gateway is (``bench.echo_server``) — the floor for a WebSocket round trip to a server
  on this machine;
* ``in_process_echo_server``: the same echo on the client's own event loop, shown for
  reference only: no process switch, so faster than any server in another process can be;
* ``interpreter_start_s``: a fresh interpreter importing the worker's code — what a restart
  would cost without the fork server;
* ``fresh_worker_memory``: RSS and USS of such an interpreter once it imported the worker —
  what each worker would weigh without sharing the fork server's pages.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psutil
from websockets.asyncio.server import serve

from bench.echo_server import echo

REPO_ROOT = Path(__file__).resolve().parent.parent

WORKER_IMPORTS = "import worker.main"
"""What a worker process imports before it can serve (the fork server's ``PRELOAD``)."""


ECHO_START_TIMEOUT_S = 30.0


@asynccontextmanager
async def bare_echo_server() -> AsyncIterator[str]:
    """Start ``bench.echo_server`` in its own process and yield its ``ws://`` URL
    (127.0.0.1, ephemeral port); the process ends with the block (stdin closed)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bench.echo_server", cwd=REPO_ROOT,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert process.stdin is not None and process.stdout is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), ECHO_START_TIMEOUT_S)
        if not line.strip().isdigit():
            raise RuntimeError(f"the echo server did not report its port (got {line!r})")
        yield f"ws://127.0.0.1:{int(line)}"
    finally:
        process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 5.0)
        except TimeoutError:
            process.kill()
            await process.wait()


@asynccontextmanager
async def in_process_echo_server() -> AsyncIterator[str]:
    """Yield the ``ws://`` URL of the same echo served on this event loop (reference only)."""
    async with serve(echo, "127.0.0.1", 0, compression=None) as server:
        port = server.sockets[0].getsockname()[1]
        yield f"ws://127.0.0.1:{port}"


def interpreter_start_s(runs: int) -> list[float]:
    """Seconds for ``python -c 'import worker.main'`` to start and exit, ``runs`` times."""
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        subprocess.run([sys.executable, "-c", WORKER_IMPORTS], check=True)
        samples.append(time.perf_counter() - began)
    return samples


async def fresh_worker_memory() -> tuple[int, int]:
    """(RSS, USS) in bytes of a fresh interpreter that has imported the worker's code."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", f"{WORKER_IMPORTS}; import sys; print('ready', flush=True); "
        "sys.stdin.read()",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE)
    assert process.stdout is not None and process.stdin is not None
    try:
        line = await asyncio.wait_for(process.stdout.readline(), 60)
        assert line.strip() == b"ready", line
        info = psutil.Process(process.pid).memory_full_info()
        return info.rss, info.uss
    finally:
        process.stdin.close()
        await process.wait()
