"""The commit of a turn: its rows, its memories, the relationship and the new state, in one
transaction — all of them or none.

For a new turn it inserts the turn's row (with the state and relationship before it, which
undo writes back). For another reply to a turn it keeps the current reply as an alternative
with what it left behind (``alternatives.kept_reply``), puts the new reply in the row and
replaces the turn's memories. The shared state is written only when the turn moves it
(``TurnStart.moves_state``). The caller commits before it acknowledges the turn and does
not ``await`` between this and the acknowledgement, so nothing observes a half-made turn.
"""

from __future__ import annotations

from collections.abc import Sequence

from worker.engine.alternatives import kept_reply
from worker.engine.open_character import OpenCharacter
from worker.engine.turn_prepare import TurnPlan, TurnStart
from worker.engine.turn_record import TurnRecord
from worker.engine.turn_rows import TurnRow, current_position
from worker.memory.models import NewMemory


def commit_turn(c: OpenCharacter, start: TurnStart, plan: TurnPlan, *, reply: str,
                record: TurnRecord, formed: Sequence[NewMemory]) -> None:
    """Write the turn ``start`` began, as ``plan`` planned it, with ``reply``, its
    ``record`` and the memories it ``formed``; then ``c.state`` follows the database."""
    db = c.db
    with db.transaction():
        old = start.regenerating
        if old is None:
            db.insert_turn(TurnRow(
                id=start.turn_id, turn_index=start.turn_index, user=start.user,
                user_message=start.user_message, reply=reply, created_at=start.now,
                record=record, state_before=start.state,
                relationship_before=start.relationship if start.relationship_existed else None,
            ))
        else:
            position = current_position(db.alternatives(old.id))
            db.add_alternative(old.id, kept_reply(c, old, position=position))
            db.replace_reply(old.id, reply=reply, created_at=start.now, record=record)
            c.memory.delete_of_turn(old.id)
        if start.moves_state:
            db.write_state(plan.state_after)
        db.put_relationship(plan.relationship_after)
        # Its facts and its episodes (every sentence said): one statement for them all.
        c.memory.add_many(formed)
    if start.moves_state:
        c.state = plan.state_after
