"""Client connections: the WebSocket server and, per connection, its session and read loop.

Each connection that passes the handshake (``handshake.py``) becomes a ``Session``, kept in
``sessions`` until the connection ends. Its frames are read and handled in arrival order:
``on_request`` (the gateway) is awaited for one frame before the next is read, so an
``init_request`` finishes attaching first. The session's writer and closer run beside the
reader in a ``TaskGroup`` the connection handler awaits; a bug in either closes that session
(1011), never the gateway. A frame that cannot be decoded is answered here with its
structured error, and the session stays.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import ssl
from collections.abc import Awaitable, Callable
from typing import Any, Final

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed

from protocol.errors import ProtocolError
from protocol.json_codec import decode_client_message, error_response_for
from protocol.unions import message_type_of
from runtime.settings import Settings
from supervisor.gateway.handshake import Handshake, address_of
from supervisor.gateway.metrics import INVALID_TYPE, GatewayMetrics
from supervisor.gateway.session import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    SHUTDOWN_REASON,
    Session,
    SessionState,
)

CLOSE_TIMEOUT_S: Final = 5.0
"""How long a closing handshake may take before the TCP connection is aborted."""

OnRequest = Callable[[Session, Any, str, float], Awaitable[None]]
"""(session, decoded message, its ``message_type``, arrival on the clock); never raises."""


class Connections:
    """The server and its sessions. ``sessions`` is the gateway's live map by session id:
    connections add a session after its handshake and remove it when its connection ends;
    everyone else only reads it. ``on_request`` handles one decoded frame;
    ``on_session_gone`` hears the id of every session that ended, after it left the map."""

    def __init__(
        self,
        settings: Settings,
        metrics: GatewayMetrics,
        handshake: Handshake,
        clock: Callable[[], float],
        *,
        sessions: dict[str, Session],
        on_request: OnRequest,
        on_session_gone: Callable[[str], None],
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._handshake = handshake
        self._clock = clock
        self._on_request = on_request
        self._on_session_gone = on_session_gone
        self._sessions = sessions
        self._server: Server | None = None
        self._accepting = True

    @property
    def port(self) -> int:
        """The TCP port actually bound (useful with port 0)."""
        if self._server is None:
            raise RuntimeError("the port is known only after the gateway started")
        return int(next(iter(self._server.sockets)).getsockname()[1])

    @property
    def started(self) -> bool:
        return self._server is not None

    async def start(self, ssl_context: ssl.SSLContext | None) -> None:
        """Bind and serve (``OSError`` when the address cannot be bound)."""
        self._server = await serve(
            self._serve_connection,
            self._settings.gateway.host,
            self._settings.gateway.port,
            process_request=self._handshake.process_request,
            max_size=self._settings.gateway.max_frame_bytes,
            # Frames are small JSON; deflate costs latency and memory per connection.
            compression=None,
            close_timeout=CLOSE_TIMEOUT_S,
            ssl=ssl_context,
        )

    def stop_accepting(self) -> None:
        """Stop listening; a connection still in its handshake is refused, open ones stay."""
        self._accepting = False
        if self._server is not None:
            self._server.close(close_connections=False)

    def close_sessions(self, code: int, reason: str) -> None:
        """Ask every session to close (each flushes its queued frames first)."""
        for session in list(self._sessions.values()):
            session.request_close(code, reason)

    async def wait_closed(self) -> None:
        """Return once every connection has ended."""
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve_connection(self, connection: ServerConnection) -> None:
        if not self._accepting:
            await connection.close(CLOSE_GOING_AWAY, SHUTDOWN_REASON)
            return
        headers = connection.request.headers if connection.request else Headers()
        origins = headers.get_all("Origin")
        state = SessionState(
            session_id=f"s-{secrets.token_hex(6)}",
            authenticated=self._handshake.header_token(headers) is True,
            remote=str(connection.remote_address),
            address=address_of(connection),
            origin=origins[0] if origins else None,
        )
        session = Session(
            connection,
            state,
            capacity=self._settings.gateway.session_send_queue,
            on_overflow=self._metrics.sessions_kicked.inc,
        )
        self._sessions[state.session_id] = session
        self._metrics.sessions.inc()
        session.log.info(
            "session_opened",
            remote=state.remote,
            authenticated=state.authenticated,
            origin=state.origin,
        )
        try:
            async with asyncio.TaskGroup() as tasks:
                writer = tasks.create_task(self._guard(session, session.run_writer()))
                closer = tasks.create_task(self._guard(session, session.run_closer()))
                await self._read_frames(session)
                writer.cancel()
                if not session.closing:
                    closer.cancel()
        finally:
            await session.stop_beside()
            del self._sessions[state.session_id]
            self._metrics.sessions.dec()
            self._on_session_gone(state.session_id)
            session.log.info(
                "session_closed",
                code=connection.close_code,
                reason=connection.close_reason,
            )

    async def _guard(self, session: Session, work: Awaitable[None]) -> None:
        """Run a session task; a bug in it closes that session (1011), never the gateway."""
        try:
            await work
        except asyncio.CancelledError:
            raise
        except Exception:
            session.log.exception("session_task_failed")
            session.request_close(CLOSE_INTERNAL_ERROR, "internal error; see the server log")
            with contextlib.suppress(Exception):
                await session.connection.close(CLOSE_INTERNAL_ERROR, "internal error")

    async def _read_frames(self, session: Session) -> None:
        try:
            async for data in session.connection:
                await self._on_frame(session, data)
                await session.write_queued_now()
        except ConnectionClosed:
            pass

    async def _on_frame(self, session: Session, data: str | bytes) -> None:
        started = self._clock()
        try:
            message = decode_client_message(data, max_bytes=self._settings.gateway.max_frame_bytes)
        except ProtocolError as exc:
            self._metrics.answered(INVALID_TYPE, exc.code.value, None)
            session.send(error_response_for(exc))
            return
        await self._on_request(session, message, message_type_of(type(message)), started)
