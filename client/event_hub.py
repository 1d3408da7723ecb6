"""Fan-out of character events to any number of independent subscribers.

Each subscriber gets its own bounded queue, so a subscriber that stops reading cannot make
the publisher (the connection's reader task) wait: when its queue is full the oldest event
is dropped for that subscriber alone. Events are state updates (vitals, worker state), so a
late reader loses history, never the latest state.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Final

from client.interface import CharacterEvent

SUBSCRIBER_QUEUE_SIZE: Final = 256


class _Closed:
    """Sentinel telling a subscriber the hub is closed."""


_CLOSED: Final = _Closed()


class EventHub:
    """Publish events to every current subscriber; ``close()`` ends every subscription."""

    def __init__(self, queue_size: int = SUBSCRIBER_QUEUE_SIZE) -> None:
        self._queue_size = queue_size
        self._queues: set[asyncio.Queue[CharacterEvent | _Closed]] = set()
        self._closed = False

    def publish(self, event: CharacterEvent) -> None:
        """Hand ``event`` to every subscriber; never blocks."""
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(event)

    def close(self) -> None:
        self._closed = True
        for queue in self._queues:
            if queue.full():
                queue.get_nowait()
            queue.put_nowait(_CLOSED)

    def subscribe(self) -> AsyncIterator[CharacterEvent]:
        """Events published from now (this call, not the first ``__anext__``) until
        ``close()``; ends at once if already closed."""
        queue: asyncio.Queue[CharacterEvent | _Closed] = asyncio.Queue(self._queue_size)
        if self._closed:
            queue.put_nowait(_CLOSED)
        else:
            self._queues.add(queue)
        return self._drain(queue)

    async def _drain(
        self, queue: asyncio.Queue[CharacterEvent | _Closed]
    ) -> AsyncIterator[CharacterEvent]:
        try:
            while True:
                item = await queue.get()
                if isinstance(item, _Closed):
                    return
                yield item
        finally:
            self._queues.discard(queue)
