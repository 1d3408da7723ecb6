"""Worker logging: every structlog (and stdlib ``logging``) record becomes a ``LogRecord`` frame.

A worker never writes a log file. Its records travel over its channel to the supervisor's
one log sink, already carrying ``process=worker``, ``pid``, ``character`` and
``worker_generation``; per-request context (``session``, ``message_id``) is bound with
``structlog.contextvars`` in the request's task and merged into every record it logs.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import structlog

from protocol.pipe import FromWorker, LogRecord
from runtime.log_records import json_safe, level_rank

SendFrame = Callable[[FromWorker], None]


def _forward(send: SendFrame) -> structlog.types.Processor:
    def forward(
        _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> Mapping[str, Any]:
        # OSError: the channel is gone (the supervisor is dead or killing us): nobody to tell.
        with contextlib.suppress(OSError):
            send(LogRecord(record=json_safe(event_dict)))
        raise structlog.DropEvent

    return forward


def _add_identity(fields: Mapping[str, Any]) -> structlog.types.Processor:
    # A processor rather than bound contextvars: threads (debugger, signal dumps) start with
    # an empty context, and their records must still say which worker they come from.
    def add_identity(
        _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        for key, value in fields.items():
            event_dict.setdefault(key, value)
        return event_dict

    return add_identity


class _StdlibToChannel(logging.Handler):
    """Stdlib ``logging`` records of libraries (httpx, sqlite helpers) → structlog."""

    def emit(self, record: logging.LogRecord) -> None:
        fields: dict[str, Any] = {"logger": record.name}
        if record.exc_info:
            fields["exception"] = logging.Formatter().formatException(record.exc_info)
        structlog.get_logger().log(record.levelno, record.getMessage(), **fields)


def configure_worker_logging(
    send: SendFrame, *, character_id: str, generation: int, level: str
) -> None:
    """Send this process's records as frames through ``send`` (thread-safe, whole frames)."""
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
            _add_identity({"process": "worker", "pid": os.getpid(), "character": character_id,
                           "worker_generation": generation}),
            structlog.processors.format_exc_info,
            _forward(send),
        ],
        wrapper_class=structlog.make_filtering_bound_logger(level_rank(level)),
        cache_logger_on_first_use=False,
    )
    structlog.contextvars.clear_contextvars()
    root = logging.getLogger()
    root.handlers[:] = [_StdlibToChannel()]
    root.setLevel(max(level_rank(level), logging.INFO))
