"""Snapshots, reset, export and import: the character's whole history saved, restored,
written out and read back in.

A snapshot is a row of the character's database (``snapshots``) keyed by its name, holding
the ``HistoryContent`` as canonical JSON; no file is ever made from a name. Restoring one
(``load``) or importing an export writes the content back exactly: dumping again gives the
same bytes. The export document is written record by record (``export_stream``) and read
back whole (``ExportDocument``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Generator
from pathlib import Path
from typing import Any, Final

import msgspec

from schemas.model import is_valid_character_id
from worker.engine import report
from worker.engine.canonical import canonical_json
from worker.engine.database import CharacterDatabase, connect, database_path
from worker.engine.errors import (
    ALREADY_EXISTS,
    BAD_REQUEST,
    SNAPSHOT_NOT_FOUND,
    UNSUPPORTED_FORMAT,
    EngineError,
)
from worker.engine.export_stream import export_pieces
from worker.engine.open_character import OpenCharacter
from worker.engine.snapshot_content import (
    CONTENT_DECODER,
    HistoryContent,
    dumps_content,
    restore_content,
    validate_snapshot_name,
)
from worker.engine.state import EngineState
from worker.memory.store import MemoryStore

EXPORT_FORMAT: Final = "greenroom.character-history"
EXPORT_FORMAT_VERSION: Final = 1


class SnapshotEntry(msgspec.Struct, frozen=True):
    """One element of an export's ``snapshots``."""

    name: str
    created_at: float
    content: HistoryContent


class ExportDocument(msgspec.Struct, frozen=True):
    """The parts of an export document that import reads (after checking its format and
    version, so that a newer document is refused as such rather than as malformed)."""

    character_id: str
    content: HistoryContent
    snapshots: tuple[SnapshotEntry, ...] = ()


def save(c: OpenCharacter, name: str | None) -> str:
    """Store the committed history under ``name`` (the UTC time without one) and return
    the name; ``EngineError("invalid_name")`` before writing anything."""
    if name is None:
        name = _default_name(c)
    validate_snapshot_name(name, character_id=c.id)
    # No busy check: a streaming turn has committed nothing, so the database holds
    # exactly the last committed state, and no await separates this read from the write.
    content = dumps_content(c.db, c.memory)
    with c.db.transaction():
        c.db.put_snapshot(name, created_at=c.clock(), content=content)
    return name


def _default_name(c: OpenCharacter) -> str:
    stamp = dt.datetime.fromtimestamp(c.clock(), dt.UTC).strftime("%Y-%m-%dT%H-%M-%S")
    name, suffix = stamp, 2
    while c.db.snapshot(name) is not None:
        name, suffix = f"{stamp}-{suffix}", suffix + 1
    return name


def load(c: OpenCharacter, name: str) -> None:
    """Restore state, relationships, history and memories exactly as saved under ``name``
    (a name ``validate_snapshot_name`` accepted); ``EngineError("snapshot_not_found")``
    when there is none."""
    found = c.db.snapshot(name)
    if found is None:
        raise EngineError(
            SNAPSHOT_NOT_FOUND,
            f"character {c.id!r} has no snapshot named {name!r}; list_snapshots() shows the "
            "ones it has",
        )
    content = CONTENT_DECODER.decode(found[1])
    c.partial = None
    with c.db.transaction():
        restore_content(c.db, c.memory, content)
    c.state = content.state


def reset(c: OpenCharacter, *, preserve_memories: bool) -> None:
    """Back to the file's initial state with no relationships; ``preserve_memories`` keeps
    history and memories (undo may then not cross them), else both are erased too."""
    c.partial = None
    with c.db.transaction():
        if preserve_memories:
            last = c.db.last_turn()
            state = EngineState.initial(
                c.character, now=c.clock(), turn_count=c.db.turn_count(),
                undo_floor=last.id if last is not None else 0)
        else:
            c.db.clear_turns()
            c.memory.clear()
            state = EngineState.initial(c.character, now=c.clock())
        c.db.clear_relationships()
        c.db.write_state(state)
    c.state = state


def list_snapshots(c: OpenCharacter, offset: int, limit: int | None) -> list[dict[str, Any]]:
    """``{name, created_at (ISO), turn_count}`` of snapshots from ``offset``, oldest first."""
    rows = c.db.snapshot_page(offset, -1 if limit is None else limit)
    return [{"name": name, "created_at": report.iso_time(created_at), "turn_count": turns}
            for name, created_at, turns in rows]


def delete(c: OpenCharacter, name: str) -> None:
    """Delete a snapshot; ``EngineError("snapshot_not_found")`` when there is none."""
    validate_snapshot_name(name, character_id=c.id)
    with c.db.transaction():
        deleted = c.db.delete_snapshot(name)
    if not deleted:
        raise EngineError(SNAPSHOT_NOT_FOUND,
                          f"character {c.id!r} has no snapshot named {name!r}")


def export_text(c: OpenCharacter, *, user: str | None = None
                ) -> Generator[str, None, None]:
    """The export document as text pieces (see ``worker.engine.export_stream``); with
    ``user``, that user's thread alone (and ``"user"`` in the header)."""
    header: dict[str, Any] = {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "character_id": c.id,
        "character_name": c.character.name,
        "exported_at": report.iso_time(c.clock()),
    }
    if user is not None:
        header["user"] = user
    return export_pieces(c.db.path, character_id=c.id, header=header, user=user)


def import_document(document: dict[str, Any], *, data_dir: Path) -> None:
    """Write a decoded export into ``data_dir``, which must not hold that character yet:
    ``unsupported_format`` for a newer version, ``already_exists``, ``bad_request`` for a
    malformed document; in every refusal nothing is written."""
    if document.get("format") != EXPORT_FORMAT:
        raise EngineError(BAD_REQUEST, f"not a greenroom character export (format "
                          f"{document.get('format')!r}, expected {EXPORT_FORMAT!r})")
    version = document.get("format_version")
    if not isinstance(version, int) or version > EXPORT_FORMAT_VERSION:
        raise EngineError(
            UNSUPPORTED_FORMAT,
            f"export format version {version!r} is newer than this greenroom reads "
            f"({EXPORT_FORMAT_VERSION}); import it with a newer greenroom",
        )
    character_id = document.get("character_id")
    if not isinstance(character_id, str) or not is_valid_character_id(character_id):
        raise EngineError(BAD_REQUEST, f"export names an invalid character id "
                          f"{character_id!r}")
    path = database_path(data_dir, character_id)
    if path.exists():
        raise EngineError(
            ALREADY_EXISTS,
            f"{path} already holds character {character_id!r}; import into an empty data "
            "directory (or move that one aside)",
        )
    try:
        export = msgspec.convert(document, ExportDocument)
    except msgspec.ValidationError as exc:
        raise _malformed(character_id, exc) from exc
    for snapshot in export.snapshots:
        validate_snapshot_name(snapshot.name, character_id=character_id)
    created_dirs = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
    conn = connect(path)
    try:
        db = CharacterDatabase(conn, character_id=character_id)
        with db.transaction():
            restore_content(db, MemoryStore(conn), export.content)
            for snapshot in export.snapshots:
                db.put_snapshot(snapshot.name, created_at=snapshot.created_at,
                                content=canonical_json(snapshot.content))
    except ValueError as exc:  # a memory the store refuses (``InvalidMemory``)
        conn.close()
        _remove_database(path, created_dirs)
        raise _malformed(character_id, exc) from exc
    except BaseException:
        conn.close()
        _remove_database(path, created_dirs)
        raise
    conn.close()


def _malformed(character_id: str, exc: Exception) -> EngineError:
    return EngineError(BAD_REQUEST, f"malformed export of character {character_id!r}: {exc}")


def _remove_database(path: Path, created_dirs: list[Path]) -> None:
    """Remove a database this process just created (its WAL files, and the directories
    made for it, innermost first) after a failed import, so a refusal leaves the data
    directory as it was."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    for directory in created_dirs:
        directory.rmdir()
