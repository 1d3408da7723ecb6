"""The backoff for wrong tokens (per source and over all sources), on a fake clock."""

from __future__ import annotations

import pytest

from supervisor.gateway.auth_throttle import LOOPBACK_SOURCE, AuthThrottle, source_of


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
    throttle = AuthThrottle(FakeClock(), max_failures=2, max_sources=3)
    throttle.failed("kept")
    for n in range(10):
        throttle.failed("kept")
        throttle.failed(f"flood-{n}")
    assert len(throttle) == 3
    assert throttle.retry_after("kept") > 0


@pytest.mark.parametrize(("address", "source"), [
    ("127.0.0.1", LOOPBACK_SOURCE),
    ("127.0.0.2", LOOPBACK_SOURCE),
    ("127.255.3.4", LOOPBACK_SOURCE),
    ("::1", LOOPBACK_SOURCE),
    ("::ffff:127.0.0.9", LOOPBACK_SOURCE),
    ("::ffff:10.1.2.3", "10.1.2.3"),
    ("10.1.2.3", "10.1.2.3"),
    ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
    ("fe80::1%eth0", "fe80::/64"),
    ("not-an-address", "not-an-address"),
])
def test_wrong_tokens_count_against_loopback_as_one_source_and_ipv6_by_its_64(
    address: str, source: str
) -> None:
    assert source_of(address) == source


def test_a_guesser_rotating_loopback_addresses_gets_five_guesses_in_all() -> None:
    """On Linux a local program can connect from any of 127.0.0.0/8."""
    clock = FakeClock()
    throttle = AuthThrottle(clock, max_failures=5, first_block_s=1)
    retries = [throttle.failed(f"127.0.0.{n}") for n in range(2, 7)]
    assert retries == [0.0] * 4 + [1.0]
    assert throttle.retry_after("127.0.0.200") == 1.0
    assert throttle.retry_after("::1") == 1.0
    assert throttle.retry_after("10.0.0.1") == 0.0


def test_addresses_in_one_ipv6_64_share_their_guesses() -> None:
    throttle = AuthThrottle(FakeClock(), max_failures=2)
    throttle.failed("2001:db8::1")
    assert throttle.failed("2001:db8::ffff:2") > 0
    assert throttle.retry_after("2001:db8:0:1::1") == 0.0


def test_rotating_addresses_is_capped_by_the_failures_over_all_sources() -> None:
    clock = FakeClock()
    throttle = AuthThrottle(clock, max_failures=5, max_total_failures=20, max_sources=4,
                            first_block_s=1)
    retries = [throttle.failed(f"10.0.{n // 256}.{n % 256}") for n in range(20)]
    assert retries == [0.0] * 19 + [1.0]
    assert throttle.retry_after("192.0.2.7") == 1.0  # never seen: held off all the same
    clock.now += 1.0
    for n in range(20):
        throttle.failed(f"10.1.{n // 256}.{n % 256}")
    assert throttle.retry_after("192.0.2.8") == 2.0  # the block over all sources doubles


def test_flooding_sources_cannot_evict_a_blocked_guesser_back_to_fresh_guesses() -> None:
    """Before, cycling more addresses than were remembered forgot the blocked record."""
    clock = FakeClock()
    throttle = AuthThrottle(clock, max_failures=5, max_total_failures=50, max_sources=3,
                            first_block_s=60, max_block_s=60)
    for _ in range(5):
        throttle.failed("10.0.0.1")
    assert throttle.retry_after("10.0.0.1") == 60.0
    for n in range(45):
        throttle.failed(f"10.9.0.{n}")
    assert throttle.retry_after("10.0.0.1") == 60.0
    assert len(throttle) == 3


def test_a_right_token_does_not_forget_the_failures_over_all_sources() -> None:
    throttle = AuthThrottle(FakeClock(), max_failures=5, max_total_failures=4)
    for n in range(3):
        throttle.failed(f"10.0.0.{n}")
    throttle.succeeded("10.0.0.1")
    assert throttle.failed("10.0.0.9") > 0
