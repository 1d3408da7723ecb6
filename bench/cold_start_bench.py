"""Cold start and idle memory: ``greenroom serve`` with 1, 5 and 20 characters preloaded.

    python -m bench.cold_start_bench [--counts 1,5,20] [--runs 3]

Cold start is the wall time from launching ``greenroom serve`` to ``/healthz`` reporting
every preloaded worker ``ready`` (polled every 5 ms), median of ``--runs`` launches. The
characters are copies of a bundled one under new ids, each with its own fresh database.
Goal: 20 characters ready ≤ 2 s. Baseline: one fresh interpreter importing the worker's code
(``python -c 'import worker.main'``), the start-up every worker would pay without the fork
server.

Idle memory: RSS and USS (unique set size: the pages only that process holds; psutil reads
``/proc/PID/smaps``) of each worker of the largest run, idle after start. Goal: USS ≤ 15 MB.
Baseline: the same two figures for a fresh interpreter that imported the worker's code —
what each worker would weigh if it shared nothing with the fork server.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path

import psutil

from bench.baselines import fresh_worker_memory, interpreter_start_s
from bench.report import Row, machine_line, render_table
from tests.support.character_copies import character_copies
from tests.support.running_server import ServerConfig, running_server

MB = 1024 * 1024
COLD_START_GOAL_S = 2.0
USS_GOAL_MB = 15.0


async def cold_start_s(count: int) -> tuple[float, float, list[tuple[int, int]]]:
    """Seconds until the gateway listens and until ``count`` preloaded characters are
    ready, and each worker's (RSS, USS)."""
    with tempfile.TemporaryDirectory(prefix="greenroom-bench-") as tmp:
        ids = character_copies(Path(tmp) / "characters", count)
        config = ServerConfig(data_dir=Path(tmp) / "data", characters=ids,
                              characters_dir=Path(tmp) / "characters")
        async with running_server(config, wait_ready=False) as server:
            seconds = await server.wait_ready()
            assert server.listening_after_s is not None
            listening = server.listening_after_s
            workers = await server.workers()
            memory = []
            for worker in workers.values():
                info = psutil.Process(int(worker["pid"])).memory_full_info()
                memory.append((info.rss, info.uss))
    return listening, seconds, memory


async def measure(counts: Sequence[int], runs: int) -> list[Row]:
    baseline_s = statistics.median(await asyncio.to_thread(interpreter_start_s, runs))
    rows = []
    memory: list[tuple[int, int]] = []
    for count in counts:
        samples, listening = [], []
        for _ in range(runs):
            up, seconds, memory = await cold_start_s(count)
            samples.append(seconds)
            listening.append(up)
        median = statistics.median(samples)
        rows.append(Row(f"{count} characters: gateway listening", statistics.median(listening),
                        baseline_s, "s"))
        goal = f"≤ {COLD_START_GOAL_S:g} s" if count >= 20 else ""
        rows.append(Row(f"{count} characters ready", median, baseline_s, "s", goal,
                        median <= COLD_START_GOAL_S if count >= 20 else None))
    base_rss, base_uss = await fresh_worker_memory()
    rss = [m[0] / MB for m in memory]
    uss = [m[1] / MB for m in memory]
    rows.append(Row(f"worker USS, mean of {len(uss)}", statistics.mean(uss), base_uss / MB,
                    "MB", f"≤ {USS_GOAL_MB:g} MB", max(uss) <= USS_GOAL_MB))
    rows.append(Row("worker USS, max", max(uss), base_uss / MB, "MB"))
    rows.append(Row(f"worker RSS, mean of {len(rss)}", statistics.mean(rss), base_rss / MB,
                    "MB"))
    return rows


async def run(counts: Sequence[int] = (1, 5, 20), runs: int = 3) -> str:
    rows = await measure(counts, runs)
    return (render_table("Cold start and idle worker memory", rows)
            + f"\nmedian of {runs} launches; baseline = a fresh interpreter importing "
              f"`worker.main` (start-up time; its RSS/USS); {machine_line()}\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--counts", default="1,5,20")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    counts = [int(c) for c in args.counts.split(",")]
    print(asyncio.run(run(counts, args.runs)))


if __name__ == "__main__":
    main()
