"""The gateway: the one WebSocket door of greenroom. This object wires its parts and carries
out what they decide.

Lifecycle: ``Gateway(settings, pool)`` → ``await start()`` (binds; ``port`` tells where) →
serve → ``await close(grace_s)``. The worker pool calls ``on_worker_frame`` and
``on_worker_state`` (the ``PoolListener`` protocol) on the same event loop.

The parts: ``handshake`` (HTTP before the upgrade), ``connections`` (the server, sessions,
read loops), ``request_handling`` (one request from ``admission`` to its answer),
``gateway_answers`` (what the gateway answers itself), ``router`` (forwarding to workers: a
core that returns effects, which this object carries out), ``expiry`` (request deadlines).
Nothing a session does waits on another session: forwarding to workers never blocks, and
every answer goes through the receiving session's own bounded send queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import Any, Final

import structlog

from protocol.events import WorkerStateEvent
from protocol.pipe import (
    ExportCredit,
    ToWorker,
    WorkerCancel,
    WorkerEvent,
    WorkerProgress,
    WorkerReply,
)
from protocol.states import WorkerState
from protocol.unions import EventMessage
from runtime.settings import Settings
from supervisor.gateway.access import check_allowed_names, check_bind_allowed, tls_context
from supervisor.gateway.auth_throttle import AuthThrottle
from supervisor.gateway.connections import Connections
from supervisor.gateway.effects import (
    AllAnswered,
    AnswerSession,
    CancelAtWorker,
    CreditWorker,
    DeadlineSet,
    Effect,
    SendToSession,
    SendToWorker,
)
from supervisor.gateway.expiry import RequestExpiry
from supervisor.gateway.fanout import Audience, event_recipients
from supervisor.gateway.gateway_answers import GatewayAnswers
from supervisor.gateway.handshake import Handshake
from supervisor.gateway.http_endpoints import health_document
from supervisor.gateway.metrics import GatewayMetrics, code_of
from supervisor.gateway.request_handling import RequestHandling
from supervisor.gateway.router import Router
from supervisor.gateway.session import (
    CLOSE_GOING_AWAY,
    SHUTDOWN_REASON,
    Session,
)
from supervisor.pool.api import PoolError, WorkerPoolApi, WorkerSnapshot

_DOWN_STATES: Final[frozenset[WorkerState]] = frozenset({"restarting", "failed", "stopped"})


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
        self._clock = time.monotonic
        self._log = structlog.get_logger("greenroom.gateway")
        self._closing = False
        self._closed = asyncio.Event()
        self._idle = asyncio.Event()
        self._sessions: dict[str, Session] = {}
        self._router = Router(
            clock=self._clock,
            request_timeout_s=settings.gateway.request_timeout_s,
            turn_queue_depth=settings.gateway.chat_queue_depth,
            session_request_limit=settings.gateway.session_request_limit,
        )
        self._metrics = GatewayMetrics(
            snapshots=pool.snapshots,
            turn_queue_depths=self._router.turn_queue_depths,
            send_queue_frames=lambda: sum(s.queued_frames for s in self._sessions.values()),
        )
        throttle = AuthThrottle(self._clock)
        self._handshake = Handshake(
            settings, throttle, self._clock,
            port=lambda: self.port, health=self._health, metrics_text=self._metrics.render,
        )
        answers = GatewayAnswers(
            settings, pool,
            characters_dir=characters_dir or settings.characters_dir,
            sessions=self._sessions, throttle=throttle, cancel=self._cancel,
        )
        requests = RequestHandling(
            settings, self._metrics, self._clock, throttle, answers,
            forward=self._forward, closing=lambda: self._closing,
        )
        self._connections = Connections(
            settings, self._metrics, self._handshake, self._clock,
            sessions=self._sessions, on_request=requests.handle,
            on_session_gone=lambda session_id: self._carry_out(
                self._router.session_gone(session_id)),
        )
        self._expiry = RequestExpiry(
            self._clock, next_due=self._router.next_deadline,
            expire=lambda: self._carry_out(self._router.expire()),
        )

    # Lifecycle

    async def start(self) -> None:
        """Bind and start serving. Raises ``GatewayConfigError`` for unsafe or unusable
        settings (a non-loopback host without a token, half a TLS configuration) and
        ``OSError`` when the address cannot be bound."""
        check_bind_allowed(self._settings)
        check_allowed_names(self._settings)
        ssl_context = tls_context(self._settings)
        self._handshake.tls = ssl_context is not None
        await self._connections.start(ssl_context)
        self._expiry.start()
        self._log.info(
            "gateway_listening",
            host=self._settings.gateway.host,
            port=self.port,
            tls=ssl_context is not None,
            token_required=self._settings.gateway.token is not None,
        )

    @property
    def port(self) -> int:
        """The TCP port actually bound (useful with port 0)."""
        return self._connections.port

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
        if not self._connections.started:
            self._closed.set()
            return
        self._connections.stop_accepting()
        live = self._router.live()
        if live:
            self._log.info("gateway_draining", requests=live, grace_s=grace_s)
            self._idle.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(grace_s):
                    while self._router.live():
                        await self._idle.wait()
                        self._idle.clear()
        self._carry_out(self._router.cancel_everything(
            f"{SHUTDOWN_REASON}; this request was cancelled. Reconnect and retry later."
        ))
        self._connections.close_sessions(CLOSE_GOING_AWAY, SHUTDOWN_REASON)
        await self._connections.wait_closed()
        await self._expiry.stop()
        self._handshake.stop()
        self._log.info("gateway_closed")
        self._closed.set()

    # PoolListener: the pool's own tasks call these and do not guard them.

    def on_worker_frame(self, character_id: str, frame: Any) -> None:
        """A ``WorkerReply``, ``WorkerProgress`` or ``WorkerEvent`` from a worker. Never raises
        into the pool: a bug here is logged with the frame it lost."""
        try:
            if isinstance(frame, WorkerReply):
                self._carry_out(self._router.on_reply(character_id, frame))
            elif isinstance(frame, WorkerProgress):
                self._router.on_progress(character_id, frame.request_id)
            elif isinstance(frame, WorkerEvent):
                self._fan_out(character_id, frame.message)
            else:
                self._log.debug(
                    "worker_frame_ignored", character=character_id, kind=type(frame).__name__
                )
        except Exception:
            self._log.exception(
                "worker_frame_lost", character=character_id, kind=type(frame).__name__,
                request_id=getattr(frame, "request_id", None),
                final=getattr(frame, "final", None),
            )

    def on_worker_state(
        self, character_id: str, state: WorkerState, snapshot: WorkerSnapshot
    ) -> None:
        """Fail the requests a dead worker held, then tell subscribed sessions. Never raises
        into the pool: a bug here is logged with the state change it lost."""
        try:
            detail = snapshot.detail
            if state in _DOWN_STATES:
                self._carry_out(self._router.on_worker_down(character_id, state, detail))
            self._fan_out(character_id, WorkerStateEvent(
                character_id=character_id, state=state, detail=detail,
                generation=snapshot.generation, reason=snapshot.reason,
            ))
            self._log.info("worker_state", character=character_id, state=state, detail=detail,
                           reason=snapshot.reason)
        except Exception:
            self._log.exception("worker_state_lost", character=character_id, state=state,
                                generation=snapshot.generation)

    # Requests

    def _forward(self, session: Session, message: Any, serial: bool) -> None:
        state = session.state
        assert state.character_id is not None, "admission lets only attached sessions forward"
        self._carry_out(self._router.forward(
            session_id=session.session_id, character_id=state.character_id, user=state.user,
            message=message, serial=serial,
        ))

    def _cancel(self, session_id: str, target_message_id: str) -> bool:
        found, effects = self._router.cancel(session_id, target_message_id)
        self._carry_out(effects)
        return found

    # Effects of the router, and events

    def _carry_out(self, effects: list[Effect]) -> None:
        """Do what the router decided, in order. A dispatch the pool refuses goes back to the
        router, and what that decides is done next, before the rest."""
        pending = deque(effects)
        while pending:
            match pending.popleft():
                case SendToWorker(character_id=character_id, request=request):
                    try:
                        self._pool.send(character_id, request)
                    except PoolError as exc:
                        pending.extendleft(reversed(self._router.dispatch_failed(
                            request.request_id, exc.code, str(exc))))
                case CancelAtWorker(character_id=character_id, request_id=request_id):
                    self._tell_worker(character_id, WorkerCancel(request_id=request_id))
                case CreditWorker(character_id=character_id, request_id=request_id):
                    self._tell_worker(character_id, ExportCredit(request_id=request_id))
                case SendToSession(session_id=session_id, message=message,
                                   credit_request_id=credit):
                    session = self._sessions.get(session_id)
                    if session is not None:
                        session.send(message, on_written=None if credit is None else partial(
                            self._chunk_written, credit))
                case AnswerSession(session_id=session_id, message_type=message_type,
                                   message=message, latency_s=latency_s):
                    self._metrics.answered(message_type, code_of(message), latency_s)
                    session = self._sessions.get(session_id)
                    if session is not None:
                        session.send(message)
                case DeadlineSet(due=due):
                    self._expiry.deadline_set(due)
                case AllAnswered():
                    self._idle.set()

    def _chunk_written(self, request_id: int) -> None:
        self._carry_out(self._router.chunk_written(request_id))

    def _tell_worker(self, character_id: str, frame: ToWorker) -> None:
        try:
            self._pool.send(character_id, frame)
        except PoolError as exc:
            # The worker is going away; its state change will settle the request.
            self._log.info("worker_not_told", character=character_id,
                           kind=type(frame).__name__, reason=str(exc))

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

    def _health(self) -> tuple[HTTPStatus, dict[str, Any]]:
        return health_document(
            self._pool.snapshots(), sessions=len(self._sessions), stopping=self._closing
        )
