"""One client connection: what it is attached to, and its bounded send queue.

Nothing that routes or answers requests lives here. A session owns two tasks, both run by the
connection handler in ``Gateway`` (which awaits them):

* the *writer* drains the send queue into the socket, one frame at a time;
* the *closer* waits for a close request and performs the closing handshake.

``send`` never blocks and never raises: it encodes the message and puts it in a queue of
``capacity`` frames. A client that reads too slowly to keep that queue from filling is closed
with code 1008 and a reason saying so; meanwhile every other session is unaffected, because
nobody ever awaits another session's socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import structlog
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from protocol import ProtocolError, ServerMessage, encode_server_message, error_response_for

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008
CLOSE_INTERNAL_ERROR = 1011

_FLUSH_BEFORE_CLOSE_S = 1.0
"""On a graceful close, how long the closer waits for queued frames to be written first."""


@dataclass(slots=True)
class SessionState:
    """What the gateway knows about a session. ``user`` is the speaker name sent to workers."""

    session_id: str
    authenticated: bool
    character_id: str | None = None
    said_hello: bool = False
    subscriptions: frozenset[str] = frozenset()
    user: str = "user"
    client_name: str | None = None
    failed_auth_attempts: int = 0
    remote: str = "?"


class Session:
    """A connection, its state and its send queue (see the module docstring)."""

    def __init__(
        self,
        connection: ServerConnection,
        state: SessionState,
        *,
        capacity: int,
        on_overflow: Callable[[], None] = lambda: None,
    ) -> None:
        self.connection = connection
        self.state = state
        self.capacity = capacity
        self._outbox: asyncio.Queue[str] = asyncio.Queue(maxsize=capacity)
        self._close_requested = asyncio.Event()
        self._close_code = CLOSE_GOING_AWAY
        self._close_reason = ""
        self._flush_before_close = True
        self.overflowed = False
        self._on_overflow = on_overflow
        self.log = structlog.get_logger("greenroom.gateway").bind(session=state.session_id)

    @property
    def session_id(self) -> str:
        return self.state.session_id

    @property
    def queued_frames(self) -> int:
        return self._outbox.qsize()

    @property
    def closing(self) -> bool:
        return self._close_requested.is_set()

    def send(self, message: ServerMessage) -> bool:
        """Queue ``message`` for the client; False when it was dropped (closing or overflow)."""
        if self._close_requested.is_set():
            return False
        try:
            text = encode_server_message(message)
        except ProtocolError as exc:
            self.log.error("unencodable_message", message_type=type(message).__name__)
            text = encode_server_message(error_response_for(exc))
        try:
            self._outbox.put_nowait(text)
        except asyncio.QueueFull:
            if not self.overflowed:
                self.overflowed = True
                self._on_overflow()
            self.request_close(
                CLOSE_POLICY_VIOLATION,
                f"send queue overflow: more than {self.capacity} frames waiting; "
                "the client is not reading fast enough",
                flush=False,
            )
            return False
        return True

    def request_close(self, code: int, reason: str, *, flush: bool = True) -> None:
        """Ask the closer to end the connection with ``code``/``reason`` (first call wins).

        Nothing more is queued afterwards; with ``flush`` the frames already queued are
        written first (for up to a second)."""
        if self._close_requested.is_set():
            return
        self._close_code = code
        self._close_reason = reason
        self._flush_before_close = flush
        self._close_requested.set()
        self.log.info("session_closing", code=code, reason=reason)

    async def run_writer(self) -> None:
        """Write queued frames until the connection closes (then return quietly)."""
        try:
            while True:
                text = await self._outbox.get()
                try:
                    await self.connection.send(text)
                finally:
                    self._outbox.task_done()
        except ConnectionClosed:
            return

    async def run_closer(self) -> None:
        """Wait for ``request_close``; flush if asked, then close."""
        await self._close_requested.wait()
        if self._flush_before_close:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(_FLUSH_BEFORE_CLOSE_S):
                    await self._outbox.join()
        # close() writes the close frame straight to the transport, even while the writer is
        # blocked on a full socket, and aborts the TCP connection after close_timeout.
        await self.connection.close(self._close_code, self._close_reason)
