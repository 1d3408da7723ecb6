"""Watching processes we did not start ourselves: exits, descendants, liveness.

Exits are awaited with a pidfd (``os.pidfd_open``, Linux ≥ 5.3), which becomes readable the
moment the process terminates — for any process, not only our children — so a test waits for
an event instead of polling ``kill(pid, 0)``. Where there is none (macOS), psutil's ``wait``
(it polls) runs in a thread instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time

import psutil


def is_running(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie (an exited child nobody reaped yet)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def descendants(pid: int) -> list[int]:
    """Every live descendant of ``pid`` (children, grandchildren, ...), zombies excluded."""
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    return [child.pid for child in children if is_running(child.pid)]


async def wait_exited(pid: int, timeout_s: float) -> bool:
    """Wait until ``pid`` has terminated; False when it still runs after ``timeout_s``.

    A zombie counts as terminated: it runs no code and holds no sockets.
    """
    if not hasattr(os, "pidfd_open"):
        return await asyncio.to_thread(_wait_portably, pid, timeout_s)
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    loop = asyncio.get_running_loop()
    exited = asyncio.Event()
    loop.add_reader(fd, exited.set)
    try:
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(timeout_s):
                await exited.wait()
        return exited.is_set() or not is_running(pid)
    finally:
        loop.remove_reader(fd)
        os.close(fd)


def _wait_portably(pid: int, timeout_s: float) -> bool:
    try:
        psutil.Process(pid).wait(timeout_s)
    except psutil.TimeoutExpired:
        return not is_running(pid)  # a zombie never "exits" for psutil
    except psutil.NoSuchProcess:
        pass
    return True


async def wait_all_exited(pids: list[int], timeout_s: float) -> list[int]:
    """Wait for every pid in ``pids`` to terminate within one shared deadline; returns the
    ones still running when it passed (empty: all gone)."""
    deadline = time.monotonic() + timeout_s
    survivors = []
    for pid in pids:
        if not await wait_exited(pid, max(0.0, deadline - time.monotonic())):
            survivors.append(pid)
    return survivors
