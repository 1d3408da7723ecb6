"""Bringing a database's memory tables to ``MEMORY_SCHEMA_VERSION``, in one transaction.

Version 1 → 2 (greenroom before episodic memory):

1. ``memories`` is rebuilt with ``AUTOINCREMENT`` ids and the ``terms`` column: every row
   is copied with its id, values and vector, and indexed anew (``memories_fts`` gets the
   ``terms`` column: lemmas, category names, answer markers);
2. ids up to the highest one kept with a replaced reply are reserved, so putting such a
   reply's memories back can never collide with a new memory;
3. every stored turn gets its episodes (``worker.memory.episodes``: each sentence of its
   message and reply, with the turn's user, id, time and valence) — what the turns said
   becomes searchable, as if they had been made by this version. Semantic memories stay as
   they were. The new memories have no vector; ``MemoryStore.embed_missing`` fills them in.

A database without memory tables gets the current ones (and the episodes of any turns it
holds). A newer version is refused with ``MemoryFormatError``, changing nothing. The caller
supplies the conversation (``PastConversation``): the turns live in the engine's tables,
which this package does not read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import Protocol

from worker.memory.episodes import form_episodes
from worker.memory.errors import MemoryFormatError
from worker.memory.index_terms import index_terms
from worker.memory.schema import (
    INDEX_STATEMENTS,
    INDEXES,
    MEMORY_SCHEMA_VERSION,
    SCHEMA,
    TABLES,
    TRIGGERS,
    stored_version,
    write_version,
)
from worker.memory.store import MemoryStore

BACKFILL_BATCH = 500
"""Turns whose episodes are inserted per statement (bounds the memory held)."""


@dataclass(frozen=True, slots=True)
class PastTurn:
    """What a stored turn said: its id, user, words and time, and the valence of its
    appraisal (``0.0`` if it has none)."""

    turn_id: int
    user: str
    user_message: str
    reply: str
    created_at: float
    valence: float


class PastConversation(Protocol):
    """The stored conversation, as the migration reads it."""

    def turns(self) -> Iterable[PastTurn]:
        """Every stored turn, oldest first (read lazily: there may be many)."""
        ...

    def highest_kept_memory_id(self) -> int:
        """The highest memory id kept aside with a replaced reply (0 if none)."""
        ...


def migrate_memories(conn: sqlite3.Connection, past: PastConversation) -> int:
    """Bring the memory tables on ``conn`` (autocommit mode, no transaction open) to
    ``MEMORY_SCHEMA_VERSION``; returns how many episodes were added (0 when the tables are
    current already: then nothing is written)."""
    version = stored_version(conn)
    if version == MEMORY_SCHEMA_VERSION:
        return 0
    if version is not None and version > MEMORY_SCHEMA_VERSION:
        raise MemoryFormatError(version)
    conn.execute("BEGIN IMMEDIATE")
    try:
        if version is None:
            for statement in SCHEMA:
                conn.execute(statement)
        else:
            _rebuild_version_1(conn)
        write_version(conn)
        store = MemoryStore(conn)
        store.reserve_ids(past.highest_kept_memory_id())
        added = _backfill_episodes(conn, store, past.turns())
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return added


def _rebuild_version_1(conn: sqlite3.Connection) -> None:
    """Version 1's rows in version 2's tables, ids, values and vectors unchanged."""
    # Version 1 used the same names; its triggers, index and indexes go first so the renamed
    # table has no dependants and the new ones can take the names.
    for trigger in TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {trigger}")
    conn.execute("DROP TABLE IF EXISTS memories_fts")
    for index in INDEXES:
        conn.execute(f"DROP INDEX IF EXISTS {index}")
    conn.execute("ALTER TABLE memories RENAME TO memories_version_1")
    for statement in (*TABLES, *INDEX_STATEMENTS):
        conn.execute(statement)
    rows = conn.execute(
        "SELECT id, text, source, kind, importance, valence, created_at, turn_id, user_name,"
        " embedding FROM memories_version_1 ORDER BY id"
    )
    conn.executemany(
        "INSERT INTO memories (id, text, source, terms, kind, importance, valence, created_at,"
        " turn_id, user_name, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        ((*row[:3], index_terms(row[2] or row[1]), *row[3:]) for row in rows),
    )
    conn.execute("DROP TABLE memories_version_1")
    conn.execute("INSERT INTO memories_fts(memories_fts) VALUES ('rebuild')")
    for trigger in TRIGGERS.values():
        conn.execute(trigger)


def _backfill_episodes(
    conn: sqlite3.Connection, store: MemoryStore, turns: Iterable[PastTurn]
) -> int:
    # Sentences a turn's question memories quote are their episodes already (as formation
    # does it).
    quoted: dict[int, set[str]] = {}
    for turn_id, source in conn.execute(
        "SELECT turn_id, source FROM memories WHERE kind = 'question'"
    ):
        quoted.setdefault(int(turn_id), set()).add(str(source))
    added = 0
    for batch in _batches(iter(turns), BACKFILL_BATCH):
        added += store.add_many([
            episode
            for turn in batch
            for episode in form_episodes(
                user_message=turn.user_message, reply=turn.reply, valence=turn.valence,
                turn_id=turn.turn_id, now=turn.created_at, user=turn.user,
                kept_whole=quoted.get(turn.turn_id, ()),
            )
        ])
    return added


def _batches(turns: Iterator[PastTurn], size: int) -> Iterator[list[PastTurn]]:
    while batch := list(islice(turns, size)):
        yield batch
