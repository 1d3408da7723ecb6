"""The memories one turn formed, read and written back exactly (ids, values, vectors).

``MemoryStore`` adds memories (new ids) and restores the whole store; choosing another reply
of the last turn needs the rows of that one turn only: read them before they are replaced,
and later put the very same rows (same ids, same vectors) back. Doing that with ``all()`` /
``restore()`` would rewrite every memory of the character for one turn's handful.

This module works on the ``memories`` table of ``worker.memory.schema`` directly, as its
docstring allows: the FTS5 index and the vector-cache token follow any change through
triggers. It neither commits nor rolls back; the engine calls it inside its transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import cast

from worker.memory.models import MemoryKind, StoredMemory
from worker.memory.vectors import decode_vector, encode_vector

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
    conn.executemany(
        f"INSERT INTO memories ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (m.id, m.text, m.source, m.kind, m.importance, m.valence, m.created_at, m.turn_id,
             m.user, None if m.embedding is None else encode_vector(m.embedding))
            for m in memories
        ],
    )
