"""Time to first token: straight from a streaming server vs through greenroom's backend.

    python -m bench.ttft_bench [--runs 200] [--warmup 20]

A fake Ollama server (``tests/backends/fake_llm_servers.py``, real HTTP on loopback) streams
a short reply. Each *probe* measures, per run, the seconds from "send the chat request" to
"first token text in hand":

* ``direct``: a raw asyncio socket speaking HTTP/1.1 by hand, the floor for this machine;
* ``backend``: ``OllamaBackend.generate()`` (httpx, NDJSON decoding, options merging).

Probes run interleaved (run *i* of every probe, then run *i+1*) so background noise hits all
of them alike. Both keep one connection alive across runs, as the backend's pool does. The
figure through the gateway and a worker is another probe: implement ``TTFTProbe`` and pass it
in ``extra_probes`` to ``run()``; it gets its own column and its own "added" figure.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Sequence
from typing import Protocol

from bench.report import machine_line, percentile
from tests.backends.fake_llm_servers import FakeOllamaServer, StreamScript
from worker.backends.base import (
    ChatMessage,
    GenerationOptions,
    GenerationRequest,
    TextDelta,
    closing_stream,
)
from worker.backends.ollama import OllamaBackend

MODEL = "llama3.2"
MESSAGES = [ChatMessage("system", "You are Mira."), ChatMessage("user", "Hello!")]
SCRIPT = StreamScript(tokens=("Hello", ",", " world", "!"))


class TTFTProbe(Protocol):
    """One way of reaching the first token. ``name`` labels its column."""

    name: str

    async def open(self, server: FakeOllamaServer) -> None: ...

    async def first_token_s(self) -> float:
        """One run: seconds from sending the request to holding the first token's text.
        Must consume the rest of the reply (untimed) so the next run starts clean."""
        ...

    async def close(self) -> None: ...


class DirectProbe:
    """HTTP/1.1 by hand on one kept-alive socket: no client library, no decoding beyond
    finding the first NDJSON line."""

    name = "direct"

    def __init__(self) -> None:
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._request = b""

    async def open(self, server: FakeOllamaServer) -> None:
        self._reader, self._writer = await asyncio.open_connection("127.0.0.1", server.port)
        body = json.dumps({"model": MODEL, "stream": True, "options": {"num_ctx": 4096},
                           "messages": [{"role": m.role, "content": m.content}
                                        for m in MESSAGES]}).encode()
        self._request = (b"POST /api/chat HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\n"
                         b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body)

    async def first_token_s(self) -> float:
        assert self._reader is not None and self._writer is not None, "open() first"
        reader = self._reader
        started = time.perf_counter()
        self._writer.write(self._request)
        await reader.readuntil(b"\r\n\r\n")  # status line and headers
        elapsed: float | None = None
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            data = await reader.readexactly(size + 2)
            if size == 0:
                break
            if elapsed is None and json.loads(data)["message"]["content"]:
                elapsed = time.perf_counter() - started
        assert elapsed is not None, "the server sent no token"
        return elapsed

    async def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            await self._writer.wait_closed()


class BackendProbe:
    """``OllamaBackend.generate()``: the path every greenroom chat takes to the model."""

    name = "backend"

    def __init__(self) -> None:
        self._backend: OllamaBackend | None = None
        self._request = GenerationRequest(messages=MESSAGES)

    async def open(self, server: FakeOllamaServer) -> None:
        self._backend = OllamaBackend(server.base_url, GenerationOptions(model=MODEL,
                                                                         num_ctx=4096))

    async def first_token_s(self) -> float:
        assert self._backend is not None, "open() first"
        started = time.perf_counter()
        elapsed: float | None = None
        async with closing_stream(self._backend.generate(self._request)) as stream:
            async for event in stream:
                if elapsed is None and isinstance(event, TextDelta):
                    elapsed = time.perf_counter() - started
        assert elapsed is not None, "the backend yielded no token"
        return elapsed

    async def close(self) -> None:
        if self._backend is not None:
            await self._backend.aclose()


async def measure(
    probes: Sequence[TTFTProbe], runs: int, warmup: int
) -> dict[str, list[float]]:
    """Seconds to first token per probe (``runs`` samples each, after ``warmup`` unrecorded
    runs), all against one fake server started here."""
    samples: dict[str, list[float]] = {probe.name: [] for probe in probes}
    async with FakeOllamaServer(models=[f"{MODEL}:latest"], script=SCRIPT) as server:
        for probe in probes:
            await probe.open(server)
        try:
            for index in range(warmup + runs):
                for probe in probes:
                    seconds = await probe.first_token_s()
                    if index >= warmup:
                        samples[probe.name].append(seconds)
        finally:
            for probe in probes:
                await probe.close()
    return samples


def render(samples: dict[str, list[float]], baseline: str = "direct") -> str:
    """A Markdown table: one column per probe (ms), then each probe's excess over the
    baseline as added milliseconds and a ratio."""
    names = list(samples)
    others = [n for n in names if n != baseline]
    header = ["figure", *[f"{n} (ms)" for n in names], *[f"{n} − {baseline}" for n in others]]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for q in (50, 99):
        figures = {n: percentile(samples[n], q) * 1000 for n in names}
        cells = [f"p{q}", *[f"{figures[n]:.3f}" for n in names]]
        for n in others:
            added = figures[n] - figures[baseline]
            ratio = figures[n] / figures[baseline] if figures[baseline] else float("nan")
            cells.append(f"+{added:.3f} ms ({ratio:.2f}×)")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


async def run(runs: int, warmup: int, extra_probes: Sequence[TTFTProbe] = ()) -> str:
    samples = await measure([DirectProbe(), BackendProbe(), *extra_probes], runs, warmup)
    title = (f"### Time to first token ({runs} runs, {warmup} warm-up; fake Ollama server on"
             f" loopback; {machine_line()})\n\n")
    return title + render(samples)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.runs, args.warmup)))


if __name__ == "__main__":
    main()
