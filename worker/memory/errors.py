"""Exceptions of the memory package; ``code`` is the protocol error code each maps to."""

from __future__ import annotations

from worker.memory.schema import MEMORY_SCHEMA_VERSION


class InvalidMemory(ValueError):
    """A memory was refused before anything was written (bad kind, range, or empty text).

    The message names the field and the value; the caller should fix what it passes in.
    """

    code = "bad_request"


class MemoryFormatError(Exception):
    """The database's memory tables are of a version this store does not read: an older one
    not migrated yet (``worker.memory.migration.migrate_memories`` upgrades it) or a newer
    greenroom's. Nothing was written."""

    code = "unsupported_format"

    def __init__(self, version: int) -> None:
        self.version = version
        advice = ("upgrade greenroom to open it" if version > MEMORY_SCHEMA_VERSION
                  else "migrate it first (worker.memory.migration.migrate_memories)")
        super().__init__(
            f"the memory tables have schema version {version}, this greenroom reads "
            f"{MEMORY_SCHEMA_VERSION}; {advice}"
        )
