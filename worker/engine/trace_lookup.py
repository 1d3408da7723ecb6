"""The stored trace of a past turn: found by the turn's position in the conversation, read
from the reply that is its current one (each reply of a turn keeps its own trace)."""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from protocol.generation import GenerationSettings
from worker.engine.database import CharacterDatabase
from worker.engine.errors import BAD_REQUEST, EngineError
from worker.engine.open_character import OpenCharacter
from worker.engine.turn_rows import TurnRow, current_position
from worker.engine.turn_trace import TurnTrace


@dataclass(frozen=True, slots=True)
class StoredTrace:
    """A turn and the trace of its current reply (``None``: stored before traces were)."""

    turn: TurnRow
    trace: TurnTrace | None


def trace_of(c: OpenCharacter, turn_index: int | None) -> StoredTrace:
    """The turn at ``turn_index`` (``None``: the newest) with its trace;
    ``EngineError("bad_request")`` naming the turns there are when there is no such turn."""
    db = c.db
    turn = db.last_turn() if turn_index is None else db.turn_at(turn_index)
    if turn is None:
        last = db.last_turn()
        if last is None:
            raise EngineError(BAD_REQUEST, f"character {c.id!r} has no turns yet: there is no "
                                           "trace to show")
        raise EngineError(BAD_REQUEST, f"character {c.id!r} has no turn {turn_index}; its "
                                       f"newest turn is turn {last.turn_index}")
    return StoredTrace(turn=turn, trace=current_trace(db, turn.id))


def current_trace(db: CharacterDatabase, turn_id: int) -> TurnTrace | None:
    """The trace of turn ``turn_id``'s current reply."""
    return db.trace(turn_id, current_position(db.alternatives(turn_id)))


def session_settings(trace: TurnTrace | None) -> GenerationSettings | None:
    """The settings a session had set for the reply ``trace`` describes (``None``: none), so
    that answering the turn again runs with them too."""
    if trace is None or not trace.generation.session:
        return None
    return msgspec.convert(trace.generation.session, GenerationSettings)
