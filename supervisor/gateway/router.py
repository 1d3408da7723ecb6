"""Forwarding requests to workers and their replies back: the thin shell around the routing
table, the turn queue and the deadline book.

Synchronous on purpose: every method runs to completion on the event loop without awaiting,
so no reply, timeout or crash can interleave with the bookkeeping of another. The only
effects are ``pool.send`` (which never blocks) and ``Session.send`` (which never blocks).

Promises:

* every admitted request gets exactly one final answer (its reply, ``timeout``, ``cancelled``,
  ``worker_crashed``, ``character_restarting``/``character_unavailable`` or
  ``shutting_down``), carrying the client's ``message_id``, unless its session is gone;
* a character's worker receives at most one turn at a time from this gateway;
* a request the client stopped waiting for (timeout, closed session) keeps its turn slot
  until the worker's final reply, so turns never overlap inside a worker;
* ``timeout`` means ``request_timeout_s`` went by without an answer *and* without progress
  (a delta, a ``generation_status``, an ``export_chunk``, a ``WorkerProgress`` keepalive)
  since the request was dispatched: a reply that keeps streaming is never cut off by it. A
  queued turn's clock starts when it is dispatched;
* a streamed export moves at its reader's pace: each ``export_chunk`` written to the
  client's socket earns the worker an ``ExportCredit`` for one more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import msgspec
import structlog

from protocol.chat import ChatDelta, GenerationStatus
from protocol.errors import ErrorCode, ErrorResponse
from protocol.pipe import ExportCredit, WorkerCancel, WorkerReply, WorkerRequest
from protocol.snapshots import ExportChunk
from protocol.unions import ServerMessage, message_type_of
from supervisor.gateway.deadlines import DeadlineBook
from supervisor.gateway.fanout import delivers_deltas
from supervisor.gateway.metrics import OK_CODE, GatewayMetrics
from supervisor.gateway.routing import Route, RoutingTable
from supervisor.gateway.session import Session
from supervisor.gateway.turn_queue import Admission, TurnQueue
from supervisor.pool.api import PoolError, WorkerPoolApi, WorkerState

_log = structlog.get_logger("greenroom.gateway")


def error_for(message_id: str | None, code: ErrorCode | str, text: str) -> ErrorResponse:
    return ErrorResponse(message_id=message_id, error=text, error_code=str(code))


class Router:
    """Routes requests of attached sessions to their character's worker and back.

    ``sessions`` is the gateway's live map of session id → ``Session`` (read, never written);
    ``clock`` is the monotonic clock of the deadlines (the event loop's ``time``).
    """

    def __init__(
        self,
        *,
        pool: WorkerPoolApi,
        sessions: Mapping[str, Session],
        metrics: GatewayMetrics,
        clock: Callable[[], float],
        request_timeout_s: float,
        turn_queue_depth: int,
        session_request_limit: int,
    ) -> None:
        self._pool = pool
        self._sessions = sessions
        self._metrics = metrics
        self._clock = clock
        self._timeout_s = request_timeout_s
        self.table = RoutingTable(session_request_limit)
        self.turns = TurnQueue(turn_queue_depth)
        self.deadlines = DeadlineBook()
        self.on_deadline_added: Callable[[float], None] = lambda _due: None
        self.on_idle: Callable[[], None] = lambda: None
        """Called whenever no request is owed an answer any more (graceful shutdown waits)."""

    # Requests from sessions

    def forward(self, session: Session, message: Any, *, serial: bool) -> None:
        """Send a request of an attached session to its worker (now, or when its turn comes)."""
        character_id = session.state.character_id
        assert character_id is not None, "forward() needs an attached session"
        message_type = message_type_of(type(message))
        route = self.table.admit(
            session_id=session.session_id,
            message_id=message.message_id,
            character_id=character_id,
            message_type=message_type,
            message=message,
            user=session.state.user,
            serial=serial,
            stream=bool(getattr(message, "stream", False)),
            now=self._clock(),
        )
        if route is None:
            self._reject(
                session,
                message,
                ErrorCode.BUSY,
                f"This session already has {self.table.owed(session.session_id)} requests in "
                "flight (the per-session limit, GREENROOM_SESSION_REQUEST_LIMIT); wait for "
                "their answers before sending more.",
            )
            return
        if serial:
            admission = self.turns.offer(character_id, route.request_id)
            if admission is Admission.FULL:
                self.table.complete(route.request_id)
                self._reject(
                    session,
                    message,
                    ErrorCode.BUSY,
                    f"Character {character_id!r} is busy: a turn is in progress and "
                    f"{self.turns.waiting(character_id)} more are queued (the limit, "
                    "GREENROOM_CHAT_QUEUE_DEPTH). Retry when the current turns are answered.",
                )
                return
        else:
            admission = Admission.START
        if admission is Admission.START:
            self._start_deadline(route)
            self._dispatch(route)
        elif route.stream:
            # A queued turn has no deadline yet: it waits for the turns ahead of it, each
            # bounded by its own deadline, and gets its own when it is dispatched.
            session.send(GenerationStatus(message_id=route.message_id, phase="queued"))

    def cancel(self, session: Session, target_message_id: str) -> bool:
        """Cancel the session's request with that ``message_id``; False when none is live.

        A waiting turn is withdrawn and answered ``cancelled`` here; a request already at the
        worker is told to stop, and the worker's final reply (``cancelled``, or the result if
        it was done) is delivered as usual.
        """
        route = self.table.find(session.session_id, target_message_id)
        if route is None:
            return False
        if route.dispatched:
            route.cancel_requested = True
            self._tell_worker_cancel(route)
        else:
            self._finish(
                route,
                error_for(
                    route.message_id,
                    ErrorCode.CANCELLED,
                    f"Cancelled by cancel_request before {route.character_id!r} started it.",
                ),
            )
        return True

    def session_gone(self, session_id: str) -> None:
        """The session closed: its waiting turns are dropped, its running requests cancelled."""
        for route in self.table.of_session(session_id):
            if route.abandoned:
                continue
            if route.dispatched:
                self.table.abandon(route.request_id)
                self.deadlines.discard(route.request_id)
                self._tell_worker_cancel(route)
            else:
                self._finish(route, None)
        self._maybe_idle()

    # Time

    def expire(self) -> None:
        """Answer ``timeout`` for every request past its deadline: ``request_timeout_s``
        without an answer and without progress. A request that made progress since its
        deadline was set gets a new one, ``request_timeout_s`` after that progress (so each
        progress frame costs one attribute write, not a heap entry)."""
        now = self._clock()
        for request_id in self.deadlines.pop_expired(now):
            route = self.table.get(request_id)
            if route is None or route.abandoned:
                continue
            if route.progress_at is not None and route.progress_at + self._timeout_s > now:
                due = route.progress_at + self._timeout_s
                self.deadlines.add(request_id, due)
                self.on_deadline_added(due)
                continue
            answer = error_for(
                route.message_id,
                ErrorCode.TIMEOUT,
                f"{route.message_type} to {route.character_id!r} got no answer and no sign of "
                f"progress for {self._timeout_s:g} s (GREENROOM_REQUEST_TIMEOUT); it was "
                "abandoned.",
            )
            if route.dispatched:
                self._deliver(route, answer, final=True)
                self.table.abandon(request_id)
                self._tell_worker_cancel(route)
            else:
                self._finish(route, answer)
        self._maybe_idle()

    # Worker side

    def on_reply(self, character_id: str, reply: WorkerReply) -> None:
        route = self.table.get(reply.request_id)
        if route is None or route.character_id != character_id:
            _log.warning(
                "reply_for_unknown_request", character=character_id, request_id=reply.request_id
            )
            return
        if not reply.final:
            route.progress_at = self._clock()
            if not delivers_deltas(stream_requested=route.stream, abandoned=route.abandoned):
                return
            if isinstance(reply.message, ChatDelta | GenerationStatus):
                self._deliver(route, reply.message, final=False)
            elif isinstance(reply.message, ExportChunk):
                self._deliver(route, reply.message, final=False,
                              on_written=lambda: self._grant_export_credit(route))
            return
        self._finish(route, reply.message)

    def on_progress(self, character_id: str, request_id: int) -> None:
        """The worker is still working on ``request_id`` (a ``WorkerProgress`` keepalive)."""
        route = self.table.get(request_id)
        if route is not None and route.character_id == character_id:
            route.progress_at = self._clock()

    def on_worker_down(self, character_id: str, state: WorkerState, detail: str | None) -> None:
        """The character's worker died (``restarting``/``failed``) or stopped: every request
        it held is lost (``worker_crashed``); waiting turns never reached it, so they get the
        code that says when to retry."""
        self.turns.clear(character_id)
        waiting_code = (
            ErrorCode.CHARACTER_RESTARTING
            if state is WorkerState.RESTARTING
            else ErrorCode.CHARACTER_UNAVAILABLE
        )
        why = f" ({detail})" if detail else ""
        for route in self.table.take_character(character_id):
            self.deadlines.discard(route.request_id)
            if route.abandoned:
                continue
            if route.dispatched:
                answer = error_for(
                    route.message_id,
                    ErrorCode.WORKER_CRASHED,
                    f"The worker of {character_id!r} stopped ({state.value}){why} while "
                    f"handling this {route.message_type}; it was lost. Retry when the "
                    "character is ready again.",
                )
            else:
                answer = error_for(
                    route.message_id,
                    waiting_code,
                    f"The worker of {character_id!r} is {state.value}{why}; this queued "
                    f"{route.message_type} was not started. Retry when it is ready.",
                )
            self._deliver(route, answer, final=True)
        self._maybe_idle()

    # Shutdown

    def cancel_everything(self, reason: str) -> None:
        """Answer every live request ``shutting_down`` and tell workers to stop them."""
        for route in self.table.take_all():
            self.deadlines.discard(route.request_id)
            if route.dispatched:
                self._tell_worker_cancel(route)
            if not route.abandoned:
                self._deliver(
                    route,
                    error_for(route.message_id, ErrorCode.SHUTTING_DOWN, reason),
                    final=True,
                )
        for character_id in self.turns.characters():
            self.turns.clear(character_id)

    # Internals

    def _start_deadline(self, route: Route) -> None:
        due = self._clock() + self._timeout_s
        self.deadlines.add(route.request_id, due)
        self.on_deadline_added(due)

    def _dispatch(self, route: Route) -> None:
        frame = WorkerRequest(
            session_id=route.session_id,
            request_id=route.request_id,
            user=route.user,
            message=route.message,
        )
        try:
            self._pool.send(route.character_id, frame)
        except PoolError as exc:
            self._finish(route, error_for(route.message_id, exc.code, str(exc)))
            return
        route.dispatched = True

    def _finish(self, route: Route, answer: ServerMessage | None) -> None:
        """Final answer for ``route``: deliver it, free its slot, start the next turn."""
        self.table.complete(route.request_id)
        self.deadlines.discard(route.request_id)
        if answer is not None and not route.abandoned:
            self._deliver(route, answer, final=True)
        if route.serial:
            next_id = self.turns.finish(route.character_id, route.request_id)
            next_route = self.table.get(next_id) if next_id is not None else None
            if next_route is not None:
                # A failed dispatch finishes that route in turn, which starts the one after.
                self._start_deadline(next_route)
                self._dispatch(next_route)
        self._maybe_idle()

    def _deliver(self, route: Route, message: ServerMessage, *, final: bool,
                 on_written: Callable[[], None] | None = None) -> None:
        if message.message_id != route.message_id:
            message = msgspec.structs.replace(message, message_id=route.message_id)
        if final:
            code = message.error_code if isinstance(message, ErrorResponse) else OK_CODE
            self._metrics.answered(
                route.message_type, code, self._clock() - route.started_at
            )
        session = self._sessions.get(route.session_id)
        if session is not None:
            session.send(message, on_written=on_written)

    def _reject(self, session: Session, message: Any, code: ErrorCode, text: str) -> None:
        self._metrics.answered(message_type_of(type(message)), code.value, None)
        session.send(error_for(message.message_id, code, text))

    def _grant_export_credit(self, route: Route) -> None:
        if route.abandoned or self.table.get(route.request_id) is not route:
            return  # answered, timed out or cancelled meanwhile: the worker needs no more
        try:
            self._pool.send(route.character_id, ExportCredit(request_id=route.request_id))
        except PoolError as exc:
            _log.info("export_credit_not_sent", character=route.character_id, reason=str(exc))

    def _tell_worker_cancel(self, route: Route) -> None:
        try:
            self._pool.send(route.character_id, WorkerCancel(request_id=route.request_id))
        except PoolError as exc:
            # The worker is going away; its state change will settle the route.
            _log.info("cancel_not_sent", character=route.character_id, reason=str(exc))

    def _maybe_idle(self) -> None:
        if self.table.live() == 0:
            self.on_idle()
