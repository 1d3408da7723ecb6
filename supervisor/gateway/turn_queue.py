"""One turn at a time per character, with a bounded FIFO of waiting turns.

Pure: it holds request ids, nothing else. A turn (chat, regenerate, undo, reset, load) is
*active* from the moment it is sent to the worker until its final reply; at most ``depth``
more wait behind it, in arrival order. Requests that are not turns never enter it, which is
what lets status, memory search and vitals be answered while a chat streams.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from enum import StrEnum


class Admission(StrEnum):
    START = "start"
    """No turn was active: this one is active now; send it to the worker."""
    QUEUED = "queued"
    """Waiting behind the active turn; ``finish`` of the turns ahead will hand it out."""
    FULL = "full"
    """``depth`` turns are already waiting: answer ``busy``."""


@dataclass(slots=True)
class _Line:
    active: int | None = None
    waiting: deque[int] = field(default_factory=deque)


class TurnQueue:
    """Per-character turn serialisation. ``depth`` counts waiting turns, not the active one."""

    def __init__(self, depth: int) -> None:
        if depth < 0:
            raise ValueError("depth must be >= 0")
        self._depth = depth
        self._lines: dict[str, _Line] = {}

    def offer(self, character_id: str, request_id: int) -> Admission:
        line = self._lines.setdefault(character_id, _Line())
        if line.active is None:
            line.active = request_id
            return Admission.START
        if len(line.waiting) >= self._depth:
            return Admission.FULL
        line.waiting.append(request_id)
        return Admission.QUEUED

    def finish(self, character_id: str, request_id: int) -> int | None:
        """The active turn ``request_id`` ended; returns the next turn to send, now active.

        Finishing a turn that is only waiting withdraws it (and returns ``None``); an unknown
        id changes nothing.
        """
        line = self._lines.get(character_id)
        if line is None:
            return None
        if line.active != request_id:
            self.withdraw(character_id, request_id)
            return None
        line.active = line.waiting.popleft() if line.waiting else None
        if line.active is None:
            del self._lines[character_id]
        return line.active

    def withdraw(self, character_id: str, request_id: int) -> bool:
        """Remove a waiting turn (cancelled or timed out before it started)."""
        line = self._lines.get(character_id)
        if line is None or request_id not in line.waiting:
            return False
        line.waiting.remove(request_id)
        return True

    def clear(self, character_id: str) -> list[int]:
        """Forget the character's line (its worker died): active first, then waiting."""
        line = self._lines.pop(character_id, None)
        if line is None:
            return []
        return ([line.active] if line.active is not None else []) + list(line.waiting)

    def active(self, character_id: str) -> int | None:
        line = self._lines.get(character_id)
        return line.active if line else None

    def waiting(self, character_id: str) -> int:
        """How many turns wait behind the active one (the queue depth metric)."""
        line = self._lines.get(character_id)
        return len(line.waiting) if line else 0

    def is_waiting(self, character_id: str, request_id: int) -> bool:
        line = self._lines.get(character_id)
        return line is not None and request_id in line.waiting

    def characters(self) -> list[str]:
        return list(self._lines)
