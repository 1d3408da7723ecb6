"""The rate limit for ``handshake_refused`` records, on a fake clock."""

from __future__ import annotations

from supervisor.gateway.refusal_log import RefusalKey, RefusalLogLimiter, Suppressed

EVIL = RefusalKey(403, "https://evil.example", None)
REBOUND = RefusalKey(403, None, "evil.example:8765")


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_first_refusal_of_a_kind_is_logged_and_the_rest_of_the_minute_counted() -> None:
    clock = FakeClock()
    limiter = RefusalLogLimiter(clock, window_s=60)
    decisions = [limiter.refused(EVIL) for _ in range(300)]
    assert decisions[0] == (True, [])
    assert decisions[1:] == [(False, [])] * 299
    assert limiter.refused(REBOUND) == (True, [])  # another kind has its own window


def test_a_windows_count_is_reported_once_when_it_ends() -> None:
    clock = FakeClock()
    limiter = RefusalLogLimiter(clock, window_s=60)
    for _ in range(5):
        limiter.refused(EVIL)
    assert limiter.next_end() == 1060.0
    clock.now = 1059.9
    assert limiter.expire() == []
    clock.now = 1060.0
    assert limiter.expire() == [Suppressed(EVIL, 4, 60)]
    assert limiter.expire() == [] and limiter.next_end() is None


def test_the_next_logged_refusal_brings_the_ended_windows_count_first() -> None:
    clock = FakeClock()
    limiter = RefusalLogLimiter(clock, window_s=60)
    limiter.refused(EVIL)
    limiter.refused(EVIL)
    clock.now += 61
    assert limiter.refused(EVIL) == (True, [Suppressed(EVIL, 1, 60)])


def test_a_window_without_later_refusals_ends_silently() -> None:
    clock = FakeClock()
    limiter = RefusalLogLimiter(clock, window_s=60)
    limiter.refused(EVIL)
    clock.now += 60
    assert limiter.expire() == []
    assert len(limiter) == 0


def test_kinds_beyond_the_limit_are_counted_together_so_memory_and_lines_stay_bounded() -> None:
    clock = FakeClock()
    limiter = RefusalLogLimiter(clock, window_s=60, max_kinds=3)
    logged = [limiter.refused(RefusalKey(403, f"https://{n}.example", None))[0]
              for n in range(1000)]
    assert logged == [True] * 3 + [False] * 997
    assert len(limiter) == 3
    clock.now += 60
    assert limiter.expire() == [Suppressed(None, 997, 60)]


def test_drain_reports_every_open_windows_count_at_shutdown() -> None:
    clock = FakeClock()
    limiter = RefusalLogLimiter(clock, window_s=60, max_kinds=1)
    for key in (EVIL, EVIL, REBOUND):
        limiter.refused(key)
    assert limiter.drain() == [Suppressed(EVIL, 1, 60), Suppressed(None, 1, 60)]
    assert limiter.next_end() is None
