"""What a running turn tells the gateway besides its deltas: its generation status and the
keepalives that hold off the gateway's request deadline."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from protocol.chat import GenerationPhase, GenerationStatus
from protocol.pipe import FromWorker, WorkerProgress, WorkerReply

#: The longest gap between two ``WorkerProgress`` frames of a running turn, in seconds.
MAX_KEEPALIVE_S = 5.0


def keepalive_interval(request_timeout_s: float) -> float:
    """A third of the gateway's request timeout (so two frames may be late before it
    fires), at most ``MAX_KEEPALIVE_S``."""
    return min(MAX_KEEPALIVE_S, request_timeout_s / 3)


class TurnProgress:
    """What a running turn tells the gateway besides its deltas.

    ``enter(phase)`` sends a ``generation_status`` (only for a ``stream: true`` request; the
    gateway forwards it). Every ``interval_s`` a timer (a loop callback, no task) sends a
    keepalive: the current ``generation_status`` again when the client was sent nothing
    since the last one (a long prompt, a stalled stream), else a ``WorkerProgress`` frame
    for the gateway alone. Either keeps the gateway's request deadline from expiring while
    the worker is working; a blocked event loop sends nothing, as it should.
    """

    def __init__(self, send: Callable[[FromWorker], None], request_id: int,
                 message_id: str | None, *, stream: bool, interval_s: float) -> None:
        self._send = send
        self._request_id = request_id
        self._message_id = message_id
        self._stream = stream
        self._progress = WorkerProgress(request_id=request_id)
        self._interval_s = interval_s
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._phase: GenerationPhase | None = None
        #: Nothing was sent to the client since the last tick (the turn's owner clears it).
        self.quiet = True
        self._handle = self._loop.call_later(interval_s, self._tick)

    def enter(self, phase: GenerationPhase) -> None:
        self._phase = phase
        if self._stream:
            self._send_status(phase)

    def enter_soon(self, phase: GenerationPhase) -> None:
        """``enter`` once the turn's task next waits — for ``reading_prompt``, when the HTTP
        request has been written — so the frame never delays the request itself. Skipped if
        another phase was entered meanwhile (a backend that answered without waiting)."""
        self._phase = phase
        self._loop.call_soon(self._enter_if_still, phase)

    def _enter_if_still(self, phase: GenerationPhase) -> None:
        if self._phase == phase and self._stream:
            self._send_status(phase)

    def _send_status(self, phase: GenerationPhase) -> None:
        status = GenerationStatus(message_id=self._message_id, phase=phase,
                                  elapsed_s=round(self._loop.time() - self._started, 3))
        self._send(WorkerReply(request_id=self._request_id, message=status, final=False))
        self.quiet = False

    def _tick(self) -> None:
        if self._stream and self._phase is not None and self.quiet:
            self._send_status(self._phase)
        else:
            self._send(self._progress)
        self.quiet = True
        self._handle = self._loop.call_later(self._interval_s, self._tick)

    def stop(self) -> None:
        self._handle.cancel()
