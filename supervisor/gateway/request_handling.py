"""One decoded request, from admission to its answer: refused (``admission.py``), forwarded to
the character's worker (through the router), or answered by the gateway itself
(``gateway_answers.py``).

Frames of one session are handled in arrival order (the reader awaits ``handle``), except a
``debug_request``: it may wait for a restarting worker, so it is answered beside the reader,
at most ``session_request_limit`` at once per session. ``handle`` never raises: a bug answers
``internal`` and logs the traceback with the session and message id, and the session stays.
Every answer given here is counted in the metrics (type, code, seconds since arrival).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from protocol.admin import DebugRequest
from protocol.declaration import Handling
from protocol.errors import ErrorCode
from protocol.session import Hello
from protocol.unions import ServerMessage
from runtime.settings import Settings
from supervisor.gateway.admission import close_after_hello, refusal
from supervisor.gateway.auth_throttle import AuthThrottle
from supervisor.gateway.gateway_answers import GatewayAnswers
from supervisor.gateway.metrics import GatewayMetrics, code_of
from supervisor.gateway.request_kinds import handling_of
from supervisor.gateway.router import error_for
from supervisor.gateway.session import CLOSE_POLICY_VIOLATION, Session

Forward = Callable[[Session, Any, bool], None]
"""(attached session, request, serial) → the request is on its way to the worker."""


class RequestHandling:
    """``forward`` hands a request to the router (``serial``: a turn); ``closing`` tells
    whether the gateway is shutting down."""

    def __init__(
        self,
        settings: Settings,
        metrics: GatewayMetrics,
        clock: Callable[[], float],
        throttle: AuthThrottle,
        answers: GatewayAnswers,
        *,
        forward: Forward,
        closing: Callable[[], bool],
    ) -> None:
        self._settings = settings
        self._metrics = metrics
        self._clock = clock
        self._throttle = throttle
        self._answers = answers
        self._forward = forward
        self._closing = closing

    async def handle(
        self, session: Session, message: Any, message_type: str, started: float
    ) -> None:
        """Admit and answer one request that arrived at ``started`` (the clock's time)."""
        try:
            refused = refusal(session.state, message, message_type, self._settings,
                              closing=self._closing())
            if refused is not None:
                self._answer(session, message_type, refused, started)
                return
            handling = handling_of(message_type)
            if handling in (Handling.TURN, Handling.DIRECT):
                self._forward(session, message, handling is Handling.TURN)
            elif handling is Handling.ATTACH:
                failure = await self._answers.attach(
                    session, message.character_id, message.message_id)
                if failure is not None:
                    self._answer(session, message_type, failure, started)
                else:  # the worker describes the character in the init_response
                    self._forward(session, message, False)
            elif isinstance(message, DebugRequest):
                self._answer_beside(session, message, message_type, started)
            else:
                answer = await self._answers.answer(session, message)
                self._answer(session, message_type, answer, started)
                if isinstance(message, Hello):
                    reason = close_after_hello(session.state, self._throttle)
                    if reason is not None:
                        session.request_close(CLOSE_POLICY_VIOLATION, reason)
        except Exception:
            self._answer_internal_error(session, message, message_type, started)

    def _answer_beside(
        self, session: Session, message: Any, message_type: str, started: float
    ) -> None:
        limit = self._settings.gateway.session_request_limit
        if session.running_beside >= limit:
            self._answer(session, message_type, error_for(
                message.message_id, ErrorCode.BUSY,
                f"This session already has {limit} debug requests running (the per-session "
                "limit, GREENROOM_SESSION_REQUEST_LIMIT); wait for their answers before "
                "sending more."), started)
            return
        session.run_beside(self._answer_later(session, message, message_type, started))

    async def _answer_later(
        self, session: Session, message: Any, message_type: str, started: float
    ) -> None:
        try:
            answer = await self._answers.answer(session, message)
        except Exception:
            self._answer_internal_error(session, message, message_type, started)
            return
        self._answer(session, message_type, answer, started)

    def _answer(
        self, session: Session, message_type: str, answer: ServerMessage, started: float
    ) -> None:
        self._metrics.answered(message_type, code_of(answer), self._clock() - started)
        session.send(answer)

    def _answer_internal_error(
        self, session: Session, message: Any, message_type: str, started: float
    ) -> None:
        session.log.exception(
            "request_failed", message_type=message_type, message_id=message.message_id
        )
        self._answer(session, message_type, error_for(
            message.message_id, ErrorCode.INTERNAL,
            f"Internal error while handling {message_type}; the server log has the details "
            f"under session {session.session_id}."), started)
