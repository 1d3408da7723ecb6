"""Fixtures for every test area: ``launch`` starts real ``greenroom serve`` processes.

Each test gets its own ``launch`` factory (see ``tests.support.running_server.Launch``);
every server it started is stopped afterwards (SIGTERM, then SIGKILL) and its output tail
is printed at teardown, which pytest shows only when the test failed.

Tests run as root, so ``chmod`` cannot make anything read-only; ``immutable`` uses what does
bind root, the ext4 immutable attribute (``chattr +i``), and skips where it is unavailable.
"""

from __future__ import annotations

import subprocess
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.support.running_server import Launch, RunningServer, ServerConfig, running_server

pytest_plugins = ["tests.support.process_guard"]


@pytest.fixture
async def launch(tmp_path: Path) -> AsyncIterator[Launch]:
    started: list[RunningServer] = []
    async with AsyncExitStack() as stack:

        async def start(characters: Sequence[str], *, data_dir: Path | None = None,
                        wait_ready: bool = True, **config: Any) -> RunningServer:
            server = await stack.enter_async_context(running_server(
                ServerConfig(data_dir=data_dir or tmp_path / "data", characters=characters,
                             **config), wait_ready=wait_ready))
            started.append(server)
            return server

        yield start
        # Shown by pytest only when the test failed ("Captured stdout teardown").
        for server in started:
            print(f"--- output of server pid {server.pid} ---\n{server.output_tail(60)}")


def _chattr(flag: str, path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["chattr", flag, str(path)], capture_output=True, text=True,
                          check=False)


@pytest.fixture
def immutable(tmp_path: Path) -> Iterator[list[Path]]:
    """Paths to make immutable with ``chattr +i`` (cleared again afterwards)."""
    probe = tmp_path / "chattr-probe"
    probe.write_text("x")
    tried = _chattr("+i", probe)
    if tried.returncode != 0:
        pytest.skip(f"chattr +i is not available here: {tried.stderr.strip()}")
    _chattr("-i", probe)
    paths: list[Path] = []
    yield paths
    for path in paths:
        _chattr("-i", path)
