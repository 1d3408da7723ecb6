"""A turn as stored: its row, the other replies it has had and what each left behind.

msgspec Structs, so each type is its stored schema; the database keeps them as canonical
JSON columns (``worker.engine.database``) and the export carries the same objects
(``worker.engine.snapshot_content``). ``Exchange`` is the slice of a turn the prompt reads.
"""

from __future__ import annotations

from collections.abc import Sequence

import msgspec

from worker.engine.relationship import Relationship
from worker.engine.state import EngineState
from worker.engine.turn_record import TurnRecord
from worker.memory.models import StoredMemory


class Exchange(msgspec.Struct, frozen=True):
    """What the prompt needs of a past turn: who wrote what, and the reply. Reading these
    instead of whole ``TurnRow``s skips decoding every turn's record on the path to the
    first token (about a millisecond for a 50-turn window)."""

    id: int
    user: str
    user_message: str
    reply: str


class TurnRow(msgspec.Struct, frozen=True):
    """One committed turn with its current reply. ``id`` is stable (what undo and
    regenerate act on), ``turn_index`` the 1-based position in the conversation.
    ``state_before``/``relationship_before`` (``None``: the user had none) are what undo
    writes back."""

    id: int
    turn_index: int
    user: str
    user_message: str
    reply: str
    created_at: float
    record: TurnRecord
    state_before: EngineState
    relationship_before: Relationship | None = None


class ReplyOutcome(msgspec.Struct, frozen=True):
    """What one reply of a turn left behind: the engine state after it, the speaking user's
    relationship after it (``None``: the user had none) and the memories it formed, with
    their ids and vectors. Selecting the reply again writes exactly these back."""

    state: EngineState
    relationship: Relationship | None
    memories: tuple[StoredMemory, ...]


class Alternative(msgspec.Struct, frozen=True, omit_defaults=True):
    """A reply of a turn that is not its current one.

    ``position`` numbers a turn's replies in the order they were produced (0: the first
    answer, 1: the first regenerate, …). The current reply lives in the ``TurnRow`` and its
    position is the one missing here (see ``current_position``). ``outcome`` is what the
    reply left behind, kept so it can be selected again exactly; it is ``None`` — and absent
    from the JSON, as in documents from before — for replies kept by a greenroom from before
    selection existed (schema 1, or an export without it).
    """

    position: int
    reply: str
    created_at: float
    record: TurnRecord
    outcome: ReplyOutcome | None = None


def current_position(alternatives: Sequence[Alternative]) -> int:
    """The position of a turn's current reply, given its other replies: the smallest one
    they do not use (their positions and the current one's are exactly ``0..len``)."""
    taken = {alt.position for alt in alternatives}
    return next(p for p in range(len(alternatives) + 1) if p not in taken)
