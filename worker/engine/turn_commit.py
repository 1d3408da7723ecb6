"""The commit of a turn: its rows, its memories, the relationship and the new state, in one
transaction — all of them or none.

For a new turn it inserts the turn's row (with the state and relationship before it, which
undo writes back). For another reply to a turn it keeps the current reply as an alternative
with what it left behind (``alternatives.kept_reply``), puts the new reply in the row and
replaces the turn's memories. Either way the reply's trace is stored at its position (0 for
a new turn, ``TurnStart.variant`` for another reply), so each reply keeps its own. The
shared state is written only when the turn moves it (``TurnStart.moves_state``). The prompt
sent is kept as its user's last, with the model's token calibration (``prompt_store``). The
caller commits before it acknowledges the turn and does not ``await`` between this and the
acknowledgement, so nothing observes a half-made turn.
"""

from __future__ import annotations

from collections.abc import Sequence

from worker.engine.alternatives import kept_reply
from worker.engine.open_character import OpenCharacter, calibration_key
from worker.engine.prompt_budget import Calibration, calibrated
from worker.engine.prompt_store import SentPrompt
from worker.engine.turn_memories import take_back
from worker.engine.turn_prepare import TurnPlan, TurnStart
from worker.engine.turn_record import TurnRecord
from worker.engine.turn_rows import TurnRow, current_position
from worker.engine.turn_trace import TurnTrace
from worker.memory.models import NewMemory


def commit_turn(c: OpenCharacter, start: TurnStart, plan: TurnPlan, *, reply: str,
                record: TurnRecord, trace: TurnTrace, formed: Sequence[NewMemory],
                sent: SentPrompt | None = None) -> None:
    """Write the turn ``start`` began, as ``plan`` planned it, with ``reply``, its
    ``record``, its ``trace``, the memories it ``formed`` and the prompt ``sent`` for it
    (``None``: none was, the reply was kept from a cut-off stream) with the model's token
    calibration it leads to; then ``c.state`` and ``c.calibrations`` follow the database."""
    db = c.db
    calibration = None if sent is None else calibration_after(sent)
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
            take_back(c.memory, c.db.conn, old.id)
        # The replies' positions are 0..n: the new one takes the next (its variant).
        db.put_trace(start.turn_id, start.variant, trace)
        if start.moves_state:
            db.write_state(plan.state_after)
        db.put_relationship(plan.relationship_after)
        # Its facts and its episodes (every sentence said): one statement for them all.
        c.memory.add_many(formed)
        if sent is None:
            c.prompts.forget(start.user)
        else:
            c.prompts.keep(sent)
        if calibration is not None:
            c.prompts.put_calibration(*calibration)
    if start.moves_state:
        c.state = plan.state_after
    if calibration is not None:
        c.calibrations[calibration[0]] = calibration[1]


def calibration_after(sent: SentPrompt) -> tuple[str, Calibration] | None:
    """The model's calibration after ``sent``, when the server counted its prompt (and the
    count is believable: ``prompt_budget.calibrated``), with the model's name."""
    reported = sent.generation.prompt_tokens
    if reported is None:
        return None
    updated = calibrated(sent.budget.calibration, reported=reported,
                         estimated=sent.built.raw_tokens)
    return None if updated is None else (calibration_key(sent.backend, sent.options), updated)
