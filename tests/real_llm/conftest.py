"""Fixtures of the real-model tier: llama-cpp-python servers running SmolLM2-135M.

``make test-real-llm`` installs the tier's interpreter (``.venv-real-llm``) and runs this
directory with ``REAL_LLM_PYTHON`` pointing at it. Without that interpreter the run stops at
once with what to do: the tier fails loudly, it never skips. ``make test`` does not collect
this directory (``norecursedirs`` in pyproject.toml).

The servers are session-scoped (a model load takes a few seconds), each on 127.0.0.1 and a
free port, started when a test first asks for it and stopped at the end of the session:

* ``chat_llm``: the defaults a user gets, ``interrupt_requests`` on (a new request ends the
  stream in progress) and ``n_ctx`` 2048;
* ``small_context_llm``: ``n_ctx`` 256, for context overflow;
* ``embedding_llm``: ``--embedding true`` with mean pooling, for hybrid memory search.

``llama_servers`` starts servers a test owns (outage and recovery); ``greenroom`` starts
``greenroom serve --engine openai`` against one (``tests/support/running_server.py``, stopped
after the test). The terminal summary gives the tier's time and each server's load time.
"""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.real_llm.helpers import CHARACTER, greenroom_env, tier_characters
from tests.real_llm.llama_server import LlamaServer, LlamaServerConfig
from tests.support.paths import REPO_ROOT
from tests.support.running_server import Launch, RunningServer

StartGreenroom = Callable[..., Awaitable[RunningServer]]

TIER_PYTHON_VARIABLE = "REAL_LLM_PYTHON"
DEFAULT_TIER_PYTHON = REPO_ROOT / ".venv-real-llm" / "bin" / "python"

_started_key = pytest.StashKey[list[LlamaServer]]()
_began_key = pytest.StashKey[float]()


def tier_python() -> Path:
    return Path(os.environ.get(TIER_PYTHON_VARIABLE, DEFAULT_TIER_PYTHON))


def pytest_configure(config: pytest.Config) -> None:
    python = tier_python()
    if not python.exists():
        raise pytest.UsageError(
            f"the real-model tier needs llama-cpp-python's interpreter at {python} "
            f"(set {TIER_PYTHON_VARIABLE}); run `make test-real-llm`, which installs it")
    config.stash[_started_key] = []
    config.stash[_began_key] = time.perf_counter()


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    servers = config.stash.get(_started_key, [])
    loads = ", ".join(f"{s.config.name} {t:.1f} s" for s in servers for t in s.load_times_s)
    elapsed = time.perf_counter() - config.stash.get(_began_key, time.perf_counter())
    terminalreporter.write_line(
        f"real-model tier: {elapsed:.1f} s in all; llama server loads: {loads or 'none'}")


@pytest.fixture(scope="session")
def llama_servers(pytestconfig: pytest.Config) -> Iterator[Callable[..., LlamaServer]]:
    """``start(name, **LlamaServerConfig fields)`` starts a server stopped at session end
    (or earlier by the test); a server that does not come up fails the test with its log."""
    mine: list[LlamaServer] = []

    def start(name: str, **config: Any) -> LlamaServer:
        server = LlamaServer(LlamaServerConfig(python=tier_python(), name=name, **config))
        mine.append(server)
        pytestconfig.stash[_started_key].append(server)
        server.start()
        return server

    try:
        yield start
    finally:
        for server in mine:
            server.stop()


@pytest.fixture(scope="session")
def chat_llm(llama_servers: Callable[..., LlamaServer]) -> LlamaServer:
    return llama_servers("chat")


@pytest.fixture(scope="session")
def small_context_llm(llama_servers: Callable[..., LlamaServer]) -> LlamaServer:
    return llama_servers("small-context", n_ctx=256)


@pytest.fixture(scope="session")
def embedding_llm(llama_servers: Callable[..., LlamaServer]) -> LlamaServer:
    return llama_servers("embedding", embedding=True, pooling="mean")


@pytest.fixture
def greenroom(launch: Launch, tmp_path: Path) -> StartGreenroom:
    """``await greenroom(llm, characters=(CHARACTER,), **settings)``: a started greenroom with
    the tier's characters preloaded, its settings from ``greenroom_env(llm, **settings)``."""

    async def start(llm: LlamaServer, characters: Sequence[str] = (CHARACTER,),
                    **settings: str) -> RunningServer:
        return await launch(list(characters), engine="openai", env=greenroom_env(llm, **settings),
                            characters_dir=tier_characters(tmp_path / "characters"))

    return start


@pytest.fixture(autouse=True)
def llm_output(request: pytest.FixtureRequest) -> Iterator[None]:
    """Prints the tail of every session server's log at teardown (shown on failure)."""
    yield
    for server in request.config.stash.get(_started_key, []):
        print(f"--- llama server {server.config.name} ---\n{server.output_tail(30)}")
