"""The memories one turn formed, read and written back exactly (ids, values, vectors); and
the stored conversation as the memory migration reads it.

``MemoryStore`` adds memories (new ids) and restores the whole store; choosing another reply
of the last turn needs the rows of that one turn only: read them before they are replaced,
and later put the very same rows (same ids, same vectors) back. Doing that with ``all()`` /
``restore()`` would rewrite every memory of the character for one turn's handful. A turn's
memories are its semantic ones and its episodes (every sentence of its message and reply):
undo deletes them all by turn id, and a kept reply keeps them all.

This module works on the ``memories`` table of ``worker.memory.schema`` directly, as its
docstring allows: the FTS5 index and the vector-cache token follow any change through
triggers, and ids are never reused, so a put-back id is still free. It neither commits nor
rolls back; the engine calls it inside its transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import cast

from worker.memory.migration import PastTurn
from worker.memory.models import MemoryKind, StoredMemory
from worker.memory.store import insert_with_ids
from worker.memory.vectors import decode_vector

_COLUMNS = "id, text, source, kind, importance, valence, created_at, turn_id, user_name, embedding"


def memories_of_turn(conn: sqlite3.Connection, turn_id: int) -> list[StoredMemory]:
    """The memories ``turn_id`` formed, by id, with their vectors if they have them."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM memories WHERE turn_id = ? ORDER BY id", (turn_id,)
    ).fetchall()
    return [
        StoredMemory(
            id=int(r[0]), text=str(r[1]), source=str(r[2]), kind=cast(MemoryKind, r[3]),
            importance=float(r[4]), valence=float(r[5]), created_at=float(r[6]),
            turn_id=int(r[7]), user=str(r[8]),
            embedding=None if r[9] is None else decode_vector(r[9]),
        )
        for r in rows
    ]


def put_back(conn: sqlite3.Connection, memories: Sequence[StoredMemory]) -> None:
    """Insert ``memories`` with their own ids. The caller has deleted the rows they replace;
    an id still in use raises ``sqlite3.IntegrityError`` (and the caller's transaction rolls
    back) rather than overwriting another memory."""
    insert_with_ids(conn, memories)


class StoredConversation:
    """The turns of a character database, for ``worker.memory.migration``: read with plain
    SQL (the valence straight out of each turn's stored record), oldest first, one row at a
    time."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def turns(self) -> Iterator[PastTurn]:
        cursor = self._conn.execute(
            "SELECT id, user, user_message, reply, created_at,"
            " COALESCE(json_extract(record, '$.appraisal.valence'), 0.0) FROM turns ORDER BY id"
        )
        return (
            PastTurn(turn_id=int(r[0]), user=str(r[1]), user_message=str(r[2]),
                     reply=str(r[3]), created_at=float(r[4]), valence=float(r[5]))
            for r in cursor
        )

    def highest_kept_memory_id(self) -> int:
        row = self._conn.execute(
            "SELECT COALESCE(MAX(json_extract(kept.value, '$.id')), 0)"
            " FROM turn_alternatives AS alternative, json_each(alternative.memories) AS kept"
            " WHERE alternative.memories IS NOT NULL"
        ).fetchone()
        return int(row[0])
