"""``CharacterEngine``: the character as a worker hosts it — the facade over the pure core
(appraisal, vitals, mood, relationship, prompt) and its two edges (the SQLite database and
the LLM backend).

Promises:

* **Acknowledged ⇒ durable.** A turn (user message, reply, appraisal, vitals after, memories
  formed) and the new state are committed in one transaction *before* its ``TurnResult`` is
  yielded. Closing or cancelling a ``chat`` stream before that commits nothing: the vitals,
  relationship and memories are exactly as before.
* **One turn at a time.** A second ``chat``/``regenerate`` (or ``undo``/
  ``select_alternative``/``load``/``reset``) while a turn streams raises
  ``EngineError("busy")``; ``status``, ``search_memory``, ``alternatives``, ``save``,
  ``list_snapshots`` and ``character_info`` work meanwhile (``save`` stores the last
  committed state: the streaming turn is not in it). The engine lives on one asyncio loop
  and no database transaction spans an ``await``.
* **Undo is per user.** ``undo``, ``regenerate``, ``alternatives`` and
  ``select_alternative`` act on the last turn *of the user who asks* (their thread), never
  on another user's, also when other users have spoken since. The vitals and mood are one
  body: they are rolled back (or re-appraised) only when that turn is also the character's
  last one; after a turn that others have answered after, they stay as they are (later
  turns built on them) and only the turn, its memories, its alternatives and the user's
  own relationship change.
* **Resumes.** ``open`` continues from the last committed state.
* **Bounded turns.** ``chat`` refuses a message over ``max_message_chars`` with
  ``EngineError("message_too_long")`` before touching anything, and every step of a turn
  costs time linear in the message's length. The pure steps (appraisal, prompt, memory
  formation) run in a thread, so the worker's event loop answers heartbeats and other
  requests while they compute; database work stays on the loop's thread.

The engine does not own the backend: ``close()`` closes the database, the caller closes the
backend it passed in.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import time
from collections.abc import AsyncGenerator, Callable, Generator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Final

from protocol.fields import MAX_PAGE_SIZE
from protocol.message_limit import check_message_length
from runtime.settings import DEFAULT_MAX_MESSAGE_CHARS
from schemas.model import Character, is_valid_character_id
from worker.backends.base import (
    Backend,
    BackendError,
    Embedder,
    GenerationDone,
    GenerationOptions,
    GenerationRequest,
    LLMError,
    LLMIncomplete,
    ReplyContext,
    TextDelta,
    closing_stream,
)
from worker.engine import report
from worker.engine import snapshot_content as hist
from worker.engine.database import (
    Alternative,
    CharacterDatabase,
    ReplyOutcome,
    TurnRow,
    connect,
    current_position,
    database_path,
)
from worker.engine.errors import (
    ALREADY_EXISTS,
    BAD_REQUEST,
    BUSY,
    MESSAGE_TOO_LONG,
    NOTHING_TO_UNDO,
    SNAPSHOT_NOT_FOUND,
    UNSUPPORTED_FORMAT,
    EngineError,
)
from worker.engine.export_stream import export_pieces
from worker.engine.prompt import PromptInput, build_prompt
from worker.engine.relationship import Relationship
from worker.engine.results import (
    GenerationStarted,
    HistoryPage,
    PartialReply,
    StatusReport,
    TurnResult,
    UndoResult,
)
from worker.engine.state import EngineState, canonical_json
from worker.engine.turn import TurnPlan, current_mood, current_vitals, plan_turn
from worker.engine.turn_memories import memories_of_turn, put_back
from worker.engine.vitals import VitalsModel
from worker.memory.formation import form_memories
from worker.memory.models import MemoryHit, NewMemory
from worker.memory.store import MemoryStore

EXPORT_FORMAT: Final = "greenroom.character-history"
EXPORT_FORMAT_VERSION: Final = 1
#: Turns read for the prompt; the token budget then decides how many of them fit.
HISTORY_WINDOW: Final = 50
#: Memories searched per turn; only those whose text (or meaning) matched reach the prompt.
MEMORIES_PER_TURN: Final = 3
MIN_VECTOR_SIMILARITY: Final = 0.6
PERFORMANCE_WINDOW: Final = 100
GENERATION_STARTED: Final = GenerationStarted()
#: What a turn stream yields.
TurnStreamEvent = GenerationStarted | TextDelta | TurnResult


@dataclass(slots=True)
class _Clock:
    """Milliseconds between phases of one turn (``time.perf_counter``; measurement only)."""

    started: float

    def lap(self) -> float:
        now = time.perf_counter()
        elapsed = (now - self.started) * 1000.0
        self.started = now
        return round(elapsed, 3)


class CharacterEngine:
    """One character: its state, history, memories and the backend that voices it."""

    def __init__(
        self,
        character: Character,
        *,
        db: CharacterDatabase,
        memory: MemoryStore,
        backend: Backend,
        clock: Callable[[], float],
        model: VitalsModel,
        token_budget: int,
        options: GenerationOptions,
        max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
    ) -> None:
        """Use ``open``; this wires already-opened parts together."""
        self.character = character
        self._db = db
        self._memory = memory
        self._backend = backend
        self._clock = clock
        self._model = model
        self._token_budget = token_budget
        self._options = options
        self._max_message_chars = max_message_chars
        state = db.read_state()
        if state is None:
            raise EngineError(BAD_REQUEST, f"character {character.id!r} has no stored state")
        self._state = state
        self._turn_in_progress = False
        self._partial: PartialReply | None = None

    # -- lifecycle -----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        character: Character,
        *,
        data_dir: Path,
        backend: Backend,
        clock: Callable[[], float] = time.time,
        half_life_s: float = 600.0,
        token_budget: int = 3000,
        options: GenerationOptions = GenerationOptions(),  # noqa: B008 - frozen, shared safely
        embedder: Embedder | None = None,
        max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
    ) -> CharacterEngine:
        """Open (or create) the character's database under ``data_dir`` and resume from its
        last committed state. ``clock`` returns unix seconds; ``half_life_s`` is the vitals
        decay half-life; ``token_budget`` bounds the prompt (estimated tokens);
        ``max_message_chars`` is the longest ``chat`` message accepted."""
        conn = connect(database_path(data_dir, character.id))
        try:
            db = CharacterDatabase(conn, character_id=character.id)
            memory = MemoryStore(conn, embedder=embedder)
            if db.read_state() is None:
                with db.transaction():
                    db.write_state(EngineState.initial(character, now=clock()))
            return cls(
                character, db=db, memory=memory, backend=backend, clock=clock,
                model=VitalsModel.for_character(character, half_life_s=half_life_s),
                token_budget=token_budget, options=options,
                max_message_chars=max_message_chars,
            )
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        """Close the database. Committed turns are already durable; nothing is flushed here."""
        self._db.conn.close()

    # -- turns ---------------------------------------------------------------------------

    async def chat(self, user_message: str, *, user: str = "user", keep_partial: bool = False
                   ) -> AsyncGenerator[TurnStreamEvent, None]:
        """Stream the reply to ``user_message``: ``GenerationStarted`` when the request goes
        to the LLM, ``TextDelta``s, then one ``TurnResult`` after the turn is committed.
        Raises ``EngineError("busy")`` when a turn is already in progress,
        ``EngineError("message_too_long")`` for a message over ``max_message_chars``,
        ``BackendError`` (``.code``) when the backend fails — then nothing is committed, and
        what streamed before the failure is in ``details["partial_text"]``.

        ``keep_partial``: do not ask the LLM; commit what the last failed generation of this
        same message (and user) streamed as the reply, marked ``finish_reason: incomplete``
        in its generation record. ``EngineError("bad_request")`` when there is no such text.
        """
        too_long = check_message_length(user_message, self._max_message_chars)
        if too_long is not None:
            raise EngineError(MESSAGE_TOO_LONG, too_long.text(self.character.id),
                              too_long.details())
        self._begin_turn()
        try:
            async for event in self._turn(user_message, user=user, regenerating=None,
                                          keep_partial=keep_partial):
                yield event
        finally:
            self._turn_in_progress = False

    async def regenerate(self, *, user: str = "user", keep_partial: bool = False
                         ) -> AsyncGenerator[TurnStreamEvent, None]:
        """Answer ``user``'s last turn's message again.

        The turn keeps its id, index, user and message; its earlier reply is kept as an
        alternative together with what it left behind (state, relationship, memories), so
        ``select_alternative`` can bring it back exactly. Memories the old reply formed are
        replaced. The backend is asked for the next ``ReplyContext.variant`` (the number of
        replies the turn already has); the prompt has the history before the turn.
        ``keep_partial`` as for ``chat``: the cut-off text of the last failed regenerate of
        this turn becomes its new reply.

        When the turn is the character's last, the state is rolled back to before it and the
        message appraised again now. When others have spoken since, the turn is appraised
        again at its own time (``created_at``, which the new reply keeps) — the same
        appraisal, vitals and mood it had — and the character's state now is not touched:
        the result carries the current vitals, an empty ``vitals_delta`` and
        ``vitals_reappraised=False``. Raises ``EngineError("nothing_to_undo")`` when
        ``user`` has no turn to regenerate.
        """
        self._begin_turn()
        try:
            last = self._users_turn(user, "regenerate")
            async for event in self._turn(last.user_message, user=last.user, regenerating=last,
                                          keep_partial=keep_partial):
                yield event
        finally:
            self._turn_in_progress = False

    def _begin_turn(self) -> None:
        if self._turn_in_progress:
            raise EngineError(
                BUSY,
                f"character {self.character.id!r} is already answering a message; wait for "
                "that reply (or cancel it) and try again",
            )
        self._turn_in_progress = True

    def _ensure_idle(self, what: str) -> None:
        if self._turn_in_progress:
            raise EngineError(
                BUSY,
                f"cannot {what} character {self.character.id!r} while it is answering a "
                "message; wait for the reply (or cancel it) and try again",
            )

    def _users_turn(self, user: str, what: str) -> TurnRow:
        """``user``'s last turn above the undo floor, or ``nothing_to_undo``."""
        mine = self._users_last_turn(user)
        if mine is None:
            raise EngineError(
                NOTHING_TO_UNDO,
                f"character {self.character.id!r} has no turn of user {user!r} to {what}"
                + (" since its last reset" if self._state.undo_floor else ""),
            )
        return mine

    def _is_last(self, turn: TurnRow) -> bool:
        """Whether ``turn`` is the character's last turn: then the live state *is* the state
        after it, and undo or another reply may roll the shared vitals back."""
        last = self._db.last_turn()
        return last is not None and last.id == turn.id

    def _replan(self, turn: TurnRow, *, now: float) -> TurnPlan:
        """``turn``'s plan again from its stored before-state and relationship, at ``now``:
        at the time its reply was appraised it is the very plan that reply had (the
        computation is pure), as long as the vitals settings are the same."""
        return plan_turn(self._model, EngineState.loads(turn.state_before),
                         _relationship_before(turn), turn.user_message, now=now)

    def _users_last_turn(self, user: str) -> TurnRow | None:
        mine = self._db.last_turn_of(user)
        return mine if mine is not None and mine.id > self._state.undo_floor else None

    def _take_partial(self, user_message: str, *, user: str, regenerating: TurnRow | None,
                      keep: bool) -> PartialReply | None:
        """The partial reply a ``keep_partial`` turn commits (``None`` for a normal turn).
        Any turn forgets the partial reply kept so far."""
        pending, self._partial = self._partial, None
        if not keep:
            return None
        regenerating_id = None if regenerating is None else regenerating.id
        if (pending is None or not pending.text or pending.user != user
                or pending.user_message != user_message
                or pending.regenerating_turn_id != regenerating_id):
            raise EngineError(
                BAD_REQUEST,
                f"character {self.character.id!r} has no cut-off reply to keep for this"
                f" {'regenerate' if regenerating else 'message'}: keep_partial only commits"
                " the text an llm_incomplete (or timeout) answer to the very same request"
                " carried in details.partial_text, before any other turn. Send it without"
                " keep_partial for a new reply",
            )
        return pending

    async def _turn(self, user_message: str, *, user: str, regenerating: TurnRow | None,
                    keep_partial: bool = False) -> AsyncGenerator[TurnStreamEvent, None]:
        kept = self._take_partial(user_message, user=user, regenerating=regenerating,
                                  keep=keep_partial)
        laps = _Clock(time.perf_counter())
        timings: dict[str, float] = {}
        now = self._clock()
        # Whether the turn moves the shared state: every turn but another reply to a turn
        # others have answered after (that one stays at its own time, see ``regenerate``).
        moves_state = regenerating is None or self._is_last(regenerating)
        if regenerating is None:
            state = self._state
            stored = self._db.relationship(user)
            relationship = stored or Relationship(user=user)
            relationship_existed = stored is not None
            turn_id = self._db.next_turn_id()
            history = self._db.recent_exchanges(HISTORY_WINDOW)
            variant = 0
        else:
            if not moves_state:
                now = regenerating.created_at
            state = EngineState.loads(regenerating.state_before)
            relationship = _relationship_before(regenerating)
            relationship_existed = regenerating.relationship_before is not None
            turn_id = regenerating.id
            history = self._db.recent_exchanges(HISTORY_WINDOW, before=regenerating.id)
            # The turn's replies so far: its alternatives and the current one. The new reply
            # takes the next position, and the backend is asked for that variant.
            variant = len(self._db.alternatives(turn_id)) + 1
        # Pure steps run in a thread: the loop keeps answering heartbeats and reads meanwhile.
        plan = await asyncio.to_thread(plan_turn, self._model, state, relationship,
                                       user_message, now=now)
        timings["appraisal"] = laps.lap()

        relevant: list[MemoryHit] = []
        if kept is None:  # a kept reply needs no memories: nothing is asked of the LLM
            hits = await self._memory.search_hybrid(user_message, MEMORIES_PER_TURN, now=now)
            relevant = [h for h in hits if h.turn_id < turn_id and _matched(h)]
        timings["memory_search"] = laps.lap()

        messages = await asyncio.to_thread(build_prompt, PromptInput(
            character=self.character,
            vitals=plan.vitals_after,
            mood=plan.mood,
            relationship=relationship,
            memories=[h.text for h in relevant],
            history=history,
            user_message=user_message,
            user_name=user,
            token_budget=self._token_budget,
        ))
        context = ReplyContext(
            character=self.character, user_name=user, user_message=user_message,
            intent=plan.appraisal.intent, mood=plan.mood.label,
            mood_intensity=plan.mood.intensity, valence=plan.appraisal.stimulus.valence,
            turn_index=state.turn_count + 1,
            memory_snippets=tuple(h.text for h in relevant),
            variant=variant,
            earlier_user_messages=tuple(t.user_message for t in history if t.user == user),
        )
        timings["prompt"] = laps.lap()

        parts: list[str] = []
        done: GenerationDone | None = None
        if kept is not None:
            parts.append(kept.text)
            done = GenerationDone(backend=kept.backend, model="", finish_reason="incomplete",
                                  usage_source="counted")
        else:
            request = GenerationRequest(messages=messages, options=self._options,
                                        context=context)
            yield GENERATION_STARTED
            async with closing_stream(self._backend.generate(request)) as stream:
                try:
                    async for event in stream:
                        if isinstance(event, TextDelta):
                            if not parts:
                                timings["first_token"] = laps.lap()
                            parts.append(event.text)
                            yield event
                        else:
                            done = event
                except BackendError as exc:
                    self._partial = _partial_of(exc, "".join(parts), user=user,
                                                user_message=user_message,
                                                regenerating=regenerating,
                                                backend=self._backend.name)
                    raise
        if done is None:
            raise LLMError(
                f"backend {self._backend.name!r} ended the reply for character "
                f"{self.character.id!r} without finishing it"
            )
        reply = "".join(parts)
        timings["generation"] = laps.lap() + timings.get("first_token", 0.0)

        formed = await asyncio.to_thread(
            form_memories,
            user_message=user_message, reply=reply, valence=plan.appraisal.stimulus.valence,
            arousal=plan.appraisal.stimulus.arousal, turn_id=turn_id, now=now, user=user,
        )
        turn_index = state.turn_count + 1
        record: dict[str, Any] = {
            "appraisal": plan.appraisal.as_dict(),
            "intent": plan.appraisal.intent,
            "mood": plan.mood.label,
            "mood_intensity": plan.mood.intensity,
            "vitals_before": plan.vitals_before.as_dict(),
            "vitals_after": plan.vitals_after.as_dict(),
            "vitals_delta": plan.vitals_delta,
            "generation": _generation_dict(done),
            "memories_used": [_hit_dict(h) for h in relevant],
            "memories_formed": [m.text for m in formed],
            # Phases up to the commit (the commit cannot time itself inside its own row).
            "timings_ms": {**timings, "total": _total_ms(timings)},
        }
        # The commit: every row of the turn and the new state, or none of them. No await
        # between here and the yield below, so nothing can observe a half-made turn.
        with self._db.transaction():
            if regenerating is None:
                self._db.insert_turn(TurnRow(
                    id=turn_id, turn_index=turn_index, user=user, user_message=user_message,
                    reply=reply, created_at=now, record=record, state_before=state.dumps(),
                    relationship_before=relationship.to_json() if relationship_existed else None,
                ))
            else:
                self._db.add_alternative(Alternative(
                    turn_id=turn_id,
                    position=current_position(self._db.alternatives(turn_id)),
                    reply=regenerating.reply, created_at=regenerating.created_at,
                    record=regenerating.record, outcome=self._current_outcome(regenerating),
                ))
                self._db.replace_reply(turn_id, reply=reply, created_at=now, record=record)
                self._memory.delete_of_turn(turn_id)
            if moves_state:
                self._db.write_state(plan.state_after)
            self._db.put_relationship(plan.relationship_after)
            for memory in formed:
                self._memory.add(memory)
        if moves_state:
            self._state = plan.state_after
            vitals, vitals_delta = plan.vitals_after.as_dict(), plan.vitals_delta
            mood = plan.mood
        else:
            clock_now = self._clock()
            vitals = current_vitals(self._model, self._state, clock_now).as_dict()
            vitals_delta, mood = {}, current_mood(self._model, self._state, clock_now)
        timings["commit"] = laps.lap()
        timings["total"] = _total_ms(timings)
        yield TurnResult(
            response_text=reply,
            turn_id=turn_id,
            turn_index=turn_index,
            user=user,
            appraisal=plan.appraisal.as_dict(),
            intent=plan.appraisal.intent,
            mood=mood.label,
            mood_intensity=mood.intensity,
            vitals=vitals,
            vitals_delta=vitals_delta,
            generation=record["generation"],
            memories_used=record["memories_used"],
            memories_formed=record["memories_formed"],
            timings_ms=timings,
            regenerated=regenerating is not None,
            vitals_reappraised=moves_state,
        )
        # The turn is acknowledged; vectors for its memories are filled in afterwards so an
        # embedding server never delays (or fails) a reply. A failure is logged by the store
        # and the memories stay findable by text.
        if self._memory.embedder is not None:
            await self._memory.embed_missing()

    def undo(self, *, user: str = "user") -> UndoResult:
        """Remove ``user``'s last turn (its row, alternatives and memories) and give
        ``user``'s relationship back its value from before it — exact, because only
        ``user``'s own turns change it and this was the last of them.

        When the turn is the character's last, the state (vitals, mood, turn count) returns
        exactly to before it too. When others have spoken since, the state stays as it is —
        the feelings happened and their turns built on them — and the result says so
        (``vitals_restored=False`` and a ``reason``). Raises
        ``EngineError("nothing_to_undo")`` when ``user`` has no turn (since the last reset).
        """
        self._ensure_idle("undo a turn of")
        last = self._users_turn(user, "undo")
        restores_state = self._is_last(last)
        reason = None if restores_state else self._kept_state_reason(last)
        self._partial = None
        with self._db.transaction():
            if restores_state:
                self._db.write_state_text(last.state_before)
            if last.relationship_before is None:
                self._db.delete_relationship(last.user)
            else:
                self._db.put_relationship(Relationship.from_json(last.relationship_before))
            removed = self._memory.delete_of_turn(last.id)
            self._db.delete_turn(last.id)
        if restores_state:
            self._state = EngineState.loads(last.state_before)
        now = self._clock()
        mood = current_mood(self._model, self._state, now)
        return UndoResult(
            turn_id=last.id, turn_index=last.turn_index, user=last.user,
            user_message=last.user_message, response_text=last.reply, memories_removed=removed,
            mood=mood.label, mood_intensity=mood.intensity,
            vitals=current_vitals(self._model, self._state, now).as_dict(),
            vitals_restored=restores_state, reason=reason,
        )

    def _kept_state_reason(self, turn: TurnRow) -> str:
        later = ", ".join(repr(u) for u in self._db.users_after(turn.id))
        return (f"{later} spoke with character {self.character.id!r} after turn "
                f"{turn.turn_index} of {turn.user!r}; the vitals and mood are shared and their "
                "turns built on them, so they stay as they are. The turn, its alternatives "
                f"and memories are gone, and {turn.user!r}'s relationship is back to before it")

    # -- alternatives --------------------------------------------------------------------

    def alternatives(self, *, user: str = "user") -> list[dict[str, Any]]:
        """Every reply ``user``'s last turn has had, in the order they were produced:
        ``{index, response_text, created_at (ISO), current}``; exactly one is ``current``.
        A turn never regenerated has one entry. Empty when ``user`` has no turn that undo
        could remove (none yet, or only turns from before a ``reset`` that kept them),
        because such a turn's replies cannot be selected."""
        last = self._users_last_turn(user)
        if last is None:
            return []
        others = self._db.alternatives(last.id)
        replies = [(alt.position, alt.reply, alt.created_at, False) for alt in others]
        replies.append((current_position(others), last.reply, last.created_at, True))
        return [
            {"index": index, "response_text": reply, "created_at": report.iso_time(created_at),
             "current": current}
            for index, reply, created_at, current in sorted(replies)
        ]

    def select_alternative(self, index: int, *, user: str = "user") -> dict[str, Any]:
        """Make reply ``index`` (see ``alternatives``) of ``user``'s last turn its current
        reply.

        The user's relationship and the turn's memories become exactly (byte for byte,
        memory ids and vectors included) what they were when that reply was produced, and so
        do the state, vitals and mood when the turn is the character's last; when others
        have spoken since, the state stays as it is (see ``undo``). The reply that was
        current is kept as an alternative with what it left behind, so selecting it back is
        exact too. Undo, regenerate, save and export then work from the selected reply.
        Selecting the current reply changes nothing. Returns ``character_info()``.

        A reply kept by an older greenroom (no stored outcome) is re-derived from the turn's
        before-state at the reply's time — the same computation that produced it, so equal
        as long as the vitals settings are; its memories get fresh ids.

        Raises ``EngineError``: ``nothing_to_undo`` when ``user`` has no turn whose reply can
        change, ``bad_request`` when the turn has no reply ``index``, ``busy`` while a reply
        streams.
        """
        self._ensure_idle("choose another reply of")
        last = self._users_turn(user, "choose another reply for")
        restores_state = self._is_last(last)
        self._partial = None
        others = self._db.alternatives(last.id)
        current = current_position(others)
        chosen = next((alt for alt in others if alt.position == index), None)
        if chosen is None:
            if index == current:
                return self.character_info()
            raise EngineError(
                BAD_REQUEST,
                f"the last turn of character {self.character.id!r} has replies 0 to "
                f"{len(others)}; there is no reply {index!r}. alternatives() lists them",
            )
        fresh_memories: list[NewMemory] = []
        if chosen.outcome is not None:
            outcome = chosen.outcome
        else:
            outcome, fresh_memories = self._rederived_outcome(last, chosen)
        with self._db.transaction():
            superseded = Alternative(
                turn_id=last.id, position=current, reply=last.reply,
                created_at=last.created_at, record=last.record,
                outcome=self._current_outcome(last),
            )
            self._db.delete_alternative(last.id, chosen.position)
            self._db.add_alternative(superseded)
            self._db.replace_reply(last.id, reply=chosen.reply, created_at=chosen.created_at,
                                   record=chosen.record)
            self._memory.delete_of_turn(last.id)
            put_back(self._db.conn, outcome.memories)
            for memory in fresh_memories:
                self._memory.add(memory)
            if restores_state:
                self._db.write_state_text(outcome.state)
            if outcome.relationship is None:
                self._db.delete_relationship(last.user)
            else:
                self._db.put_relationship(Relationship.from_json(outcome.relationship))
        if restores_state:
            self._state = EngineState.loads(outcome.state)
        return self.character_info()

    def _current_outcome(self, turn: TurnRow) -> ReplyOutcome:
        """What ``turn``'s current reply left behind, read from the live database: valid
        while ``turn`` is its user's last turn above the undo floor (then the live
        relationship is the one after it). The state is the live one when ``turn`` is the
        character's last; otherwise the state after the reply, re-derived at the time it was
        appraised (its ``created_at``). Call inside the transaction that replaces that
        reply."""
        if self._is_last(turn):
            state = self._db.read_state_text()
        else:
            state = self._replan(turn, now=turn.created_at).state_after.dumps()
        if state is None:  # open() always writes one; a database without it is not ours
            raise EngineError(BAD_REQUEST, f"character {self.character.id!r} has no stored "
                              "state")
        relationship = self._db.relationship(turn.user)
        return ReplyOutcome(
            state=state,
            relationship=None if relationship is None else relationship.to_json(),
            memories=tuple(memories_of_turn(self._db.conn, turn.id)),
        )

    def _rederived_outcome(self, turn: TurnRow, alternative: Alternative
                           ) -> tuple[ReplyOutcome, list[NewMemory]]:
        """The outcome of a reply kept without one, computed the way ``_turn`` computed it:
        the turn's before-state and relationship, its message, at the reply's time. The
        memories come back as new ones (``outcome.memories`` is empty)."""
        plan = self._replan(turn, now=alternative.created_at)
        formed = form_memories(
            user_message=turn.user_message, reply=alternative.reply,
            valence=plan.appraisal.stimulus.valence, arousal=plan.appraisal.stimulus.arousal,
            turn_id=turn.id, now=alternative.created_at, user=turn.user,
        )
        outcome = ReplyOutcome(state=plan.state_after.dumps(),
                               relationship=plan.relationship_after.to_json(), memories=())
        return outcome, formed

    # -- reading -------------------------------------------------------------------------

    def status(self, *, include_vitals: bool = True, include_history: bool = False,
               include_performance: bool = False, user: str = "user",
               history_offset: int | None = None,
               history_limit: int = MAX_PAGE_SIZE) -> StatusReport:
        """The character as of now (vitals decayed to the clock's current time).

        The history is one page: ``history_limit`` turns from ``history_offset`` (counted
        from the oldest turn), or the newest ``history_limit`` without an offset."""
        now = self._clock()
        current = current_vitals(self._model, self._state, now)
        mood = current_mood(self._model, self._state, now)
        relationship = self._db.relationship(user) or Relationship(user=user)
        summary = report.character_summary(
            self.character, mood, relationship, turn_count=self._state.turn_count,
            memory_count=self._memory.count(), backend=self._backend.name,
        )
        history = page = None
        if include_history:
            total = self._db.turn_count()
            start = max(total - history_limit, 0) if history_offset is None else history_offset
            turns = self._db.turns_page(start, history_limit)
            history = report.conversation_history(
                turns, self._db.alternative_counts([t.id for t in turns]))
            end = start + len(turns)
            page = HistoryPage(total=total, offset=start,
                               next_offset=end if end < total else None)
        return StatusReport(
            character_summary=summary,
            vitals=(report.vitals_report(self._model, self._state, current, mood, now=now)
                    if include_vitals else None),
            conversation_history=history,
            performance_stats=(report.performance_stats(
                self._db.recent_turns(PERFORMANCE_WINDOW)) if include_performance else None),
            history_page=page,
        )

    async def search_memory(self, query: str, limit: int = 5) -> list[MemoryHit]:
        """The character's memories ranked for ``query`` (see ``worker.memory.ranking``)."""
        return await self._memory.search_hybrid(query, limit, now=self._clock())

    def character_info(self) -> dict[str, Any]:
        """Who the character is and where it stands: the ``character_info`` of responses."""
        mood = current_mood(self._model, self._state, self._clock())
        return {
            "character_id": self.character.id,
            "name": self.character.name,
            "archetype": self.character.archetype,
            "description": self.character.description,
            "mood": mood.label,
            "mood_intensity": mood.intensity,
            "turn_count": self._state.turn_count,
            "memory_count": self._memory.count(),
            "relationship_count": len(self._db.relationships()),
            "snapshot_count": self._db.snapshot_count(),
            "backend": self._backend.name,
        }

    # -- snapshots -----------------------------------------------------------------------

    def save(self, name: str | None = None) -> str:
        """Store the whole history and state under ``name`` (replacing a snapshot of that
        name) and return the name. Works while a turn streams: the snapshot holds every
        turn committed so far, not the one in progress. Without a name: the UTC time, like
        ``2026-11-25T19-40-03`` (with ``-2``, ``-3``… if taken). Raises
        ``EngineError("invalid_name")`` before writing anything."""
        if name is None:
            name = self._default_snapshot_name()
        hist.validate_snapshot_name(name, character_id=self.character.id)
        # No busy check: a streaming turn has committed nothing, so the database holds
        # exactly the last committed state, and no await separates this read from the write.
        content = hist.dumps_content(self._db, self._memory)
        with self._db.transaction():
            self._db.put_snapshot(name, created_at=self._clock(), content=content)
        return name

    def _default_snapshot_name(self) -> str:
        stamp = dt.datetime.fromtimestamp(self._clock(), dt.UTC).strftime("%Y-%m-%dT%H-%M-%S")
        name, suffix = stamp, 2
        while self._db.snapshot(name) is not None:
            name, suffix = f"{stamp}-{suffix}", suffix + 1
        return name

    def load(self, name: str) -> dict[str, Any]:
        """Restore state, vitals, relationships, history and memories exactly as saved under
        ``name``; returns ``character_info()``. Snapshots themselves are kept."""
        hist.validate_snapshot_name(name, character_id=self.character.id)
        self._ensure_idle("load a snapshot into")
        found = self._db.snapshot(name)
        if found is None:
            raise EngineError(
                SNAPSHOT_NOT_FOUND,
                f"character {self.character.id!r} has no snapshot named {name!r}; "
                "list_snapshots() shows the ones it has",
            )
        content = json.loads(found[1])
        self._partial = None
        with self._db.transaction():
            hist.restore_content(self._db, self._memory, content)
        state = self._db.read_state()
        assert state is not None  # restore_content wrote it
        self._state = state
        return self.character_info()

    def reset(self, *, preserve_memories: bool = True) -> dict[str, Any]:
        """Back to the character's initial state (baseline vitals, default mood, no
        relationships). ``preserve_memories`` keeps memories and history (which undo can then
        no longer cross); otherwise both are erased too. Snapshots are kept."""
        self._ensure_idle("reset")
        self._partial = None
        with self._db.transaction():
            if preserve_memories:
                last = self._db.last_turn()
                state = EngineState.initial(
                    self.character, now=self._clock(), turn_count=self._db.turn_count(),
                    undo_floor=last.id if last is not None else 0)
            else:
                self._db.clear_turns()
                self._memory.clear()
                state = EngineState.initial(self.character, now=self._clock())
            self._db.clear_relationships()
            self._db.write_state(state)
        self._state = state
        return self.character_info()

    def list_snapshots(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """``{name, created_at (ISO), turn_count}`` for snapshots ``offset`` ..
        ``offset + limit - 1`` (every one from ``offset`` without a limit), oldest first."""
        rows = self._db.snapshot_page(offset, -1 if limit is None else limit)
        return [{"name": name, "created_at": report.iso_time(created_at), "turn_count": turns}
                for name, created_at, turns in rows]

    def snapshot_count(self) -> int:
        return self._db.snapshot_count()

    def delete_snapshot(self, name: str) -> None:
        """Delete a snapshot; ``EngineError("snapshot_not_found")`` when there is none."""
        hist.validate_snapshot_name(name, character_id=self.character.id)
        with self._db.transaction():
            deleted = self._db.delete_snapshot(name)
        if not deleted:
            raise EngineError(SNAPSHOT_NOT_FOUND,
                              f"character {self.character.id!r} has no snapshot named {name!r}")

    # -- export / import -----------------------------------------------------------------

    def export_text(self) -> Generator[str, None, None]:
        """The whole history as one JSON document (``format_version`` 1: the live
        ``content`` — state, turns with alternatives, relationships, memories — and every
        snapshot's content), as text in pieces, read from a consistent snapshot of the
        database (turns committed while it is read are not in it); linear in the history,
        holding one record at a time (see ``worker.engine.export_stream``). Close the
        iterator when stopping early."""
        header = {
            "format": EXPORT_FORMAT,
            "format_version": EXPORT_FORMAT_VERSION,
            "character_id": self.character.id,
            "character_name": self.character.name,
            "exported_at": report.iso_time(self._clock()),
        }
        return export_pieces(self._db.path, character_id=self.character.id, header=header)

    @classmethod
    def import_document(cls, document: dict[str, Any], *, data_dir: Path) -> None:
        """Write an ``export_text()`` document (decoded) into ``data_dir`` (which must not
        yet hold that character). Refuses a newer ``format_version`` with ``unsupported_format``, a
        character already there with ``already_exists``, a malformed document with
        ``bad_request``; in every refusal nothing is written."""
        if document.get("format") != EXPORT_FORMAT:
            raise EngineError(BAD_REQUEST, f"not a greenroom character export (format "
                              f"{document.get('format')!r}, expected {EXPORT_FORMAT!r})")
        version = document.get("format_version")
        if not isinstance(version, int) or version > EXPORT_FORMAT_VERSION:
            raise EngineError(
                UNSUPPORTED_FORMAT,
                f"export format version {version!r} is newer than this greenroom reads "
                f"({EXPORT_FORMAT_VERSION}); import it with a newer greenroom",
            )
        character_id = document.get("character_id")
        if not isinstance(character_id, str) or not is_valid_character_id(character_id):
            raise EngineError(BAD_REQUEST, f"export names an invalid character id "
                              f"{character_id!r}")
        path = database_path(data_dir, character_id)
        if path.exists():
            raise EngineError(
                ALREADY_EXISTS,
                f"{path} already holds character {character_id!r}; import into an empty data "
                "directory (or move that one aside)",
            )
        created_dirs = [d for d in (path.parent, *path.parent.parents) if not d.exists()]
        conn = connect(path)
        try:
            db = CharacterDatabase(conn, character_id=character_id)
            memory = MemoryStore(conn)
            with db.transaction():
                hist.restore_content(db, memory, document["content"])
                for snap in document.get("snapshots", []):
                    db.put_snapshot(
                        hist.validate_snapshot_name(str(snap["name"]), character_id=character_id),
                        created_at=float(snap["created_at"]),
                        content=canonical_json(snap["content"]),
                    )
        except (KeyError, TypeError, ValueError) as exc:
            conn.close()
            _remove_database(path, created_dirs)
            raise EngineError(BAD_REQUEST, f"malformed export of character {character_id!r}: "
                              f"{exc!r}") from exc
        except BaseException:
            conn.close()
            _remove_database(path, created_dirs)
            raise
        conn.close()


def _remove_database(path: Path, created_dirs: list[Path]) -> None:
    """Remove a database this process just created (its WAL files, and the directories
    made for it, innermost first) after a failed import, so a refusal leaves the data
    directory as it was."""
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    for directory in created_dirs:
        directory.rmdir()


def _relationship_before(turn: TurnRow) -> Relationship:
    """The relationship ``turn``'s user had before it (a fresh one if none)."""
    before = turn.relationship_before
    return Relationship(user=turn.user) if before is None else Relationship.from_json(before)


def _total_ms(timings: dict[str, float]) -> float:
    # ``first_token`` is part of ``generation``, not a phase of its own.
    return round(sum(v for k, v in timings.items() if k not in ("first_token", "total")), 3)


def _matched(hit: MemoryHit) -> bool:
    return (hit.scores.get("relevance", 0.0) > 0.0
            or hit.scores.get("vector", 0.0) >= MIN_VECTOR_SIMILARITY)


def _hit_dict(hit: MemoryHit) -> dict[str, Any]:
    return {"id": hit.id, "text": hit.text, "score": hit.score, "turn_id": hit.turn_id}


def _partial_of(error: BackendError, text: str, *, user: str, user_message: str,
                regenerating: TurnRow | None, backend: str) -> PartialReply | None:
    """Put what streamed before ``error`` into its ``details.partial_text`` (always for a
    cut-off stream, else when anything streamed) and return it as the reply ``keep_partial``
    may commit (``None`` when nothing streamed)."""
    if text or isinstance(error, LLMIncomplete):
        error.details = {**(error.details or {}), "partial_text": text}
    if not text:
        return None
    return PartialReply(user=user, user_message=user_message, text=text, backend=backend,
                        regenerating_turn_id=None if regenerating is None else regenerating.id)


def _generation_dict(done: GenerationDone) -> dict[str, Any]:
    return asdict(done)
