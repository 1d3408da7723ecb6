"""Requests in flight on one connection, matched to their responses by ``message_id``.

The reader task ``deliver``s every frame that answers a request; the requester awaits its own
queue. When the connection drops, ``fail_all`` wakes every requester with the error, so no
request outlives the connection it was sent on. No I/O here: plain asyncio queues.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets

from client.errors import GreenroomError
from protocol.unions import ServerMessage

Arrival = ServerMessage | GreenroomError


class RequestTable:
    """Pending requests by ``message_id``; ids are unique per table (a random prefix plus a
    counter, so server logs can tell two clients' ``c1`` apart)."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(3)
        self._counter = itertools.count(1)
        self._pending: dict[str, asyncio.Queue[Arrival]] = {}

    def new_id(self) -> str:
        return f"{self._prefix}-{next(self._counter)}"

    def open(self, message_id: str) -> asyncio.Queue[Arrival]:
        """Start expecting frames for ``message_id``; streamed replies may bring several."""
        if message_id in self._pending:
            raise ValueError(f"message_id {message_id!r} is already in flight")
        queue: asyncio.Queue[Arrival] = asyncio.Queue()
        self._pending[message_id] = queue
        return queue

    def close(self, message_id: str) -> None:
        """Stop expecting frames for ``message_id``; later frames for it are unmatched."""
        self._pending.pop(message_id, None)

    def deliver(self, message: ServerMessage) -> bool:
        """Route a frame to its requester; ``False`` when nobody waits for its id."""
        if message.message_id is None:
            return False
        queue = self._pending.get(message.message_id)
        if queue is None:
            return False
        queue.put_nowait(message)
        return True

    def fail_all(self, error: GreenroomError) -> None:
        """Wake every requester with ``error`` (the connection is gone)."""
        for queue in self._pending.values():
            queue.put_nowait(error)

    def __len__(self) -> int:
        return len(self._pending)
