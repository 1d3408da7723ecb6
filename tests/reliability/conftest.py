"""Fixtures: a streaming fake Ollama for tests that need a reply to stay in flight.

Real ``greenroom serve`` processes come from the shared ``launch`` fixture
(``tests/conftest.py``). ``fake_ollama``'s ``hold_after`` script parks a stream after N
tokens until ``release()``. A module that assigns ``launch = launch_in_each_platform_mode()``
runs each of its tests twice: with this platform's mechanisms and with the portable ones
(``GREENROOM_PORTABLE=1``: macOS's, proven on Linux), each server checked to use the mode.
"""

from __future__ import annotations

import select
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from runtime.platform_support import PORTABLE_VARIABLE, mechanisms_for
from tests.backends.fake_llm_servers import FakeOllamaServer, StreamScript
from tests.support.running_server import Launch, RunningServer

HELD_AFTER_TOKENS = 2
STREAM = StreamScript(tokens=("Once", " upon", " a", " time", ",", " the", " sea", "."))


@pytest.fixture
async def fake_ollama() -> AsyncIterator[FakeOllamaServer]:
    async with FakeOllamaServer(models=["llama3.2:latest"], script=STREAM) as server:
        yield server


def ollama_env(server: FakeOllamaServer) -> dict[str, str]:
    """Environment for ``greenroom serve --engine ollama`` against ``server`` (model memory
    off: the faults are timed by the fake's one-off scripts, which notes would take)."""
    return {"OLLAMA_BASE_URL": server.base_url, "OLLAMA_MODEL": "llama3.2",
            "GREENROOM_MODEL_MEMORY": "off"}


PLATFORM_MODES = {"native": "0", "portable": "1"}


def launch_in_each_platform_mode() -> Any:
    """A ``launch`` fixture parametrized over ``PLATFORM_MODES``; each server it starts must
    log (``platform_mechanisms``) that it runs in the mode asked for."""

    @pytest.fixture(params=list(PLATFORM_MODES))
    def launch(launch: Launch, request: pytest.FixtureRequest) -> Launch:
        switch = {PORTABLE_VARIABLE: PLATFORM_MODES[request.param]}
        expected = mechanisms_for(switch, sys.platform, hasattr(select, "POLLRDHUP"))

        async def start(characters: Sequence[str], **config: Any) -> RunningServer:
            server = await launch(characters, env={**config.pop("env", {}), **switch},
                                  **config)
            record = await server.wait_for_record(
                lambda r: r.get("event") == "platform_mechanisms")
            assert {k: record[k] for k in expected.describe()} == expected.describe(), record
            return server

        return start

    return launch
