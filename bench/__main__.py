"""Run the benchmarks: ``python -m bench [name ...]`` (``make bench`` runs them all).

Each benchmark measures greenroom and its baseline side by side in this run and prints one
Markdown table; the tables go to stdout and, together, to ``bench/results.md`` (with the
machine and the date), which ``bench/README.md`` quotes. Names: ``gateway``, ``crash``,
``cold_start``, ``memory``, ``memory_recall``, ``ttft``, ``concurrency``, ``prompt_cache``,
``long_message``, ``cancel``, ``slow_reader``, ``reload``, ``ray`` (default: all, in that
order; ``prompt_cache`` needs a llama.cpp server and skips without one, see
``bench/prompt_cache_bench.py``; ``ray`` needs ``greenroom[ray]``). Every benchmark binds
loopback only and is bounded in time; they take about six minutes on two cores (and ``ray``
about four more), most of it the 60-second concurrency run and the 100k memory store.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bench import (
    cancel_bench,
    cold_start_bench,
    concurrency_bench,
    crash_bench,
    gateway_bench,
    long_message_bench,
    memory_bench,
    memory_recall,
    prompt_cache_bench,
    ray_bench,
    reload_bench,
    slow_reader_bench,
    ttft_greenroom,
)
from bench.report import Row, machine_line, render_table

RESULTS = Path(__file__).with_name("results.md")


async def _memory() -> str:
    rows: list[Row] = []
    for size in (1_000, 10_000, 100_000):
        rows.extend(await asyncio.to_thread(memory_bench.measure, size, 20))
    return (render_table("Memory search: MemoryStore.search vs naive LIKE scan", rows)
            + "\nbaseline = LIKE scan over the same table and terms\n")


BENCHES: dict[str, Callable[[], Awaitable[str]]] = {
    "gateway": gateway_bench.run,
    "crash": crash_bench.run,
    "cold_start": cold_start_bench.run,
    "memory": _memory,
    "memory_recall": memory_recall.run,
    "ttft": ttft_greenroom.run,
    "concurrency": concurrency_bench.run,
    "prompt_cache": prompt_cache_bench.run,
    "long_message": long_message_bench.run,
    "cancel": cancel_bench.run,
    "slow_reader": slow_reader_bench.run,
    "reload": reload_bench.run,
    "ray": ray_bench.run,
}


async def run_all(names: Sequence[str]) -> str:
    sections = []
    for name in names:
        began = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        table = await BENCHES[name]()
        print(table, flush=True)
        sections.append(f"{table}\n_{name}: {time.perf_counter() - began:.0f} s_\n")
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"# Benchmark results\n\n{stamp}; {machine_line()}\n\n" + "\n".join(sections)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench",
                                     description="Run greenroom's benchmarks.")
    parser.add_argument("names", nargs="*", metavar="name",
                        help=f"any of {', '.join(BENCHES)} (default: all)")
    parser.add_argument("--output", type=Path, default=RESULTS,
                        help="where to write the tables (default bench/results.md)")
    args = parser.parse_args(argv)
    names = args.names or list(BENCHES)
    unknown = [n for n in names if n not in BENCHES]
    if unknown:
        parser.error(f"unknown benchmark(s) {unknown}; choose from {list(BENCHES)}")
    args.output.write_text(asyncio.run(run_all(names)))
    print(f"tables written to {args.output}", file=sys.stderr)


if __name__ == "__main__":
    main()
