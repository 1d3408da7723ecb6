"""One turn as a stream: read what it starts from, prepare it (pure, in a thread), generate
the reply, commit, acknowledge.

``run_turn`` yields ``GenerationStarted`` when the request goes to the LLM, the reply's
``TextDelta``s, then one ``TurnResult`` — only after ``commit_turn`` has committed, so
closing or cancelling the stream before it commits nothing. A backend failure commits
nothing either: what streamed before it is put in the error's ``details["partial_text"]``
and kept (``OpenCharacter.partial``) for a ``keep_partial`` turn, which commits that text
as the reply without asking the LLM.

Each committed reply stores its trace (``worker.engine.turn_trace``), built before the
commit from what the steps returned. A request's ``settings`` (the session's ``/set``) go on
top of the character's options; another reply to a turn reuses the settings its current
reply had.

A ``context_overflow`` from the server is re-raised
with greenroom's side of the sizes (``prompt_budget.sized_overflow``).

The prompt is fitted to the budget of the moment (``OpenCharacter.budget``); the prompt
sent, with its budget and the server's usage figures, is committed with the turn
(``prompt_store``), and so is the model's token calibration it led to.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Final

import msgspec
import structlog

from protocol.generation import GenerationSettings
from worker.backends.base import (
    BackendError,
    ContextOverflow,
    GenerationDone,
    GenerationOptions,
    GenerationRequest,
    LLMError,
    LLMIncomplete,
    TextDelta,
    closing_stream,
)
from worker.backends.options import merge_options, request_options
from worker.engine.errors import BAD_REQUEST, EngineError
from worker.engine.open_character import OpenCharacter
from worker.engine.prompt import BuiltPrompt
from worker.engine.prompt_budget import sized_overflow
from worker.engine.prompt_store import SentPrompt
from worker.engine.relationship import Relationship
from worker.engine.results import GenerationStarted, PartialReply, TurnResult, TurnStreamEvent
from worker.engine.trace_lookup import current_trace, session_settings
from worker.engine.turn_commit import commit_turn
from worker.engine.turn_prepare import (
    SHARED_USER,
    TurnPlan,
    TurnStart,
    current_mood,
    current_vitals,
    plan_turn,
    prompt_for,
    recalled_for,
    relevant_memories,
)
from worker.engine.turn_record import TurnRecord
from worker.engine.turn_rows import TurnRow
from worker.engine.turn_trace import LorebookTrace, TurnTrace, build_trace
from worker.memory.formation import form_memories
from worker.memory.models import MemoryHit
from worker.memory.query import search_terms

#: Turns read for the prompt; the token budget then decides how many of them fit.
HISTORY_WINDOW: Final = 50
#: Memories searched per turn; only those whose text (or meaning) matched reach the prompt.
MEMORIES_PER_TURN: Final = 3
#: Memories ranked per turn before those about other users are left out, so that this
#: user's (and shared ones) still fill ``MEMORIES_PER_TURN`` when others have many more.
RECALL_POOL: Final = 30
GENERATION_STARTED: Final = GenerationStarted()

log = structlog.get_logger()


@dataclass(slots=True)
class _Laps:
    """Milliseconds between phases of one turn (``time.perf_counter``; measurement only)."""

    started: float

    def lap(self) -> float:
        now = time.perf_counter()
        elapsed = (now - self.started) * 1000.0
        self.started = now
        return round(elapsed, 3)


async def run_turn(c: OpenCharacter, user_message: str, *, user: str,
                   regenerating: TurnRow | None, keep_partial: bool,
                   settings: GenerationSettings | None = None,
                   ) -> AsyncGenerator[TurnStreamEvent, None]:
    """Answer ``user_message`` of ``user`` — or answer turn ``regenerating`` again — and
    commit the turn (see the module docstring). The caller holds the turn lock."""
    kept = _take_partial(c, user_message, user=user, regenerating=regenerating,
                         keep=keep_partial)
    if settings is None and regenerating is not None:
        settings = session_settings(current_trace(c.db, regenerating.id))
    options = merge_options(c.options, request_options(settings))
    laps = _Laps(time.perf_counter())
    timings: dict[str, float] = {}
    start = turn_start(c, user_message, user=user, regenerating=regenerating)
    # Pure steps run in a thread: the loop keeps answering heartbeats and reads meanwhile.
    plan = await asyncio.to_thread(plan_turn, c.model, start.state, start.relationship,
                                   user_message, now=start.now)
    timings["appraisal"] = laps.lap()
    relevant: list[MemoryHit] = []
    hits: list[MemoryHit] | None = None
    if kept is None:  # a kept reply needs no memories: nothing is asked of the LLM
        hits, relevant = await recall(c, start)
    timings["memory_search"] = laps.lap()
    budget = c.budget(options)
    built, context = await asyncio.to_thread(prompt_for, c.character, start, plan, relevant,
                                             budget=budget, world_info=c.world_info)
    timings["prompt"] = laps.lap()

    parts: list[str] = []
    done: GenerationDone | None = None
    if kept is not None:
        parts.append(kept.text)
        done = GenerationDone(backend=kept.backend, model="", finish_reason="incomplete",
                              usage_source="counted")
    else:
        note_crowding(c, built)
        request = GenerationRequest(messages=built.messages, options=options, context=context)
        yield GENERATION_STARTED
        async with closing_stream(c.backend.generate(request)) as stream:
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
                c.partial = _partial_of(exc, "".join(parts), start=start,
                                        backend=c.backend.name)
                if isinstance(exc, ContextOverflow):
                    raise sized_overflow(exc, budget,
                                         estimated_tokens=built.estimated_tokens) from exc
                raise
    if done is None:
        raise LLMError(f"backend {c.backend.name!r} ended the reply for character {c.id!r} "
                       "without finishing it")
    reply = "".join(parts)
    timings["generation"] = round(laps.lap() + timings.get("first_token", 0.0), 3)

    stimulus = plan.appraisal.stimulus
    formed = await asyncio.to_thread(
        form_memories, user_message=user_message, reply=reply, valence=stimulus.valence,
        arousal=stimulus.arousal, turn_id=start.turn_id, now=start.now, user=user,
    )
    record = TurnRecord.of(plan, generation=done, used=relevant, formed=formed,
                           timings_ms={**timings, "total": _total_ms(timings)})
    trace = _trace(c, start, plan, hits=hits, built=built, options=options,
                   settings=settings, budget_tokens=budget.prompt_tokens, done=done,
                   kept=kept is not None, timings=record.timings_ms)
    sent = None if kept is not None else SentPrompt(
        user=user, turn_id=start.turn_id, turn_created_at=start.now, reply=reply,
        backend=c.backend.name, options=options, built=built, budget=budget, generation=done)
    # No await between the commit and the yield: nothing can observe a half-made turn.
    commit_turn(c, start, plan, reply=reply, record=record, trace=trace, formed=formed,
                sent=sent)
    timings["commit"] = laps.lap()
    timings["total"] = _total_ms(timings)
    yield _result(c, start, plan, reply=reply, record=record, timings=timings)
    # The turn is acknowledged; vectors for its memories are filled in afterwards so an
    # embedding server never delays (or fails) a reply. A failure is logged by the store
    # and the memories stay findable by text.
    if c.memory.embedder is not None:
        await c.memory.embed_missing()


def _trace(c: OpenCharacter, start: TurnStart, plan: TurnPlan, *,
           hits: list[MemoryHit] | None, built: BuiltPrompt,
           options: GenerationOptions, settings: GenerationSettings | None,
           budget_tokens: int, done: GenerationDone, kept: bool,
           timings: dict[str, float]) -> TurnTrace:
    search = None
    if hits is not None:
        terms = search_terms(start.user_message)
        weights = c.memory.ranking.weights_for(
            vector=any("vector" in h.scores for h in hits), lexical=bool(terms.all_terms))
        search = (terms, weights, hits)
    return build_trace(
        start, plan, half_life_s=c.model.half_life_s, search=search, messages=built.messages,
        budget_tokens=budget_tokens,
        lorebook=LorebookTrace(budget_tokens=built.lorebook_budget_tokens,
                               used_tokens=sum(f.tokens for f in built.lorebook if f.included),
                               fired=built.lorebook),
        options=options,
        session={} if settings is None else msgspec.to_builtins(settings),
        done=done, kept_partial=kept, timings_ms=timings)


async def recall(c: OpenCharacter, start: TurnStart
                 ) -> tuple[list[MemoryHit], list[MemoryHit]]:
    """What the search for a turn's message found that its user may be told (the best
    ``MEMORIES_PER_TURN`` of ``RECALL_POOL``, see ``recalled_for``: about this user first,
    then shared, never another user's), and the memories its prompt gets: of those, the
    ones formed before it that matched (``relevant_memories``)."""
    pool = await c.memory.search_hybrid(start.user_message, RECALL_POOL, now=start.now,
                                        users=(start.user, SHARED_USER))
    hits = recalled_for(pool, user=start.user, turn_id=start.turn_id,
                        limit=MEMORIES_PER_TURN)
    return hits, relevant_memories(hits, turn_id=start.turn_id, user=start.user)


def note_crowding(c: OpenCharacter, built: BuiltPrompt) -> None:
    """Log ``prompt_over_budget`` when the fixed parts crowd the prompt — once per
    character, and again only when what had to be trimmed changes."""
    warning = built.over_budget_warning()
    if warning is None or c.crowding_logged == built.trimmed:
        return
    c.crowding_logged = built.trimmed
    log.warning("prompt_over_budget", detail=warning, trimmed=list(built.trimmed),
                estimated_tokens=built.estimated_tokens, budget_tokens=built.budget_tokens,
                exchanges_kept=built.history_kept, exchanges_available=built.history_available)


def turn_start(c: OpenCharacter, user_message: str, *, user: str,
               regenerating: TurnRow | None) -> TurnStart:
    """What the turn starts from; its history is always the user's own thread (their
    exchanges only: the state is shared, the conversation is not). A new turn: the live
    state and the user's relationship, the next turn id, now. Another reply to
    ``regenerating``: its before-state and relationship, its id, the history before it, the
    next variant — at the clock's time when it is the character's last turn (the reply then
    moves the shared state), else at the turn's own time, leaving the state as it is."""
    if regenerating is None:
        stored = c.db.relationship(user)
        return TurnStart(
            user=user, user_message=user_message, turn_id=c.db.next_turn_id(), now=c.clock(),
            state=c.state, relationship=stored or Relationship(user=user),
            relationship_existed=stored is not None,
            history=c.db.recent_exchanges(HISTORY_WINDOW, user=user), variant=0,
            regenerating=None, moves_state=True,
        )
    moves_state = c.is_last(regenerating)
    return TurnStart(
        user=user, user_message=user_message, turn_id=regenerating.id,
        now=c.clock() if moves_state else regenerating.created_at,
        state=regenerating.state_before,
        relationship=regenerating.relationship_before or Relationship(user=user),
        relationship_existed=regenerating.relationship_before is not None,
        history=c.db.recent_exchanges(HISTORY_WINDOW, user=regenerating.user,
                                     before=regenerating.id),
        # The turn's replies so far: its alternatives and the current one. The new reply
        # takes the next position, and the backend is asked for that variant.
        variant=len(c.db.alternatives(regenerating.id)) + 1,
        regenerating=regenerating, moves_state=moves_state,
    )


def _result(c: OpenCharacter, start: TurnStart, plan: TurnPlan, *, reply: str,
            record: TurnRecord, timings: dict[str, float]) -> TurnResult:
    if start.moves_state:
        vitals, vitals_delta, mood = plan.vitals_after.as_dict(), plan.vitals_delta, plan.mood
        previous_mood = start.state.mood
    else:  # the state was not touched: report the character as it is now
        now = c.clock()
        vitals = current_vitals(c.model, c.state, now).as_dict()
        vitals_delta, mood = {}, current_mood(c.model, c.state, now)
        previous_mood = mood.label
    return TurnResult(
        response_text=reply, turn_id=start.turn_id, turn_index=start.turn_index,
        user=start.user, appraisal=record.appraisal, intent=record.intent, mood=mood.label,
        mood_intensity=mood.intensity, previous_mood=previous_mood, vitals=vitals,
        vitals_delta=vitals_delta,
        generation=record.generation, memories_used=record.memories_used,
        memories_formed=record.memories_formed, timings_ms=timings,
        regenerated=start.regenerating is not None, vitals_reappraised=start.moves_state,
    )


def _take_partial(c: OpenCharacter, user_message: str, *, user: str,
                  regenerating: TurnRow | None, keep: bool) -> PartialReply | None:
    """The partial reply a ``keep_partial`` turn commits (``None`` for a normal turn).
    Any turn forgets the partial reply kept so far."""
    pending, c.partial = c.partial, None
    if not keep:
        return None
    regenerating_id = None if regenerating is None else regenerating.id
    if (pending is None or not pending.text or pending.user != user
            or pending.user_message != user_message
            or pending.regenerating_turn_id != regenerating_id):
        raise EngineError(
            BAD_REQUEST,
            f"character {c.id!r} has no cut-off reply to keep for this"
            f" {'regenerate' if regenerating else 'message'}: keep_partial only commits"
            " the text an llm_incomplete (or timeout) answer to the very same request"
            " carried in details.partial_text, before any other turn. Send it without"
            " keep_partial for a new reply",
        )
    return pending


def _partial_of(error: BackendError, text: str, *, start: TurnStart, backend: str
                ) -> PartialReply | None:
    """Put what streamed before ``error`` into its ``details.partial_text`` (always for a
    cut-off stream, else when anything streamed) and return it as the reply ``keep_partial``
    may commit (``None`` when nothing streamed)."""
    if text or isinstance(error, LLMIncomplete):
        error.details = {**(error.details or {}), "partial_text": text}
    if not text:
        return None
    regenerating = start.regenerating
    return PartialReply(user=start.user, user_message=start.user_message, text=text,
                        backend=backend,
                        regenerating_turn_id=None if regenerating is None else regenerating.id)


def _total_ms(timings: dict[str, float]) -> float:
    # ``first_token`` is part of ``generation``, not a phase of its own.
    return round(sum(v for k, v in timings.items() if k not in ("first_token", "total")), 3)
