"""Small closed vocabularies shared by messages: worker states and event subscriptions."""

from __future__ import annotations

from typing import Literal

WorkerState = Literal["starting", "ready", "debugging", "restarting", "failed", "stopped"]
"""Lifecycle of one character's worker as clients see it.

``starting``: being spawned; ``ready``: serving; ``debugging``: stopped in or waiting for a
debugger (heartbeats suspended); ``restarting``: crashed, back after a backoff;
``failed``: quarantined after too many crashes; ``stopped``: not running (not preloaded yet,
or shut down).
"""

WorkerStateReason = Literal["start", "crash", "restart", "reload", "stop"]
"""Why a worker changed state: its first start (or a start on first use), a crash (or a kill
for silence or memory), an operator's restart, a reload onto new code or a changed character
file, the server stopping."""

EventKind = Literal["vitals", "turns", "worker_state"]
"""What a session may subscribe to in ``hello.subscribe``: ``vitals_event``, ``turn_event``,
``worker_state_event`` respectively."""

PROTOCOL_VERSION = 1
"""The protocol version this package speaks; ``hello.protocol_version`` above it is refused."""
