"""Answer ``llm_unavailable`` fast while the LLM server is down, and notice when it is back.

``AvailabilityGate`` is the pure core: given failures and successes and an injected clock, it
says whether the next request may go out or must be refused at once. ``GuardedBackend`` is
the thin shell that wraps any ``Backend`` with a gate.

Re-checks are lazy: no background task polls the server. After the *n*-th consecutive
failure requests are refused for ``backoff.delay_s(n)`` seconds; the first request after that
goes through to the server and is itself the probe. So a chat sent long after the server came
back works at once, and a burst of chats while it is down costs one connection attempt per
backoff period, not one each.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Literal

from worker.backends.backoff import ExponentialBackoff
from worker.backends.base import (
    Backend,
    GenerationDone,
    GenerationRequest,
    LLMError,
    LLMUnavailable,
    TextDelta,
    closing_stream,
)

AvailabilityState = Literal["unknown", "available", "unavailable"]

DEFAULT_RECHECK_BACKOFF = ExponentialBackoff(initial_s=0.5, factor=2.0, max_s=15.0)


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
            f"{self._last_error} [the LLM server is checked again in {wait:.1f}s;"
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
    """A ``Backend`` that refuses fast while its inner backend's server is known to be down.

    ``check()`` and ``generate()`` feed the gate: ``LLMUnavailable`` from the inner backend
    is a failure, any answer from the server (a first event, or an ``LLMError``) a success.
    Never hangs longer than the inner backend's own timeouts, never raises anything but
    ``BackendError`` subclasses (and ``CancelledError``).
    """

    def __init__(self, inner: Backend, gate: AvailabilityGate) -> None:
        self.inner = inner
        self.gate = gate
        self.name = inner.name

    @property
    def availability(self) -> AvailabilitySnapshot:
        return self.gate.snapshot()

    async def check(self) -> None:
        """Probe the server now, whatever the backoff says (the worker calls this at start)."""
        try:
            await self.inner.check()
        except LLMUnavailable as exc:
            self.gate.record_failure(exc)
            raise
        self.gate.record_success()

    async def generate(
        self, request: GenerationRequest
    ) -> AsyncGenerator[TextDelta | GenerationDone, None]:
        refusal = self.gate.refusal()
        if refusal is not None:
            raise refusal
        answered = False
        try:
            # Closing this generator must close the inner one (and its HTTP response) now,
            # not when the garbage collector gets to it.
            async with closing_stream(self.inner.generate(request)) as stream:
                async for event in stream:
                    if not answered:
                        answered = True
                        self.gate.record_success()
                    yield event
        except LLMUnavailable as exc:
            self.gate.record_failure(exc)
            raise
        except LLMError:
            self.gate.record_success()  # it answered, if only with an error: it is up
            raise

    async def aclose(self) -> None:
        await self.inner.aclose()


def availability_of(backend: Backend) -> AvailabilitySnapshot | None:
    """The availability report of a guarded backend; ``None`` for one that is always there
    (the offline ``scripted`` backend)."""
    return backend.availability if isinstance(backend, GuardedBackend) else None
