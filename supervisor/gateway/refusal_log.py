"""Rate limit for ``handshake_refused`` records: a page looping ``new WebSocket()`` must not
flood the log (and rotate the crash history away).

A pure object with an injected clock. The first refusal of a kind — its HTTP status and the
``Origin`` it carried (or, without one, its ``Host``) — is logged and opens a window of
``window_s`` seconds for that kind; later refusals of the kind within the window are only
counted. When the window ends the count comes back once as a ``Suppressed`` (from
``refused`` — before the next refusal of any kind is decided — or from ``expire``, which
the shell calls at ``next_end``). At most ``max_kinds`` windows are open at once; refusals of
further kinds meanwhile are counted together in one overflow window (``Suppressed.key`` is
``None``). So memory is bounded, and so are the lines: per window at most ``max_kinds``
refusals plus one suppressed count per window.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RefusalKey:
    """A kind of refusal: ``origin`` when the request carried one, else ``host``."""

    status: int
    origin: str | None
    host: str | None


@dataclass(frozen=True, slots=True)
class Suppressed:
    """``count`` refusals of ``key`` (``None``: of kinds beyond ``max_kinds``) not logged
    in the window of ``window_s`` seconds that just ended."""

    key: RefusalKey | None
    count: int
    window_s: float


@dataclass(slots=True)
class _Window:
    ends: float
    count: int = 0


class RefusalLogLimiter:
    def __init__(
        self, clock: Callable[[], float], *, window_s: float = 60.0, max_kinds: int = 64
    ) -> None:
        self._clock = clock
        self._window_s = window_s
        self._max_kinds = max_kinds
        # Every window lasts window_s, so insertion order is the order they end in.
        self._windows: OrderedDict[RefusalKey, _Window] = OrderedDict()
        self._overflow: _Window | None = None

    def refused(self, key: RefusalKey) -> tuple[bool, list[Suppressed]]:
        """Count one refusal: whether to log it, and the counts of windows that ended
        (write them first)."""
        ended = self.expire()
        now = self._clock()
        window = self._windows.get(key)
        if window is not None:
            window.count += 1
            return False, ended
        if len(self._windows) >= self._max_kinds:
            if self._overflow is None:
                self._overflow = _Window(ends=now + self._window_s)
            self._overflow.count += 1
            return False, ended
        self._windows[key] = _Window(ends=now + self._window_s)
        return True, ended

    def expire(self) -> list[Suppressed]:
        """Close the windows that have ended; the counts of those that suppressed any."""
        now = self._clock()
        ended: list[Suppressed] = []
        while self._windows:
            key, window = next(iter(self._windows.items()))
            if window.ends > now:
                break
            del self._windows[key]
            if window.count:
                ended.append(Suppressed(key, window.count, self._window_s))
        if self._overflow is not None and self._overflow.ends <= now:
            ended.append(Suppressed(None, self._overflow.count, self._window_s))
            self._overflow = None
        return ended

    def drain(self) -> list[Suppressed]:
        """Close every window now (at shutdown); the counts of those that suppressed any."""
        ended = [Suppressed(key, w.count, self._window_s)
                 for key, w in self._windows.items() if w.count]
        if self._overflow is not None:
            ended.append(Suppressed(None, self._overflow.count, self._window_s))
        self._windows.clear()
        self._overflow = None
        return ended

    def next_end(self) -> float | None:
        """When the earliest open window ends (clock time); ``None`` when none is open."""
        ends = [next(iter(self._windows.values())).ends] if self._windows else []
        if self._overflow is not None:
            ends.append(self._overflow.ends)
        return min(ends, default=None)

    def __len__(self) -> int:
        """How many kinds have an open window."""
        return len(self._windows)
