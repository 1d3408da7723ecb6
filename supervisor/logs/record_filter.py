"""Which log records ``greenroom logs`` shows: a pure predicate over parsed records."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from runtime.log_records import level_rank


@dataclass(frozen=True, slots=True)
class RecordFilter:
    """Keep a record when every given criterion matches.

    ``level`` is a minimum (``warning`` keeps warnings and errors); ``event`` matches the
    event name exactly or, ending in ``*``, by prefix (``worker_*``).
    """

    character: str | None = None
    level: str | None = None
    event: str | None = None

    def keeps(self, record: Mapping[str, Any]) -> bool:
        if self.character is not None and record.get("character") != self.character:
            return False
        if self.level is not None and level_rank(record.get("level")) < level_rank(self.level):
            return False
        if self.event is not None:
            event = str(record.get("event", ""))
            if self.event.endswith("*"):
                return event.startswith(self.event[:-1])
            return event == self.event
        return True


def parse_line(line: str) -> dict[str, Any] | None:
    """A record from one line of the file; ``None`` for a line that is not a JSON object
    (a foreign line must not stop a tail)."""
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None
