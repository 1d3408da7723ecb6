"""Forwarding requests to workers and their replies back: a sans-I/O core over the routing
table, the turn queue and the deadline book.

Every input — a request admitted, a cancel, a reply, a keepalive, a worker gone, the clock
passing a deadline, a session closed, shutdown — is one synchronous call that updates the
books and returns the effects (``effects.py``) for ``Gateway`` to carry out: what to send to
which worker and which session, which answers to count, when to wake. The router performs
none of them (as websockets' ``Protocol`` only records ``data_to_send()``), so every path is
tested with plain calls. The shell must carry out one call's effects, in order, before it
makes the next call: a returned ``SendToWorker`` already counts as dispatched, and a refusal
comes back as an input of its own (``dispatch_failed``).

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

from collections.abc import Callable
from typing import Any

import msgspec
import structlog

from protocol.chat import ChatDelta, GenerationStatus
from protocol.errors import ErrorCode, ErrorResponse
from protocol.pipe import WorkerReply, WorkerRequest
from protocol.snapshots import ExportChunk
from protocol.states import WorkerState
from protocol.unions import ServerMessage, message_type_of
from supervisor.gateway.deadlines import DeadlineBook
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
from supervisor.gateway.fanout import delivers_deltas
from supervisor.gateway.routing import Route, RoutingTable
from supervisor.gateway.turn_queue import Admission, TurnQueue

_log = structlog.get_logger("greenroom.gateway")


def error_for(message_id: str | None, code: ErrorCode | str, text: str) -> ErrorResponse:
    return ErrorResponse(message_id=message_id, error=text, error_code=str(code))


class Router:
    """Routes requests of attached sessions to their character's worker and back.

    ``clock`` is the monotonic clock of the deadlines (seconds; the event loop's ``time``).
    ``session_request_limit`` bounds the answers one session is owed, ``turn_queue_depth``
    the turns waiting per character.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float],
        request_timeout_s: float,
        turn_queue_depth: int,
        session_request_limit: int,
    ) -> None:
        self._clock = clock
        self._timeout_s = request_timeout_s
        self._table = RoutingTable(session_request_limit)
        self._turns = TurnQueue(turn_queue_depth)
        self._deadlines = DeadlineBook()

    # What the shell reads

    def live(self) -> int:
        """How many requests are still owed an answer."""
        return self._table.live()

    def next_deadline(self) -> float | None:
        """When the expiry loop must call ``expire`` next (``None``: no request pending)."""
        return self._deadlines.next_due()

    def turn_queue_depths(self) -> dict[str, int]:
        """Per character with a turn active: how many turns wait behind it."""
        return {c: self._turns.waiting(c) for c in self._turns.characters()}

    # Requests from sessions

    def forward(
        self, *, session_id: str, character_id: str, user: str, message: Any, serial: bool
    ) -> list[Effect]:
        """A request of a session attached to ``character_id``, for its worker: sent now, or
        when its turn comes (``serial``: a turn, through the character's turn queue)."""
        out: list[Effect] = []
        message_type = message_type_of(type(message))
        route = self._table.admit(
            session_id=session_id, message_id=message.message_id, character_id=character_id,
            message_type=message_type, message=message, user=user, serial=serial,
            stream=bool(getattr(message, "stream", False)), now=self._clock(),
        )
        if route is None:
            text = (
                f"This session already has {self._table.owed(session_id)} requests in flight "
                "(the per-session limit, GREENROOM_SESSION_REQUEST_LIMIT); wait for their "
                "answers before sending more."
            )
            return [_refusal(session_id, message_type, message.message_id, text)]
        admission = (self._turns.offer(character_id, route.request_id) if serial
                     else Admission.START)
        if admission is Admission.FULL:
            self._table.complete(route.request_id)
            text = (
                f"Character {character_id!r} is busy: a turn is in progress and "
                f"{self._turns.waiting(character_id)} more are queued (the limit, "
                "GREENROOM_CHAT_QUEUE_DEPTH). Retry when the current turns are answered."
            )
            return [_refusal(session_id, message_type, message.message_id, text)]
        if admission is Admission.START:
            self._dispatch(route, out)
        elif route.stream:
            # A queued turn has no deadline yet: it waits for the turns ahead of it, each
            # bounded by its own deadline, and gets its own when it is dispatched.
            out.append(SendToSession(session_id, GenerationStatus(
                message_id=route.message_id, phase="queued")))
        return out

    def cancel(self, session_id: str, target_message_id: str) -> tuple[bool, list[Effect]]:
        """Cancel the session's request with that ``message_id``; False when none is live.

        A waiting turn is withdrawn and answered ``cancelled`` here; a request already at the
        worker is told to stop, and the worker's final reply (``cancelled``, or the result if
        it was done) is delivered as usual.
        """
        route = self._table.find(session_id, target_message_id)
        if route is None:
            return False, []
        out: list[Effect] = []
        if route.dispatched:
            out.append(CancelAtWorker(route.character_id, route.request_id))
        else:
            self._finish(route, error_for(
                route.message_id, ErrorCode.CANCELLED,
                f"Cancelled by cancel_request before {route.character_id!r} started it."), out)
        return True, out

    def session_gone(self, session_id: str) -> list[Effect]:
        """The session closed: its waiting turns are dropped, its running requests cancelled
        (they keep their turn slots until the worker's final reply)."""
        out: list[Effect] = []
        for route in self._table.of_session(session_id):
            if route.abandoned:
                continue
            if route.dispatched:
                self._table.abandon(route.request_id)
                self._deadlines.discard(route.request_id)
                out.append(CancelAtWorker(route.character_id, route.request_id))
            else:
                self._finish(route, None, out)
        self._maybe_idle(out)
        return out

    # Time

    def expire(self) -> list[Effect]:
        """Answer ``timeout`` for every request past its deadline: ``request_timeout_s``
        without an answer and without progress. A request that made progress since its
        deadline was set gets a new one, ``request_timeout_s`` after that progress (so each
        progress frame costs one attribute write, not a heap entry)."""
        out: list[Effect] = []
        now = self._clock()
        for request_id in self._deadlines.pop_expired(now):
            route = self._table.get(request_id)
            if route is None or route.abandoned:
                continue
            if route.progress_at is not None and route.progress_at + self._timeout_s > now:
                self._set_deadline(route, route.progress_at + self._timeout_s, out)
                continue
            answer = error_for(
                route.message_id, ErrorCode.TIMEOUT,
                f"{route.message_type} to {route.character_id!r} got no answer and no sign of "
                f"progress for {self._timeout_s:g} s (GREENROOM_REQUEST_TIMEOUT); it was "
                "abandoned.")
            if route.dispatched:
                self._answer(route, answer, out)
                self._table.abandon(request_id)
                out.append(CancelAtWorker(route.character_id, route.request_id))
            else:
                self._finish(route, answer, out)
        self._maybe_idle(out)
        return out

    # Worker side

    def on_reply(self, character_id: str, reply: WorkerReply) -> list[Effect]:
        """A reply frame from the character's worker: progress (a delta, a status, a chunk),
        delivered only to a session that asked to stream, or the request's final answer."""
        route = self._table.get(reply.request_id)
        if route is None or route.character_id != character_id:
            _log.warning(
                "reply_for_unknown_request", character=character_id, request_id=reply.request_id
            )
            return []
        out: list[Effect] = []
        if not reply.final:
            route.progress_at = self._clock()
            if delivers_deltas(stream_requested=route.stream, abandoned=route.abandoned):
                if isinstance(reply.message, ChatDelta | GenerationStatus):
                    out.append(SendToSession(route.session_id, _echo(route, reply.message)))
                elif isinstance(reply.message, ExportChunk):
                    out.append(SendToSession(route.session_id, _echo(route, reply.message),
                                             credit_request_id=route.request_id))
            return out
        self._finish(route, reply.message, out)
        return out

    def on_progress(self, character_id: str, request_id: int) -> None:
        """The worker is still working on ``request_id`` (a ``WorkerProgress`` keepalive)."""
        route = self._table.get(request_id)
        if route is not None and route.character_id == character_id:
            route.progress_at = self._clock()

    def chunk_written(self, request_id: int) -> list[Effect]:
        """An ``export_chunk`` of ``request_id`` reached the client's socket: the worker may
        send one more — unless the request was answered, timed out or cancelled meanwhile."""
        route = self._table.get(request_id)
        if route is None or route.abandoned:
            return []
        return [CreditWorker(route.character_id, request_id)]

    def dispatch_failed(self, request_id: int, code: str, text: str) -> list[Effect]:
        """The pool refused a ``SendToWorker`` (``code``/``text``: its reason): the request
        never reached the worker; it is answered so, and the next turn starts."""
        out: list[Effect] = []
        route = self._table.get(request_id)
        if route is not None:
            self._finish(route, error_for(route.message_id, code, text), out)
        return out

    def on_worker_down(
        self, character_id: str, state: WorkerState, detail: str | None
    ) -> list[Effect]:
        """The character's worker died (``restarting``/``failed``) or stopped: every request
        it held is lost (``worker_crashed``); waiting turns never reached it, so they get the
        code that says when to retry."""
        out: list[Effect] = []
        self._turns.clear(character_id)
        waiting_code = (ErrorCode.CHARACTER_RESTARTING if state == "restarting"
                        else ErrorCode.CHARACTER_UNAVAILABLE)
        why = f" ({detail})" if detail else ""
        for route in self._table.take_character(character_id):
            self._deadlines.discard(route.request_id)
            if route.abandoned:
                continue
            if route.dispatched:
                answer = error_for(
                    route.message_id, ErrorCode.WORKER_CRASHED,
                    f"The worker of {character_id!r} stopped ({state}){why} while handling "
                    f"this {route.message_type}; it was lost. Retry when the character is "
                    "ready again.")
            else:
                answer = error_for(
                    route.message_id, waiting_code,
                    f"The worker of {character_id!r} is {state}{why}; this queued "
                    f"{route.message_type} was not started. Retry when it is ready.")
            self._answer(route, answer, out)
        self._maybe_idle(out)
        return out

    # Shutdown

    def cancel_everything(self, reason: str) -> list[Effect]:
        """Answer every live request ``shutting_down`` and tell workers to stop them."""
        out: list[Effect] = []
        for route in self._table.take_all():
            self._deadlines.discard(route.request_id)
            if route.dispatched:
                out.append(CancelAtWorker(route.character_id, route.request_id))
            if not route.abandoned:
                self._answer(route, error_for(route.message_id, ErrorCode.SHUTTING_DOWN,
                                              reason), out)
        for character_id in self._turns.characters():
            self._turns.clear(character_id)
        return out

    # Internals

    def _set_deadline(self, route: Route, due: float, out: list[Effect]) -> None:
        self._deadlines.add(route.request_id, due)
        out.append(DeadlineSet(due))

    def _dispatch(self, route: Route, out: list[Effect]) -> None:
        self._set_deadline(route, self._clock() + self._timeout_s, out)
        route.dispatched = True
        out.append(SendToWorker(route.character_id, WorkerRequest(
            session_id=route.session_id,
            request_id=route.request_id,
            user=route.user,
            message=route.message,
        )))

    def _finish(self, route: Route, answer: ServerMessage | None, out: list[Effect]) -> None:
        """Final answer for ``route``: deliver it, free its slot, start the next turn."""
        self._table.complete(route.request_id)
        self._deadlines.discard(route.request_id)
        if answer is not None and not route.abandoned:
            self._answer(route, answer, out)
        if route.serial:
            next_id = self._turns.finish(route.character_id, route.request_id)
            next_route = self._table.get(next_id) if next_id is not None else None
            if next_route is not None:
                # If the pool refuses it, dispatch_failed finishes it, starting the one after.
                self._dispatch(next_route, out)
        self._maybe_idle(out)

    def _answer(self, route: Route, message: ServerMessage, out: list[Effect]) -> None:
        out.append(AnswerSession(route.session_id, route.message_type, _echo(route, message),
                                 self._clock() - route.started_at))

    def _maybe_idle(self, out: list[Effect]) -> None:
        if self._table.live() == 0:
            out.append(AllAnswered())


def _echo(route: Route, message: ServerMessage) -> ServerMessage:
    """``message`` carrying the client's ``message_id`` (workers answer the request id)."""
    if message.message_id == route.message_id:
        return message
    return msgspec.structs.replace(message, message_id=route.message_id)


def _refusal(
    session_id: str, message_type: str, message_id: str | None, text: str
) -> AnswerSession:
    """``busy`` at admission: the request never entered the books."""
    return AnswerSession(session_id, message_type, error_for(message_id, ErrorCode.BUSY, text),
                         None)
