"""Exponential backoff as a pure function of how many times something has failed in a row."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ExponentialBackoff:
    """Delay before the next attempt: ``initial_s * factor**(failures - 1)``, capped at ``max_s``.

    No jitter: one worker talks to one LLM server, so there is no herd to spread out, and a
    deterministic delay is what the tests and the status report can state exactly.
    """

    initial_s: float = 0.5
    factor: float = 2.0
    max_s: float = 15.0

    def __post_init__(self) -> None:
        if self.initial_s < 0 or self.max_s < 0 or self.factor < 1:
            raise ValueError(f"invalid backoff {self!r}: need initial_s, max_s >= 0, factor >= 1")

    def delay_s(self, failures: int) -> float:
        """Seconds to wait after the ``failures``-th consecutive failure (0 failures: no wait)."""
        if failures <= 0:
            return 0.0
        # Cap the exponent too, so a long outage cannot overflow the float.
        exponent = min(failures - 1, 64)
        return float(min(self.max_s, self.initial_s * self.factor**exponent))


@dataclass(frozen=True, slots=True)
class ConnectRetry:
    """How often a request is re-sent when the connection itself could not be opened.

    Only a failed *connect* is retried: then the server has provably not seen the request.
    ``attempts`` counts every try, the first included (1 means no retry).
    """

    attempts: int = 3
    backoff: ExponentialBackoff = ExponentialBackoff(initial_s=0.1, factor=2.0, max_s=1.0)

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError(f"ConnectRetry.attempts must be >= 1, got {self.attempts}")


DEFAULT_CONNECT_RETRY = ConnectRetry()
