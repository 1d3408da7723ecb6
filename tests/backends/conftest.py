from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.backends.fake_llm_servers import FakeOllamaServer, FakeOpenAIServer
from worker.backends import http_transport


class RecordingSleep:
    """An injected ``sleep`` that records the requested delays and returns at once."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


@pytest.fixture
def recording_sleep() -> RecordingSleep:
    return RecordingSleep()


@pytest.fixture
async def ollama_server() -> AsyncIterator[FakeOllamaServer]:
    async with FakeOllamaServer(models=["llama3.2:latest", "nomic-embed-text:latest"]) as server:
        yield server


@pytest.fixture
async def openai_server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(models=["local-model", "embed-model"]) as server:
        yield server


@pytest.fixture
def drain_forever(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``drain_tail`` wait as long as the stream lasts: a backend that drained a held
    stream instead of closing it would then never disconnect, so a test of prompt closing
    fails (on its own timeout) rather than passing a second later."""
    monkeypatch.setattr(http_transport, "TAIL_DRAIN_S", 3600.0)
