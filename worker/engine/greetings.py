"""A card's greetings: the character's opening line when a user starts a conversation.

Greeting ``0`` is the card's ``first_mes`` (``roleplay.first_message``), greeting ``n`` its
``n``-th alternate greeting, as SillyTavern numbers its swipes of the first message. A
greeting is stored as the first turn of the user's thread — a turn with no user message,
the greeting (macros expanded at that moment) as its reply, and ``TurnRecord.greeting`` set
— so the prompt's history starts with it as the character's first message. It moves
nothing: vitals, mood, relationship and memories stay as they are; it counts as a turn of
the conversation (``turn_count``), and undo takes it back like any turn.

``greet`` decides and writes:

* ``index`` ``None`` (a client opening a conversation): the thread is empty and the card
  has a first message → greeting 0 is stored and returned; otherwise nothing is stored and
  the result says why (``started`` or no greeting);
* ``index`` ``n`` (``/greeting n``): stored when the thread is empty, or put in place of
  the greeting when that is all the thread holds; ``EngineError("bad_request")`` when the
  conversation has gone further, or there is no greeting ``n``.
"""

from __future__ import annotations

from dataclasses import dataclass

import msgspec

from schemas.model import Character
from worker.backends.base import GenerationDone
from worker.engine.errors import BAD_REQUEST, EngineError
from worker.engine.macros import expand
from worker.engine.open_character import OpenCharacter
from worker.engine.prompt import macro_context
from worker.engine.turn_prepare import current_mood, current_vitals
from worker.engine.turn_record import AppraisalRecord, TurnRecord
from worker.engine.turn_rows import TurnRow

GREETING_BACKEND = "card"
GREETING_MODEL = "greeting"


@dataclass(frozen=True, slots=True)
class GreetingResult:
    """What ``greet`` did. ``text`` is the greeting now opening the user's thread (``None``
    when none was stored), ``index`` its number, ``count`` how many greetings the card has
    (``first_mes`` and the alternates), ``turn_id`` the greeting's turn, ``replaced``
    whether it took the place of an earlier greeting, ``started`` whether the user's thread
    already held more than a greeting (so none was stored)."""

    text: str | None
    index: int | None
    count: int
    turn_id: int | None = None
    replaced: bool = False
    started: bool = False


def greetings_of(character: Character) -> list[str]:
    """The card's greetings by number: ``first_mes`` then the alternates; empty when the
    character has neither (an empty ``first_mes`` keeps number 0, and is never sent)."""
    roleplay = character.roleplay
    if not roleplay.first_message and not roleplay.alternate_greetings:
        return []
    return [roleplay.first_message or "", *roleplay.alternate_greetings]


def greet(c: OpenCharacter, user: str, index: int | None) -> GreetingResult:
    """Open ``user``'s thread with a greeting, or replace its greeting (module docstring)."""
    greetings = greetings_of(c.character)
    mine = c.users_last_turn(user)
    thread = c.db.turn_count(user=user)
    only_greeting = (thread == 1 and mine is not None and mine.record.greeting is not None)
    if index is None:
        if thread or not greetings or not greetings[0].strip():
            return GreetingResult(None, None, len(greetings), started=thread > 0)
        index = 0
    if not 0 <= index < len(greetings) or not greetings[index].strip():
        raise EngineError(BAD_REQUEST, _no_such_greeting(c.character, index, greetings))
    if thread and not only_greeting:
        raise EngineError(
            BAD_REQUEST,
            f"the conversation of user {user!r} with character {c.id!r} has already begun; "
            "a greeting only opens one (reset, or undo back to it, to choose another)")
    now = c.clock()
    if only_greeting and mine is not None:
        text = _expanded(c, greetings[index], user, now, mine.id)
        with c.db.transaction():
            c.db.replace_reply(mine.id, reply=text, created_at=now,
                               record=_record(c, now, index))
        return GreetingResult(text, index, len(greetings), mine.id, replaced=True)
    turn_id = c.db.next_turn_id()
    text = _expanded(c, greetings[index], user, now, turn_id)
    state_after = msgspec.structs.replace(c.state, turn_count=c.state.turn_count + 1)
    with c.db.transaction():
        c.db.insert_turn(TurnRow(
            id=turn_id, turn_index=state_after.turn_count, user=user, user_message="",
            reply=text, created_at=now, record=_record(c, now, index), state_before=c.state,
            relationship_before=c.db.relationship(user)))
        c.db.write_state(state_after)
    c.state = state_after
    return GreetingResult(text, index, len(greetings), turn_id)


def _expanded(c: OpenCharacter, text: str, user: str, now: float, turn_id: int) -> str:
    return expand(text, macro_context(c.character, user, now, turn_id * 1000)).strip()


def _record(c: OpenCharacter, now: float, index: int) -> TurnRecord:
    vitals = current_vitals(c.model, c.state, now)
    mood = current_mood(c.model, c.state, now)
    return TurnRecord(
        appraisal=AppraisalRecord(valence=0.0, arousal=0.0, warmth=0.0, threat=0.0,
                                  curiosity=0.0, humour=0.0, intent="greeting", sentiment=0.0),
        intent="greeting", mood=mood.label, mood_intensity=mood.intensity,
        vitals_before=vitals, vitals_after=vitals, vitals_delta=vitals.minus(vitals),
        generation=GenerationDone(backend=GREETING_BACKEND, model=GREETING_MODEL),
        memories_used=(), memories_formed=(), timings_ms={}, greeting=index)


def _no_such_greeting(character: Character, index: int, greetings: list[str]) -> str:
    if not greetings:
        return (f"character {character.id!r} has no greeting (its card has no first_mes "
                "and no alternate_greetings)")
    usable = [str(i) for i, text in enumerate(greetings) if text.strip()]
    return (f"character {character.id!r} has no greeting {index}; its greetings are "
            f"{', '.join(usable)} (0 is first_mes, the others its alternate greetings)")
