"""Worker logging: every structlog (and stdlib ``logging``) record becomes a ``LogRecord`` frame.

A worker never writes a log file. Its records go through the chain every process shares
(``runtime.log_chain``) and travel over its channel to the supervisor's one log sink, already
carrying ``process=worker``, ``pid``, ``character`` and ``worker_generation``; per-request
context (``session``, ``message_id``) is bound with ``structlog.contextvars`` in the request's
task and merged into every record logged there, a library's stdlib record included.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable, MutableMapping
from typing import Any

import structlog

from protocol.pipe import FromWorker, LogRecord
from runtime.log_chain import Deliver, route_records
from runtime.log_records import json_safe

SendFrame = Callable[[FromWorker], None]


def _as_frames(send: SendFrame) -> Deliver:
    def forward(record: MutableMapping[str, Any]) -> None:
        # OSError: the channel is gone (the supervisor is dead or killing us): nobody to tell.
        with contextlib.suppress(OSError):
            send(LogRecord(record=json_safe(record)))

    return forward


def configure_worker_logging(
    send: SendFrame, *, character_id: str, generation: int, level: str
) -> None:
    """Send this process's records as frames through ``send`` (thread-safe, whole frames)."""
    route_records(_as_frames(send), level=level,
                  identity={"process": "worker", "pid": os.getpid(), "character": character_id,
                            "worker_generation": generation})
    structlog.contextvars.clear_contextvars()
