"""Closed-loop request drivers shared by the benchmarks: latency series and throughput.

A *request* here is one call of an async function returning the answer frame; the drivers
time it with ``perf_counter`` and count answers that are not ``success: true`` as errors
(for the echo baseline, the echoed frame is the answer and counts as a success).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

Request = Callable[[], Awaitable[dict[str, Any]]]


def answered(frame: dict[str, Any]) -> bool:
    """A real answer: not an ``error_response`` and not ``success: false``."""
    return frame.get("message_type") != "error_response" and frame.get("success", True) is True


async def latencies_s(request: Request, count: int, warmup: int = 50) -> list[float]:
    """Seconds per round trip of ``count`` sequential requests, after ``warmup`` unrecorded
    ones. Raises ``AssertionError`` on the first failed answer: a latency of an error is
    not a latency."""
    samples: list[float] = []
    for index in range(warmup + count):
        began = time.perf_counter()
        frame = await request()
        elapsed = time.perf_counter() - began
        assert answered(frame), f"request failed during a latency run: {frame}"
        if index >= warmup:
            samples.append(elapsed)
    return samples


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What a closed-loop run produced: per-request latencies of answered requests
    (seconds), count of failures (error answers or exceptions), and the run's duration."""

    latencies_s: list[float]
    errors: int
    duration_s: float
    first_errors: tuple[str, ...]

    @property
    def per_second(self) -> float:
        return len(self.latencies_s) / self.duration_s if self.duration_s else 0.0


async def closed_loop(requests: Sequence[Request], duration_s: float) -> LoadResult:
    """Each of ``requests`` is one client sending its next request as soon as the previous
    one is answered, for ``duration_s`` seconds; all clients run concurrently."""
    latencies: list[float] = []
    errors = 0
    first_errors: list[str] = []
    began = time.perf_counter()
    deadline = began + duration_s

    async def client(request: Request) -> None:
        nonlocal errors
        while time.perf_counter() < deadline:
            sent = time.perf_counter()
            try:
                frame = await request()
            except Exception as exc:  # counted and shown; the run goes on
                errors += 1
                if len(first_errors) < 5:
                    first_errors.append(f"{type(exc).__name__}: {exc}")
                continue
            if answered(frame):
                latencies.append(time.perf_counter() - sent)
            else:
                errors += 1
                if len(first_errors) < 5:
                    first_errors.append(str(frame)[:300])

    async with asyncio.TaskGroup() as group:
        for request in requests:
            group.create_task(client(request))
    return LoadResult(latencies, errors, time.perf_counter() - began, tuple(first_errors))


async def interleaved_latencies_s(requests: dict[str, Request], count: int,
                                  warmup: int = 50) -> dict[str, list[float]]:
    """Like ``latencies_s`` for several request kinds, taking turns (one of each, then the
    next round) so background noise hits every series alike."""
    samples: dict[str, list[float]] = {name: [] for name in requests}
    for index in range(warmup + count):
        for name, request in requests.items():
            began = time.perf_counter()
            frame = await request()
            elapsed = time.perf_counter() - began
            assert answered(frame), f"{name} failed during a latency run: {frame}"
            if index >= warmup:
                samples[name].append(elapsed)
    return samples
