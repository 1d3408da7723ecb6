"""Ray placement vs local pipes, side by side in one run; then a load through two gateways.

    python -m bench.ray_bench [--characters 20] [--count 200] [--kills 5]
                              [--clients 200] [--seconds 30]

Two ``greenroom serve`` processes run at once with the same characters (copies of a bundled
one, scripted engine): one with ``--placement local`` (fork server, pipes — the baseline),
one with ``--placement ray`` (its own local Ray head on 127.0.0.1, one actor per character).
Measured, taking turns so background noise hits both alike:

* status latency (gateway → worker → engine → back), ``--count`` sequential requests;
* chat turn latency (a whole committed turn), ``--count // 10`` turns;
* status throughput: 20 concurrent clients for 5 s;
* restart: SIGKILL the character's worker (the actor's process) → its next successful
  answer, ``--kills`` times.

Then a ``greenroom gateway`` joins the Ray head and ``--clients`` clients spread over the
``--characters`` characters and the two gateways run for ``--seconds``: per character one
client chats back to back, the others ask for status. Goal: 0 errors.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import tempfile
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

from bench.load import closed_loop, interleaved_latencies_s
from bench.report import Row, machine_line, percentile, render_table
from tests.support.character_copies import character_copies
from tests.support.cli_process import greenroom_argv
from tests.support.json_peer import JsonPeer, attach, open_peer
from tests.support.running_server import RunningServer, ServerConfig, running_server

READY_S = 300.0
ENV = {"GREENROOM_RESTART_MAX": "100000", "GREENROOM_READY_TIMEOUT": "120",
       "GREENROOM_RESTART_STABLE_AFTER": "0.1",
       "GREENROOM_CHAT_QUEUE_DEPTH": "64", "GREENROOM_SESSION_REQUEST_LIMIT": "64"}


async def serve(stack: AsyncExitStack, data_dir: Path, characters_dir: Path,
                ids: list[str], placement: str) -> RunningServer:
    config = ServerConfig(data_dir=data_dir, characters=ids, characters_dir=characters_dir,
                          env=ENV, extra_args=["--placement", placement],
                          ready_timeout_s=READY_S)
    server = await stack.enter_async_context(running_server(config, wait_ready=False))
    for character_id in ids:  # printed once ready: no /healthz polling while Ray starts
        await server.wait_for_line(lambda line, c=character_id: f"{c}: ready" in line,
                                   READY_S)
    return server


async def second_gateway(stack: AsyncExitStack, ray_server: RunningServer,
                         data_dir: Path) -> RunningServer:
    line = next(line for line in ray_server.lines if "--ray-address" in line)
    address = re.search(r"--ray-address (\S+)", line).group(1)  # type: ignore[union-attr]
    config = ServerConfig(data_dir=data_dir, env=ENV, ready_timeout_s=READY_S)
    await asyncio.to_thread(data_dir.mkdir, parents=True, exist_ok=True)
    process = await asyncio.create_subprocess_exec(
        *greenroom_argv("gateway", "--placement", "ray", "--ray-address", address, "--host",
                        "127.0.0.1", "--port", "0", "--data-dir", str(data_dir),
                        "--log-format", "json"),
        env=config.environment(), cwd=data_dir, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True)
    gateway = RunningServer(config, process)
    stack.push_async_callback(gateway.stop)
    await gateway.wait_for_record(lambda r: r.get("event") == "gateway_listening", READY_S)
    return gateway


async def kill_to_answer_s(server: RunningServer, peer: JsonPeer, character_id: str) -> float:
    worker = (await server.workers())[character_id]
    if worker["uptime_s"] is not None and worker["uptime_s"] < 0.1:
        await asyncio.sleep(0.1 - worker["uptime_s"])
    generation = int(worker["generation"])
    began = time.perf_counter()
    os.kill(int(worker["pid"]), signal.SIGKILL)
    while True:
        answer = await peer.request("status_request", timeout_s=60)
        if answer.get("success") is True:
            return time.perf_counter() - began
        await peer.next_event(
            lambda e: e.get("message_type") == "worker_state_event"
            and e.get("state") == "ready" and int(e.get("generation", 0)) > generation,
            timeout_s=60)


def ms(samples: list[float], q: float) -> float:
    return percentile(samples, q) * 1000


async def side_by_side(local: RunningServer, ray: RunningServer, character_id: str,
                       count: int, kills: int) -> list[Row]:
    rows: list[Row] = []
    async with AsyncExitStack() as peers:
        lp = await peers.enter_async_context(open_peer(local.url))
        rp = await peers.enter_async_context(open_peer(ray.url))
        for peer in (lp, rp):
            await attach(peer, character_id, subscribe=("worker_state",))

        def status(peer: JsonPeer) -> Any:
            return lambda: peer.request("status_request", timeout_s=30)

        def chat(peer: JsonPeer) -> Any:
            return lambda: peer.request("chat_request", user_message="How are you today?",
                                        timeout_s=60)

        series = await interleaved_latencies_s({"local": status(lp), "ray": status(rp)},
                                               count, warmup=20)
        rows += [Row("status p50", ms(series["ray"], 50), ms(series["local"], 50), "ms"),
                 Row("status p99", ms(series["ray"], 99), ms(series["local"], 99), "ms")]
        turns = await interleaved_latencies_s({"local": chat(lp), "ray": chat(rp)},
                                              max(count // 10, 5), warmup=2)
        rows += [Row("chat turn p50", ms(turns["ray"], 50), ms(turns["local"], 50), "ms"),
                 Row("chat turn p99", ms(turns["ray"], 99), ms(turns["local"], 99), "ms")]
    throughput = {}
    for name, server in (("local", local), ("ray", ray)):
        async with AsyncExitStack() as clients:
            peers = [await clients.enter_async_context(open_peer(server.url))
                     for _ in range(20)]
            for peer in peers:
                await attach(peer, character_id)
            result = await closed_loop(
                [lambda p=peer: p.request("status_request", timeout_s=30) for peer in peers],
                5.0)
            assert result.errors == 0, result.first_errors
            throughput[name] = result.per_second
    rows.append(Row("status throughput (20 clients)", throughput["ray"], throughput["local"],
                    "req/s"))
    restart = {}
    for name, server in (("local", local), ("ray", ray)):
        async with open_peer(server.url) as peer:
            await attach(peer, character_id, subscribe=("worker_state",))
            restart[name] = [await kill_to_answer_s(server, peer, character_id)
                             for _ in range(kills)]
    rows.append(Row(f"kill → answering p50 ({kills} kills)", ms(restart["ray"], 50),
                    ms(restart["local"], 50), "ms"))
    return rows


async def two_gateway_load(gateways: Sequence[RunningServer], ids: list[str], clients: int,
                           seconds: float) -> Row:
    async with AsyncExitStack() as stack:
        requests = []
        for index in range(clients):
            character_id = ids[index % len(ids)]
            peer = await stack.enter_async_context(
                open_peer(gateways[index % len(gateways)].url))
            await attach(peer, character_id, timeout_s=60)
            if index < len(ids):  # one chatting client per character
                requests.append(lambda p=peer: p.request(
                    "chat_request", user_message="Tell me something.", timeout_s=60))
            else:
                requests.append(lambda p=peer: p.request("status_request", timeout_s=60))
        result = await closed_loop(requests, seconds)
    print(f"two-gateway load: {len(result.latencies_s)} answers, {result.errors} errors, "
          f"{result.per_second:.0f}/s, p99 {ms(result.latencies_s, 99):.0f} ms; first errors: "
          f"{list(result.first_errors)}", flush=True)
    return Row(f"{clients} clients / {len(ids)} characters / 2 gateways / {seconds:g} s: "
               "errors", result.errors, None, "", "0", result.errors == 0)


async def measure(characters: int, count: int, kills: int, clients: int,
                  seconds: float) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="greenroom-bench-") as tmp:
        root = Path(tmp)
        ids = character_copies(root / "characters", characters)
        async with AsyncExitStack() as stack:
            local = await serve(stack, root / "local", root / "characters", ids, "local")
            ray = await serve(stack, root / "ray", root / "characters", ids, "ray")
            rows = await side_by_side(local, ray, ids[0], count, kills)
            other = await second_gateway(stack, ray, root / "gateway")
            rows.append(await two_gateway_load([ray, other], ids, clients, seconds))
    return rows


async def run(characters: int = 20, count: int = 200, kills: int = 5, clients: int = 200,
              seconds: float = 30.0) -> str:
    rows = await measure(characters, count, kills, clients, seconds)
    return (render_table("Ray placement vs local pipes (greenroom = ray, baseline = local)",
                         rows)
            + f"\nbaseline = the same characters under `serve --placement local`, measured "
              f"in the same run, taking turns; {machine_line()}\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--characters", type=int, default=20)
    parser.add_argument("--count", type=int, default=200)
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.characters, args.count, args.kills, args.clients,
                          args.seconds)))


if __name__ == "__main__":
    main()
