"""Gateway overhead: round trips and throughput through greenroom vs a bare echo server.

    python -m bench.gateway_bench [--count 1000] [--seconds 3] [--clients 16]

One run starts, side by side on this machine: ``greenroom serve`` (scripted engine, one
character preloaded) and a bare websockets echo server (same library, compression off, as
the gateway configures it) in a process of its own, as the gateway is. The same raw JSON
client (``tests.support.json_peer``) talks to both, so client cost is identical. The same
echo served on the client's own event loop is measured too, for reference only (no goal):
it skips the switch between processes every real server pays. Measured, interleaved:

* ``ping``: ``ping_request`` — answered by the gateway itself (decode, route, encode);
* ``status``: ``status_request`` — gateway → worker pipe (msgpack) → engine read → back;
* ``chat``: a non-streamed ``chat_request`` with the offline engine — gateway, turn queue,
  worker, the full turn (appraisal, vitals, memory, prompt, reply, SQLite commit with
  ``synchronous=FULL``) — against the same turn made by an in-process ``CharacterEngine``.

Throughput: ``--clients`` connections in a closed loop for ``--seconds`` each (ping, status)
against the echo server's. Goals: p50 ≤ 1.6× bare, throughput ≥ 0.6× bare.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path

from bench.baselines import bare_echo_server, in_process_echo_server
from bench.load import Request, closed_loop, interleaved_latencies_s
from bench.report import Row, machine_line, percentile, render_table
from schemas.loader import load_character
from tests.support.json_peer import JsonPeer, attach, open_peer
from tests.support.running_server import BUNDLED_CHARACTERS, ServerConfig, running_server
from worker.backends.scripted import ScriptedBackend
from worker.engine.character_engine import CharacterEngine

CHARACTER = "m-playful"
USER_MESSAGE = "Hello! What did you do today?"
LATENCY_GOAL = 1.6
THROUGHPUT_GOAL = 0.6


def _ms(samples: Sequence[float], q: float) -> float:
    return percentile(samples, q) * 1000


async def _engine_turn(engine: CharacterEngine) -> dict[str, object]:
    async for _ in engine.chat(USER_MESSAGE):
        pass
    return {"success": True}


async def measure(count: int, seconds: float, clients: int) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="greenroom-bench-") as tmp:
        config = ServerConfig(data_dir=Path(tmp) / "served", characters=[CHARACTER])
        async with AsyncExitStack() as stack:
            server = await stack.enter_async_context(running_server(config))
            echo_url = await stack.enter_async_context(bare_echo_server())
            echo = await stack.enter_async_context(open_peer(echo_url))
            local_url = await stack.enter_async_context(in_process_echo_server())
            local = await stack.enter_async_context(open_peer(local_url))
            peer = await stack.enter_async_context(open_peer(server.url))
            await attach(peer, CHARACTER)
            character = load_character(CHARACTER, BUNDLED_CHARACTERS).character
            backend = ScriptedBackend()
            engine = CharacterEngine.open(character, data_dir=Path(tmp) / "in-process",
                                          backend=backend)
            stack.callback(engine.close)

            small = await interleaved_latencies_s({
                "bare": lambda: echo.request("ping_request"),
                "in-process echo": lambda: local.request("ping_request"),
                "ping": lambda: peer.request("ping_request"),
                "status": lambda: peer.request("status_request"),
            }, count)
            chat_runs = max(50, count // 5)
            chat = await interleaved_latencies_s({
                "in-process": lambda: _engine_turn(engine),
                "chat": lambda: peer.request("chat_request", user_message=USER_MESSAGE),
            }, chat_runs, warmup=10)
            await backend.aclose()

            throughput = {}
            for name, url, message_type in (("bare", echo_url, "ping_request"),
                                            ("in-process echo", local_url, "ping_request"),
                                            ("ping", server.url, "ping_request"),
                                            ("status", server.url, "status_request")):
                throughput[name] = await _throughput(url, message_type, clients, seconds,
                                                     attach_to=None if name != "status"
                                                     else CHARACTER)

    bare50 = _ms(small["bare"], 50)
    for name, label in (("ping", "ping (gateway only)"), ("status", "status (gateway+worker)")):
        p50 = _ms(small[name], 50)
        rows.append(Row(f"{label} p50", p50, bare50, "ms", f"≤ {LATENCY_GOAL}× bare echo",
                        p50 <= LATENCY_GOAL * bare50))
        rows.append(Row(f"{label} p99", _ms(small[name], 99), _ms(small["bare"], 99), "ms"))
    rows.append(Row("ping p50 vs an echo on the client's own loop (reference)",
                    _ms(small["ping"], 50), _ms(small["in-process echo"], 50), "ms"))
    for q in (50, 99):
        rows.append(Row(f"chat turn p{q} (vs in-process engine)", _ms(chat["chat"], q),
                        _ms(chat["in-process"], q), "ms"))
    bare_rate = throughput["bare"]
    for name, label in (("ping", "ping throughput"), ("status", "status throughput")):
        rate = throughput[name]
        rows.append(Row(f"{label}, {clients} clients", rate, bare_rate, "req/s",
                        f"≥ {THROUGHPUT_GOAL}× bare echo", rate >= THROUGHPUT_GOAL * bare_rate))
    rows.append(Row("ping throughput vs an echo on the client's own loop (reference)",
                    throughput["ping"], throughput["in-process echo"], "req/s"))
    return rows


async def _throughput(url: str, message_type: str, clients: int, seconds: float,
                      attach_to: str | None) -> float:
    async with AsyncExitStack() as stack:
        peers: list[JsonPeer] = []
        for _ in range(clients):
            peer = await stack.enter_async_context(open_peer(url))
            if attach_to is not None:
                await attach(peer, attach_to)
            peers.append(peer)
        requests: list[Request] = [_requester(peer, message_type) for peer in peers]
        result = await closed_loop(requests, seconds)
    assert result.errors == 0, f"{result.errors} errors: {result.first_errors}"
    return result.per_second


def _requester(peer: JsonPeer, message_type: str) -> Request:
    return lambda: peer.request(message_type)


async def run(count: int = 1000, seconds: float = 3.0, clients: int = 16) -> str:
    rows = await measure(count, seconds, clients)
    return (render_table("Gateway overhead: greenroom vs bare websockets echo", rows)
            + f"\n{count} interleaved round trips per series; throughput over {seconds:g} s; "
              f"{machine_line()}\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--clients", type=int, default=16)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.count, args.seconds, args.clients)))


if __name__ == "__main__":
    main()
