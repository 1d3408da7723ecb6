"""What a character's requests travel over, and the one way a request gets its answer.

A ``Link`` carries protocol messages to a character and brings its answer frames back:
``client.websocket_link.WebSocketLink`` over a server's WebSocket, or
``client.in_process_link.InProcessLink`` to the real
``worker.service.character_service.CharacterService`` in this process.
``client.character.LinkedCharacter`` writes every ``Character`` method once over either, so
remote and local share one request/response path and one translation of answers.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Literal, Protocol, TypeVar

from client.errors import PROTOCOL_VIOLATION, GreenroomError, error_for
from client.request_table import Arrival
from protocol.errors import ErrorCode, ErrorResponse
from protocol.session import InitResponse
from protocol.unions import ClientMessage, ServerMessage, message_type_of

R = TypeVar("R", bound=ServerMessage)


class Exchange(Protocol):
    """One request in flight on a link: its answer frames, in order."""

    @property
    def message_id(self) -> str:
        """The id the link gave the request (its answers carry it)."""

    async def receive(self) -> Arrival:
        """The next answer frame, or the ``GreenroomError`` that ended the request on the
        link's side (``connection_lost``); raises ``RequestTimeout`` when none came in time."""

    async def abandon(self) -> None:
        """The reader stops before the final answer: cancel the work, best effort."""


class Link(Protocol):
    """A way to a character (see the module docstring). One asyncio loop, not thread-safe."""

    @property
    def mode(self) -> Literal["remote", "local"]: ...

    @property
    def character_id(self) -> str | None:
        """The attached character, ``None`` before ``attach``."""

    @property
    def user(self) -> str | None:
        """The speaker name turns are sent as (``None``: the server's default)."""

    def exchange(self, request: ClientMessage) -> AbstractAsyncContextManager[Exchange]:
        """Send ``request`` under a fresh ``message_id`` on entry; on exit its later frames
        are no longer expected."""

    async def attach(self, character_id: str) -> InitResponse:
        """Attach to ``character_id`` (never resetting it) and remember it."""

    async def worker_ready(self) -> None:
        """Wait until the character is back after a ``character_restarting`` refusal;
        raises ``character_restarting`` when it is not back in time."""

    async def close(self) -> None:
        """Stop for good; requests in flight end with an error. Idempotent."""


async def call(
    link: Link, request: ClientMessage, expected: type[R], *, failure_ok: bool = False
) -> R:
    """Send ``request`` and return its one answer. A request refused with
    ``character_restarting`` never reached the character, so it is sent once more after the
    worker reports ``ready``."""
    try:
        return await _call_once(link, request, expected, failure_ok)
    except GreenroomError as exc:
        if exc.code != ErrorCode.CHARACTER_RESTARTING:
            raise
        await link.worker_ready()
        return await _call_once(link, request, expected, failure_ok)


async def _call_once(link: Link, request: ClientMessage, expected: type[R], failure_ok: bool
                     ) -> R:
    async with link.exchange(request) as exchange:
        return expect(await exchange.receive(), expected, failure_ok)


def expect(arrival: Arrival, expected: type[R], failure_ok: bool = False) -> R:
    """``arrival`` as the ``expected`` answer; an error answer raises its typed
    ``GreenroomError``, anything else ``protocol_violation``. ``failure_ok``: an answer with
    ``success: false`` is returned rather than raised."""
    if isinstance(arrival, GreenroomError):
        raise arrival
    if isinstance(arrival, ErrorResponse):
        raise error_for(arrival.error_code, arrival.error, arrival.details)
    if not isinstance(arrival, expected):
        raise GreenroomError(
            PROTOCOL_VIOLATION,
            f"Expected {message_type_of(expected)} but the server sent "
            f"{message_type_of(type(arrival))}.",
        )
    if not failure_ok and getattr(arrival, "success", True) is False:
        text = getattr(arrival, "error", None) or "the server reported a failure"
        raise GreenroomError(ErrorCode.INTERNAL, str(text))
    return arrival
