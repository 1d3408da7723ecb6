"""A character's export document written as JSON text, one record at a time.

The document is the one ``docs/engine.md`` describes (``CharacterEngine.export_text()``
yields it). It is produced from a second connection inside one read transaction, so it is
a consistent picture of the character as of its first read, even while turns commit on the
engine's own connection (WAL readers never wait for writers, nor writers for them).

Cost and memory: every row is read once from its cursor and encoded on its own, so the cost is
linear in the history and the memory held is one record — a turn with its alternatives, a
memory, or one snapshot's stored content (which is copied verbatim, never decoded). Pieces
are small except a snapshot's content; callers that need bounded pieces cut them
(``worker.service.exports`` streams chunks of at most ``EXPORT_CHUNK_CHARS`` characters).

A user's export (``user``) keeps that user's thread: their turns and relationship, the
memories whose ``user`` is theirs, the shared state — and no snapshots, which hold every
user's conversation.

Layout: one JSON object; each element of ``memories``, ``turns`` and ``snapshots`` starts a
line of its own, so the file reads (and greps) record by record.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable, Iterator
from pathlib import Path
from typing import Any

from worker.engine.canonical import canonical_json
from worker.engine.database import CharacterDatabase, connect
from worker.engine.snapshot_content import turn_entry
from worker.memory.store import MemoryStore


def export_pieces(path: Path, *, character_id: str, header: dict[str, Any],
                  user: str | None = None) -> Generator[str, None, None]:
    """The export of the database at ``path`` as JSON text pieces — of ``user``'s thread
    alone when one is named; ``header`` holds the top-level fields besides ``content`` and
    ``snapshots``. Closing the iterator early ends the read transaction and closes its
    connection."""
    conn = connect(path)
    try:
        db = CharacterDatabase(conn, character_id=character_id, migrate=False)
        with db.read_snapshot():
            yield from _document(db, MemoryStore(conn), header, user)
    finally:
        conn.close()


def _document(db: CharacterDatabase, memory: MemoryStore, header: dict[str, Any],
              user: str | None) -> Iterator[str]:
    head = canonical_json(header)
    relationships = [r for r in db.relationships() if user is None or r.user == user]
    memories = (m for m in memory.iter_all() if user is None or m.user == user)
    yield f'{head[:-1]},"content":{{"state":{canonical_json(db.read_state())}'
    yield from _array(',"relationships":', map(canonical_json, relationships))
    yield from _array(',"memories":', map(canonical_json, memories))
    yield from _array(',"turns":', (canonical_json(turn_entry(db, turn))
                                    for turn in db.iter_turns(user=user)))
    yield "}"
    if user is None:
        yield from _snapshots(db)
    else:
        yield ',"snapshots":[]'
    yield "}\n"


def _array(prefix: str, items: Iterable[str]) -> Iterator[str]:
    yield f"{prefix}["
    empty = True
    for item in items:
        yield f"\n{item}" if empty else f",\n{item}"
        empty = False
    yield "]" if empty else "\n]"


def _snapshots(db: CharacterDatabase) -> Iterator[str]:
    yield ',"snapshots":['
    empty = True
    for name, created_at, content in db.iter_snapshots():
        yield '\n{"content":' if empty else ',\n{"content":'
        # Stored content is canonical JSON already: copied, never decoded and re-encoded.
        yield content
        yield f',"created_at":{canonical_json(created_at)},"name":{canonical_json(name)}}}'
        empty = False
    yield "]" if empty else "\n]"
