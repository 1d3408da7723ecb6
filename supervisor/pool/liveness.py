"""Heartbeat bookkeeping for one worker: is it still answering? Pure, clock injected.

The shell sends ``Heartbeat(seq)`` every ``interval_s`` and feeds each ``HeartbeatAck`` to
``on_ack``. A worker is *unresponsive* when nothing has been acknowledged for ``timeout_s``
seconds — measured from its last acknowledged ping, or from ``start`` if it never answered.
Acks are answered on the worker's event loop, so an infinite loop in character code (which
never yields to the loop) stops them even though the process is alive; the engine runs a
turn's CPU-heavy pure steps in a thread, so legitimate work never does.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class Liveness:
    """Heartbeat state of one worker process (all times in seconds, monotonic clock)."""

    interval_s: float
    timeout_s: float
    last_heard: float
    next_seq: int = 0
    suspended: bool = False

    @classmethod
    def start(cls, now: float, interval_s: float, timeout_s: float) -> Liveness:
        if interval_s <= 0 or timeout_s <= 0:
            raise ValueError("heartbeat interval and timeout must be > 0")
        return cls(interval_s=interval_s, timeout_s=timeout_s, last_heard=now)

    def ping(self) -> int:
        """The ``seq`` of the next heartbeat to send."""
        seq = self.next_seq
        self.next_seq += 1
        return seq

    def on_ack(self, seq: int, now: float) -> None:
        """An ack arrived. Stale or forged sequence numbers (never sent) are ignored."""
        if 0 <= seq < self.next_seq:
            self.last_heard = max(self.last_heard, now)

    def suspend(self) -> None:
        """A debugger may pause the worker: silence no longer means hung."""
        self.suspended = True

    def resume(self, now: float) -> None:
        """Silence counts again, from ``now`` (a debugger that never started)."""
        self.suspended = False
        self.last_heard = max(self.last_heard, now)

    def silent_for(self, now: float) -> float:
        return max(0.0, now - self.last_heard)

    def is_unresponsive(self, now: float) -> bool:
        """True when the worker should be killed for silence."""
        return not self.suspended and self.silent_for(now) > self.timeout_s
