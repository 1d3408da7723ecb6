"""Log records as plain dicts: the field order, level ranks and JSON-safety every process shares.

A record is a structlog event dict. Every record written carries ``ts``, ``level``, ``event``,
``process`` and ``pid``; ``character``, ``session``, ``message_id`` and ``worker_generation``
where known. Pure functions only; the sink and the worker's forwarder are the shells.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Final

LEVELS: Final[dict[str, int]] = {
    "debug": 10,
    "info": 20,
    "warning": 30,
    "error": 40,
    "critical": 50,
}
"""Level name → rank, as the stdlib ranks them (``exception`` is logged as ``error``)."""

FIRST_FIELDS: Final = (
    "ts",
    "level",
    "event",
    "process",
    "pid",
    "character",
    "session",
    "message_id",
    "worker_generation",
)
"""Fields written first, in this order, so a human scanning the file finds them in place."""

_SCALARS = (str, int, float, bool, type(None))


def level_rank(level: object) -> int:
    """Rank of a level name; unknown names rank as ``info`` so they are never lost."""
    return LEVELS.get(str(level).lower(), LEVELS["info"])


def utc_timestamp() -> str:
    """ISO-8601 UTC with microseconds: the ``ts`` of every record."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def json_safe(value: Any, depth: int = 0) -> Any:
    """``value`` with everything JSON/msgpack cannot carry replaced by its ``repr``.

    Containers are copied (dict keys become strings); nesting deeper than 20 levels is cut
    to a ``repr`` so a cyclic structure cannot recurse forever.
    """
    if isinstance(value, _SCALARS):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
            return str(value)
        return value
    if depth > 20:
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): json_safe(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v, depth + 1) for v in value]
    return repr(value)


def ordered(record: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``record`` with ``FIRST_FIELDS`` first, the rest in their original order."""
    head = {key: record[key] for key in FIRST_FIELDS if key in record}
    head.update((key, value) for key, value in record.items() if key not in head)
    return head


def to_json_line(record: Mapping[str, Any]) -> str:
    """One line of ``greenroom.jsonl`` (no trailing newline; never contains one)."""
    return json.dumps(ordered(json_safe(record)), ensure_ascii=False, separators=(",", ":"))


def with_defaults(record: Mapping[str, Any], **defaults: Any) -> dict[str, Any]:
    """``record`` completed with the mandatory fields it lacks (``ts``, ``level`` and the
    given ``defaults`` such as ``process``/``pid``); fields it has are kept."""
    complete: dict[str, Any] = {"ts": utc_timestamp(), "level": "info", "event": ""}
    complete.update({k: v for k, v in defaults.items() if v is not None})
    complete.update(record)
    complete["level"] = str(complete["level"]).lower()
    if complete["level"] == "exception":
        complete["level"] = "error"
    return complete
