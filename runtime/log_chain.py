"""The one processor chain every process's log records go through, structlog's and stdlib's alike.

A record starts as a structlog event dict (``log.info("worker_ready", pid=…)``) or as a
stdlib ``logging.LogRecord`` from a library (websockets, httpx, asyncio). Both pass through
the same processors, in this order:

1. ``merge_contextvars``: the context bound with ``structlog.contextvars`` in the calling task
   (``session``, ``message_id``, …). A stdlib record is formatted in the thread and context
   that logged it, so it carries that context too;
2. ``add_log_level`` and ``ts`` (ISO-8601 UTC);
3. the process's identity (``process``, ``pid``, ``character``, ``worker_generation``) as
   defaults, added by a processor rather than bound, so records of threads that start with an
   empty context (debugger, signal dumps) still say where they come from;
4. an exception formatted into ``exception``.

A stdlib record enters through ``structlog.stdlib.ProcessorFormatter`` with this chain as its
``foreign_pre_chain`` (after ``add_logger_name``: its ``logger`` field is the only one a
structlog record lacks), and leaves through the same ``deliver`` as a structlog record, once.
Field order and JSON-safety are the writer's (``runtime.log_records``), not the chain's.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, MutableMapping
from typing import Any

import structlog
from structlog.typing import Processor

from runtime.log_records import level_rank

Deliver = Callable[[MutableMapping[str, Any]], None]
"""Where a finished record goes (a sink's ``emit``, a worker's channel): called once per
record, in the thread that logged it, possibly from several threads at once."""


def record_chain(identity: Mapping[str, Any]) -> list[Processor]:
    """The shared processors, in order, for a process whose records carry ``identity``."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
        _with_identity(identity),
        structlog.processors.format_exc_info,
    ]


def route_records(deliver: Deliver, *, level: str,
                  identity: Mapping[str, Any] | None = None) -> None:
    """Send every record of this process through the chain to ``deliver``: structlog's from
    ``level`` up, stdlib ``logging``'s (the root logger's only handler) from ``level`` or
    ``info``, whichever is higher (libraries' debug records are noise here)."""
    chain = record_chain(identity or {})
    structlog.configure(
        processors=[*chain, _delivered(deliver)],
        wrapper_class=structlog.make_filtering_bound_logger(level_rank(level)),
        cache_logger_on_first_use=False,
    )
    root = logging.getLogger()
    root.handlers[:] = [StdlibBridge(chain, deliver)]
    root.setLevel(max(level_rank(level), logging.INFO))


class StdlibBridge(logging.Handler):
    """A ``logging`` handler that puts each stdlib record through ``chain`` (as structlog's
    ``ProcessorFormatter``'s ``foreign_pre_chain``) and hands the result to ``deliver``.

    Formatting *is* delivery here: the formatter's last processor passes the finished dict
    on, and the string it returns (empty) is written nowhere.
    """

    def __init__(self, chain: list[Processor], deliver: Deliver) -> None:
        super().__init__()
        self._deliver = deliver
        self.setFormatter(structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *chain],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                        self._hand_over],
        ))

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.format(record)
        except Exception:  # logging's contract: report on stderr, never raise to the caller
            self.handleError(record)

    def _hand_over(self, _logger: Any, _method: str,
                   event_dict: MutableMapping[str, Any]) -> str:
        self._deliver(event_dict)
        return ""


def _with_identity(identity: Mapping[str, Any]) -> Processor:
    fields = dict(identity)

    def add_identity(_logger: Any, _method: str,
                     event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        for key, value in fields.items():
            event_dict.setdefault(key, value)
        return event_dict

    return add_identity


def _delivered(deliver: Deliver) -> Processor:
    """structlog's last processor: ``deliver`` the record, then drop it (no structlog
    logger writes anything itself)."""

    def deliver_and_drop(_logger: Any, _method: str,
                         event_dict: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
        deliver(event_dict)
        raise structlog.DropEvent

    return deliver_and_drop
