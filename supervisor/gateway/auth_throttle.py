"""Per-address backoff for wrong tokens: guessing GREENROOM_TOKEN must not be fast.

A pure object with an injected clock. After ``max_failures`` wrong tokens from one address
within ``window_s`` seconds, that address is refused for ``first_block_s`` seconds; each
further block from the same address doubles, up to ``max_block_s``. A right token forgets
the address. At most ``max_addresses`` addresses are remembered (the least recently seen is
forgotten first), so a flood of addresses cannot grow memory without bound.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(slots=True)
class _Address:
    failures: deque[float]
    blocks: int = 0
    blocked_until: float = field(default=float("-inf"))


class AuthThrottle:
    def __init__(
        self,
        clock: Callable[[], float],
        *,
        max_failures: int = 5,
        window_s: float = 60.0,
        first_block_s: float = 1.0,
        max_block_s: float = 300.0,
        max_addresses: int = 4096,
    ) -> None:
        self._clock = clock
        self._max_failures = max_failures
        self._window_s = window_s
        self._first_block_s = first_block_s
        self._max_block_s = max_block_s
        self._max_addresses = max_addresses
        self._addresses: OrderedDict[str, _Address] = OrderedDict()

    def retry_after(self, address: str) -> float:
        """Seconds until ``address`` may try a token again; 0.0 when it may now."""
        record = self._addresses.get(address)
        if record is None:
            return 0.0
        return max(0.0, record.blocked_until - self._clock())

    def failed(self, address: str) -> float:
        """Count one wrong token from ``address``; returns ``retry_after`` afterwards."""
        now = self._clock()
        record = self._addresses.pop(address, None) or _Address(
            failures=deque(maxlen=self._max_failures)
        )
        self._addresses[address] = record
        while len(self._addresses) > self._max_addresses:
            self._addresses.popitem(last=False)
        record.failures.append(now)
        if (
            len(record.failures) == self._max_failures
            and now - record.failures[0] <= self._window_s
        ):
            record.failures.clear()
            record.blocks += 1
            block_s = self._first_block_s * 2.0 ** min(record.blocks - 1, 32)
            record.blocked_until = now + min(block_s, self._max_block_s)
        return self.retry_after(address)

    def succeeded(self, address: str) -> None:
        """A right token from ``address``: forget its failures and blocks."""
        self._addresses.pop(address, None)

    def __len__(self) -> int:
        return len(self._addresses)
