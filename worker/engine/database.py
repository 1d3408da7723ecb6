"""The character's SQLite database: the thin I/O edge under the engine.

One database per character at ``<data_dir>/characters/<id>/character.db``, in WAL mode with
``synchronous=FULL``: a committed transaction survives a process kill and a power cut.
The connection runs in autocommit mode (``isolation_level=None``) and every write the engine
makes goes through ``transaction()`` (``BEGIN IMMEDIATE`` … ``COMMIT``), so a turn's rows,
its memories and the new state land together or not at all. Nothing here awaits: a
transaction never spans an ``await``, so the single asyncio loop never interleaves two.

Each JSON column holds one record type of ``worker.engine.turn_rows`` (or the state, a
relationship, a turn's record, a reply's trace) as canonical JSON, and is read back with that
type's decoder: a row that does not match its type is an error, never a half-read value.

The tables and their versions are ``worker.engine.database_schema``'s (the memory tables
``worker.memory.schema``'s); opening a database migrates both (or refuses one from a newer
greenroom).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final

import msgspec

from runtime.private_dirs import make_private_dirs
from worker.engine.canonical import canonical_json
from worker.engine.database_schema import migrate_schema
from worker.engine.relationship import Relationship
from worker.engine.state import EngineState
from worker.engine.turn_memories import StoredConversation
from worker.engine.turn_record import TurnRecord
from worker.engine.turn_rows import Alternative, Exchange, ReplyOutcome, TurnRow
from worker.engine.turn_trace import TurnTrace
from worker.memory.migration import migrate_memories
from worker.memory.models import StoredMemory

DATABASE_NAME: Final = "character.db"


def database_path(data_dir: Path, character_id: str) -> Path:
    """Where a character's database lives; ``character_id`` is already a validated id."""
    return data_dir / "characters" / character_id / DATABASE_NAME


def connect(path: Path) -> sqlite3.Connection:
    """Open (creating if needed) a character database with the pragmas durability needs;
    directories it creates are owner-only (conversations are private)."""
    make_private_dirs(path.parent)
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=5000")
    return conn


class CharacterDatabase:
    """Typed reads and writes over one character's tables. Writes must run inside
    ``transaction()``; reads may run anywhere.

    ``migrate=False`` is for a second, read-only connection to a database the engine has
    already opened (and so migrated): it writes nothing at all."""

    def __init__(self, conn: sqlite3.Connection, *, character_id: str,
                 migrate: bool = True) -> None:
        self.conn = conn
        self.character_id = character_id
        if migrate:
            migrate_schema(conn, character_id=character_id)
            migrate_memories(conn, StoredConversation(conn))

    @property
    def path(self) -> Path:
        """The database file this connection reads."""
        return Path(self.conn.execute("PRAGMA database_list").fetchone()[2])

    @contextmanager
    def read_snapshot(self) -> Iterator[None]:
        """One read transaction: every read inside sees the database as of its first read,
        whatever other connections commit meanwhile (WAL). Writes nothing."""
        self.conn.execute("BEGIN")
        try:
            yield
        finally:
            self.conn.execute("ROLLBACK")

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """``BEGIN IMMEDIATE`` … ``COMMIT``; any exception rolls everything back."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- state ---------------------------------------------------------------------------

    def read_state(self) -> EngineState | None:
        row = self.conn.execute("SELECT state FROM engine_state WHERE id = 1").fetchone()
        return None if row is None else _STATE.decode(row[0])

    def write_state(self, state: EngineState) -> None:
        self.conn.execute(
            "INSERT INTO engine_state (id, state) VALUES (1, ?) "
            "ON CONFLICT (id) DO UPDATE SET state = excluded.state",
            (canonical_json(state),),
        )

    # -- relationships -------------------------------------------------------------------

    def relationship(self, user: str) -> Relationship | None:
        row = self.conn.execute("SELECT data FROM relationships WHERE user = ?", (user,)).fetchone()
        return None if row is None else _RELATIONSHIP.decode(row[0])

    def put_relationship(self, relationship: Relationship) -> None:
        self.conn.execute(
            "INSERT INTO relationships (user, data) VALUES (?, ?) "
            "ON CONFLICT (user) DO UPDATE SET data = excluded.data",
            (relationship.user, canonical_json(relationship)),
        )

    def delete_relationship(self, user: str) -> None:
        self.conn.execute("DELETE FROM relationships WHERE user = ?", (user,))

    def relationships(self) -> list[Relationship]:
        rows = self.conn.execute("SELECT data FROM relationships ORDER BY user").fetchall()
        return [_RELATIONSHIP.decode(row[0]) for row in rows]

    def clear_relationships(self) -> None:
        self.conn.execute("DELETE FROM relationships")

    # -- turns ---------------------------------------------------------------------------

    def insert_turn(self, turn: TurnRow) -> None:
        """Insert ``turn`` with its own id (the caller picks ``next_turn_id()``)."""
        self.conn.execute(
            "INSERT INTO turns (id, turn_index, user, user_message, reply, created_at, record, "
            "state_before, relationship_before) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                turn.id, turn.turn_index, turn.user, turn.user_message, turn.reply,
                turn.created_at, canonical_json(turn.record), canonical_json(turn.state_before),
                None if turn.relationship_before is None
                else canonical_json(turn.relationship_before),
            ),
        )

    def next_turn_id(self) -> int:
        row = self.conn.execute("SELECT COALESCE(MAX(id), 0) FROM turns").fetchone()
        return int(row[0]) + 1

    def replace_reply(self, turn_id: int, *, reply: str, created_at: float,
                      record: TurnRecord) -> None:
        self.conn.execute(
            "UPDATE turns SET reply = ?, created_at = ?, record = ? WHERE id = ?",
            (reply, created_at, canonical_json(record), turn_id),
        )

    def delete_turn(self, turn_id: int) -> None:
        self.conn.execute("DELETE FROM turn_traces WHERE turn_id = ?", (turn_id,))
        self.conn.execute("DELETE FROM turn_alternatives WHERE turn_id = ?", (turn_id,))
        self.conn.execute("DELETE FROM turns WHERE id = ?", (turn_id,))

    def clear_turns(self) -> None:
        """Every turn goes, with its alternatives, traces and memory revisions."""
        self.conn.execute("DELETE FROM memory_revisions")
        self.conn.execute("DELETE FROM turn_traces")
        self.conn.execute("DELETE FROM turn_alternatives")
        self.conn.execute("DELETE FROM turns")

    def last_turn(self) -> TurnRow | None:
        rows = self._turns("ORDER BY id DESC LIMIT 1")
        return rows[0] if rows else None

    def turn_at(self, turn_index: int) -> TurnRow | None:
        """The turn at ``turn_index`` (the newest of that index, if a reset made two)."""
        rows = self._turns("WHERE turn_index = ? ORDER BY id DESC LIMIT 1", (turn_index,))
        return rows[0] if rows else None

    def last_turn_of(self, user: str) -> TurnRow | None:
        """The newest turn ``user`` wrote (``turns_by_user`` finds it without a scan)."""
        rows = self._turns("WHERE user = ? ORDER BY id DESC LIMIT 1", (user,))
        return rows[0] if rows else None

    def iter_turns(self, *, user: str | None = None) -> Iterator[TurnRow]:
        """Every turn (``user``'s alone when one is named), oldest first, read from the
        cursor one row at a time (memory: one turn, however many there are)."""
        where, params = _of_user(user)
        cursor = self.conn.execute(f"{_TURN_SELECT} {where}ORDER BY id", params)
        return map(_turn_row, cursor)

    def turns_page(self, offset: int, limit: int, *, user: str | None = None
                   ) -> list[TurnRow]:
        """Turns ``offset`` .. ``offset + limit - 1``, counted from the oldest — of ``user``'s
        turns alone when one is named."""
        where, params = _of_user(user)
        return self._turns(f"{where}ORDER BY id LIMIT ? OFFSET ?", (*params, limit, offset))

    def recent_turns(self, limit: int) -> list[TurnRow]:
        """The newest ``limit`` turns, oldest first."""
        return list(reversed(self._turns("ORDER BY id DESC LIMIT ?", (limit,))))

    def recent_exchanges(self, limit: int, *, user: str, before: int | None = None
                         ) -> list[Exchange]:
        """``user``'s newest ``limit`` turns (those with an id below ``before``, if given) as
        ``Exchange``s, oldest first: one user's thread of the conversation, read through
        ``turns_by_user`` (others' turns are never read)."""
        where, params = ("", ()) if before is None else ("AND id < ? ", (before,))
        rows = self.conn.execute(
            f"SELECT id, user, user_message, reply FROM turns WHERE user = ? {where}"
            "ORDER BY id DESC LIMIT ?",
            (user, *params, limit),
        ).fetchall()
        return [Exchange(id=int(r[0]), user=str(r[1]), user_message=str(r[2]), reply=str(r[3]))
                for r in reversed(rows)]

    def users_after(self, turn_id: int) -> list[str]:
        """The users who wrote a turn after ``turn_id``, by name."""
        rows = self.conn.execute(
            "SELECT DISTINCT user FROM turns WHERE id > ? ORDER BY user", (turn_id,)).fetchall()
        return [str(r[0]) for r in rows]

    def turn_count(self, *, user: str | None = None) -> int:
        """How many turns there are (that ``user`` wrote, when one is named)."""
        where, params = _of_user(user)
        return int(self.conn.execute(f"SELECT COUNT(*) FROM turns {where}", params)
                   .fetchone()[0])

    def _turns(self, suffix: str, params: tuple[Any, ...] = ()) -> list[TurnRow]:
        rows = self.conn.execute(f"{_TURN_SELECT} {suffix}", params).fetchall()
        return [_turn_row(r) for r in rows]

    def add_alternative(self, turn_id: int, alternative: Alternative) -> None:
        """Keep ``alternative`` as a reply of turn ``turn_id``."""
        outcome = alternative.outcome
        self.conn.execute(
            "INSERT INTO turn_alternatives (turn_id, position, reply, created_at, record, "
            "state_after, relationship_after, memories) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (turn_id, alternative.position, alternative.reply,
             alternative.created_at, canonical_json(alternative.record),
             None if outcome is None else canonical_json(outcome.state),
             None if outcome is None or outcome.relationship is None
             else canonical_json(outcome.relationship),
             None if outcome is None else canonical_json(outcome.memories)),
        )

    def delete_alternative(self, turn_id: int, position: int) -> None:
        self.conn.execute("DELETE FROM turn_alternatives WHERE turn_id = ? AND position = ?",
                          (turn_id, position))

    def alternatives(self, turn_id: int) -> list[Alternative]:
        """The replies of ``turn_id`` other than its current one, by position."""
        rows = self.conn.execute(
            "SELECT position, reply, created_at, record, state_after, relationship_after, "
            "memories FROM turn_alternatives WHERE turn_id = ? ORDER BY position",
            (turn_id,),
        ).fetchall()
        return [
            Alternative(position=int(r[0]), reply=str(r[1]), created_at=float(r[2]),
                        record=_RECORD.decode(r[3]), outcome=_outcome(r[4], r[5], r[6]))
            for r in rows
        ]

    def alternative_counts(self, turn_ids: Sequence[int]) -> dict[int, int]:
        """turn id → number of replies kept besides the current one, for those of
        ``turn_ids`` that have any."""
        marks = ", ".join("?" * len(turn_ids))
        rows = self.conn.execute(
            "SELECT turn_id, COUNT(*) FROM turn_alternatives "
            f"WHERE turn_id IN ({marks}) GROUP BY turn_id", tuple(turn_ids)).fetchall()
        return {int(r[0]): int(r[1]) for r in rows}

    # -- traces --------------------------------------------------------------------------

    def put_trace(self, turn_id: int, position: int, trace: TurnTrace) -> None:
        """Store the trace of reply ``position`` of turn ``turn_id`` (see
        ``turn_rows.Alternative.position``; a new turn's reply is position 0)."""
        self.conn.execute(
            "INSERT INTO turn_traces (turn_id, position, trace) VALUES (?, ?, ?) "
            "ON CONFLICT (turn_id, position) DO UPDATE SET trace = excluded.trace",
            (turn_id, position, canonical_json(trace)),
        )

    def trace(self, turn_id: int, position: int) -> TurnTrace | None:
        """The trace of reply ``position`` of turn ``turn_id``; ``None`` for a reply
        committed before traces were stored (schema 2 and older)."""
        row = self.conn.execute(
            "SELECT trace FROM turn_traces WHERE turn_id = ? AND position = ?",
            (turn_id, position)).fetchone()
        return None if row is None else _TRACE.decode(row[0])

    def traces(self, turn_id: int) -> list[tuple[int, TurnTrace]]:
        """``(position, trace)`` of every reply of ``turn_id`` that has one, by position."""
        rows = self.conn.execute(
            "SELECT position, trace FROM turn_traces WHERE turn_id = ? ORDER BY position",
            (turn_id,)).fetchall()
        return [(int(r[0]), _TRACE.decode(r[1])) for r in rows]

    # -- snapshots -----------------------------------------------------------------------

    def put_snapshot(self, name: str, *, created_at: float, content: str) -> None:
        self.conn.execute(
            "INSERT INTO snapshots (name, created_at, content) VALUES (?, ?, ?) "
            "ON CONFLICT (name) DO UPDATE SET created_at = excluded.created_at, "
            "content = excluded.content",
            (name, created_at, content),
        )

    def snapshot(self, name: str) -> tuple[float, str] | None:
        row = self.conn.execute(
            "SELECT created_at, content FROM snapshots WHERE name = ?", (name,)
        ).fetchone()
        return None if row is None else (float(row[0]), str(row[1]))

    def iter_snapshots(self) -> Iterator[tuple[str, float, str]]:
        """``(name, created_at, content)`` for every snapshot, oldest first, read from the
        cursor one row at a time."""
        cursor = self.conn.execute(
            "SELECT name, created_at, content FROM snapshots ORDER BY created_at, name")
        return ((str(r[0]), float(r[1]), str(r[2])) for r in cursor)

    def snapshot_count(self) -> int:
        return int(self.conn.execute("SELECT COUNT(*) FROM snapshots").fetchone()[0])

    def snapshot_page(self, offset: int, limit: int) -> list[tuple[str, float, int]]:
        """``(name, created_at, turn_count)`` of snapshots ``offset`` .. ``offset + limit -
        1``, oldest first. The turn count is read by SQLite from the stored JSON, so a page
        costs its own rows, never a decode of every snapshot's content."""
        rows = self.conn.execute(
            "SELECT name, created_at, COALESCE(json_extract(content, '$.state.turn_count'), 0) "
            "FROM snapshots ORDER BY created_at, name LIMIT ? OFFSET ?", (limit, offset),
        ).fetchall()
        return [(str(r[0]), float(r[1]), int(r[2])) for r in rows]

    def delete_snapshot(self, name: str) -> bool:
        cursor = self.conn.execute("DELETE FROM snapshots WHERE name = ?", (name,))
        return cursor.rowcount > 0


_TURN_SELECT: Final = (
    "SELECT id, turn_index, user, user_message, reply, created_at, record, state_before, "
    "relationship_before FROM turns"
)


def _of_user(user: str | None) -> tuple[str, tuple[str, ...]]:
    """The ``WHERE`` clause (with its trailing space) and parameters that keep ``user``'s
    turns; nothing for ``None``. ``turns_by_user`` serves it."""
    return ("", ()) if user is None else ("WHERE user = ? ", (user,))


_STATE: Final = msgspec.json.Decoder(EngineState)
_RELATIONSHIP: Final = msgspec.json.Decoder(Relationship)
_RECORD: Final = msgspec.json.Decoder(TurnRecord)
_MEMORIES: Final = msgspec.json.Decoder(tuple[StoredMemory, ...])
_TRACE: Final = msgspec.json.Decoder(TurnTrace)


def _turn_row(r: Sequence[Any]) -> TurnRow:
    return TurnRow(
        id=int(r[0]), turn_index=int(r[1]), user=str(r[2]), user_message=str(r[3]),
        reply=str(r[4]), created_at=float(r[5]), record=_RECORD.decode(r[6]),
        state_before=_STATE.decode(r[7]),
        relationship_before=None if r[8] is None else _RELATIONSHIP.decode(r[8]),
    )


def _outcome(state: str | None, relationship: str | None, memories: str | None
             ) -> ReplyOutcome | None:
    # The three columns are written together: all NULL only for a reply kept before
    # schema 2 (a turn's relationship column alone may be NULL: the user had none).
    if state is None or memories is None:
        return None
    return ReplyOutcome(
        state=_STATE.decode(state),
        relationship=None if relationship is None else _RELATIONSHIP.decode(relationship),
        memories=_MEMORIES.decode(memories),
    )
