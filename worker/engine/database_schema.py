"""The character database's tables, their version, and the migration between versions.

The schema is versioned (``meta.schema_version``); a database from a newer greenroom is
refused with ``unsupported_format`` instead of being misread, an older one is migrated in
place (version 1 → 2 adds each alternative's outcome columns, empty for replies kept before;
2 → 3 adds ``turn_traces``, empty for the turns committed before: they have no trace; 3 → 4
adds ``memory_revisions``, the memories a turn's model notes changed, as they were before —
empty for the turns before, whose notes changed none).
The memory store's tables live in the same file (``worker.memory.schema``).
"""

from __future__ import annotations

import sqlite3
from typing import Final

from worker.engine.errors import UNSUPPORTED_FORMAT, EngineError

SCHEMA_VERSION: Final = 4

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS engine_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS turns (
    id INTEGER PRIMARY KEY,
    turn_index INTEGER NOT NULL,
    user TEXT NOT NULL,
    user_message TEXT NOT NULL,
    reply TEXT NOT NULL,
    created_at REAL NOT NULL,
    record TEXT NOT NULL,
    state_before TEXT NOT NULL,
    relationship_before TEXT
);
CREATE INDEX IF NOT EXISTS turns_by_user ON turns (user, id);
CREATE TABLE IF NOT EXISTS turn_alternatives (
    turn_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    reply TEXT NOT NULL,
    created_at REAL NOT NULL,
    record TEXT NOT NULL,
    state_after TEXT,
    relationship_after TEXT,
    memories TEXT,
    PRIMARY KEY (turn_id, position)
);
CREATE TABLE IF NOT EXISTS turn_traces (
    turn_id INTEGER NOT NULL,
    position INTEGER NOT NULL,
    trace TEXT NOT NULL,
    PRIMARY KEY (turn_id, position)
);
CREATE TABLE IF NOT EXISTS memory_revisions (
    turn_id INTEGER NOT NULL,
    memory_id INTEGER NOT NULL,
    previous TEXT NOT NULL,
    PRIMARY KEY (turn_id, memory_id)
);
CREATE TABLE IF NOT EXISTS relationships (user TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS snapshots (
    name TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    content TEXT NOT NULL
);
"""


def migrate_schema(conn: sqlite3.Connection, *, character_id: str) -> None:
    """Bring the database on ``conn`` (autocommit mode) to ``SCHEMA_VERSION``: create what
    is missing, migrate an older version in one transaction, refuse a newer one."""
    version = _stored_version(conn)
    if version is not None and version > SCHEMA_VERSION:
        raise EngineError(
            UNSUPPORTED_FORMAT,
            f"the database of character {character_id!r} has schema version {version}, "
            f"newer than this greenroom's {SCHEMA_VERSION}; upgrade greenroom to open it",
        )
    # CREATE ... IF NOT EXISTS is idempotent (and is all 2 → 3 and 3 → 4 need: new tables);
    # executescript commits first, so it runs outside any transaction of ours.
    conn.executescript(_SCHEMA)
    conn.execute("BEGIN IMMEDIATE")
    try:
        if version == 1:
            # CREATE IF NOT EXISTS left the old table as it was: add the outcome columns
            # (NULL for the alternatives already kept), in the same transaction as the
            # version bump, so a crash leaves version 1 with version 1's columns.
            for column in ("state_after", "relationship_after", "memories"):
                conn.execute(f"ALTER TABLE turn_alternatives ADD COLUMN {column} TEXT")
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (str(SCHEMA_VERSION),),
        )
        conn.execute("INSERT OR IGNORE INTO meta (key, value) VALUES ('character_id', ?)",
                     (character_id,))
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def _stored_version(conn: sqlite3.Connection) -> int | None:
    exists = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    if exists is None:
        return None
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    return None if row is None else int(row[0])
