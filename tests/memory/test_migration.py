"""A character database in the memory format before episodes (version 1) opens, is migrated
in place, and then remembers what its old turns said.

``fixtures/memory_v1_character.db`` was written by greenroom at a26418a (the commit before
memory schema 2): ``sensitive_character()`` and user sam — a greeting; "My dog is called
Biscuit. My sister Ophelia moved to Lisbon last spring."; bob's "I'm allergic to peanuts.";
snapshot ``three turns``; then "I'm thinking of learning the guitar. I love jazz too!",
regenerated once (its first reply kept with its outcome). Three rule memories, with
8-dimension vectors; no episodes.
"""

from __future__ import annotations

import contextlib
import shutil
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from tests.engine.characters import sensitive_character
from tests.engine.conftest import OpenEngine, exported
from worker.engine.database import database_path
from worker.engine.turn_memories import StoredConversation
from worker.memory.episodes import form_episodes
from worker.memory.errors import MemoryFormatError
from worker.memory.migration import PastTurn, migrate_memories
from worker.memory.models import NewMemory
from worker.memory.schema import MEMORY_SCHEMA_VERSION, stored_version
from worker.memory.store import MemoryStore

FIXTURE = Path(__file__).parent / "fixtures" / "memory_v1_character.db"
MEMORY_COLUMNS = ("id, text, source, kind, importance, valence, created_at, turn_id, user_name,"
                  " embedding")


def old_database(data_dir: Path) -> Path:
    """A copy of the captured database where the engine looks for the character."""
    path = database_path(data_dir, sensitive_character().id)
    path.parent.mkdir(parents=True)
    shutil.copyfile(FIXTURE, path)
    return path


def read(path: Path, sql: str, params: Iterable[Any] = ()) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        return conn.execute(sql, tuple(params)).fetchall()


def semantic_rows(path: Path) -> list[tuple[Any, ...]]:
    return read(path, f"SELECT {MEMORY_COLUMNS} FROM memories"
                      " WHERE kind NOT IN ('message', 'reply') ORDER BY id")


def expected_episodes(path: Path) -> list[NewMemory]:
    """The episodes this version forms for the turns stored in ``path``."""
    with contextlib.closing(sqlite3.connect(path)) as conn:
        turns = list(StoredConversation(conn).turns())
    return [episode for turn in turns for episode in form_episodes(
        user_message=turn.user_message, reply=turn.reply, valence=turn.valence,
        turn_id=turn.turn_id, now=turn.created_at, user=turn.user)]


def test_the_fixture_is_a_version_1_database() -> None:
    with contextlib.closing(sqlite3.connect(f"file:{FIXTURE}?mode=ro", uri=True)) as conn:
        assert stored_version(conn) == 1
        columns = [row[1] for row in conn.execute("PRAGMA table_info(memories)")]
    assert "terms" not in columns


def test_opening_it_keeps_every_old_memory_exactly(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    path = old_database(tmp_path)
    before = semantic_rows(path)
    open_engine(sensitive_character()).close()
    assert semantic_rows(path) == before  # ids, values and vector bytes
    with contextlib.closing(sqlite3.connect(path)) as conn:
        assert stored_version(conn) == MEMORY_SCHEMA_VERSION


def test_every_stored_turn_gets_the_episodes_of_what_it_said(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    path = old_database(tmp_path)
    expected = expected_episodes(path)
    open_engine(sensitive_character()).close()
    episodes = read(path, "SELECT text, source, kind, importance, valence, created_at, turn_id,"
                          " user_name, embedding FROM memories"
                          " WHERE kind IN ('message', 'reply') ORDER BY id")
    assert episodes == [(e.text, e.source, e.kind, e.importance, e.valence, e.created_at,
                         e.turn_id, e.user, None) for e in expected]
    assert {e.turn_id for e in expected} == {1, 2, 3, 4}


async def test_what_an_old_turn_said_without_a_rule_is_found_after_the_migration(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    old_database(tmp_path)
    engine = open_engine(sensitive_character())
    [lisbon, *_] = await engine.search_memory("where does my sister live", 3)
    assert (lisbon.turn_id, lisbon.kind) == (2, "message") and "Lisbon" in lisbon.text
    [peanuts, *_] = await engine.search_memory("is there any food bob must avoid?", 3)
    assert (peanuts.turn_id, peanuts.user) == (3, "bob")


def test_memory_count_counts_the_backfilled_episodes(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    path = old_database(tmp_path)
    engine = open_engine(sensitive_character())
    stored = read(path, "SELECT COUNT(*) FROM memories")[0][0]
    assert engine.character_info()["memory_count"] == stored == 3 + len(expected_episodes(path))


def test_a_migrated_database_opens_again_unchanged(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    old_database(tmp_path)
    first = exported(open_engine(sensitive_character()))
    second = exported(open_engine(sensitive_character()))
    assert first["content"] == second["content"]


def test_undo_of_a_migrated_turn_removes_its_episodes_with_its_memories(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    path = old_database(tmp_path)
    episodes = [e for e in expected_episodes(path) if e.turn_id == 4]
    engine = open_engine(sensitive_character())
    others = read(path, f"SELECT {MEMORY_COLUMNS} FROM memories WHERE turn_id != 4 ORDER BY id")
    undone = engine.undo(user="sam")
    assert undone.turn_id == 4
    assert undone.memories_removed == 2 + len(episodes) > 2
    assert read(path, f"SELECT {MEMORY_COLUMNS} FROM memories ORDER BY id") == others


def test_the_reply_kept_before_the_migration_brings_back_what_it_left_then(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    """Its stored outcome predates episodes: selecting it restores that outcome exactly —
    its two memories, ids and vectors — and selecting the reply it replaced restores that
    reply's memories and episodes exactly."""
    path = old_database(tmp_path)
    engine = open_engine(sensitive_character())
    current = read(path, f"SELECT {MEMORY_COLUMNS} FROM memories WHERE turn_id = 4 ORDER BY id")
    engine.select_alternative(0, user="sam")
    kept = read(path, f"SELECT {MEMORY_COLUMNS} FROM memories WHERE turn_id = 4 ORDER BY id")
    assert [(row[0], row[3]) for row in kept] == [(2, "preference"), (3, "emotion")]
    engine.select_alternative(1, user="sam")
    assert read(path, f"SELECT {MEMORY_COLUMNS} FROM memories WHERE turn_id = 4 ORDER BY id"
                ) == current


def test_the_snapshot_saved_before_the_migration_loads_as_it_was_saved(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    old_database(tmp_path)
    engine = open_engine(sensitive_character())
    saved = next(s for s in exported(engine)["snapshots"] if s["name"] == "three turns")
    engine.load("three turns")
    assert exported(engine)["content"] == saved["content"]


def test_a_newer_memory_format_is_refused_and_left_as_it_was(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    path = old_database(tmp_path)
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("CREATE TABLE memories_schema (id INTEGER PRIMARY KEY, version INTEGER)")
        conn.execute("INSERT INTO memories_schema VALUES (1, ?)", (MEMORY_SCHEMA_VERSION + 1,))
    before = read(path, f"SELECT {MEMORY_COLUMNS} FROM memories ORDER BY id")
    with pytest.raises(MemoryFormatError) as refused:
        open_engine(sensitive_character())
    assert refused.value.code == "unsupported_format"
    assert "upgrade greenroom" in str(refused.value)
    assert read(path, f"SELECT {MEMORY_COLUMNS} FROM memories ORDER BY id") == before


class FailingConversation:
    """A conversation whose turns cannot be read to the end."""

    def turns(self) -> Iterable[PastTurn]:
        yield PastTurn(turn_id=1, user="sam", user_message="Hello there!", reply="Hi.",
                       created_at=1.0, valence=0.0)
        raise OSError("disk read error")

    def highest_kept_memory_id(self) -> int:
        return 0


def test_a_migration_that_fails_changes_nothing(tmp_path: Path) -> None:
    path = old_database(tmp_path)
    before = read(path, f"SELECT {MEMORY_COLUMNS} FROM memories ORDER BY id")
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        with pytest.raises(OSError, match="disk read error"):
            migrate_memories(conn, FailingConversation())
        assert stored_version(conn) == 1
    assert read(path, f"SELECT {MEMORY_COLUMNS} FROM memories ORDER BY id") == before


def test_a_store_on_tables_not_yet_migrated_refuses_to_work_on_them(tmp_path: Path) -> None:
    path = old_database(tmp_path)
    with (contextlib.closing(sqlite3.connect(path)) as conn,
          pytest.raises(MemoryFormatError, match="migrate it first")):
        MemoryStore(conn)


class KeptAbove:
    def turns(self) -> Iterable[PastTurn]:
        return ()

    def highest_kept_memory_id(self) -> int:
        return 50


def test_ids_kept_with_replaced_replies_are_never_given_to_new_memories(tmp_path: Path) -> None:
    path = old_database(tmp_path)
    with contextlib.closing(sqlite3.connect(path, isolation_level=None)) as conn:
        migrate_memories(conn, KeptAbove())
        store = MemoryStore(conn)
        new_id = store.add(NewMemory(text="Sam likes tea.", kind="preference", importance=0.5,
                                     valence=0.0, created_at=1.0, turn_id=9, user="sam"))
    assert new_id == 51
