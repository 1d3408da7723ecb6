"""Request deadlines as a heap: which requests have run out of time at a given moment.

Pure: the caller passes times (seconds on any monotonic clock, the same one throughout).
Discarding is lazy (an entry is skipped when popped), so ``add`` and ``discard`` are O(log n)
and O(1) however many requests are in flight.
"""

from __future__ import annotations

import heapq


class DeadlineBook:
    def __init__(self) -> None:
        self._heap: list[tuple[float, int]] = []
        self._due: dict[int, float] = {}

    def add(self, request_id: int, due_at: float) -> None:
        """Request ``request_id`` expires at ``due_at`` (replacing an earlier deadline)."""
        self._due[request_id] = due_at
        heapq.heappush(self._heap, (due_at, request_id))

    def discard(self, request_id: int) -> None:
        """The request was answered; it never expires. Unknown ids are ignored."""
        self._due.pop(request_id, None)

    def pop_expired(self, now: float) -> list[int]:
        """Request ids whose deadline is ``<= now``, earliest first; they are forgotten."""
        expired: list[int] = []
        while self._heap and self._heap[0][0] <= now:
            due_at, request_id = heapq.heappop(self._heap)
            if self._due.get(request_id) == due_at:
                del self._due[request_id]
                expired.append(request_id)
        return expired

    def next_due(self) -> float | None:
        """The earliest live deadline, or ``None`` when nothing is pending."""
        while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)
        return self._heap[0][0] if self._heap else None

    def __len__(self) -> int:
        return len(self._due)
