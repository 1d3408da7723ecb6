"""Loopback ports for tests that need a server to be absent."""

from __future__ import annotations

import socket


def closed_port() -> int:
    """A 127.0.0.1 port with nothing listening (bound, then released), so a connection to
    it is refused at once. Another process could take it in between; on a test machine
    the ephemeral range makes that vanishingly rare, and the test would then fail loudly."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
