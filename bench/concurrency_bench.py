"""Concurrency: many WebSocket clients over many characters, for a while, with no errors.

    python -m bench.concurrency_bench [--clients 500] [--characters 20] [--seconds 60]

``greenroom serve`` (scripted engine) preloads ``--characters`` copies of a bundled
character; ``--clients`` sessions attach round-robin and each runs a closed loop of
non-streamed ``chat_request`` turns for ``--seconds``. Reported: turns per second, turn
latency p50/p99, errors (any ``error_response``, ``success: false`` or dropped connection;
goal 0), and CPU used by the supervisor and by all workers together (psutil, % of one core
averaged over the run).

Baseline: the same turns made by in-process ``CharacterEngine``s, one per character, driven
by the same number of concurrent loops in this process — what the engines alone sustain on
this machine with no gateway, pipes or processes.

Each character runs one turn at a time (the gateway's turn queue), so the chat queue depth is
set to the clients per character (plus margin) for this run; beyond it the gateway would
rightly answer ``busy``. The load generator itself runs in this one Python process and
competes for the same cores.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import tempfile
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import psutil

from bench.load import LoadResult, Request, closed_loop
from bench.report import Row, machine_line, percentile, render_table
from schemas.loader import load_character
from tests.support.character_copies import character_copies
from tests.support.json_peer import JsonPeer, attach, open_peer
from tests.support.running_server import RunningServer, ServerConfig, running_server
from worker.backends.scripted import ScriptedBackend
from worker.engine.character_engine import CharacterEngine

USER_MESSAGE = "How is the food truck doing this week?"


def _chat(peer: JsonPeer) -> Request:
    return lambda: peer.request("chat_request", timeout_s=60, user_message=USER_MESSAGE)


def _engine_turn(engine: CharacterEngine, lock: asyncio.Lock) -> Request:
    async def turn() -> dict[str, Any]:
        async with lock:  # one turn at a time per character, as the gateway queues them
            async for _ in engine.chat(USER_MESSAGE):
                pass
        return {"success": True}
    return turn


def _cpu_s(processes: list[psutil.Process]) -> float:
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


async def run_clients(server: RunningServer, ids: list[str], clients: int,
                      seconds: float) -> tuple[LoadResult, float, float]:
    """The closed loop through greenroom; returns it and the supervisor's and the workers'
    CPU use in % of one core over the run."""
    async with AsyncExitStack() as stack:
        peers = []
        for index in range(clients):
            peer = await stack.enter_async_context(open_peer(server.url))
            await attach(peer, ids[index % len(ids)])
            peers.append(peer)
        supervisor = [psutil.Process(server.pid)]
        workers = [psutil.Process(int(w["pid"])) for w in (await server.workers()).values()]
        before = _cpu_s(supervisor), _cpu_s(workers)
        result = await closed_loop([_chat(peer) for peer in peers], seconds)
        after = _cpu_s(supervisor), _cpu_s(workers)
    return (result, 100 * (after[0] - before[0]) / result.duration_s,
            100 * (after[1] - before[1]) / result.duration_s)


async def run_in_process(tmp: Path, ids: list[str], clients: int, seconds: float
                         ) -> LoadResult:
    backend = ScriptedBackend()
    engines = [
        CharacterEngine.open(load_character(i, tmp / "characters").character,
                             data_dir=tmp / "in-process", backend=backend)
        for i in ids
    ]
    locks = [asyncio.Lock() for _ in engines]
    try:
        return await closed_loop(
            [_engine_turn(engines[n % len(engines)], locks[n % len(engines)])
             for n in range(clients)], seconds)
    finally:
        for engine in engines:
            engine.close()
        await backend.aclose()


async def measure(clients: int, characters: int, seconds: float) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="greenroom-bench-") as tmp_name:
        tmp = Path(tmp_name)
        ids = character_copies(tmp / "characters", characters)
        depth = math.ceil(clients / characters) + 4
        config = ServerConfig(data_dir=tmp / "data", characters=ids,
                              characters_dir=tmp / "characters",
                              env={"GREENROOM_CHAT_QUEUE_DEPTH": str(depth),
                                   "GREENROOM_SESSION_SEND_QUEUE": "1024"},
                              ready_timeout_s=60)
        async with running_server(config) as server:
            ours, supervisor_cpu, workers_cpu = await run_clients(server, ids, clients,
                                                                  seconds)
        base = await run_in_process(tmp, ids, clients, seconds)
    if ours.first_errors:
        print("first errors:", *ours.first_errors, sep="\n  ")
    p50 = percentile(ours.latencies_s, 50) * 1000 if ours.latencies_s else math.nan
    p99 = percentile(ours.latencies_s, 99) * 1000 if ours.latencies_s else math.nan
    return [
        Row("turns per second", ours.per_second, base.per_second, "turns/s"),
        Row("turn latency p50", p50, percentile(base.latencies_s, 50) * 1000, "ms"),
        Row("turn latency p99", p99, percentile(base.latencies_s, 99) * 1000, "ms"),
        Row("errors", ours.errors, base.errors, "count", "0", ours.errors == 0),
        Row("supervisor CPU", supervisor_cpu, None, "% of a core"),
        Row(f"workers CPU (all {characters})", workers_cpu, None, "% of a core"),
    ]


async def run(clients: int = 500, characters: int = 20, seconds: float = 60.0) -> str:
    rows = await measure(clients, characters, seconds)
    return (render_table(f"Concurrency: {clients} clients over {characters} characters, "
                         f"{seconds:g} s", rows)
            + "\nbaseline = in-process CharacterEngines driven by the same number of loops; "
              f"{machine_line()}\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--clients", type=int, default=500)
    parser.add_argument("--characters", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60.0)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.clients, args.characters, args.seconds)))


if __name__ == "__main__":
    main()
