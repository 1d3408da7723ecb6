"""Heartbeat liveness: silence past the timeout means hung, unless suspended for a debugger."""

from __future__ import annotations

from supervisor.pool.liveness import Liveness


def test_a_worker_is_responsive_until_the_timeout_passes_without_acks() -> None:
    live = Liveness.start(now=0.0, interval_s=1.0, timeout_s=5.0)
    assert not live.is_unresponsive(5.0)
    assert live.is_unresponsive(5.01)


def test_an_ack_restarts_the_silence_clock() -> None:
    live = Liveness.start(now=0.0, interval_s=1.0, timeout_s=5.0)
    seq = live.ping()
    live.on_ack(seq, now=4.0)
    assert not live.is_unresponsive(8.9)
    assert live.silent_for(8.0) == 4.0


def test_acks_for_never_sent_pings_are_ignored() -> None:
    live = Liveness.start(now=0.0, interval_s=1.0, timeout_s=5.0)
    live.on_ack(17, now=4.0)
    assert live.is_unresponsive(6.0)


def test_a_late_ack_never_moves_the_clock_backwards() -> None:
    live = Liveness.start(now=0.0, interval_s=1.0, timeout_s=5.0)
    first, second = live.ping(), live.ping()
    live.on_ack(second, now=3.0)
    live.on_ack(first, now=2.0)
    assert live.last_heard == 3.0


def test_a_suspended_worker_is_never_unresponsive() -> None:
    live = Liveness.start(now=0.0, interval_s=1.0, timeout_s=5.0)
    live.suspend()
    assert not live.is_unresponsive(10_000.0)


def test_a_resumed_worker_counts_its_silence_from_the_resume() -> None:
    live = Liveness.start(now=0.0, interval_s=1.0, timeout_s=5.0)
    live.suspend()
    live.resume(now=100.0)
    assert not live.is_unresponsive(105.0)
    assert live.is_unresponsive(105.01)
