"""What the router asks the gateway to do: small frozen values, carried out in order.

``Router`` (``router.py``) performs no I/O; each of its inputs returns a list of these, and
``Gateway`` carries them out before it feeds the router anything else. Only ``SendToWorker``
can fail in a way the router must hear about: the gateway then calls
``Router.dispatch_failed``, whose effects are carried out next.
"""

from __future__ import annotations

from dataclasses import dataclass

from protocol.pipe import WorkerRequest
from protocol.unions import ServerMessage


@dataclass(frozen=True, slots=True)
class SendToWorker:
    """Send ``request`` to the character's worker now. When the pool refuses it
    (``PoolError``), it never reached the worker: call ``Router.dispatch_failed``."""

    character_id: str
    request: WorkerRequest


@dataclass(frozen=True, slots=True)
class CancelAtWorker:
    """Tell the worker to stop request ``request_id`` (``WorkerCancel``). Best effort: when
    the pool refuses, the worker is going away, and its state change settles the request."""

    character_id: str
    request_id: int


@dataclass(frozen=True, slots=True)
class CreditWorker:
    """Let the worker send one more ``export_chunk`` of ``request_id`` (``ExportCredit``).
    Best effort, like ``CancelAtWorker``."""

    character_id: str
    request_id: int


@dataclass(frozen=True, slots=True)
class SendToSession:
    """Queue a frame that is not a final answer (a delta, a status, an export chunk) for the
    session, if it is still connected. With ``credit_request_id`` set, call
    ``Router.chunk_written(credit_request_id)`` once the frame is written to the socket."""

    session_id: str
    message: ServerMessage
    credit_request_id: int | None = None


@dataclass(frozen=True, slots=True)
class AnswerSession:
    """The one final answer of a request: count it in the metrics (``latency_s`` since it
    arrived; ``None`` when it was refused as it arrived) and queue it for the session, if it
    is still connected."""

    session_id: str
    message_type: str
    message: ServerMessage
    latency_s: float | None


@dataclass(frozen=True, slots=True)
class DeadlineSet:
    """A request now expires at ``due`` (the router's clock): wake the expiry loop by then."""

    due: float


@dataclass(frozen=True, slots=True)
class AllAnswered:
    """No request is owed an answer any more (a graceful shutdown waits for this)."""


Effect = (
    SendToWorker
    | CancelAtWorker
    | CreditWorker
    | SendToSession
    | AnswerSession
    | DeadlineSet
    | AllAnswered
)
