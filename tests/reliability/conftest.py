"""Fixtures: a streaming fake Ollama for tests that need a reply to stay in flight.

Real ``greenroom serve`` processes come from the shared ``launch`` fixture
(``tests/conftest.py``). ``fake_ollama``'s ``hold_after`` script parks a stream after N
tokens until ``release()``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.backends.fake_llm_servers import FakeOllamaServer, StreamScript

HELD_AFTER_TOKENS = 2
STREAM = StreamScript(tokens=("Once", " upon", " a", " time", ",", " the", " sea", "."))


@pytest.fixture
async def fake_ollama() -> AsyncIterator[FakeOllamaServer]:
    async with FakeOllamaServer(models=["llama3.2:latest"], script=STREAM) as server:
        yield server


def ollama_env(server: FakeOllamaServer) -> dict[str, str]:
    """Environment for ``greenroom serve --engine ollama`` against ``server``."""
    return {"OLLAMA_BASE_URL": server.base_url, "OLLAMA_MODEL": "llama3.2"}
