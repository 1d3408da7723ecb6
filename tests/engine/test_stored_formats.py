"""Stored records written before they were msgspec Structs still read, exactly.

The fixtures were captured from the greenroom of commit c74229c (hand-rolled ``to_json``
records, ``json.dumps(sort_keys=True)``): a conversation of user ``sam`` with
``sensitive_character()`` — a greeting answered three times, then a fact with a memory (and
its vector) — saved as snapshot ``first words`` after the third reply, the first reply kept
without an outcome as a schema-1 database migrated to schema 2 leaves it.
``database_v2_rows.json`` holds that database's rows (JSON columns as stored),
``export_v1.json`` the export that greenroom wrote of it.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.engine.characters import sensitive_character
from tests.engine.conftest import OpenEngine, chat, exported
from worker.engine.canonical import canonical_json
from worker.engine.character_engine import CharacterEngine
from worker.engine.database import database_path
from worker.engine.relationship import Relationship
from worker.engine.snapshot_content import HistoryContent
from worker.engine.state import EngineState
from worker.engine.turn_record import TurnRecord
from worker.engine.turn_rows import ReplyOutcome
from worker.memory.models import StoredMemory

FIXTURES = Path(__file__).parent / "fixtures"
EXPORT: dict[str, Any] = json.loads((FIXTURES / "export_v1.json").read_text(encoding="utf-8"))
ROWS: dict[str, list[list[Any]]] = json.loads(
    (FIXTURES / "database_v2_rows.json").read_text(encoding="utf-8"))


def without_export_time(document: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in document.items() if key != "exported_at"}


def old_database(data_dir: Path, open_engine: OpenEngine) -> None:
    """A character database holding exactly the captured rows."""
    open_engine(sensitive_character(), data_dir=data_dir).close()  # the schema, version 2
    path = database_path(data_dir, sensitive_character().id)
    with contextlib.closing(sqlite3.connect(path)) as conn, conn:
        for table in ("engine_state", "turns", "turn_alternatives", "relationships",
                      "snapshots", "memories"):
            conn.execute(f"DELETE FROM {table}")
        for table in ("engine_state", "turns", "turn_alternatives", "relationships",
                      "snapshots"):
            for row in ROWS[table]:
                marks = ", ".join("?" * len(row))
                conn.execute(f"INSERT INTO {table} VALUES ({marks})", row)
        conn.executemany(
            "INSERT INTO memories (id, text, source, kind, importance, valence, created_at, "
            "turn_id, user_name, embedding) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(*row[:9], bytes.fromhex(row[9])) for row in ROWS["memories"]])


@pytest.mark.parametrize(("table", "column", "record_type"), [
    ("engine_state", 1, EngineState),
    ("turns", 6, TurnRecord),
    ("turns", 7, EngineState),
    ("turns", 8, Relationship | None),
    ("turn_alternatives", 4, TurnRecord),
    ("turn_alternatives", 5, EngineState | None),
    ("turn_alternatives", 6, Relationship | None),
    ("turn_alternatives", 7, tuple[StoredMemory, ...] | None),
    ("relationships", 1, Relationship),
    ("snapshots", 2, HistoryContent),
])
def test_every_stored_json_column_decodes_to_its_type_and_encodes_back_to_its_bytes(
        table: str, column: int, record_type: Any) -> None:
    texts = [row[column] for row in ROWS[table] if row[column] is not None]
    assert texts
    for text in texts:
        assert canonical_json(msgspec.json.decode(text, type=record_type)) == text


def test_an_old_database_opens_and_exports_the_document_it_exported_then(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    old_database(tmp_path, open_engine)
    engine = open_engine(sensitive_character())
    assert without_export_time(exported(engine)) == without_export_time(EXPORT)


def test_an_old_export_imports_and_exports_unchanged(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    CharacterEngine.import_document(EXPORT, data_dir=tmp_path)
    engine = open_engine(sensitive_character())
    assert without_export_time(exported(engine)) == without_export_time(EXPORT)


def test_an_old_export_round_trips_to_the_same_bytes(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    CharacterEngine.import_document(EXPORT, data_dir=tmp_path / "a")
    first = "".join(open_engine(sensitive_character(), data_dir=tmp_path / "a").export_text())
    CharacterEngine.import_document(json.loads(first), data_dir=tmp_path / "b")
    second = "".join(open_engine(sensitive_character(), data_dir=tmp_path / "b").export_text())
    assert second == first


def test_an_old_snapshot_loads_exactly(open_engine: OpenEngine, tmp_path: Path) -> None:
    old_database(tmp_path, open_engine)
    engine = open_engine(sensitive_character())
    engine.load("first words")
    assert exported(engine)["content"] == EXPORT["snapshots"][0]["content"]


def test_old_replies_with_and_without_an_outcome_select_exactly(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    old_database(tmp_path, open_engine)
    engine = open_engine(sensitive_character())
    greeting, fact = EXPORT["content"]["turns"]
    engine.undo(user="sam")  # the fact: the character's last turn, so the state goes back
    assert exported(engine)["content"]["state"] == fact["state_before"]
    assert [r["current"] for r in engine.alternatives(user="sam")] == [False, False, True]
    with_outcome = greeting["alternatives"][1]["outcome"]
    engine.select_alternative(1, user="sam")
    content = exported(engine)["content"]
    assert (content["state"], content["relationships"]) == (
        with_outcome["state"], [with_outcome["relationship"]])
    # Kept without an outcome: re-derived at its own time, it is the outcome the snapshot
    # (saved before the outcome was dropped) still holds.
    kept_then = EXPORT["snapshots"][0]["content"]["turns"][0]["alternatives"][0]["outcome"]
    engine.select_alternative(0, user="sam")
    content = exported(engine)["content"]
    assert (content["state"], content["relationships"]) == (
        kept_then["state"], [kept_then["relationship"]])


def test_a_state_of_another_format_is_refused_not_misread() -> None:
    state = json.loads(ROWS["engine_state"][0][1])
    with pytest.raises(msgspec.ValidationError, match="format"):
        msgspec.json.decode(json.dumps({**state, "format": 2}), type=EngineState)


def test_an_alternative_without_an_outcome_is_written_without_one() -> None:
    entry = EXPORT["content"]["turns"][0]
    document = json.loads(canonical_json(msgspec.convert(EXPORT["content"], HistoryContent)))
    assert "outcome" not in document["turns"][0]["alternatives"][0]
    assert document["turns"][0] == entry
    assert msgspec.convert(entry["alternatives"][1]["outcome"], ReplyOutcome).memories == ()


async def test_turns_of_an_old_database_have_no_trace_and_new_turns_do(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    old_database(tmp_path, open_engine)
    engine = open_engine(sensitive_character())
    assert [engine.trace(n).trace for n in (1, 2)] == [None, None]
    assert engine.trace(1).turn.user_message == EXPORT["content"]["turns"][0]["user_message"]
    await chat(engine, "Hello again!", user="sam")
    assert engine.trace().trace is not None
