"""Snapshot names, and a character's history as one JSON-able ``content`` document.

``content`` is what a snapshot stores and what an export carries (one per snapshot, plus
the live one)::

    {"state": {...}, "turns": [{..., "alternatives": [...]}, ...],
     "relationships": [{...}, ...], "memories": [{...}, ...]}

An alternative carries its ``outcome`` (state, relationship and memories after that reply)
when it has one; documents written before replies could be selected have none, and still
restore (``Alternative.from_json``).

Dumping and restoring are exact: restoring a dump and dumping again gives the same bytes
(canonical JSON; memory vectors are float32 in the store and so survive the round trip).
``restore_content`` writes but does not commit: the caller wraps it in its transaction.
"""

from __future__ import annotations

import json
from typing import Any

import msgspec

from protocol.names import snapshot_name_problem
from worker.engine.database import Alternative, CharacterDatabase, TurnRow
from worker.engine.errors import INVALID_NAME, EngineError
from worker.engine.relationship import Relationship
from worker.engine.state import EngineState, canonical_json
from worker.memory.models import StoredMemory
from worker.memory.store import MemoryStore


def validate_snapshot_name(name: str, *, character_id: str) -> str:
    """``name`` if ``protocol.snapshot_name_problem`` finds nothing wrong with it (1 to 128
    bytes of UTF-8; no path separator, ``..``, leading dot or control character), else
    ``EngineError("invalid_name")``. Any other text is a fine name — ``日本語``, ``café``,
    ``a:b`` — because a snapshot is a row of the character's database keyed by its name:
    no file or path is ever made from one."""
    problem = snapshot_name_problem(name)
    if problem is not None:
        raise EngineError(
            INVALID_NAME,
            f"snapshot name {name!r} for character {character_id!r} is refused: {problem}. "
            "Snapshot names are names, not paths; use something like 'before-the-duel'.",
        )
    return name


def turn_entry(db: CharacterDatabase, turn: TurnRow) -> dict[str, Any]:
    """One element of ``content["turns"]``: the turn with its kept alternatives."""
    entry = turn.to_json()
    entry["alternatives"] = [alt.to_json() for alt in db.alternatives(turn.id)]
    return entry


def dump_content(db: CharacterDatabase, memory: MemoryStore) -> dict[str, Any]:
    state_text = db.read_state_text()
    turns = [turn_entry(db, turn) for turn in db.iter_turns()]
    return {
        "state": None if state_text is None else json.loads(state_text),
        "turns": turns,
        "relationships": [r.to_json() for r in db.relationships()],
        "memories": [msgspec.to_builtins(m) for m in memory.all()],
    }


def dumps_content(db: CharacterDatabase, memory: MemoryStore) -> str:
    return canonical_json(dump_content(db, memory))


def restore_content(db: CharacterDatabase, memory: MemoryStore, content: dict[str, Any]) -> None:
    """Replace state, turns, relationships and memories with ``content`` (no commit)."""
    db.write_state(EngineState.from_json(content["state"]))
    db.clear_turns()
    for entry in content["turns"]:
        turn = TurnRow.from_json(entry)
        db.insert_turn(turn)
        for alt in entry.get("alternatives", []):
            db.add_alternative(Alternative.from_json(turn.id, alt))
    db.clear_relationships()
    for data in content["relationships"]:
        db.put_relationship(Relationship.from_json(data))
    memory.clear()
    memory.restore(msgspec.convert(content["memories"], list[StoredMemory]))
