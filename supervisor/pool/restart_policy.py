"""When to restart a crashed worker, after how long, and when to give up (quarantine).

Erlang/OTP semantics for the intensity limit: more than ``max_restarts`` restarts within
``window_s`` seconds and the character is quarantined instead of restarted. OTP stops the
whole supervisor there; we quarantine only that one character so the others keep serving.
What OTP lacks is added on top: exponential backoff with jitter between restarts, reset once a
worker has run for ``stable_after_s`` seconds.

Pure: no clock, no randomness of its own. The caller passes ``now`` (seconds on a monotonic
clock) and the policy draws jitter from the ``random.Random`` it was given, so a test with a
seeded RNG sees exact delays.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass

from runtime.settings import RestartSettings


@dataclass(frozen=True, slots=True)
class RestartLimits:
    """The knobs of the policy (all durations in seconds).

    ``jitter`` is the fraction of each backoff delay that is random: a delay ``d`` becomes a
    value drawn uniformly from ``[d * (1 - jitter), d]``, so restarts of several characters
    that crashed together spread out instead of stampeding.
    """

    max_restarts: int = 5
    window_s: float = 30.0
    backoff_initial_s: float = 0.01
    backoff_max_s: float = 5.0
    stable_after_s: float = 60.0
    jitter: float = 0.5

    def __post_init__(self) -> None:
        if self.max_restarts < 0:
            raise ValueError(f"max_restarts must be >= 0, got {self.max_restarts}")
        if self.window_s <= 0 or self.stable_after_s <= 0:
            raise ValueError("window_s and stable_after_s must be > 0")
        if self.backoff_initial_s < 0 or self.backoff_max_s < 0:
            raise ValueError("backoff delays must be >= 0")
        if not 0.0 <= self.jitter <= 1.0:
            raise ValueError(f"jitter must be within [0, 1], got {self.jitter}")

    @classmethod
    def of(cls, settings: RestartSettings) -> RestartLimits:
        """The limits ``GREENROOM_RESTART_*`` configure."""
        return cls(max_restarts=settings.restart_max, window_s=settings.restart_window_s,
                   backoff_initial_s=settings.restart_backoff_initial_s,
                   backoff_max_s=settings.restart_backoff_max_s,
                   stable_after_s=settings.restart_stable_after_s)


@dataclass(frozen=True, slots=True)
class Restart:
    """Restart the worker after ``delay_s`` seconds; ``attempt`` counts consecutive crashes."""

    delay_s: float
    attempt: int


@dataclass(frozen=True, slots=True)
class Quarantine:
    """Stop restarting: ``restarts`` crashes happened within ``window_s`` seconds."""

    restarts: int
    window_s: float

    @property
    def reason(self) -> str:
        return (
            f"crashed {self.restarts} times within {self.window_s:g} s "
            "(restart intensity limit reached)"
        )


RestartDecision = Restart | Quarantine


def intensity_exceeded(
    restart_times: Sequence[float], now: float, max_restarts: int, window_s: float
) -> bool:
    """OTP's check: would one more restart at ``now`` make more than ``max_restarts`` restarts
    within the last ``window_s`` seconds (``restart_times`` are earlier restarts)?"""
    recent = sum(1 for t in restart_times if now - t < window_s)
    return recent + 1 > max_restarts


def backoff_delay(attempt: int, limits: RestartLimits, rng: random.Random) -> float:
    """The jittered delay before restart number ``attempt`` (1-based) of a crash streak."""
    base = min(limits.backoff_max_s, limits.backoff_initial_s * 2.0 ** (attempt - 1))
    return base * (1.0 - limits.jitter * rng.random())


class RestartPolicy:
    """The restart history of one character and the decisions derived from it.

    Memory: keeps at most ``max_restarts`` timestamps (older ones cannot matter).
    """

    def __init__(self, limits: RestartLimits, rng: random.Random) -> None:
        self._limits = limits
        self._rng = rng
        self._restart_times: list[float] = []
        self._streak = 0
        self._total = 0

    @property
    def limits(self) -> RestartLimits:
        return self._limits

    @property
    def restarts(self) -> int:
        """Restarts granted after crashes since the pool started (what ``greenroom ps``
        shows); ``clear`` does not reset it."""
        return self._total

    def on_exit(self, now: float, started_at: float) -> RestartDecision:
        """The worker started at ``started_at`` exited abnormally at ``now``: decide.

        A worker that ran at least ``stable_after_s`` resets the backoff streak (the next
        delay is the initial one again); the intensity window is never reset by it.
        """
        if now - started_at >= self._limits.stable_after_s:
            self._streak = 0
        if intensity_exceeded(
            self._restart_times, now, self._limits.max_restarts, self._limits.window_s
        ):
            recent = sum(1 for t in self._restart_times if now - t < self._limits.window_s)
            return Quarantine(restarts=recent + 1, window_s=self._limits.window_s)
        self._streak += 1
        self._total += 1
        self._restart_times.append(now)
        del self._restart_times[: -max(self._limits.max_restarts, 1)]
        delay = backoff_delay(self._streak, self._limits, self._rng)
        return Restart(delay_s=delay, attempt=self._streak)

    def clear(self) -> None:
        """An operator restarted the character (``greenroom restart``): forget the history,
        so a fixed character gets the full intensity budget again."""
        self._restart_times.clear()
        self._streak = 0
