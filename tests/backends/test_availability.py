"""The availability gate (pure, with a fake clock) and the guarded backend over real HTTP."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.backends.conftest import RecordingSleep
from tests.backends.fake_llm_servers import FakeOllamaServer, StreamScript
from tests.backends.helpers import HELLO, collect, request
from tests.support.ports import closed_port
from worker.backends.availability import AvailabilityGate, GuardedBackend, availability_of
from worker.backends.backoff import ConnectRetry, ExponentialBackoff
from worker.backends.base import GenerationOptions, LLMError, LLMUnavailable
from worker.backends.ollama import OllamaBackend
from worker.backends.server_claims import ServerClaims


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


BACKOFF = ExponentialBackoff(initial_s=1.0, factor=2.0, max_s=4.0)
DOWN = LLMUnavailable("cannot reach Ollama at http://127.0.0.1:1")


def test_unknown_state_lets_requests_through() -> None:
    gate = AvailabilityGate(FakeClock(), BACKOFF)
    assert gate.refusal() is None
    assert gate.snapshot().state == "unknown"


def test_after_a_failure_requests_are_refused_until_the_backoff_elapses() -> None:
    clock = FakeClock()
    gate = AvailabilityGate(clock, BACKOFF)
    gate.record_failure(DOWN)
    refusal = gate.refusal()
    assert refusal is not None
    assert refusal.code == "llm_unavailable"
    assert "cannot reach Ollama" in str(refusal) and "at the latest in 1.0s" in str(refusal)
    clock.now += 1.0
    assert gate.refusal() is None


def test_backoff_doubles_per_consecutive_failure_up_to_the_cap() -> None:
    clock = FakeClock()
    gate = AvailabilityGate(clock, BACKOFF)
    waits = []
    for _ in range(4):
        gate.record_failure(DOWN)
        waits.append(gate.snapshot().retry_in_s)
    assert waits == [1.0, 2.0, 4.0, 4.0]


def test_success_resets_the_failure_count() -> None:
    clock = FakeClock()
    gate = AvailabilityGate(clock, BACKOFF)
    gate.record_failure(DOWN)
    gate.record_failure(DOWN)
    gate.record_success()
    assert gate.snapshot() == gate.snapshot().__class__("available", 0, None, 0.0)
    gate.record_failure(DOWN)
    assert gate.snapshot().retry_in_s == 1.0


def guarded(url: str, clock: FakeClock, claims_dir: Path) -> GuardedBackend:
    inner = OllamaBackend(url, GenerationOptions(model="llama3.2", num_ctx=2048),
                          retry=ConnectRetry(attempts=1), sleep=RecordingSleep())
    return GuardedBackend(inner, AvailabilityGate(clock, BACKOFF),
                          claims=ServerClaims(claims_dir, url))


async def test_server_down_then_back_chats_answer_unavailable_then_work(
        tmp_path: Path) -> None:
    clock = FakeClock()
    port = closed_port()
    backend = guarded(f"http://127.0.0.1:{port}", clock, tmp_path)
    with pytest.raises(LLMUnavailable, match="ollama serve"):
        await backend.check()
    server = FakeOllamaServer(port=port)
    await server.start()
    try:
        # Inside the backoff window: refused without contacting the (now running) server.
        with pytest.raises(LLMUnavailable, match="probes the LLM server in the background"):
            await collect(backend.generate(HELLO))
        assert server.stats.connections == 0
        clock.now += 1.0
        text, _ = await collect(backend.generate(HELLO))
        assert text == "Hello, world!"
        assert backend.availability.state == "available"
    finally:
        await backend.aclose()
        await server.stop()


async def test_an_llm_error_does_not_mark_the_server_unavailable(tmp_path: Path) -> None:
    clock = FakeClock()
    async with FakeOllamaServer(script=StreamScript(error_after=0)) as server:
        backend = guarded(server.base_url, clock, tmp_path)
        with pytest.raises(LLMError):
            await collect(backend.generate(HELLO))
        assert backend.availability.state == "available"
        await backend.aclose()


async def test_a_missing_model_in_chat_opens_the_gate_backoff(
    ollama_server: FakeOllamaServer, tmp_path: Path,
) -> None:
    clock = FakeClock()
    backend = guarded(ollama_server.base_url, clock, tmp_path)
    with pytest.raises(LLMUnavailable, match="ollama pull"):
        await collect(backend.generate(request(model="absent")))
    snapshot = availability_of(backend)
    assert snapshot is not None and snapshot.state == "unavailable"
    assert snapshot.last_error is not None and "absent" in snapshot.last_error
    await backend.aclose()


async def test_closing_the_guarded_stream_disconnects_the_server(
    ollama_server: FakeOllamaServer, tmp_path: Path,
) -> None:
    ollama_server.script = StreamScript(tokens=["tok"] * 100, hold_after=1)
    backend = guarded(ollama_server.base_url, FakeClock(), tmp_path)
    stream = backend.generate(HELLO)
    await anext(stream)
    await stream.aclose()
    await asyncio.wait_for(ollama_server.disconnected.wait(), timeout=1.0)
    await backend.aclose()
