"""Deadline expiry: one task that sleeps until the router's earliest request deadline, lets the
router answer what expired, and sleeps again.

No timer per request: the deadlines live in the router's ``DeadlineBook``; this task only
asks it for the next one (``next_due``). A new deadline earlier than the current sleep
(``deadline_set``) wakes it; a later one does not, since it wakes in time anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import structlog


class RequestExpiry:
    """``next_due`` and ``clock`` are the router's (seconds, monotonic); ``expire`` makes the
    router answer the expired requests and carries out its effects."""

    def __init__(
        self,
        clock: Callable[[], float],
        *,
        next_due: Callable[[], float | None],
        expire: Callable[[], None],
    ) -> None:
        self._clock = clock
        self._next_due = next_due
        self._expire = expire
        self._changed = asyncio.Event()
        self._sleeping_until: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._log = structlog.get_logger("greenroom.gateway")

    def start(self) -> None:
        """Start the task (on the running loop); ``stop`` cancels and awaits it."""
        self._task = asyncio.create_task(self._run(), name="gateway-expiry")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    def deadline_set(self, due: float) -> None:
        """A request now expires at ``due``: wake up if the task would sleep past it."""
        if self._sleeping_until is None or due < self._sleeping_until:
            self._changed.set()

    async def _run(self) -> None:
        while True:
            self._changed.clear()
            due = self._next_due()
            self._sleeping_until = due
            if due is None:
                await self._changed.wait()
            else:
                delay = due - self._clock()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._changed.wait()
            try:
                self._expire()
            except Exception:
                # The loop must survive: it bounds every other request's wait.
                self._log.exception("request_expiry_failed")
