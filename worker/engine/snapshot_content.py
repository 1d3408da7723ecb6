"""Snapshot names, and a character's history as one ``content`` document.

``HistoryContent`` is what a snapshot stores and what an export carries (one per snapshot,
plus the live one)::

    {"state": {...}, "turns": [{..., "alternatives": [...]}, ...],
     "relationships": [{...}, ...], "memories": [{...}, ...]}

An alternative carries its ``outcome`` (state, relationship and memories after that reply)
when it has one; documents written before replies could be selected have none, and still
restore (``Alternative.outcome`` is ``None``). A turn carries the ``traces`` of its replies
(by position) when it has any; a turn committed before traces were stored has none, and
its entry is then exactly what it was before (no ``traces`` key). Likewise ``revised``: the
memories the turn's model notes updated or deleted, as they were before, so that undoing the
turn after a load or an import puts them back too.

Dumping and restoring are exact: restoring a dump and dumping again gives the same bytes
(canonical JSON; memory vectors are float32 in the store and so survive the round trip).
``restore_content`` writes but does not commit: the caller wraps it in its transaction.
"""

from __future__ import annotations

from typing import Final

import msgspec

from protocol.names import snapshot_name_problem
from worker.engine.canonical import canonical_json
from worker.engine.database import CharacterDatabase
from worker.engine.errors import BAD_REQUEST, INVALID_NAME, EngineError
from worker.engine.relationship import Relationship
from worker.engine.state import EngineState
from worker.engine.turn_memories import put_revisions, revisions_of_turn
from worker.engine.turn_rows import Alternative, TurnRow
from worker.engine.turn_trace import ReplyTrace
from worker.memory.models import StoredMemory
from worker.memory.store import MemoryStore


class TurnEntry(TurnRow, frozen=True):
    """One element of ``content["turns"]``: the turn's row with its kept alternatives, the
    traces of its replies and the memories its model notes revised, as they were before
    (``turn_memories``; each absent, not empty, when it has none)."""

    alternatives: tuple[Alternative, ...] = ()
    traces: tuple[ReplyTrace, ...] | msgspec.UnsetType = msgspec.UNSET
    revised: tuple[StoredMemory, ...] | msgspec.UnsetType = msgspec.UNSET


class HistoryContent(msgspec.Struct, frozen=True):
    """A character's whole history: the state, every turn (oldest first), every
    relationship (by user) and every memory (by id)."""

    state: EngineState
    turns: tuple[TurnEntry, ...]
    relationships: tuple[Relationship, ...]
    memories: tuple[StoredMemory, ...]


CONTENT_DECODER: Final = msgspec.json.Decoder(HistoryContent)


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


def turn_entry(db: CharacterDatabase, turn: TurnRow) -> TurnEntry:
    """``turn`` with its kept alternatives and traces, as ``content["turns"]`` holds it."""
    traces = tuple(ReplyTrace(position=p, trace=t) for p, t in db.traces(turn.id))
    revised = tuple(revisions_of_turn(db.conn, turn.id))
    return TurnEntry(**msgspec.structs.asdict(turn), alternatives=tuple(db.alternatives(turn.id)),
                     traces=traces or msgspec.UNSET, revised=revised or msgspec.UNSET)


def dumps_content(db: CharacterDatabase, memory: MemoryStore) -> str:
    """The live history as canonical JSON (what ``save`` stores)."""
    state = db.read_state()
    if state is None:  # open() always writes one; a database without it is not ours
        raise EngineError(BAD_REQUEST, f"character {db.character_id!r} has no stored state")
    return canonical_json(HistoryContent(
        state=state,
        turns=tuple(turn_entry(db, turn) for turn in db.iter_turns()),
        relationships=tuple(db.relationships()),
        memories=tuple(memory.all()),
    ))


def restore_content(db: CharacterDatabase, memory: MemoryStore, content: HistoryContent) -> None:
    """Replace state, turns, relationships and memories with ``content`` (no commit)."""
    db.write_state(content.state)
    db.clear_turns()
    for entry in content.turns:
        db.insert_turn(entry)
        for alternative in entry.alternatives:
            db.add_alternative(entry.id, alternative)
        for reply in entry.traces or ():
            db.put_trace(entry.id, reply.position, reply.trace)
        put_revisions(db.conn, entry.id, entry.revised or ())
    db.clear_relationships()
    for relationship in content.relationships:
        db.put_relationship(relationship)
    memory.clear()
    memory.restore(content.memories)
    # Memories kept with the alternatives may come back (select), and those a turn's notes
    # revised (undo); no new memory may take their ids, also when this database never held
    # them (an import).
    kept = (m.id for entry in content.turns for alternative in entry.alternatives
            if alternative.outcome is not None for m in alternative.outcome.memories)
    revised = (m.id for entry in content.turns for m in entry.revised or ())
    memory.reserve_ids(max((*kept, *revised), default=0))
