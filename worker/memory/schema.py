"""The memory tables, created in the character's own database, and their version.

``memories`` holds the rows; ``memories_fts`` is an external-content FTS5 index over the
normalised text, the words as said (``source``) and the extra index words
(``terms``: lemmas, category names, answer markers — ``worker.memory.index_terms``), kept
in step by triggers, so any change to ``memories`` — through ``MemoryStore`` or plain SQL
from an undo — updates the index in the same transaction. ``memories_version.token`` is set
to a fresh random value by every change; it rolls back with the transaction that made it,
which is what lets the in-memory vector matrix tell whether the rows under it changed (a
counter could come back to a cached value after a rollback; a random token in practice
cannot).

Ids are ``AUTOINCREMENT``: an id once used is never handed out again, also after its memory
was deleted, so a turn's memories kept aside with a replaced reply (and put back, with their
ids, when that reply is chosen again) can never collide with a later memory.

``MEMORY_SCHEMA_VERSION`` is stored in ``memories_schema``. Version 1 (before it existed) had
no ``terms`` column, reused ids and kept no episodes; ``worker.memory.migration`` brings such
a database to version 2.
"""

from __future__ import annotations

import sqlite3
from typing import Final

MEMORY_SCHEMA_VERSION: Final = 2

FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
"""Porter stemming over unicode61 words; accents are folded (café matches cafe)."""

SOURCE_COLUMN_WEIGHT = 0.5
"""BM25 weight of the words as said relative to the normalised text (1.0)."""

TERMS_COLUMN_WEIGHT = 1.0
"""BM25 weight of the extra index words relative to the normalised text (1.0): they are
how a question's words reach a sentence that does not use them."""

_TOUCH_VERSION = "INSERT OR REPLACE INTO memories_version(id, token) VALUES (1, random());"

MEMORIES_TABLE = """
    CREATE TABLE IF NOT EXISTS memories (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        text TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        terms TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL,
        importance REAL NOT NULL,
        valence REAL NOT NULL,
        created_at REAL NOT NULL,
        turn_id INTEGER NOT NULL,
        user_name TEXT NOT NULL,
        embedding BLOB
    )
"""

INDEXES: dict[str, str] = {
    "memories_by_turn": "turn_id",
    "memories_by_time": "created_at",
    "memories_by_importance": "importance",
}
"""Index name → the column of ``memories`` it orders."""

FTS_TABLE = f"""
    CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(
        text, source, terms, content='memories', content_rowid='id', tokenize='{FTS_TOKENIZER}'
    )
"""

TRIGGERS: dict[str, str] = {
    "memories_after_insert": f"""
    CREATE TRIGGER IF NOT EXISTS memories_after_insert AFTER INSERT ON memories BEGIN
        INSERT INTO memories_fts(rowid, text, source, terms)
            VALUES (new.id, new.text, new.source, new.terms);
        {_TOUCH_VERSION}
    END
    """,
    "memories_after_delete": f"""
    CREATE TRIGGER IF NOT EXISTS memories_after_delete AFTER DELETE ON memories BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, text, source, terms)
            VALUES ('delete', old.id, old.text, old.source, old.terms);
        {_TOUCH_VERSION}
    END
    """,
    # Re-index only when indexed text changes: backfilling a vector must not rewrite the index.
    "memories_after_text_update": """
    CREATE TRIGGER IF NOT EXISTS memories_after_text_update
    AFTER UPDATE OF text, source, terms ON memories BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, text, source, terms)
            VALUES ('delete', old.id, old.text, old.source, old.terms);
        INSERT INTO memories_fts(rowid, text, source, terms)
            VALUES (new.id, new.text, new.source, new.terms);
    END
    """,
    "memories_after_update": f"""
    CREATE TRIGGER IF NOT EXISTS memories_after_update AFTER UPDATE ON memories BEGIN
        {_TOUCH_VERSION}
    END
    """,
}
"""Trigger name → its DDL: they keep ``memories_fts`` and ``memories_version`` in step."""

TABLES: tuple[str, ...] = (
    MEMORIES_TABLE,
    FTS_TABLE,
    """
    CREATE TABLE IF NOT EXISTS memories_version (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        token INTEGER NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS memories_schema (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        version INTEGER NOT NULL
    )
    """,
)

INDEX_STATEMENTS: tuple[str, ...] = tuple(
    f"CREATE INDEX IF NOT EXISTS {name} ON memories({column})" for name, column in INDEXES.items()
)

SCHEMA: tuple[str, ...] = (*TABLES, *INDEX_STATEMENTS, *TRIGGERS.values())
"""Idempotent DDL of the current version, run one statement at a time (``executescript``
would COMMIT)."""


def stored_version(conn: sqlite3.Connection) -> int | None:
    """The memory schema version of the database on ``conn``: ``None`` when it has no memory
    tables yet, 1 for tables from before versions were stored."""
    if not _table_exists(conn, "memories"):
        return None
    if not _table_exists(conn, "memories_schema"):
        return 1
    row = conn.execute("SELECT version FROM memories_schema WHERE id = 1").fetchone()
    # No row: the tables were created by ``create_schema`` of this version on a connection
    # whose caller rolled back the transaction the version row was written in (DDL outside
    # a transaction stays). Migrations write their row in the same transaction as the rest.
    return MEMORY_SCHEMA_VERSION if row is None else int(row[0])


def create_schema(conn: sqlite3.Connection) -> None:
    """Create the current version's tables (none may exist yet) and record the version."""
    for statement in SCHEMA:
        conn.execute(statement)
    write_version(conn)


def write_version(conn: sqlite3.Connection) -> None:
    conn.execute(
        "INSERT OR REPLACE INTO memories_schema (id, version) VALUES (1, ?)",
        (MEMORY_SCHEMA_VERSION,),
    )


def _table_exists(conn: sqlite3.Connection, name: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone()
    return row is not None
