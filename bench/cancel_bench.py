"""Cancel → the model server sees its HTTP stream closed.

    python -m bench.cancel_bench [--runs 100]

Every run holds a reply after its first token (``StreamScript(hold_after=1)``: the stream
would never end by itself) and measures from the cancel to the fake server's ``disconnected``
event, on the fake server's own event loop:

* ``httpx close`` (the floor): a bare ``httpx.AsyncClient`` closes its streamed response;
* ``OllamaBackend`` / ``OpenAIBackend``: ``aclose()`` of ``generate()``, in-process;
* ``OllamaBackend, task cancel``: the task consuming ``generate()`` is cancelled;
* ``end to end``: a WebSocket ``cancel_request`` → gateway → worker → ``OllamaBackend`` of a
  real ``greenroom serve --engine ollama`` pointed at the fake Ollama.

Goal: the end-to-end p99 ≤ 100 ms. The tests prove that the stream is closed (not drained,
nothing committed); this bench says how soon. Runs are interleaved, so a busy moment of the
machine falls on every probe alike.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack, aclosing
from pathlib import Path
from typing import Protocol

import httpx

from bench.report import Row, machine_line, percentile, render_table
from tests.backends.fake_llm_servers import (
    FakeLLMServer,
    FakeOllamaServer,
    FakeOpenAIServer,
    StreamScript,
)
from tests.support.json_peer import JsonPeer, attach, open_peer
from tests.support.running_server import ServerConfig, running_server
from worker.backends.base import ChatMessage, GenerationOptions, GenerationRequest
from worker.backends.ollama import OllamaBackend
from worker.backends.openai import OpenAIBackend

CHARACTER = "m-playful"
MODEL = "llama3.2"
GOAL_MS = 100.0
HELD = StreamScript(tokens=["tok"] * 50, hold_after=1)
REQUEST = GenerationRequest(messages=[ChatMessage("user", "Tell me a story.")])
WAIT_S = 30.0


class CancelProbe(Protocol):
    name: str

    async def cancel_s(self) -> float:
        """Start a held reply, cancel it; seconds from the cancel to the server's
        disconnect."""


async def _held(server: FakeLLMServer) -> None:
    async with asyncio.timeout(WAIT_S):
        await server.holding.wait()
    server.disconnected.clear()


async def _disconnect_s(server: FakeLLMServer, cancelled_at: float) -> float:
    async with asyncio.timeout(WAIT_S):
        await server.disconnected.wait()
    return time.perf_counter() - cancelled_at


class HttpxProbe:
    """The floor: a bare httpx client closing a streamed response to the fake Ollama."""

    name = "httpx close (floor)"

    def __init__(self, server: FakeOllamaServer) -> None:
        self._server = server
        self._client = httpx.AsyncClient(base_url=server.base_url, trust_env=False)

    async def cancel_s(self) -> float:
        self._server.queue_script(HELD)
        body = {"model": MODEL, "stream": True,
                "messages": [{"role": "user", "content": "Tell me a story."}]}
        async with self._client.stream("POST", "/api/chat", json=body) as response:
            await anext(response.aiter_lines())
            await _held(self._server)
            cancelled_at = time.perf_counter()
            await response.aclose()
        return await _disconnect_s(self._server, cancelled_at)

    async def aclose(self) -> None:
        await self._client.aclose()


class BackendCloseProbe:
    """``aclose()`` of a backend's ``generate()`` once the first delta is in hand."""

    def __init__(self, name: str, server: FakeLLMServer,
                 make: Callable[[str], OllamaBackend | OpenAIBackend]) -> None:
        self.name = name
        self._server = server
        self._backend = make(server.base_url)

    async def cancel_s(self) -> float:
        self._server.queue_script(HELD)
        stream = self._backend.generate(REQUEST)
        await anext(stream)
        await _held(self._server)
        cancelled_at = time.perf_counter()
        await stream.aclose()
        return await _disconnect_s(self._server, cancelled_at)

    async def aclose(self) -> None:
        await self._backend.aclose()


class TaskCancelProbe(BackendCloseProbe):
    """``task.cancel()`` of the task consuming ``generate()`` (what the worker does)."""

    async def cancel_s(self) -> float:
        self._server.queue_script(HELD)
        streaming = asyncio.Event()

        async def consume() -> None:
            async with aclosing(self._backend.generate(REQUEST)) as stream:
                async for _ in stream:
                    streaming.set()

        task = asyncio.create_task(consume())
        await streaming.wait()
        await _held(self._server)
        cancelled_at = time.perf_counter()
        task.cancel()
        elapsed = await _disconnect_s(self._server, cancelled_at)
        await asyncio.gather(task, return_exceptions=True)
        return elapsed


class EndToEndProbe:
    """``cancel_request`` on a WebSocket session of a real ``greenroom serve``."""

    name = "end to end (WebSocket → gateway → worker)"

    def __init__(self, server: FakeOllamaServer, peer: JsonPeer) -> None:
        self._server = server
        self._peer = peer

    async def cancel_s(self) -> float:
        self._server.queue_script(HELD)
        chat = await self._peer.send_frame("chat_request", user_message="Tell me a story.",
                                           stream=True)
        await _held(self._server)
        cancelled_at = time.perf_counter()
        cancel = await self._peer.send_frame("cancel_request",
                                             target_message_id=chat.message_id)
        elapsed = await _disconnect_s(self._server, cancelled_at)
        async with asyncio.timeout(WAIT_S):
            answer, cancel_answer = await chat.final, await cancel.final
        assert answer.get("error_code") == "cancelled", answer
        assert cancel_answer.get("success") is True, cancel_answer
        return elapsed

    async def aclose(self) -> None:
        """The session and server belong to the exit stack of ``measure``."""


def _ollama(url: str) -> OllamaBackend:
    return OllamaBackend(url, GenerationOptions(model=MODEL, num_ctx=4096))


def _openai(url: str) -> OpenAIBackend:
    return OpenAIBackend(url, GenerationOptions(model=MODEL, num_ctx=4096))


async def _end_to_end(stack: AsyncExitStack, ollama: FakeOllamaServer) -> EndToEndProbe:
    tmp = stack.enter_context(tempfile.TemporaryDirectory(prefix="greenroom-bench-"))
    config = ServerConfig(data_dir=Path(tmp), characters=[CHARACTER], engine="ollama",
                          env={"OLLAMA_BASE_URL": ollama.base_url, "OLLAMA_MODEL": MODEL})
    running = await stack.enter_async_context(running_server(config))
    peer = await stack.enter_async_context(open_peer(running.url))
    await attach(peer, CHARACTER)
    return EndToEndProbe(ollama, peer)


async def measure(runs: int, warmup: int) -> dict[str, list[float]]:
    async with AsyncExitStack() as stack:
        ollama = await stack.enter_async_context(FakeOllamaServer(models=[f"{MODEL}:latest"]))
        openai = await stack.enter_async_context(FakeOpenAIServer(models=[MODEL]))
        probes: list[HttpxProbe | BackendCloseProbe | EndToEndProbe] = [
            HttpxProbe(ollama),
            BackendCloseProbe("OllamaBackend aclose()", ollama, _ollama),
            BackendCloseProbe("OpenAIBackend aclose()", openai, _openai),
            TaskCancelProbe("OllamaBackend, task cancel", ollama, _ollama),
            await _end_to_end(stack, ollama),
        ]
        try:
            samples: dict[str, list[float]] = {p.name: [] for p in probes}
            for run in range(warmup + runs):
                for probe in probes:
                    elapsed = await probe.cancel_s()
                    if run >= warmup:
                        samples[probe.name].append(elapsed)
            return samples
        finally:
            for probe in probes:
                await probe.aclose()


def samples_table(samples: dict[str, list[float]]) -> str:
    """Every probe's p50, p99 and maximum, in milliseconds."""
    lines = ["| probe | p50 ms | p99 ms | max ms |", "|---|---|---|---|"]
    lines += [f"| {name} | {percentile(values, 50) * 1000:.2f} | "
              f"{percentile(values, 99) * 1000:.2f} | {max(values) * 1000:.2f} |"
              for name, values in samples.items()]
    return "\n".join(lines)


async def run(runs: int = 100, warmup: int = 10) -> str:
    samples = await measure(runs, warmup)
    ours, floor = samples[EndToEndProbe.name], samples[HttpxProbe.name]
    p99_ms = percentile(ours, 99) * 1000
    rows = [
        Row("cancel → stream closed p50 (end to end)", percentile(ours, 50) * 1000,
            percentile(floor, 50) * 1000, "ms"),
        Row("cancel → stream closed p99 (end to end)", p99_ms, percentile(floor, 99) * 1000,
            "ms", f"≤ {GOAL_MS:g} ms", p99_ms <= GOAL_MS),
    ]
    return (render_table("Cancel: until the model server sees its stream closed", rows)
            + f"\nbaseline = a bare httpx client closing the same held stream. All probes "
              f"({runs} runs, {warmup} warm-up, interleaved):\n\n{samples_table(samples)}\n\n"
              f"{machine_line()}\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.runs, args.warmup)))


if __name__ == "__main__":
    main()
