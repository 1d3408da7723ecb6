"""The per-address backoff for wrong tokens, on a fake clock."""

from __future__ import annotations

from supervisor.gateway.auth_throttle import AuthThrottle


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_five_failures_within_the_window_block_the_address_for_a_second() -> None:
    clock = FakeClock()
    throttle = AuthThrottle(clock, max_failures=5, window_s=60, first_block_s=1)
    assert [throttle.failed("10.0.0.1") for _ in range(4)] == [0.0] * 4
    assert throttle.failed("10.0.0.1") == 1.0
    assert throttle.retry_after("10.0.0.2") == 0.0
    clock.now += 0.5
    assert throttle.retry_after("10.0.0.1") == 0.5
    clock.now += 0.5
    assert throttle.retry_after("10.0.0.1") == 0.0


def test_failures_spread_wider_than_the_window_never_block() -> None:
    clock = FakeClock()
    throttle = AuthThrottle(clock, max_failures=5, window_s=60)
    for _ in range(20):
        assert throttle.failed("a") == 0.0
        clock.now += 15.1


def test_each_further_block_doubles_up_to_the_cap() -> None:
    clock = FakeClock()
    throttle = AuthThrottle(clock, max_failures=2, first_block_s=1, max_block_s=5)
    blocks = []
    for _ in range(5):
        throttle.failed("a")
        blocks.append(throttle.failed("a"))
        clock.now += blocks[-1]
    assert blocks == [1.0, 2.0, 4.0, 5.0, 5.0]


def test_a_right_token_forgets_the_address() -> None:
    clock = FakeClock()
    throttle = AuthThrottle(clock, max_failures=2)
    throttle.failed("a")
    throttle.succeeded("a")
    assert throttle.failed("a") == 0.0
    assert throttle.failed("a") > 0


def test_memory_is_bounded_by_forgetting_the_least_recently_seen_address() -> None:
    throttle = AuthThrottle(FakeClock(), max_failures=2, max_addresses=3)
    throttle.failed("kept")
    for n in range(10):
        throttle.failed("kept")
        throttle.failed(f"flood-{n}")
    assert len(throttle) == 3
    assert throttle.retry_after("kept") > 0
