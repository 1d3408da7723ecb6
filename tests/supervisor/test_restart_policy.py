"""RestartPolicy: OTP intensity limit, exponential backoff with jitter, stable reset."""

from __future__ import annotations

import random

import pytest

from supervisor.pool.restart_policy import (
    Quarantine,
    Restart,
    RestartLimits,
    RestartPolicy,
    backoff_delay,
    intensity_exceeded,
)

NO_JITTER = RestartLimits(
    max_restarts=3, window_s=10.0, backoff_initial_s=0.1, backoff_max_s=1.0,
    stable_after_s=60.0, jitter=0.0,
)


def crash_now(policy: RestartPolicy, now: float, started_at: float | None = None) -> object:
    return policy.on_exit(now=now, started_at=now - 0.5 if started_at is None else started_at)


def test_first_crash_restarts_after_the_initial_delay() -> None:
    policy = RestartPolicy(NO_JITTER, random.Random(0))
    assert crash_now(policy, 100.0) == Restart(delay_s=0.1, attempt=1)


def test_consecutive_crashes_double_the_delay_up_to_the_maximum() -> None:
    limits = RestartLimits(max_restarts=100, window_s=1.0, backoff_initial_s=0.1,
                           backoff_max_s=0.5, jitter=0.0)
    policy = RestartPolicy(limits, random.Random(0))
    delays = [policy.on_exit(now=10.0 * i, started_at=10.0 * i - 1) for i in range(1, 6)]
    assert [d.delay_s for d in delays if isinstance(d, Restart)] == [0.1, 0.2, 0.4, 0.5, 0.5]


def test_jitter_shortens_the_delay_by_at_most_its_fraction() -> None:
    limits = RestartLimits(backoff_initial_s=1.0, backoff_max_s=1.0, jitter=0.5)
    rng = random.Random(42)
    delays = [backoff_delay(1, limits, rng) for _ in range(1000)]
    assert all(0.5 <= d <= 1.0 for d in delays)
    assert max(delays) - min(delays) > 0.4  # really spread, not constant


def test_jitter_is_drawn_from_the_injected_rng() -> None:
    limits = RestartLimits(jitter=0.5)
    first = [backoff_delay(n, limits, random.Random(7)) for n in range(1, 5)]
    second = [backoff_delay(n, limits, random.Random(7)) for n in range(1, 5)]
    assert first == second


def test_more_than_max_restarts_within_the_window_quarantines() -> None:
    policy = RestartPolicy(NO_JITTER, random.Random(0))
    decisions = [crash_now(policy, 100.0 + i) for i in range(4)]
    assert all(isinstance(d, Restart) for d in decisions[:3])
    assert decisions[3] == Quarantine(restarts=4, window_s=10.0)


def test_crashes_spread_wider_than_the_window_never_quarantine() -> None:
    policy = RestartPolicy(NO_JITTER, random.Random(0))
    decisions = [crash_now(policy, 100.0 + 4.0 * i) for i in range(20)]
    assert all(isinstance(d, Restart) for d in decisions)


def test_zero_max_restarts_quarantines_on_the_first_crash() -> None:
    limits = RestartLimits(max_restarts=0)
    assert isinstance(RestartPolicy(limits, random.Random(0)).on_exit(5.0, 4.0), Quarantine)


def test_a_stable_run_resets_the_backoff_streak() -> None:
    policy = RestartPolicy(NO_JITTER, random.Random(0))
    crash_now(policy, 100.0)
    crash_now(policy, 100.5)
    after_stable_run = policy.on_exit(now=200.0, started_at=130.0)
    assert after_stable_run == Restart(delay_s=0.1, attempt=1)


def test_clear_restores_the_full_intensity_budget() -> None:
    policy = RestartPolicy(NO_JITTER, random.Random(0))
    for i in range(4):
        crash_now(policy, 100.0 + i)
    policy.clear()
    assert crash_now(policy, 104.0) == Restart(delay_s=0.1, attempt=1)


def test_restarts_counts_granted_restarts_and_survives_clear() -> None:
    policy = RestartPolicy(NO_JITTER, random.Random(0))
    crash_now(policy, 1.0)
    crash_now(policy, 2.0)
    policy.clear()
    assert policy.restarts == 2


def test_quarantine_reason_names_the_count_and_window() -> None:
    assert Quarantine(restarts=6, window_s=30.0).reason.startswith("crashed 6 times within 30 s")


@pytest.mark.parametrize(
    ("times", "now", "exceeded"),
    [([], 0.0, False), ([1.0, 2.0], 3.0, False), ([1.0, 2.0, 3.0], 4.0, True),
     ([1.0, 2.0, 3.0], 11.5, False)],
)
def test_intensity_is_a_count_over_the_sliding_window(
    times: list[float], now: float, exceeded: bool
) -> None:
    assert intensity_exceeded(times, now, max_restarts=3, window_s=10.0) is exceeded


def test_invalid_limits_are_refused() -> None:
    with pytest.raises(ValueError, match="jitter"):
        RestartLimits(jitter=1.5)
