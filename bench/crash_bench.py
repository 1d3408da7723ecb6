"""Crash-to-answering: SIGKILL a worker, time until the character answers again.

    python -m bench.crash_bench [--kills 200] [--baseline-runs 10]

``greenroom serve`` runs one character (scripted engine). Each kill: read the worker's pid
from ``/healthz`` (untimed), then start the clock, ``SIGKILL`` it and immediately send
``status_request`` on an attached session; while the answer is an error (``worker_crashed``,
``character_restarting``...) wait for the ``worker_state_event`` saying ``ready`` and ask
again. The figure is kill → first successful answer, so it includes crash detection, the
restart backoff (the policy's first delay: 5–10 ms after jitter), the fork, the engine opening
its database, the ready handshake and the gateway's round trip.

Between kills the bench waits until the worker has run for ``stable_after`` (0.1 s here), so
every kill is the first of a streak, as a real crash usually is; the intensity limit is
raised so 200 kills never quarantine the character. Goals: p50 ≤ 50 ms, p99 ≤ 150 ms.

Baseline: a fresh ``python -c 'import worker.main'`` — what every restart would cost in
interpreter start-up alone if workers were not forked from the preloaded fork server.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.baselines import interpreter_start_s
from bench.report import Row, machine_line, percentile, render_table
from tests.support.json_peer import JsonPeer, attach, open_peer
from tests.support.running_server import RunningServer, ServerConfig, running_server

CHARACTER = "m-playful"
STABLE_AFTER_S = 0.1
BENCH_ENV = {
    "GREENROOM_RESTART_MAX": "100000",
    "GREENROOM_RESTART_STABLE_AFTER": str(STABLE_AFTER_S),
}


async def one_kill(server: RunningServer, peer: JsonPeer) -> float:
    """Seconds from SIGKILL of the character's worker to its next successful answer."""
    worker = (await server.workers())[CHARACTER]
    if worker["uptime_s"] is not None and worker["uptime_s"] < STABLE_AFTER_S:
        await asyncio.sleep(STABLE_AFTER_S - worker["uptime_s"])
    generation = int(worker["generation"])
    began = time.perf_counter()
    os.kill(int(worker["pid"]), signal.SIGKILL)
    while True:
        answer = await peer.request("status_request", timeout_s=30)
        if answer.get("success") is True:
            return time.perf_counter() - began
        await peer.next_event(
            lambda e: e.get("message_type") == "worker_state_event"
            and e.get("state") == "ready" and int(e.get("generation", 0)) > generation,
            timeout_s=30)


async def measure(kills: int, baseline_runs: int) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="greenroom-bench-") as tmp:
        config = ServerConfig(data_dir=Path(tmp), characters=[CHARACTER], env=BENCH_ENV)
        async with running_server(config) as server, open_peer(server.url) as peer:
            await attach(peer, CHARACTER, subscribe=("worker_state",))
            samples = [await one_kill(server, peer) for _ in range(kills)]
            restarts = (await server.workers())[CHARACTER]["restarts"]
    assert restarts >= kills, f"only {restarts} restarts recorded for {kills} kills"
    baseline = await asyncio.to_thread(interpreter_start_s, baseline_runs)
    p50, p99 = percentile(samples, 50) * 1000, percentile(samples, 99) * 1000
    base50, base99 = percentile(baseline, 50) * 1000, percentile(baseline, 99) * 1000
    return [
        Row(f"kill → answering p50 ({kills} kills)", p50, base50, "ms", "≤ 50 ms", p50 <= 50),
        Row(f"kill → answering p99 ({kills} kills)", p99, base99, "ms", "≤ 150 ms", p99 <= 150),
        Row("kill → answering max", max(samples) * 1000, max(baseline) * 1000, "ms"),
    ]


async def run(kills: int = 200, baseline_runs: int = 10) -> str:
    rows = await measure(kills, baseline_runs)
    return (render_table("Crash to answering: SIGKILL a worker vs a fresh interpreter", rows)
            + f"\nbaseline = `python -c 'import worker.main'` ({baseline_runs} runs): the "
              f"interpreter start-up a restart would cost without the fork server; "
              f"{machine_line()}\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--kills", type=int, default=200)
    parser.add_argument("--baseline-runs", type=int, default=10)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.kills, args.baseline_runs)))


if __name__ == "__main__":
    main()
