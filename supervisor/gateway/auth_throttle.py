"""Backoff for wrong tokens: guessing GREENROOM_TOKEN must not be fast.

A pure object with an injected clock. Wrong tokens are counted per *source* (``source_of``):
every loopback address is one source (on Linux any local program may connect from any of
127.0.0.0/8), an IPv6 address counts by its /64 (one host usually holds a whole /64), an
IPv4 address by itself. After ``max_failures`` wrong tokens from one source within
``window_s`` seconds, that source is refused for ``first_block_s`` seconds; each further
block of the same source doubles, up to ``max_block_s``. A right token forgets the source.

Independently of sources, after ``max_total_failures`` wrong tokens from all of them
together within ``window_s``, every source is refused with the same doubling backoff (its
count is never forgotten): a guesser that rotates addresses — or floods ``max_sources``
of them so that its own blocked record is forgotten — is still held to that rate. At most
``max_sources`` sources are remembered (the least recently seen is forgotten first), so
memory stays bounded.
"""

from __future__ import annotations

import ipaddress
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

LOOPBACK_SOURCE = "loopback"


def source_of(address: str) -> str:
    """What wrong tokens from ``address`` (an IP address without port) count against."""
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return LOOPBACK_SOURCE
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass(slots=True)
class _Backoff:
    """Recent failures (at most as many as block) and the doubling block they earned."""

    failures: deque[float]
    blocks: int = 0
    blocked_until: float = field(default=float("-inf"))

    def failed(self, now: float, window_s: float, first_block_s: float,
               max_block_s: float) -> None:
        self.failures.append(now)
        if len(self.failures) == self.failures.maxlen and now - self.failures[0] <= window_s:
            self.failures.clear()
            self.blocks += 1
            block_s = first_block_s * 2.0 ** min(self.blocks - 1, 32)
            self.blocked_until = now + min(block_s, max_block_s)


class AuthThrottle:
    def __init__(
        self,
        clock: Callable[[], float],
        *,
        max_failures: int = 5,
        max_total_failures: int = 50,
        window_s: float = 60.0,
        first_block_s: float = 1.0,
        max_block_s: float = 300.0,
        max_sources: int = 4096,
    ) -> None:
        self._clock = clock
        self._max_failures = max_failures
        self._window_s = window_s
        self._first_block_s = first_block_s
        self._max_block_s = max_block_s
        self._max_sources = max_sources
        self._sources: OrderedDict[str, _Backoff] = OrderedDict()
        self._everyone = _Backoff(failures=deque(maxlen=max_total_failures))

    def retry_after(self, address: str) -> float:
        """Seconds until ``address`` may try a token again; 0.0 when it may now."""
        record = self._sources.get(source_of(address))
        blocked_until = max(
            self._everyone.blocked_until,
            record.blocked_until if record is not None else float("-inf"),
        )
        return max(0.0, blocked_until - self._clock())

    def failed(self, address: str) -> float:
        """Count one wrong token from ``address``; returns ``retry_after`` afterwards."""
        now = self._clock()
        source = source_of(address)
        record = self._sources.pop(source, None) or _Backoff(
            failures=deque(maxlen=self._max_failures)
        )
        self._sources[source] = record
        while len(self._sources) > self._max_sources:
            self._sources.popitem(last=False)
        for backoff in (record, self._everyone):
            backoff.failed(now, self._window_s, self._first_block_s, self._max_block_s)
        return self.retry_after(address)

    def succeeded(self, address: str) -> None:
        """A right token from ``address``: forget its source's failures and blocks (the
        count over all sources stays)."""
        self._sources.pop(source_of(address), None)

    def __len__(self) -> int:
        """How many sources are remembered."""
        return len(self._sources)
