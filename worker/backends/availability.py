"""Answer ``llm_unavailable`` fast while the LLM server is down, and notice when it is back.

``AvailabilityGate`` is the pure core: given failures and successes and an injected clock, it
says whether the next request may go out or must be refused at once. ``GuardedBackend`` is
the thin shell that wraps any ``Backend`` with a gate.

After the *n*-th consecutive failure requests are refused for ``backoff.delay_s(n)`` seconds
(a burst of chats while the server is down costs no connection attempt each), and meanwhile
``GuardedBackend`` probes the server in the background every ``RECOVERY_PROBE_INTERVAL_S``
with its non-interrupting health check: the first probe that passes opens the gate, so the
first chat after the server is back works within about a second instead of waiting out the
backoff. The first request after the backoff goes through to the server in any case.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Literal

import structlog

from worker.backends.backoff import ExponentialBackoff
from worker.backends.base import (
    Backend,
    BackendError,
    GenerationDone,
    GenerationOptions,
    GenerationRequest,
    LLMUnavailable,
    TextDelta,
    closing_stream,
)
from worker.backends.context_window import ContextWindow, context_window_of
from worker.backends.server_claims import ServerClaims

AvailabilityState = Literal["unknown", "available", "unavailable"]

DEFAULT_RECHECK_BACKOFF = ExponentialBackoff(initial_s=0.5, factor=2.0, max_s=15.0)
#: Seconds between two background probes while the server is known to be down: one cheap
#: request a second to a server that is not there, and a recovery noticed within a second.
RECOVERY_PROBE_INTERVAL_S = 1.0

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class AvailabilitySnapshot:
    """What a status report says about the LLM server (times in seconds)."""

    state: AvailabilityState
    consecutive_failures: int
    last_error: str | None
    retry_in_s: float


class AvailabilityGate:
    """Tracks whether the LLM server answered lately; pure apart from reading ``clock``.

    ``clock`` returns monotonic seconds. Only ``LLMUnavailable`` counts as a failure: an
    ``LLMError`` means the server answered, so it is up.
    """

    def __init__(
        self,
        clock: Callable[[], float],
        backoff: ExponentialBackoff = DEFAULT_RECHECK_BACKOFF,
    ) -> None:
        self._clock = clock
        self._backoff = backoff
        self._state: AvailabilityState = "unknown"
        self._failures = 0
        self._last_error: str | None = None
        self._retry_at = 0.0

    def refusal(self) -> LLMUnavailable | None:
        """The error to answer right now without contacting the server, or ``None`` when a
        request may go out (the server is up, unknown, or its re-check is due)."""
        if self._state != "unavailable":
            return None
        wait = self._retry_at - self._clock()
        if wait <= 0:
            return None
        return LLMUnavailable(
            f"{self._last_error} [greenroom probes the LLM server in the background and lets"
            f" chats through as soon as it answers (at the latest in {wait:.1f}s);"
            f" {self._failures} failed attempt(s) in a row]",
            retryable=True,
        )

    def record_failure(self, error: LLMUnavailable) -> None:
        self._failures += 1
        self._state = "unavailable"
        self._last_error = str(error)
        self._retry_at = self._clock() + self._backoff.delay_s(self._failures)

    def record_success(self) -> None:
        self._failures = 0
        self._state = "available"
        self._last_error = None
        self._retry_at = 0.0

    def snapshot(self) -> AvailabilitySnapshot:
        wait = max(0.0, self._retry_at - self._clock()) if self._state == "unavailable" else 0.0
        return AvailabilitySnapshot(self._state, self._failures, self._last_error, wait)


class GuardedBackend:
    """A ``Backend`` that refuses fast while its inner backend's server is known to be down,
    and probes it in the background until it is back.

    ``check()`` and ``generate()`` feed the gate: ``LLMUnavailable`` from the inner backend
    is a failure, any answer from the server (a first event, or another ``BackendError``) a
    success. After a failure a probe task (owned here, ended by ``aclose()``) calls the inner
    ``check()`` every ``probe_interval_s`` until one passes; it never probes while a reply of
    this backend streams (``streams``), so it cannot interrupt one. Never hangs longer than
    the inner backend's own timeouts, never raises anything but ``BackendError`` subclasses
    (and ``CancelledError``).

    Every reply holds its server's shared reply lock while it streams (``claims``, across
    processes: ``worker.backends.server_claims``); a ``background`` request does not, and
    is not counted in ``streams``.
    """

    def __init__(self, inner: Backend, gate: AvailabilityGate, *, claims: ServerClaims,
                 probe_interval_s: float = RECOVERY_PROBE_INTERVAL_S) -> None:
        self.inner = inner
        self.gate = gate
        self.claims = claims
        self.name = inner.name
        #: Replies streaming from the server right now (0 or 1 in a worker).
        self.streams = 0
        self._probe_interval_s = probe_interval_s
        self._probe: asyncio.Task[None] | None = None
        self._available = asyncio.Event()
        self._available.set()  # no failure outstanding yet

    @property
    def availability(self) -> AvailabilitySnapshot:
        return self.gate.snapshot()

    def context_window(self, options: GenerationOptions) -> ContextWindow | None:
        """The inner backend's (``worker.backends.context_window``)."""
        return context_window_of(self.inner, options)

    async def check(self) -> None:
        """Probe the server now, whatever the backoff says (the worker calls this at start)."""
        try:
            await self.inner.check()
        except LLMUnavailable as exc:
            self._failed(exc)
            raise
        self._succeeded()

    async def wait_available(self) -> None:
        """Return once the server has answered since the last failure (a probe passed, or a
        request got an answer); at once when no failure is outstanding."""
        await self._available.wait()

    async def generate(
        self, request: GenerationRequest
    ) -> AsyncGenerator[TextDelta | GenerationDone, None]:
        refusal = self.gate.refusal()
        if refusal is not None:
            raise refusal
        if request.background:
            async with closing_stream(self._generate(request)) as stream:
                async for event in stream:
                    yield event
            return
        async with self.claims.reply() as claim:
            if claim.waited_for is not None:
                log.info("reply_waited_for_background", backend=self.name,
                         server=self.claims.base_url, waited_for=claim.waited_for,
                         waited_ms=round(claim.waited_s * 1000, 1),
                         went_ahead=claim.went_ahead)
            self.streams += 1
            try:
                async with closing_stream(self._generate(request)) as stream:
                    async for event in stream:
                        yield event
            finally:
                self.streams -= 1

    async def _generate(
        self, request: GenerationRequest
    ) -> AsyncGenerator[TextDelta | GenerationDone, None]:
        answered = False
        try:
            # Closing this generator must close the inner one (and its HTTP response) now,
            # not when the garbage collector gets to it.
            async with closing_stream(self.inner.generate(request)) as stream:
                async for event in stream:
                    if not answered:
                        answered = True
                        self._succeeded()
                    yield event
        except LLMUnavailable as exc:
            self._failed(exc)
            raise
        except BackendError:
            self._succeeded()  # it answered, if only with an error: it is up
            raise

    def _failed(self, error: LLMUnavailable) -> None:
        self.gate.record_failure(error)
        self._available.clear()
        if self._probe is None or self._probe.done():
            self._probe = asyncio.get_running_loop().create_task(
                self._probe_until_available(), name="llm-recovery-probe")

    def _succeeded(self) -> None:
        self.gate.record_success()
        self._available.set()

    async def _probe_until_available(self) -> None:
        while not self._available.is_set():
            await asyncio.sleep(self._probe_interval_s)
            if self.streams or self._available.is_set():
                continue  # a request got through meanwhile; it is the probe
            try:
                await self.inner.check()
            except LLMUnavailable as exc:
                self.gate.record_failure(exc)
                continue
            except BackendError:
                pass  # it answered, if only with an error: it is up
            self._succeeded()
            log.info("llm_available_again", backend=self.name)

    async def aclose(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
            await asyncio.gather(self._probe, return_exceptions=True)
        await self.inner.aclose()


def availability_of(backend: Backend) -> AvailabilitySnapshot | None:
    """The availability report of a guarded backend; ``None`` for one that is always there
    (the offline ``scripted`` backend)."""
    return backend.availability if isinstance(backend, GuardedBackend) else None
