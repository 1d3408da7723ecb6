"""Time to first token through all of greenroom, as a probe column of ``bench.ttft_bench``.

    python -m bench.ttft_greenroom [--runs 200] [--warmup 20]

The ``greenroom`` probe starts ``greenroom serve --engine ollama`` with ``OLLAMA_BASE_URL``
pointing at the bench's fake Ollama server, attaches one WebSocket session to a character and
sends streamed ``chat_request``s: the figure is send → first ``chat_delta`` in hand, so it
covers client → gateway → worker pipe → engine (appraisal, memory search, prompt) →
``OllamaBackend`` → fake server → and all the way back. Goal: ≤ 5 ms added at p50 over the
``direct`` probe (a raw socket to the same fake server).
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path

from bench import ttft_bench
from bench.report import Row, machine_line, percentile, render_table
from tests.backends.fake_llm_servers import FakeOllamaServer
from tests.support.json_peer import JsonPeer, attach, open_peer
from tests.support.running_server import ServerConfig, running_server

CHARACTER = "m-playful"
ADDED_GOAL_MS = 5.0


class GreenroomProbe:
    """A ``TTFTProbe``: one session on a ``greenroom serve`` that uses the fake server."""

    name = "greenroom"

    def __init__(self) -> None:
        self._stack = AsyncExitStack()
        self._peer: JsonPeer | None = None

    async def open(self, server: FakeOllamaServer) -> None:
        tmp = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="greenroom-bench-"))
        config = ServerConfig(
            data_dir=Path(tmp), characters=[CHARACTER], engine="ollama",
            env={"OLLAMA_BASE_URL": server.base_url, "OLLAMA_MODEL": ttft_bench.MODEL})
        running = await self._stack.enter_async_context(running_server(config))
        self._peer = await self._stack.enter_async_context(open_peer(running.url))
        await attach(self._peer, CHARACTER)

    async def first_token_s(self) -> float:
        assert self._peer is not None, "open() first"
        pending = await self._peer.send_frame("chat_request", user_message="Hello!",
                                              stream=True)
        async with asyncio.timeout(30):
            final = await pending.final
        assert final.get("success") is True, f"chat failed: {final}"
        assert pending.first_delta_at is not None, "the reply streamed no chat_delta"
        return pending.first_delta_at - pending.sent_at

    async def close(self) -> None:
        await self._stack.aclose()


async def run(runs: int = 200, warmup: int = 20) -> str:
    probes: list[ttft_bench.TTFTProbe] = [ttft_bench.DirectProbe(), ttft_bench.BackendProbe(),
                                          GreenroomProbe()]
    samples = await ttft_bench.measure(probes, runs, warmup)
    ours, direct = samples[GreenroomProbe.name], samples[ttft_bench.DirectProbe.name]
    added = (percentile(ours, 50) - percentile(direct, 50)) * 1000
    rows = [
        Row("first token p50", percentile(ours, 50) * 1000, percentile(direct, 50) * 1000,
            "ms", f"≤ +{ADDED_GOAL_MS:g} ms", added <= ADDED_GOAL_MS),
        Row("first token p99", percentile(ours, 99) * 1000, percentile(direct, 99) * 1000,
            "ms"),
    ]
    return (render_table("Time to first token: through greenroom vs straight from the server",
                         rows)
            + f"\nadded at p50: {added:+.2f} ms. All probes ({runs} runs, {warmup} warm-up, "
              f"interleaved; `backend` is OllamaBackend alone, in-process):\n\n"
            + ttft_bench.render(samples) + f"\n{machine_line()}\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=20)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.runs, args.warmup)))


if __name__ == "__main__":
    main()
