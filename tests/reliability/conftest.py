"""Fixtures: real ``greenroom serve`` processes (scripted engine) on ephemeral ports.

Each test gets a ``launch`` factory; every server it started is stopped afterwards (SIGTERM,
then SIGKILL), and its output tail is printed at teardown (pytest shows it when the test
failed). ``fake_ollama`` is a streaming test server for tests that need a reply to stay
in flight: its ``hold_after`` script parks a stream after N tokens until ``release()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import pytest

from tests.backends.fake_llm_servers import FakeOllamaServer, StreamScript
from tests.support.running_server import RunningServer, ServerConfig, running_server

Launch = Callable[..., Awaitable[RunningServer]]


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


HELD_AFTER_TOKENS = 2
STREAM = StreamScript(tokens=("Once", " upon", " a", " time", ",", " the", " sea", "."))


@pytest.fixture
async def fake_ollama() -> AsyncIterator[FakeOllamaServer]:
    async with FakeOllamaServer(models=["llama3.2:latest"], script=STREAM) as server:
        yield server


def ollama_env(server: FakeOllamaServer) -> dict[str, str]:
    """Environment for ``greenroom serve --engine ollama`` against ``server``."""
    return {"OLLAMA_BASE_URL": server.base_url, "OLLAMA_MODEL": "llama3.2"}
