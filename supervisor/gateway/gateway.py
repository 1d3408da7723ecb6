"""The gateway: the one WebSocket door of greenroom, a thin shell around the router.

Lifecycle: ``Gateway(settings, pool)`` → ``await start()`` (binds; ``port`` tells where) →
serve → ``await close(grace_s)``. The worker pool calls ``on_worker_frame`` and
``on_worker_state`` (the ``PoolListener`` protocol) on the same event loop.

Per connection, frames are handled in arrival order: a session's ``init_request`` finishes
attaching before its next frame is read. Only a ``debug_request``, which may wait for a
restarting worker, is answered beside the reader (``Session.run_beside``). Nothing a session
does waits on another session: forwarding to workers never blocks, and every answer goes
through the receiving session's own bounded send queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.metadata
import math
import secrets
import time
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import structlog
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from protocol.admin import (
    DebugRequest,
    DebugResponse,
    RestartRequest,
    RestartResponse,
    WorkerInfo,
    WorkersRequest,
    WorkersResponse,
)
from protocol.chat import CancelRequest, CancelResponse, ChatRequest
from protocol.declaration import Handling
from protocol.errors import ErrorCode, ErrorResponse, ProtocolError
from protocol.events import WorkerStateEvent
from protocol.json_codec import decode_client_message, error_response_for
from protocol.message_limit import check_message_length
from protocol.pipe import WorkerEvent, WorkerProgress, WorkerReply
from protocol.queries import CharacterListing, CharactersRequest, CharactersResponse
from protocol.session import Hello, HelloResponse, InitRequest, PingRequest, PingResponse
from protocol.states import PROTOCOL_VERSION
from protocol.states import WorkerState as WireWorkerState
from protocol.unions import CLIENT_MESSAGE_TYPES, EventMessage, ServerMessage, message_type_of
from runtime.settings import Settings
from schemas.loader import list_characters
from supervisor.gateway.access import (
    bearer_token,
    check_allowed_names,
    check_bind_allowed,
    host_refusal,
    is_safe_character_id,
    origin_refusal,
    tls_context,
    token_matches,
)
from supervisor.gateway.auth_throttle import AuthThrottle
from supervisor.gateway.fanout import Audience, event_recipients
from supervisor.gateway.http_endpoints import (
    PROMETHEUS_CONTENT_TYPE,
    health_document,
    json_response,
    public_health,
    respond,
)
from supervisor.gateway.metrics import INVALID_TYPE, OK_CODE, GatewayMetrics
from supervisor.gateway.refusal_log import RefusalKey, RefusalLogLimiter, Suppressed
from supervisor.gateway.request_kinds import (
    ALLOWED_BEFORE_AUTH,
    handling_of,
    is_admin,
    needs_character,
)
from supervisor.gateway.router import Router, error_for
from supervisor.gateway.session import (
    CLOSE_GOING_AWAY,
    CLOSE_INTERNAL_ERROR,
    CLOSE_POLICY_VIOLATION,
    Session,
    SessionState,
)
from supervisor.pool.api import PoolError, WorkerPoolApi, WorkerSnapshot, WorkerState

MAX_FAILED_AUTH_ATTEMPTS: Final = 3
"""A session that sends this many ``hello`` frames with a wrong token is closed (1008)."""

HTTP_PATHS: Final = frozenset({"/healthz", "/metrics"})
"""Plain HTTP endpoints; every other path is a WebSocket handshake."""

SHUTDOWN_REASON: Final = "greenroom is shutting down"
CLOSE_TIMEOUT_S: Final = 5.0
"""How long a closing handshake may take before the TCP connection is aborted."""

_DOWN_STATES: Final = frozenset({WorkerState.RESTARTING, WorkerState.FAILED, WorkerState.STOPPED})

_WIRE_STATE: Final[dict[WorkerState, WireWorkerState]] = {
    WorkerState.STARTING: "starting",
    WorkerState.READY: "ready",
    WorkerState.DEBUGGING: "debugging",
    WorkerState.RESTARTING: "restarting",
    WorkerState.FAILED: "failed",
    WorkerState.STOPPED: "stopped",
}


def _address_of(connection: ServerConnection) -> str:
    """The peer's IP address (no port); the token throttle groups it (``source_of``)."""
    remote = connection.remote_address
    return str(remote[0]) if isinstance(remote, tuple) and remote else str(remote)


def _server_version() -> str:
    try:
        return importlib.metadata.version("greenroom")
    except importlib.metadata.PackageNotFoundError:
        return "0+unknown"


class Gateway:
    """WebSocket sessions, routing to workers, events, limits and auth (see ``docs/gateway.md``).

    ``characters_dir`` overrides ``settings.characters_dir`` for ``characters_request``.
    Limits come from ``settings``: ``max_frame_bytes`` (larger frames close the connection
    with 1009), ``session_send_queue`` (frames; overflow closes with 1008),
    ``session_request_limit`` (answers owed per session; beyond → ``busy``),
    ``chat_queue_depth`` (turns waiting per character; beyond → ``busy``),
    ``max_message_chars`` (a longer ``chat_request`` → ``message_too_long``) and
    ``request_timeout_s`` (→ ``timeout``).
    """

    def __init__(
        self,
        settings: Settings,
        pool: WorkerPoolApi,
        *,
        characters_dir: Path | None = None,
    ) -> None:
        self._settings = settings
        self._pool = pool
        self._characters_dir = characters_dir or settings.characters_dir
        self._clock = time.monotonic
        self._throttle = AuthThrottle(self._clock)
        self._refusal_log = RefusalLogLimiter(self._clock)
        self._refusal_flush: asyncio.TimerHandle | None = None
        self._tls = False
        self._sessions: dict[str, Session] = {}
        self._log = structlog.get_logger("greenroom.gateway")
        self._metrics = GatewayMetrics(
            snapshots=pool.snapshots,
            turn_queue_depths=self._turn_queue_depths,
            send_queue_frames=lambda: sum(s.queued_frames for s in self._sessions.values()),
        )
        self._router = Router(
            pool=pool,
            sessions=self._sessions,
            metrics=self._metrics,
            clock=self._clock,
            request_timeout_s=settings.request_timeout_s,
            turn_queue_depth=settings.chat_queue_depth,
            session_request_limit=settings.session_request_limit,
        )
        self._router.on_deadline_added = self._deadline_added
        self._router.on_idle = self._became_idle
        self._server: Server | None = None
        self._expiry_task: asyncio.Task[None] | None = None
        self._deadline_changed = asyncio.Event()
        self._sleeping_until: float | None = None
        self._idle = asyncio.Event()
        self._closing = False
        self._closed = asyncio.Event()

    # Lifecycle

    async def start(self) -> None:
        """Bind and start serving. Raises ``GatewayConfigError`` for unsafe or unusable
        settings (a non-loopback host without a token, half a TLS configuration) and
        ``OSError`` when the address cannot be bound."""
        check_bind_allowed(self._settings)
        check_allowed_names(self._settings)
        ssl_context = tls_context(self._settings)
        self._tls = ssl_context is not None
        self._server = await serve(
            self._serve_connection,
            self._settings.host,
            self._settings.port,
            process_request=self._process_request,
            max_size=self._settings.max_frame_bytes,
            # Frames are small JSON; deflate costs latency and memory per connection.
            compression=None,
            close_timeout=CLOSE_TIMEOUT_S,
            ssl=ssl_context,
        )
        self._expiry_task = asyncio.create_task(self._expire_requests(), name="gateway-expiry")
        self._log.info(
            "gateway_listening",
            host=self._settings.host,
            port=self.port,
            tls=ssl_context is not None,
            token_required=self._settings.token is not None,
        )

    @property
    def port(self) -> int:
        """The TCP port actually bound (useful with port 0)."""
        if self._server is None:
            raise RuntimeError("Gateway.port is known only after start()")
        sockets = list(self._server.sockets)
        return int(sockets[0].getsockname()[1])

    @property
    def metrics(self) -> GatewayMetrics:
        return self._metrics

    @property
    def session_count(self) -> int:
        return len(self._sessions)

    async def close(self, grace_s: float) -> None:
        """Stop accepting; refuse new requests (``shutting_down``); let requests in flight
        finish for up to ``grace_s`` seconds, then answer the rest ``shutting_down`` and tell
        workers to cancel them; close every session with 1001 and a reason. Idempotent."""
        if self._closing:
            await self._closed.wait()
            return
        self._closing = True
        if self._server is None:
            self._closed.set()
            return
        self._server.close(close_connections=False)
        live = self._router.table.live()
        if live:
            self._log.info("gateway_draining", requests=live, grace_s=grace_s)
            self._idle.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace_s):
                    while self._router.table.live():
                        await self._idle.wait()
                        self._idle.clear()
        self._router.cancel_everything(
            f"{SHUTDOWN_REASON}; this request was cancelled. Reconnect and retry later."
        )
        for session in list(self._sessions.values()):
            session.request_close(CLOSE_GOING_AWAY, SHUTDOWN_REASON)
        await self._server.wait_closed()
        if self._expiry_task is not None:
            self._expiry_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._expiry_task
        if self._refusal_flush is not None:
            self._refusal_flush.cancel()
            self._refusal_flush = None
        self._log_suppressed(self._refusal_log.drain())
        self._log.info("gateway_closed")
        self._closed.set()

    # PoolListener

    def on_worker_frame(self, character_id: str, frame: Any) -> None:
        """A ``WorkerReply``, ``WorkerProgress`` or ``WorkerEvent`` from a worker. Never raises
        into the pool."""
        try:
            if isinstance(frame, WorkerReply):
                self._router.on_reply(character_id, frame)
            elif isinstance(frame, WorkerProgress):
                self._router.on_progress(character_id, frame.request_id)
            elif isinstance(frame, WorkerEvent):
                self._fan_out(character_id, frame.message)
            else:
                self._log.debug(
                    "worker_frame_ignored", character=character_id, kind=type(frame).__name__
                )
        except Exception:
            self._log.exception("worker_frame_failed", character=character_id)

    def on_worker_state(
        self, character_id: str, state: WorkerState, snapshot: WorkerSnapshot
    ) -> None:
        """Fail the requests a dead worker held, then tell subscribed sessions."""
        try:
            detail = snapshot.last_crash if state in _DOWN_STATES else None
            if state in _DOWN_STATES:
                self._router.on_worker_down(character_id, state, detail)
            self._fan_out(
                character_id,
                WorkerStateEvent(
                    character_id=character_id,
                    state=_WIRE_STATE[state],
                    detail=detail,
                    generation=snapshot.generation,
                ),
            )
            self._log.info(
                "worker_state", character=character_id, state=state.value, detail=detail
            )
        except Exception:
            self._log.exception("worker_state_failed", character=character_id)

    # HTTP and handshake

    def _process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        """Refuse what a web page or a token guesser sends; serve ``/healthz``/``/metrics``.

        Every request: the ``Host`` must name this gateway (DNS rebinding → 403). WebSocket
        handshakes: the ``Origin`` must be absent, loopback on this port, or allowed (→ 403).
        With a token set: an address refused by the throttle gets 429, a wrong or repeated
        ``Authorization`` header 401 (it counts as a failed guess).
        """
        path = urlsplit(request.path).path
        headers = request.headers
        refusal = host_refusal(
            headers.get_all("Host"),
            bind_host=self._settings.host,
            allowed=self._settings.allowed_hosts,
        )
        if refusal is None and path not in HTTP_PATHS:
            refusal = origin_refusal(
                headers.get_all("Origin"),
                port=self.port,
                tls=self._tls,
                allowed=self._settings.allowed_origins,
            )
        if refusal is not None:
            return self._refuse(connection, request, HTTPStatus.FORBIDDEN, refusal)
        address = _address_of(connection)
        retry_after = self._throttle.retry_after(address)
        if path == "/healthz":
            status, document = health_document(
                self._pool.snapshots(), sessions=len(self._sessions), stopping=self._closing
            )
            if self._settings.token is not None and (
                retry_after > 0 or not self._check_header_token(headers, address)
            ):
                document = public_health(document)
            return json_response(connection, status, document)
        if retry_after > 0:
            response = self._refuse(
                connection,
                request,
                HTTPStatus.TOO_MANY_REQUESTS,
                f"too many wrong tokens from {address} (or from all addresses together); "
                f"retry in {math.ceil(retry_after)} s",
            )
            response.headers["Retry-After"] = str(math.ceil(retry_after))
            return response
        header_token = self._check_header_token(headers, address)
        if path == "/metrics":
            if not header_token:
                return self._refuse(
                    connection,
                    request,
                    HTTPStatus.UNAUTHORIZED,
                    "/metrics needs 'Authorization: Bearer <GREENROOM_TOKEN>'",
                )
            return respond(
                connection, HTTPStatus.OK, self._metrics.render(), PROMETHEUS_CONTENT_TYPE
            )
        if header_token is False:
            return self._refuse(
                connection,
                request,
                HTTPStatus.UNAUTHORIZED,
                "Wrong token in the Authorization header (or more than one header); send one "
                "'Authorization: Bearer <GREENROOM_TOKEN>' or omit it and use hello.token",
            )
        return None

    def _refuse(
        self, connection: ServerConnection, request: Request, status: HTTPStatus, reason: str
    ) -> Response:
        """An HTTP refusal with a one-line reason, and its ``handshake_refused`` record — the
        first of its kind per minute; the rest are counted (``refusal_log.py``)."""
        headers = request.headers
        origin = ", ".join(headers.get_all("Origin")) or None
        host = ", ".join(headers.get_all("Host")) or None
        log_it, ended = self._refusal_log.refused(
            RefusalKey(int(status), origin, None if origin else host)
        )
        self._log_suppressed(ended)
        if log_it:
            self._log.warning(
                "handshake_refused",
                status=int(status),
                reason=reason,
                path=request.path,
                origin=origin,
                host=host,
                remote=str(connection.remote_address),
            )
        self._arm_refusal_flush()
        return respond(connection, status, reason + "\n", "text/plain; charset=utf-8")

    def _log_suppressed(self, ended: list[Suppressed]) -> None:
        for suppressed in ended:
            key = suppressed.key
            self._log.warning(
                "handshake_refused_suppressed",
                count=suppressed.count,
                window_s=suppressed.window_s,
                **(
                    {"status": key.status, "origin": key.origin, "host": key.host}
                    if key is not None
                    else {"kinds": "other (too many kinds at once)"}
                ),
            )

    def _arm_refusal_flush(self) -> None:
        """Write each window's suppressed count when it ends, even if no refusal follows."""
        due = self._refusal_log.next_end()
        if due is None or self._refusal_flush is not None or self._closing:
            return
        self._refusal_flush = asyncio.get_running_loop().call_later(
            max(0.0, due - self._clock()), self._flush_refusals
        )

    def _flush_refusals(self) -> None:
        self._refusal_flush = None
        self._log_suppressed(self._refusal_log.expire())
        self._arm_refusal_flush()

    def _header_token(self, headers: Headers) -> bool | None:
        """With a token configured: ``None`` without an ``Authorization`` header, else whether
        exactly one header carries the token. ``True`` when no token is configured."""
        expected = self._settings.token
        if expected is None:
            return True
        values = headers.get_all("Authorization")
        if not values:
            return None
        return len(values) == 1 and token_matches(bearer_token(values[0]), expected)

    def _check_header_token(self, headers: Headers, address: str) -> bool | None:
        """``_header_token``, counting a presented token for or against ``address``."""
        verdict = self._header_token(headers)
        if verdict is False:
            self._throttle.failed(address)
        elif verdict and self._settings.token is not None:
            self._throttle.succeeded(address)
        return verdict

    # Sessions

    async def _serve_connection(self, connection: ServerConnection) -> None:
        if self._closing:
            await connection.close(CLOSE_GOING_AWAY, SHUTDOWN_REASON)
            return
        headers = connection.request.headers if connection.request else Headers()
        origins = headers.get_all("Origin")
        state = SessionState(
            session_id=f"s-{secrets.token_hex(6)}",
            authenticated=self._header_token(headers) is True,
            remote=str(connection.remote_address),
            address=_address_of(connection),
            origin=origins[0] if origins else None,
        )
        session = Session(
            connection,
            state,
            capacity=self._settings.session_send_queue,
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
            self._router.session_gone(state.session_id)
            session.log.info(
                "session_closed",
                code=connection.close_code,
                reason=connection.close_reason,
            )

    async def _guard(self, session: Session, work: Any) -> None:
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
        """Decode and answer one frame. Never raises: bad input gets a structured error,
        a bug gets ``internal`` and a log record, and the session stays."""
        started = self._clock()
        try:
            message = decode_client_message(data, max_bytes=self._settings.max_frame_bytes)
        except ProtocolError as exc:
            self._metrics.answered(INVALID_TYPE, exc.code.value, None)
            session.send(error_response_for(exc))
            return
        message_type = message_type_of(type(message))
        try:
            await self._handle(session, message, message_type, started)
        except Exception:
            self._answer_internal_error(session, message, message_type, started)

    def _answer_internal_error(
        self, session: Session, message: Any, message_type: str, started: float
    ) -> None:
        session.log.exception(
            "request_failed", message_type=message_type, message_id=message.message_id
        )
        self._answer(
            session,
            message_type,
            error_for(
                message.message_id,
                ErrorCode.INTERNAL,
                f"Internal error while handling {message_type}; the server log has the "
                f"details under session {session.session_id}.",
            ),
            started,
        )

    async def _handle(
        self, session: Session, message: Any, message_type: str, started: float
    ) -> None:
        message_id = message.message_id
        if self._closing:
            self._answer(
                session,
                message_type,
                error_for(message_id, ErrorCode.SHUTTING_DOWN, f"{SHUTDOWN_REASON}."),
                started,
            )
            return
        if not session.state.authenticated and message_type not in ALLOWED_BEFORE_AUTH:
            self._answer(
                session,
                message_type,
                error_for(
                    message_id,
                    ErrorCode.UNAUTHORIZED,
                    "This server requires a token: send hello with token first (or connect "
                    "with 'Authorization: Bearer <token>').",
                ),
                started,
            )
            return
        if needs_character(message_type) and session.state.character_id is None:
            self._answer(
                session,
                message_type,
                error_for(
                    message_id,
                    ErrorCode.NOT_INITIALIZED,
                    f"{message_type} needs a character: send init_request (or hello with "
                    "character_id) first.",
                ),
                started,
            )
            return
        if is_admin(message_type) and not self._may_administer(session):
            self._answer(
                session,
                message_type,
                error_for(
                    message_id,
                    ErrorCode.FORBIDDEN,
                    f"{message_type} is an admin request and this connection carried an Origin "
                    f"header ({session.state.origin!r}): it may come from a web page. Use "
                    "`greenroom ps`/`restart`/`debug` (they send no Origin), or start the "
                    "server with --token (GREENROOM_TOKEN) and present it from the page.",
                ),
                started,
            )
            return
        if isinstance(message, ChatRequest):
            # Refused before it takes a turn slot or crosses the pipe (the worker checks too).
            too_long = check_message_length(message.user_message,
                                            self._settings.max_message_chars)
            if too_long is not None:
                character_id = session.state.character_id
                assert character_id is not None  # needs_character() made sure of it
                self._answer(session, message_type, ErrorResponse(
                    message_id=message_id, error=too_long.text(character_id),
                    error_code=ErrorCode.MESSAGE_TOO_LONG, details=too_long.details()),
                    started)
                return
        handling = handling_of(message_type)
        if handling is Handling.TURN:
            self._router.forward(session, message, serial=True)
        elif handling is Handling.DIRECT:
            self._router.forward(session, message, serial=False)
        elif handling is Handling.ATTACH:
            await self._init(session, message, started)
        elif isinstance(message, DebugRequest):
            self._answer_beside(session, message, message_type, started)
        else:
            answer = await self._answer_here(session, message)
            self._answer(session, message_type, answer, started)
            if session.state.failed_auth_attempts >= MAX_FAILED_AUTH_ATTEMPTS:
                session.request_close(
                    CLOSE_POLICY_VIOLATION, "too many hello frames with a wrong token"
                )
            elif not session.state.authenticated and (
                self._throttle.retry_after(session.state.address) > 0
            ):
                session.request_close(
                    CLOSE_POLICY_VIOLATION, "too many wrong tokens from this address"
                )

    def _may_administer(self, session: Session) -> bool:
        """Admin requests: any client without an ``Origin`` (not a web page); a page only
        when a token is configured and this session presented it."""
        if session.state.origin is None:
            return True
        return self._settings.token is not None and session.state.authenticated

    def _answer_beside(
        self, session: Session, message: Any, message_type: str, started: float
    ) -> None:
        """A ``debug_request`` may wait — right after a restart, for the new worker — so it
        runs beside the session's reader, which goes on reading and answering the session's
        other frames. At most ``session_request_limit`` at once."""
        limit = self._settings.session_request_limit
        if session.running_beside >= limit:
            self._answer(
                session,
                message_type,
                error_for(
                    message.message_id,
                    ErrorCode.BUSY,
                    f"This session already has {limit} debug requests running (the "
                    "per-session limit, GREENROOM_SESSION_REQUEST_LIMIT); wait for their "
                    "answers before sending more.",
                ),
                started,
            )
            return
        session.run_beside(self._answer_later(session, message, message_type, started))

    async def _answer_later(
        self, session: Session, message: Any, message_type: str, started: float
    ) -> None:
        try:
            answer = await self._answer_here(session, message)
        except Exception:
            self._answer_internal_error(session, message, message_type, started)
            return
        self._answer(session, message_type, answer, started)

    def _answer(
        self, session: Session, message_type: str, answer: ServerMessage, started: float
    ) -> None:
        code = answer.error_code if isinstance(answer, ErrorResponse) else OK_CODE
        self._metrics.answered(message_type, code, self._clock() - started)
        session.send(answer)

    async def _answer_here(self, session: Session, message: Any) -> ServerMessage:
        """Requests the gateway answers itself (``GATEWAY`` and ``ADMIN`` handling); ``_handle``
        has already refused unauthenticated sessions and admin requests from web pages."""
        if isinstance(message, PingRequest):
            return PingResponse(message_id=message.message_id)
        if isinstance(message, Hello):
            return await self._hello(session, message)
        if isinstance(message, CharactersRequest):
            listed = await self._characters()
            end = message.offset + message.limit
            return CharactersResponse(
                message_id=message.message_id,
                characters=listed[message.offset : end],
                total=len(listed),
                next_offset=end if end < len(listed) else None,
            )
        if isinstance(message, CancelRequest):
            found = self._router.cancel(session, message.target_message_id)
            return CancelResponse(
                message_id=message.message_id,
                success=found,
                target_message_id=message.target_message_id,
                error=None
                if found
                else f"No request with message_id {message.target_message_id!r} is in flight "
                "on this session.",
            )
        if isinstance(message, WorkersRequest):
            return WorkersResponse(message_id=message.message_id, workers=self._workers())
        if isinstance(message, RestartRequest):
            return await self._restart(message)
        if isinstance(message, DebugRequest):
            return await self._debug(message)
        raise TypeError(f"no gateway answer for {type(message).__name__}")

    async def _hello(self, session: Session, hello: Hello) -> ServerMessage:
        state = session.state
        if hello.protocol_version > PROTOCOL_VERSION:
            return ErrorResponse(
                message_id=hello.message_id,
                error=f"protocol_version {hello.protocol_version} is newer than this server "
                f"speaks ({PROTOCOL_VERSION}); reconnect announcing {PROTOCOL_VERSION}.",
                error_code=ErrorCode.UNSUPPORTED_PROTOCOL_VERSION.value,
                details={"supported": [PROTOCOL_VERSION]},
            )
        if not state.authenticated:
            retry_after = self._throttle.retry_after(state.address)
            if retry_after > 0:
                return error_for(
                    hello.message_id,
                    ErrorCode.UNAUTHORIZED,
                    f"too many wrong tokens from {state.address} (or from all addresses "
                    f"together); retry in {math.ceil(retry_after)} s with the server's "
                    "GREENROOM_TOKEN.",
                )
            if not token_matches(hello.token, self._settings.token):
                state.failed_auth_attempts += 1
                if hello.token is not None:
                    self._throttle.failed(state.address)
                return error_for(
                    hello.message_id,
                    ErrorCode.UNAUTHORIZED,
                    "hello.token is missing or wrong; send the server's GREENROOM_TOKEN.",
                )
            self._throttle.succeeded(state.address)
            state.authenticated = True
        state.said_hello = True
        state.subscriptions = frozenset(hello.subscribe)
        state.client_name = hello.client_name
        if hello.user:
            state.user = hello.user
        if hello.character_id is not None:
            failure = await self._attach(session, hello.character_id, hello.message_id)
            if failure is not None:
                return failure
        return HelloResponse(
            message_id=hello.message_id,
            protocol_version=PROTOCOL_VERSION,
            server_version=_server_version(),
            session_id=state.session_id,
            capabilities=sorted(CLIENT_MESSAGE_TYPES),
        )

    async def _init(self, session: Session, init: InitRequest, started: float) -> None:
        """Attach (starting the worker if needed, never resetting), then let the worker
        describe the character in the ``init_response``."""
        failure = await self._attach(session, init.character_id, init.message_id)
        if failure is not None:
            self._answer(session, "init_request", failure, started)
            return
        self._router.forward(session, init, serial=False)

    async def _attach(
        self, session: Session, character_id: str, message_id: str | None
    ) -> ErrorResponse | None:
        if not is_safe_character_id(character_id):
            return error_for(
                message_id,
                ErrorCode.CHARACTER_NOT_FOUND,
                f"{character_id!r} is not a character id (lowercase letters, digits, '-', '_'); "
                "list them with characters_request.",
            )
        try:
            async with asyncio.timeout(self._settings.request_timeout_s):
                await self._pool.ensure(character_id)
        except PoolError as exc:
            return error_for(message_id, exc.code, str(exc))
        except TimeoutError:
            return error_for(
                message_id,
                ErrorCode.TIMEOUT,
                f"{character_id!r} did not become ready within "
                f"{self._settings.request_timeout_s:g} s; retry.",
            )
        session.state.character_id = character_id
        session.log = session.log.bind(character=character_id)
        session.log.info("session_attached")
        return None

    async def _characters(self) -> list[CharacterListing]:
        # Parsing YAML files is blocking I/O: keep it off the event loop.
        summaries = await asyncio.to_thread(list_characters, self._characters_dir)
        return [
            CharacterListing(
                character_id=summary.id,
                name=summary.name or summary.id,
                archetype=summary.archetype,
                description=summary.description or None,
                state=_WIRE_STATE[self._pool.state(summary.id) or WorkerState.STOPPED],
            )
            for summary in summaries
            if summary.ok
        ]

    def _workers(self) -> list[WorkerInfo]:
        attached: dict[str, int] = {}
        for session in self._sessions.values():
            if session.state.character_id is not None:
                attached[session.state.character_id] = (
                    attached.get(session.state.character_id, 0) + 1
                )
        return [
            WorkerInfo(
                character_id=s.character_id,
                pid=s.pid,
                state=_WIRE_STATE[s.state],
                uptime_s=s.uptime_s,
                restarts=s.restarts,
                rss_bytes=s.rss_bytes,
                uss_bytes=s.uss_bytes,
                sessions=attached.get(s.character_id, 0),
                generation=s.generation,
                debug_port=s.debug_port,
                last_crash=s.last_crash,
            )
            for s in sorted(self._pool.snapshots(), key=lambda s: s.character_id)
        ]

    async def _restart(self, request: RestartRequest) -> ServerMessage:
        failure = self._check_admin_target(request.character_id, request.message_id)
        if failure is not None:
            return failure
        try:
            async with asyncio.timeout(self._settings.request_timeout_s):
                await self._pool.restart(request.character_id)
        except PoolError as exc:
            return error_for(request.message_id, exc.code, str(exc))
        return RestartResponse(message_id=request.message_id, character_id=request.character_id)

    async def _debug(self, request: DebugRequest) -> ServerMessage:
        failure = self._check_admin_target(request.character_id, request.message_id)
        if failure is not None:
            return failure
        try:
            async with asyncio.timeout(self._settings.request_timeout_s):
                port = await self._pool.start_debugger(
                    request.character_id, request.port or None, request.wait
                )
        except PoolError as exc:
            return error_for(request.message_id, exc.code, str(exc))
        except TimeoutError:
            # Waiting for a (re)starting worker plus debugpy's own start can outlast it.
            return error_for(
                request.message_id,
                ErrorCode.TIMEOUT,
                f"{request.character_id!r}: the debugger was not listening within "
                f"{self._settings.request_timeout_s:g} s (the worker was not ready yet, or "
                "debugpy was slow to start); see `greenroom ps`, then retry.",
            )
        pid = next(
            (s.pid for s in self._pool.snapshots() if s.character_id == request.character_id),
            None,
        )
        return DebugResponse(
            message_id=request.message_id,
            character_id=request.character_id,
            pid=pid,
            port=port,
        )

    @staticmethod
    def _check_admin_target(character_id: str, message_id: str | None) -> ErrorResponse | None:
        if is_safe_character_id(character_id):
            return None
        return error_for(
            message_id, ErrorCode.CHARACTER_NOT_FOUND, f"{character_id!r} is not a character id."
        )

    # Events and time

    def _fan_out(self, character_id: str, event: EventMessage) -> None:
        if event.character_id != character_id:
            self._log.warning(
                "event_character_mismatch", character=character_id, claimed=event.character_id
            )
            return
        audience = [
            Audience(s.session_id, s.state.character_id, s.state.subscriptions)
            for s in self._sessions.values()
        ]
        for session_id in event_recipients(event, audience):
            self._sessions[session_id].send(event)

    def _turn_queue_depths(self) -> dict[str, int]:
        return {c: self._router.turns.waiting(c) for c in self._router.turns.characters()}

    def _deadline_added(self, due: float) -> None:
        if self._sleeping_until is None or due < self._sleeping_until:
            self._deadline_changed.set()

    def _became_idle(self) -> None:
        self._idle.set()

    async def _expire_requests(self) -> None:
        """Sleep until the earliest request deadline, answer what expired, repeat."""
        while True:
            self._deadline_changed.clear()
            due = self._router.deadlines.next_due()
            self._sleeping_until = due
            if due is None:
                await self._deadline_changed.wait()
            else:
                delay = due - self._clock()
                if delay > 0:
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(delay):
                            await self._deadline_changed.wait()
            try:
                self._router.expire()
            except Exception:
                self._log.exception("request_expiry_failed")
