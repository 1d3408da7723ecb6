"""A user's last turn taken back or answered otherwise: undo, the replies it has had,
selecting one of them, and keeping a replaced reply with what it left behind.

Every operation acts on the last turn *of the asking user* above the undo floor
(``OpenCharacter.users_turn``). When that turn is also the character's last, the shared
state (vitals, mood, turn count) goes back exactly with it; when others have spoken since,
the state stays as it is — their turns built on it — and only the user's thread changes:
the turn, its alternatives, its memories and the user's own relationship (which only that
user's turns move, so it is restored exactly).
"""

from __future__ import annotations

from typing import Any

from worker.engine import report
from worker.engine.errors import BAD_REQUEST, EngineError
from worker.engine.open_character import OpenCharacter
from worker.engine.relationship import Relationship
from worker.engine.results import UndoResult
from worker.engine.turn_memories import memories_of_turn, put_back, take_back
from worker.engine.turn_prepare import TurnPlan, current_mood, current_vitals, plan_turn
from worker.engine.turn_rows import Alternative, ReplyOutcome, TurnRow, current_position
from worker.memory.formation import form_memories
from worker.memory.models import NewMemory


def undo(c: OpenCharacter, user: str) -> UndoResult:
    """Remove ``user``'s last turn (its row, alternatives and memories) and write back the
    relationship stored with it (none if the user had none before it); the state too when
    the turn is the character's last (``vitals_restored``), else ``reason`` says who spoke
    since. ``EngineError("nothing_to_undo")`` when ``user`` has no such turn."""
    last = c.users_turn(user, "undo")
    restores_state = c.is_last(last)
    reason = None if restores_state else _kept_state_reason(c, last)
    c.partial = None
    with c.db.transaction():
        if restores_state:
            c.db.write_state(last.state_before)
        if last.relationship_before is None:
            c.db.delete_relationship(last.user)
        else:
            c.db.put_relationship(last.relationship_before)
        removed = take_back(c.memory, c.db.conn, last.id)
        c.db.delete_turn(last.id)
    if restores_state:
        c.state = last.state_before
    now = c.clock()
    mood = current_mood(c.model, c.state, now)
    return UndoResult(
        turn_id=last.id, turn_index=last.turn_index, user=last.user,
        user_message=last.user_message, response_text=last.reply, memories_removed=removed,
        mood=mood.label, mood_intensity=mood.intensity,
        vitals=current_vitals(c.model, c.state, now).as_dict(),
        vitals_restored=restores_state, reason=reason,
    )


def _kept_state_reason(c: OpenCharacter, turn: TurnRow) -> str:
    later = ", ".join(repr(u) for u in c.db.users_after(turn.id))
    return (f"{later} spoke with character {c.id!r} after turn {turn.turn_index} of "
            f"{turn.user!r}; the vitals and mood are shared and their turns built on them, so "
            "they stay as they are. The turn, its alternatives and memories are gone, and "
            f"{turn.user!r}'s relationship is back to before it")


def replies(c: OpenCharacter, user: str) -> list[dict[str, Any]]:
    """Every reply ``user``'s last turn has had, by ``index`` (the order produced):
    ``{index, response_text, created_at (ISO), current}``; empty without such a turn."""
    last = c.users_last_turn(user)
    if last is None:
        return []
    others = c.db.alternatives(last.id)
    listed = [(alt.position, alt.reply, alt.created_at, False) for alt in others]
    listed.append((current_position(others), last.reply, last.created_at, True))
    return [
        {"index": index, "response_text": reply, "created_at": report.iso_time(created_at),
         "current": current}
        for index, reply, created_at, current in sorted(listed)
    ]


def select(c: OpenCharacter, index: int, user: str) -> None:
    """Make reply ``index`` of ``user``'s last turn its current one, writing back that
    reply's outcome (relationship and memories; the state too for the character's last
    turn) and keeping the reply it replaces, with *its* outcome, as an alternative.
    Selecting the current reply changes nothing. A reply kept without an outcome is
    re-derived (``rederived_outcome``). ``EngineError``: ``nothing_to_undo`` without such a
    turn, ``bad_request`` for an index the turn does not have."""
    last = c.users_turn(user, "choose another reply for")
    restores_state = c.is_last(last)
    c.partial = None
    others = c.db.alternatives(last.id)
    current = current_position(others)
    chosen = next((alt for alt in others if alt.position == index), None)
    if chosen is None:
        if index == current:
            return
        raise EngineError(
            BAD_REQUEST,
            f"the last turn of character {c.id!r} has replies 0 to {len(others)}; there is "
            f"no reply {index!r}. alternatives() lists them",
        )
    fresh_memories: list[NewMemory] = []
    if chosen.outcome is not None:
        outcome = chosen.outcome
    else:
        outcome, fresh_memories = rederived_outcome(c, last, chosen)
    with c.db.transaction():
        superseded = kept_reply(c, last, position=current)
        c.db.delete_alternative(last.id, chosen.position)
        c.db.add_alternative(last.id, superseded)
        c.db.replace_reply(last.id, reply=chosen.reply, created_at=chosen.created_at,
                           record=chosen.record)
        take_back(c.memory, c.db.conn, last.id)
        put_back(c.db.conn, outcome.memories)
        for memory in fresh_memories:
            c.memory.add(memory)
        if restores_state:
            c.db.write_state(outcome.state)
        if outcome.relationship is None:
            c.db.delete_relationship(last.user)
        else:
            c.db.put_relationship(outcome.relationship)
    if restores_state:
        c.state = outcome.state


def replan(c: OpenCharacter, turn: TurnRow, *, now: float) -> TurnPlan:
    """``turn``'s plan again from its stored before-state and relationship, at ``now``:
    at the time its reply was appraised it is the very plan that reply had (the
    computation is pure), as long as the vitals settings are the same."""
    before = turn.relationship_before or Relationship(user=turn.user)
    return plan_turn(c.model, turn.state_before, before, turn.user_message, now=now)


def kept_reply(c: OpenCharacter, turn: TurnRow, *, position: int) -> Alternative:
    """``turn``'s current reply as an alternative at ``position``, with what it left
    behind, read from the live database: valid while ``turn`` is its user's last turn above
    the undo floor (then the live relationship is the one after it). The state is the live
    one when ``turn`` is the character's last; otherwise the state after the reply,
    re-derived at the time it was appraised (its ``created_at``). Call inside the
    transaction that replaces that reply, before its memories go."""
    if c.is_last(turn):
        state = c.db.read_state()
    else:
        state = replan(c, turn, now=turn.created_at).state_after
    if state is None:  # open() always writes one; a database without it is not ours
        raise EngineError(BAD_REQUEST, f"character {c.id!r} has no stored state")
    outcome = ReplyOutcome(state=state, relationship=c.db.relationship(turn.user),
                           memories=tuple(memories_of_turn(c.db.conn, turn.id)))
    return Alternative(position=position, reply=turn.reply, created_at=turn.created_at,
                       record=turn.record, outcome=outcome)


def rederived_outcome(c: OpenCharacter, turn: TurnRow, alternative: Alternative
                      ) -> tuple[ReplyOutcome, list[NewMemory]]:
    """The outcome of a reply kept without one, computed the way the turn computed it: the
    turn's before-state and relationship, its message, at the reply's time. The memories
    come back as new ones (``outcome.memories`` is empty)."""
    plan = replan(c, turn, now=alternative.created_at)
    stimulus = plan.appraisal.stimulus
    formed = form_memories(
        user_message=turn.user_message, reply=alternative.reply, valence=stimulus.valence,
        arousal=stimulus.arousal, turn_id=turn.id, now=alternative.created_at, user=turn.user,
    )
    outcome = ReplyOutcome(state=plan.state_after, relationship=plan.relationship_after,
                           memories=())
    return outcome, formed
