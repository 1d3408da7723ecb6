"""Memories people manage by hand: list a page, add one, correct one, forget one.

A memory a person adds is stored with ``turn_id`` ``REMEMBERED_TURN_ID`` (0): turn ids
start at 1, so no undo, regenerate or reply choice — which all delete by their turn's id —
ever removes it, while a reset that wipes memories, or loading an older snapshot, does.
Correcting a memory keeps its id, turn and time (undoing the turn that formed it still
removes it); a new text drops the stored vector, which is embedded again afterwards.
Correcting or forgetting a memory the model's notes had changed drops what those notes kept
of it (``turn_memories.forget_revisions``): undoing that turn no longer brings an older
version back over the person's decision.

Adding goes through ``MemoryStore.add``; reading one row, a page, correcting and deleting
work on the ``memories`` table of ``worker.memory.schema`` directly, as
``worker.engine.turn_memories`` does (triggers keep the FTS5 index and the vector cache in
step). Each change is one transaction; nothing here spans an ``await`` except the embedding
that follows a commit.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Final, cast

from protocol.memories import MAX_MEMORY_CHARS
from worker.engine.errors import (
    BAD_REQUEST,
    MEMORY_EMPTY,
    MEMORY_NOT_FOUND,
    MEMORY_TOO_LONG,
    EngineError,
)
from worker.engine.open_character import OpenCharacter
from worker.engine.turn_memories import forget_revisions
from worker.memory.models import MEMORY_KINDS, MemoryKind, NewMemory, StoredMemory

REMEMBERED_TURN_ID: Final = 0
"""The ``turn_id`` of a memory a person added: no turn has it."""

_COLUMNS: Final = "id, text, source, kind, importance, valence, created_at, turn_id, user_name"


def page(c: OpenCharacter, offset: int, limit: int, *, user: str | None = None,
         kinds: Sequence[str] | None = None, memory_id: int | None = None
         ) -> tuple[list[StoredMemory], int]:
    """Memories ``offset`` .. ``offset + limit - 1`` by id (oldest first) among those about
    ``user`` (every user's when ``None``) of ``kinds`` (every kind when ``None``), or only
    memory ``memory_id``; and how many the filters let through. Vectors are left out
    (``embedding`` ``None``)."""
    where, args = _filters(user, [_checked_kind(c, kind) for kind in kinds or ()], memory_id)
    total = int(c.db.conn.execute(f"SELECT count(*) FROM memories{where}", args).fetchone()[0])
    rows = c.db.conn.execute(
        f"SELECT {_COLUMNS} FROM memories{where} ORDER BY id LIMIT ? OFFSET ?",
        (*args, limit, offset)).fetchall()
    return [_stored(row) for row in rows], total


async def add(c: OpenCharacter, text: str, *, kind: str, importance: float,
              user: str) -> StoredMemory:
    """Store ``text`` (stripped) as a memory about ``user`` that no turn formed."""
    memory = NewMemory(text=_checked_text(c, text), kind=_checked_kind(c, kind),
                       importance=importance, valence=0.0, created_at=c.clock(),
                       turn_id=REMEMBERED_TURN_ID, user=user)
    with c.db.transaction():
        memory_id = c.memory.add(memory)
    await _embed(c)
    return _found(c, memory_id)


async def update(c: OpenCharacter, memory_id: int, *, text: str | None, kind: str | None,
                 importance: float | None) -> StoredMemory:
    """Replace the given fields of memory ``memory_id``; the rest stays as it is."""
    old = _found(c, memory_id)
    new_text = old.text if text is None else _checked_text(c, text)
    new_kind = old.kind if kind is None else _checked_kind(c, kind)
    new_importance = old.importance if importance is None else importance
    with c.db.transaction():
        if new_text != old.text:
            # The old vector describes the old text: drop it, embed the new one below.
            c.db.conn.execute("UPDATE memories SET text = ?, embedding = NULL WHERE id = ?",
                              (new_text, memory_id))
        c.db.conn.execute("UPDATE memories SET kind = ?, importance = ? WHERE id = ?",
                          (new_kind, new_importance, memory_id))
        forget_revisions(c.db.conn, memory_id)
    await _embed(c)
    return _found(c, memory_id)


def delete(c: OpenCharacter, memory_id: int) -> StoredMemory:
    """Forget memory ``memory_id``; returns it as it was."""
    old = _found(c, memory_id)
    with c.db.transaction():
        c.db.conn.execute("DELETE FROM memories WHERE id = ?", (memory_id,))
        forget_revisions(c.db.conn, memory_id)
    return old


def _found(c: OpenCharacter, memory_id: int) -> StoredMemory:
    row = c.db.conn.execute(f"SELECT {_COLUMNS} FROM memories WHERE id = ?",
                            (memory_id,)).fetchone()
    if row is None:
        raise EngineError(
            MEMORY_NOT_FOUND,
            f"character {c.id!r} has no memory {memory_id} (never had, or it was forgotten);"
            " list them with /memories (memories_request)",
            {"memory_id": memory_id})
    return _stored(row)


def _checked_text(c: OpenCharacter, text: str) -> str:
    stripped = text.strip()
    if not stripped:
        raise EngineError(MEMORY_EMPTY, f"a memory of character {c.id!r} needs a text; "
                          "say what to remember")
    if len(stripped) > MAX_MEMORY_CHARS:
        raise EngineError(
            MEMORY_TOO_LONG,
            f"a memory of character {c.id!r} holds at most {MAX_MEMORY_CHARS} characters; "
            f"this one has {len(stripped)}. Shorten it or split it into several memories.",
            {"max_chars": MAX_MEMORY_CHARS, "length": len(stripped)})
    return stripped


def _checked_kind(c: OpenCharacter, kind: str) -> MemoryKind:
    if kind not in MEMORY_KINDS:
        raise EngineError(BAD_REQUEST, f"memory kind {kind!r} for character {c.id!r} is not "
                          f"one of {', '.join(MEMORY_KINDS)}")
    return kind


async def _embed(c: OpenCharacter) -> None:
    """Fill in the vectors a change left missing; a failure is logged by the store and the
    memory stays findable by text."""
    if c.memory.embedder is not None:
        await c.memory.embed_missing()


def _filters(user: str | None, kinds: Sequence[str], memory_id: int | None
             ) -> tuple[str, tuple[object, ...]]:
    clauses: list[str] = []
    args: list[object] = []
    if user is not None:
        clauses.append("user_name = ?")
        args.append(user)
    if kinds:
        clauses.append(f"kind IN ({', '.join('?' * len(kinds))})")
        args.extend(kinds)
    if memory_id is not None:
        clauses.append("id = ?")
        args.append(memory_id)
    return (" WHERE " + " AND ".join(clauses) if clauses else "", tuple(args))


def _stored(row: sqlite3.Row | tuple[object, ...]) -> StoredMemory:
    return StoredMemory(
        id=int(cast(int, row[0])), text=str(row[1]), source=str(row[2]),
        kind=cast(MemoryKind, row[3]), importance=float(cast(float, row[4])),
        valence=float(cast(float, row[5])), created_at=float(cast(float, row[6])),
        turn_id=int(cast(int, row[7])), user=str(row[8]))
