"""One client connection: what it is attached to, and its bounded send queue.

Nothing that routes or answers requests lives here. A session owns two tasks, both run by the
connection handler in ``Connections`` (which awaits them):

* the *writer* drains the send queue into the socket, one frame at a time;
* the *closer* waits for a close request and performs the closing handshake;

and the requests that run *beside* its reader (``run_beside``: admin requests, which may wait
for a worker), cancelled and awaited by ``stop_beside`` when the connection ends.

``send`` never blocks and never raises: it encodes the message and puts it in a queue of
``capacity`` frames (with, optionally, a callback run once the frame has been written to the
socket — how a streamed export is paced by its reader). A client that reads too slowly to
keep that queue from filling is closed with code 1008 and a reason saying so; meanwhile
every other session is unaffected, because nobody ever awaits another session's socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import structlog
from websockets.asyncio.server import ServerConnection
from websockets.exceptions import ConnectionClosed

from protocol.errors import ProtocolError
from protocol.json_codec import encode_server_message, error_response_for
from protocol.unions import ServerMessage

CLOSE_GOING_AWAY = 1001
CLOSE_POLICY_VIOLATION = 1008
CLOSE_INTERNAL_ERROR = 1011

SHUTDOWN_REASON = "greenroom is shutting down"
"""The close reason of every session at shutdown (with 1001), and what new requests hear."""

_UTF8_MAX_BYTES_PER_CHAR = 4
_FRAME_HEADER_MAX_BYTES = 14

_FLUSH_BEFORE_CLOSE_S = 1.0
"""On a graceful close, how long the closer waits for queued frames to be written first."""


OnWritten = Callable[[], None]
_Outgoing = tuple[str, OnWritten | None]


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
    address: str = "?"
    """The peer's IP address, without the port (what the token throttle counts by)."""
    origin: str | None = None
    """The handshake's ``Origin`` header: set, the client may be a web page."""


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
        self._outbox: asyncio.Queue[_Outgoing] = asyncio.Queue(maxsize=capacity)
        self._close_requested = asyncio.Event()
        self._close_code = CLOSE_GOING_AWAY
        self._close_reason = ""
        self._flush_before_close = True
        self.overflowed = False
        self._on_overflow = on_overflow
        self._lone_frame_chars: int | None = None
        self._beside: set[asyncio.Task[None]] = set()
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

    @property
    def running_beside(self) -> int:
        """How many ``run_beside`` requests are still running."""
        return len(self._beside)

    def run_beside(self, work: Coroutine[Any, Any, None]) -> None:
        """Run ``work`` (which answers its request itself and never raises) beside the
        reader, so the session's next frames are read meanwhile."""
        task = asyncio.get_running_loop().create_task(work)
        self._beside.add(task)
        task.add_done_callback(self._beside.discard)

    async def stop_beside(self) -> None:
        """Cancel what still runs beside the reader (nobody is left to answer) and wait."""
        for task in self._beside:
            task.cancel()
        if self._beside:
            await asyncio.wait(set(self._beside))

    def send(self, message: ServerMessage, *, on_written: OnWritten | None = None) -> bool:
        """Queue ``message`` for the client; False when it was dropped (closing or overflow).

        ``on_written`` is called (on the event loop) once the frame has been handed to the
        socket; never for a frame that was dropped or not written before the close."""
        if self._close_requested.is_set():
            return False
        try:
            text = encode_server_message(message)
        except ProtocolError as exc:
            self.log.error("unencodable_message", message_type=type(message).__name__)
            text = encode_server_message(error_response_for(exc))
        try:
            self._outbox.put_nowait((text, on_written))
        except asyncio.QueueFull:
            self._lone_frame_chars = None
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
        # Whether write_queued_now may write this frame itself: known only for a frame that
        # is alone in the queue (a later put makes the head unknown until the queue empties).
        self._lone_frame_chars = len(text) if self._outbox.qsize() == 1 else None
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

    async def write_queued_now(self) -> None:
        """Write the one queued frame from the calling task when the socket takes it at once.

        Called by the session's reader after each frame, it saves the writer task's wake-up
        on the common path (one answer to the frame just read, an idle client). It never
        waits on a slow client: it writes only a lone small frame (see ``send``) into an
        empty transport buffer, which cannot fill it past its high-water mark (that would
        pause writing and make the send wait); everything else is left to the writer, so the
        send-queue limit applies as before. Order is kept: the writer writes a frame in the
        same step that takes it from the queue, so a lone queued frame is the next to go."""
        transport = self.connection.transport
        chars = self._lone_frame_chars
        if (self._outbox.qsize() != 1 or chars is None or self._close_requested.is_set()
                or transport.get_write_buffer_size()):
            return
        _low, high = transport.get_write_buffer_limits()
        if _UTF8_MAX_BYTES_PER_CHAR * chars + _FRAME_HEADER_MAX_BYTES > high:
            return
        text, on_written = self._outbox.get_nowait()
        try:
            await self.connection.send(text)
        finally:
            self._outbox.task_done()
        self._written(on_written)

    async def run_writer(self) -> None:
        """Write queued frames until the connection closes (then return quietly)."""
        try:
            while True:
                text, on_written = await self._outbox.get()
                try:
                    await self.connection.send(text)
                finally:
                    self._outbox.task_done()
                self._written(on_written)
        except ConnectionClosed:
            return

    def _written(self, on_written: OnWritten | None) -> None:
        if on_written is None:
            return
        try:
            on_written()
        except Exception:
            self.log.exception("on_written_failed")

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
