"""The memory tables, created in the character's own database.

``memories`` holds the rows; ``memories_fts`` is an external-content FTS5 index over the
normalised text and the user's original words, kept in step by triggers, so any change to
``memories`` — through ``MemoryStore`` or plain SQL from an undo — updates the index in the
same transaction. ``memories_version.token`` is set to a fresh random value by every change;
it rolls back with the transaction that made it, which is what lets the in-memory vector
matrix tell whether the rows under it changed (a counter could come back to a cached value
after a rollback; a random token in practice cannot).
"""

from __future__ import annotations

FTS_TOKENIZER = "porter unicode61 remove_diacritics 2"
"""Porter stemming over unicode61 words; accents are folded (café matches cafe)."""

SOURCE_COLUMN_WEIGHT = 0.5
"""BM25 weight of the user's original words relative to the normalised text (1.0)."""

_TOUCH_VERSION = "INSERT OR REPLACE INTO memories_version(id, token) VALUES (1, random());"

SCHEMA: tuple[str, ...] = (
    """
    CREATE TABLE IF NOT EXISTS memories (
        id INTEGER PRIMARY KEY,
        text TEXT NOT NULL,
        source TEXT NOT NULL DEFAULT '',
        kind TEXT NOT NULL,
        importance REAL NOT NULL,
        valence REAL NOT NULL,
        created_at REAL NOT NULL,
        turn_id INTEGER NOT NULL,
        user_name TEXT NOT NULL,
        embedding BLOB
    )
    """,
    "CREATE INDEX IF NOT EXISTS memories_by_turn ON memories(turn_id)",
    "CREATE INDEX IF NOT EXISTS memories_by_time ON memories(created_at)",
    "CREATE INDEX IF NOT EXISTS memories_by_importance ON memories(importance)",
    f"""
    CREATE VIRTUAL TABLE IF NOT EXISTS memories_fts USING fts5(
        text, source, content='memories', content_rowid='id', tokenize='{FTS_TOKENIZER}'
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS memories_version (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        token INTEGER NOT NULL
    )
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS memories_after_insert AFTER INSERT ON memories BEGIN
        INSERT INTO memories_fts(rowid, text, source) VALUES (new.id, new.text, new.source);
        {_TOUCH_VERSION}
    END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS memories_after_delete AFTER DELETE ON memories BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, text, source)
            VALUES ('delete', old.id, old.text, old.source);
        {_TOUCH_VERSION}
    END
    """,
    # Re-index only when indexed text changes: backfilling a vector must not rewrite the index.
    """
    CREATE TRIGGER IF NOT EXISTS memories_after_text_update
    AFTER UPDATE OF text, source ON memories BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, text, source)
            VALUES ('delete', old.id, old.text, old.source);
        INSERT INTO memories_fts(rowid, text, source) VALUES (new.id, new.text, new.source);
    END
    """,
    f"""
    CREATE TRIGGER IF NOT EXISTS memories_after_update AFTER UPDATE ON memories BEGIN
        {_TOUCH_VERSION}
    END
    """,
)
"""Idempotent DDL, run one statement at a time (``executescript`` would COMMIT)."""
