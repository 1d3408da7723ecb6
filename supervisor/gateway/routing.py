"""The routing table: which client request each worker request id belongs to.

Pure: no I/O, no clock of its own (callers pass ``now``). The gateway assigns every request it
forwards a ``request_id`` unique for the gateway's lifetime, so a reply from a worker names
exactly one (session, client ``message_id``) pair, whatever ids clients chose (two clients may
both use ``"1"``; one client may reuse an id).

A route lives from admission to the worker's final reply. It can be *abandoned* first (the
client got ``timeout``, or its session closed): the route then only waits for the worker's
final reply, which is dropped, so a character's turn slot is not freed while the worker may
still be working on the turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any


@dataclass(slots=True)
class Route:
    """One forwarded request. ``message`` is the client's decoded request, kept so a queued
    turn can be sent later; ``started_at`` is the caller's clock at admission (seconds)."""

    request_id: int
    session_id: str
    message_id: str | None
    character_id: str
    message_type: str
    message: Any
    user: str
    serial: bool
    stream: bool
    started_at: float
    #: The last sign of progress from the worker (a delta, a status, a keepalive) on the same
    #: clock; the request's deadline counts from it. ``None``: none yet.
    progress_at: float | None = None
    dispatched: bool = False
    abandoned: bool = False


class RoutingTable:
    """All requests in flight through the gateway, by request id, session and character.

    ``per_session_limit`` bounds the routes a session may hold that still owe it an answer
    (abandoned ones do not count); ``admit`` returns ``None`` beyond it.
    """

    def __init__(self, per_session_limit: int) -> None:
        if per_session_limit < 1:
            raise ValueError("per_session_limit must be at least 1")
        self._limit = per_session_limit
        self._next_id = 1
        self._routes: dict[int, Route] = {}
        self._owed: dict[str, int] = {}

    def admit(
        self,
        *,
        session_id: str,
        message_id: str | None,
        character_id: str,
        message_type: str,
        message: Any,
        user: str,
        serial: bool,
        stream: bool,
        now: float,
    ) -> Route | None:
        """A new route with a fresh request id, or ``None`` when the session is at its limit."""
        if self._owed.get(session_id, 0) >= self._limit:
            return None
        route = Route(
            request_id=self._next_id,
            session_id=session_id,
            message_id=message_id,
            character_id=character_id,
            message_type=message_type,
            message=message,
            user=user,
            serial=serial,
            stream=stream,
            started_at=now,
        )
        self._next_id += 1
        self._routes[route.request_id] = route
        self._owed[session_id] = self._owed.get(session_id, 0) + 1
        return route

    def get(self, request_id: int) -> Route | None:
        return self._routes.get(request_id)

    def complete(self, request_id: int) -> Route | None:
        """Remove the route (its final answer is being delivered); ``None`` if unknown."""
        route = self._routes.pop(request_id, None)
        if route is not None and not route.abandoned:
            self._release(route.session_id)
        return route

    def abandon(self, request_id: int) -> Route | None:
        """Mark the route as owing its client nothing more; it stays until ``complete``."""
        route = self._routes.get(request_id)
        if route is not None and not route.abandoned:
            route.abandoned = True
            self._release(route.session_id)
        return route

    def find(self, session_id: str, message_id: str | None) -> Route | None:
        """The session's live (not abandoned) route for a client ``message_id``; the oldest
        one when the client reused the id."""
        for route in self._routes.values():
            if (
                route.session_id == session_id
                and route.message_id == message_id
                and not route.abandoned
            ):
                return route
        return None

    def of_session(self, session_id: str) -> list[Route]:
        """Every route of the session, oldest first (abandoned ones included)."""
        return [r for r in self._routes.values() if r.session_id == session_id]

    def take_character(self, character_id: str) -> list[Route]:
        """Remove and return every route of the character, oldest first (its worker died)."""
        taken = [r for r in self._routes.values() if r.character_id == character_id]
        for route in taken:
            self.complete(route.request_id)
        return taken

    def take_all(self) -> list[Route]:
        """Remove and return every route, oldest first (the gateway is stopping)."""
        taken = list(self._routes.values())
        for route in taken:
            self.complete(route.request_id)
        return taken

    def owed(self, session_id: str) -> int:
        """How many answers the session is still owed."""
        return self._owed.get(session_id, 0)

    def live(self) -> int:
        """How many routes still owe their client an answer (all sessions)."""
        return sum(self._owed.values())

    def __len__(self) -> int:
        return len(self._routes)

    def __iter__(self) -> Iterator[Route]:
        return iter(list(self._routes.values()))

    def _release(self, session_id: str) -> None:
        remaining = self._owed[session_id] - 1
        if remaining:
            self._owed[session_id] = remaining
        else:
            del self._owed[session_id]
