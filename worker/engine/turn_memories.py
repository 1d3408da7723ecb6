"""The memories one turn formed, read and written back exactly (ids, values, vectors); the
older memories a turn's model notes changed, kept as they were so that the turn's undo puts
them back; and the stored conversation as the memory migration reads it.

``MemoryStore`` adds memories (new ids) and restores the whole store; choosing another reply
of the last turn needs the rows of that one turn only: read them before they are replaced,
and later put the very same rows (same ids, same vectors) back. Doing that with ``all()`` /
``restore()`` would rewrite every memory of the character for one turn's handful. A turn's
memories are its semantic ones and its episodes (every sentence of its message and reply):
undo deletes them all by turn id, and a kept reply keeps them all.

**Revisions.** When the model's notes on turn N update or delete a fact an earlier turn (or
the model's notes on one) wrote, the fact's row as it was is kept in ``memory_revisions``
under N first (``revise``; the first revision of a memory by a turn is the one kept).
``take_back`` — what undo, another reply and a reply choice do to a turn's memories —
deletes the turn's own memories and puts every memory it revised back exactly as it was.
A person's own correction or deletion of a memory drops its revisions
(``forget_revisions``): what a person decided is not undone by undoing a model's note.

This module works on the ``memories`` table of ``worker.memory.schema`` directly, as its
docstring allows: the FTS5 index and the vector-cache token follow any change through
triggers, and ids are never reused, so a put-back id is still free. It neither commits nor
rolls back; the engine calls it inside its transaction.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from typing import Final, cast

import msgspec

from worker.engine.canonical import canonical_json
from worker.memory.migration import PastTurn
from worker.memory.models import MemoryKind, StoredMemory
from worker.memory.store import MemoryStore, insert_with_ids
from worker.memory.vectors import decode_vector

_COLUMNS = "id, text, source, kind, importance, valence, created_at, turn_id, user_name, embedding"
_REVISION_DECODER: Final = msgspec.json.Decoder(StoredMemory)


def memories_of_turn(conn: sqlite3.Connection, turn_id: int) -> list[StoredMemory]:
    """The memories ``turn_id`` formed, by id, with their vectors if they have them."""
    rows = conn.execute(
        f"SELECT {_COLUMNS} FROM memories WHERE turn_id = ? ORDER BY id", (turn_id,)
    ).fetchall()
    return [_stored(r) for r in rows]


def memory_row(conn: sqlite3.Connection, memory_id: int) -> StoredMemory | None:
    """Memory ``memory_id`` with its vector, or ``None`` when there is none."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM memories WHERE id = ?", (memory_id,)).fetchone()
    return None if row is None else _stored(row)


def revise(conn: sqlite3.Connection, turn_id: int, memory_id: int, *,
           text: str | None, now: float) -> bool:
    """Keep memory ``memory_id`` as it is under ``turn_id``'s revisions, then give it
    ``text`` (same id, kind, importance and user; ``now`` as its time; no vector until it
    is embedded again) or, with ``text`` ``None``, delete it. ``False`` (nothing done) when
    the memory is gone."""
    previous = memory_row(conn, memory_id)
    if previous is None:
        return False
    conn.execute(
        "INSERT OR IGNORE INTO memory_revisions (turn_id, memory_id, previous) VALUES (?, ?, ?)",
        (turn_id, memory_id, canonical_json(previous)))
    conn.execute("DELETE FROM memories WHERE id = ?", (memory_id,))
    if text is not None:
        insert_with_ids(conn, [msgspec.structs.replace(
            previous, text=text, created_at=now, embedding=None)])
    return True


def revisions_of_turn(conn: sqlite3.Connection, turn_id: int) -> list[StoredMemory]:
    """The memories ``turn_id`` revised, as they were before it, by id."""
    rows = conn.execute(
        "SELECT previous FROM memory_revisions WHERE turn_id = ? ORDER BY memory_id",
        (turn_id,)).fetchall()
    return [_REVISION_DECODER.decode(row[0]) for row in rows]


def put_revisions(conn: sqlite3.Connection, turn_id: int,
                  previous: Sequence[StoredMemory]) -> None:
    """Store ``previous`` as ``turn_id``'s revisions (a restored snapshot's)."""
    conn.executemany(
        "INSERT INTO memory_revisions (turn_id, memory_id, previous) VALUES (?, ?, ?)",
        [(turn_id, memory.id, canonical_json(memory)) for memory in previous])


def take_back(memory: MemoryStore, conn: sqlite3.Connection, turn_id: int) -> int:
    """Delete the memories ``turn_id`` formed and put the ones it revised back as they
    were; returns how many of its own it deleted."""
    removed = memory.delete_of_turn(turn_id)
    for previous in revisions_of_turn(conn, turn_id):
        conn.execute("DELETE FROM memories WHERE id = ?", (previous.id,))
        insert_with_ids(conn, [previous])
    conn.execute("DELETE FROM memory_revisions WHERE turn_id = ?", (turn_id,))
    return removed


def forget_revisions(conn: sqlite3.Connection, memory_id: int) -> None:
    """A person changed or deleted memory ``memory_id``: no undo puts an older one back."""
    conn.execute("DELETE FROM memory_revisions WHERE memory_id = ?", (memory_id,))


def _stored(r: Sequence[object]) -> StoredMemory:
    return StoredMemory(
        id=int(cast(int, r[0])), text=str(r[1]), source=str(r[2]),
        kind=cast(MemoryKind, r[3]), importance=float(cast(float, r[4])),
        valence=float(cast(float, r[5])), created_at=float(cast(float, r[6])),
        turn_id=int(cast(int, r[7])), user=str(r[8]),
        embedding=None if r[9] is None else decode_vector(cast(bytes, r[9])),
    )


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
