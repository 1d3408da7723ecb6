"""``TurnTrace``: why one reply went as it did, stored with it.

A turn's trace is the facts the pure steps computed on the way, gathered after the reply and
before the commit (``build_trace``, pure): the appraisal's axes and their cues, per vital
the level the last turn left, the decay since, the push of each stimulus axis and the level
after; the mood before and after and whether hysteresis held it; the memories the search
found with every score component and whether each reached the prompt; the lorebook entries
that fired and why; the
history kept and dropped; and the generation — backend, model, the options it ran with
(and those the session set), the token usage the server reported, time to first token and
duration.

It is stored beside the turn, one per reply (``CharacterDatabase.put_trace``: a kept
alternative keeps its own), as canonical JSON tagged ``"format": 1``, so ``/why N`` reads any
past turn after any restart. A msgspec Struct: the type is the schema, and a trace that
does not match it is refused when read. Numbers are rounded (4 decimals, timings 3) to keep
it small: about 3 KB a turn (``docs/engine.md``, "The trace of a turn").
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final

import msgspec

from worker.backends.base import ChatMessage, GenerationDone, GenerationOptions
from worker.engine.appraisal import EXCERPT_EDGE_WORDS, TriggerHit
from worker.engine.mood import MoodChoice
from worker.engine.prompt import estimate_tokens
from worker.engine.turn_prepare import TurnPlan, TurnStart, memory_verdict
from worker.engine.vitals import LevelChange
from worker.engine.world_info import LoreFiring
from worker.memory.models import MemoryHit
from worker.memory.query import SearchTerms, matched_terms
from worker.memory.ranking import RankingWeights

TRACE_FORMAT: Final = 1
#: A memory's text is kept up to this many characters in the trace (memories are short).
MEMORY_TEXT_CHARS: Final = 200


class AppraisalTrace(msgspec.Struct, frozen=True):
    """The stimulus axes (``valence`` −1…1, the rest 0…1), what drove each (``cues``, see
    ``Appraisal.cues``), VADER's compound ``sentiment``, the ``intent`` and the rule that
    chose it. ``excerpt``: the message was long and appraised by its first and last words.
    ``triggers``: the character's mood triggers the message contained."""

    axes: dict[str, float]
    cues: dict[str, tuple[str, ...]]
    sentiment: float
    intent: str
    intent_rule: str
    excerpt: bool
    triggers: tuple[TriggerHit, ...] = ()


class VitalsTrace(msgspec.Struct, frozen=True):
    """``elapsed_s`` since the last turn's levels, the decay ``half_life_s``, the volatility
    ``gain`` (0.5 + volatility) and per level what moved it (``LevelChange``)."""

    elapsed_s: float
    half_life_s: float
    gain: float
    levels: tuple[LevelChange, ...]


class MoodTrace(msgspec.Struct, frozen=True):
    """The mood the last turn left (``before``) and the choice this turn made (``after``)."""

    before: str
    before_intensity: float
    after: MoodChoice


class MemoryCandidate(msgspec.Struct, frozen=True):
    """One memory the search found: its combined ``score`` and components (``relevance``
    is the lexical one, relative to the query's best BM25 match; ``bm25`` FTS5's raw value;
    ``vector`` the similarity, ``None`` without an embedder), the query terms found in it
    (``matched``), and whether it reached the prompt (``used``) and why (``reason``)."""

    id: int
    turn_id: int
    text: str
    score: float
    relevance: float
    recency: float
    importance: float
    used: bool
    reason: str
    bm25: float | None = None
    vector: float | None = None
    matched: tuple[str, ...] = ()


class MemoryTrace(msgspec.Struct, frozen=True):
    """The memory search of the turn: ``searched`` is false for a kept reply (nothing was
    asked of the LLM); ``query_words`` the content words taken from the message and
    ``expanded_terms`` how many related terms joined them; ``weights`` of the score's
    components; the ``candidates`` best first."""

    searched: bool
    query_words: tuple[str, ...] = ()
    expanded_terms: int = 0
    weights: dict[str, float] = {}
    candidates: tuple[MemoryCandidate, ...] = ()


class LorebookTrace(msgspec.Struct, frozen=True):
    """The World Info scan of the turn (``worker.engine.world_info``): every entry that
    fired — why (the key and the message it was found in, constant, recursion), where it
    went, and whether it made the prompt or was dropped (probability, the lorebook's
    ``budget_tokens``, trimmed with the system message) — in the order considered."""

    budget_tokens: int = 0
    used_tokens: int = 0
    fired: tuple[LoreFiring, ...] = ()


class HistoryTrace(msgspec.Struct, frozen=True):
    """The history the prompt carried: of the ``read`` exchanges before the turn (at most
    the engine's window), ``kept`` (from turn id ``first_kept_turn_id``) and ``dropped``
    for the budget; the estimated tokens of the system message, of the history kept and of
    the final user message with its note, against ``budget_tokens``."""

    read: int
    kept: int
    dropped: int
    first_kept_turn_id: int | None
    budget_tokens: int
    system_tokens: int
    history_tokens: int
    message_tokens: int


class GenerationTrace(msgspec.Struct, frozen=True):
    """The generation: ``backend``, ``model``, the ``options`` it ran with (server settings,
    then the character's ``llm:``, then ``session``: what the session set for this request),
    the token usage (``usage_source`` ``reported`` by the server or ``counted`` deltas),
    the server's own duration, our time to first token and generation time (ms).
    ``kept_partial``: the reply is a cut-off one kept as it was; nothing was generated."""

    backend: str
    model: str
    options: GenerationOptions
    session: dict[str, float | int | str]
    finish_reason: str
    usage_source: str
    messages: int
    kept_partial: bool = False
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    server_duration_s: float | None = None
    tokens_per_s: float | None = None
    time_to_first_token_ms: float | None = None
    duration_ms: float | None = None


class TurnTrace(msgspec.Struct, frozen=True, tag_field="format", tag=TRACE_FORMAT):
    """Why one reply went as it did (see the module docstring). ``timings_ms`` are the
    turn's phases up to the commit."""

    appraisal: AppraisalTrace
    vitals: VitalsTrace
    mood: MoodTrace
    memories: MemoryTrace
    lorebook: LorebookTrace
    history: HistoryTrace
    generation: GenerationTrace
    timings_ms: dict[str, float]


class ReplyTrace(msgspec.Struct, frozen=True):
    """The trace of reply ``position`` of a turn, as a snapshot or an export carries it."""

    position: int
    trace: TurnTrace


def build_trace(
    start: TurnStart,
    plan: TurnPlan,
    *,
    half_life_s: float,
    search: tuple[SearchTerms, RankingWeights, Sequence[MemoryHit]] | None,
    messages: Sequence[ChatMessage],
    budget_tokens: int,
    lorebook: LorebookTrace,
    options: GenerationOptions,
    session: Mapping[str, float | int | str],
    done: GenerationDone,
    kept_partial: bool,
    timings_ms: Mapping[str, float],
) -> TurnTrace:
    """The trace of the turn ``start`` began and ``plan`` planned. ``search`` is what the
    memory search was given and found (``None``: no search), ``messages`` the prompt,
    ``options`` the request's options and ``session`` the session's settings among them,
    ``done`` the generation's end."""
    appraisal = plan.appraisal
    return TurnTrace(
        appraisal=AppraisalTrace(
            axes=appraisal.stimulus.as_dict(),
            cues=dict(appraisal.cues),
            sentiment=round(appraisal.sentiment, 4),
            intent=appraisal.intent,
            intent_rule=appraisal.intent_rule,
            excerpt=len(start.user_message.split()) > 2 * EXCERPT_EDGE_WORDS,
            triggers=appraisal.triggers,
        ),
        vitals=VitalsTrace(elapsed_s=round(plan.vitals.elapsed_s, 3), half_life_s=half_life_s,
                           gain=round(plan.vitals.gain, 4), levels=plan.vitals.changes),
        mood=MoodTrace(before=start.state.mood, before_intensity=start.state.mood_intensity,
                       after=plan.mood_choice),
        memories=_memory_trace(search, turn_id=start.turn_id, user=start.user),
        lorebook=lorebook,
        history=_history_trace(start, messages, budget_tokens),
        generation=_generation_trace(messages, options, session, done,
                                     kept_partial=kept_partial, timings_ms=timings_ms),
        timings_ms=dict(timings_ms),
    )


def _memory_trace(search: tuple[SearchTerms, RankingWeights, Sequence[MemoryHit]] | None, *,
                  turn_id: int, user: str) -> MemoryTrace:
    if search is None:
        return MemoryTrace(searched=False)
    terms, weights, hits = search
    candidates = []
    for hit in hits:
        verdict = memory_verdict(hit, turn_id=turn_id, user=user)
        scores = hit.scores
        candidates.append(MemoryCandidate(
            id=hit.id, turn_id=hit.turn_id, text=hit.text[:MEMORY_TEXT_CHARS],
            score=round(hit.score, 4), relevance=round(scores.get("relevance", 0.0), 4),
            recency=round(scores.get("recency", 0.0), 4),
            importance=round(scores.get("importance", 0.0), 4),
            used=verdict.used, reason=verdict.reason,
            bm25=_rounded(scores.get("bm25")), vector=_rounded(scores.get("vector")),
            matched=matched_terms(terms, hit.text, hit.source),
        ))
    return MemoryTrace(
        searched=True, query_words=terms.words, expanded_terms=len(terms.expansions),
        weights={"relevance": weights.relevance, "vector": weights.vector,
                 "recency": weights.recency, "importance": weights.importance},
        candidates=tuple(candidates),
    )


def _history_trace(start: TurnStart, messages: Sequence[ChatMessage],
                   budget_tokens: int) -> HistoryTrace:
    # The prompt is [system, user/assistant pairs of the history kept..., final user].
    kept = max(0, (len(messages) - 2) // 2)
    history = start.history
    kept_from = history[len(history) - kept].id if kept else None
    return HistoryTrace(
        read=len(history), kept=kept, dropped=len(history) - kept, first_kept_turn_id=kept_from,
        budget_tokens=budget_tokens, system_tokens=estimate_tokens(messages[0].content),
        history_tokens=sum(estimate_tokens(m.content) for m in messages[1:-1]),
        message_tokens=estimate_tokens(messages[-1].content),
    )


def _generation_trace(messages: Sequence[ChatMessage], options: GenerationOptions,
                      session: Mapping[str, float | int | str], done: GenerationDone, *,
                      kept_partial: bool, timings_ms: Mapping[str, float]) -> GenerationTrace:
    return GenerationTrace(
        backend=done.backend, model=done.model or (options.model or ""), options=options,
        session=dict(session), finish_reason=done.finish_reason,
        usage_source=done.usage_source, messages=len(messages), kept_partial=kept_partial,
        prompt_tokens=done.prompt_tokens, completion_tokens=done.completion_tokens,
        server_duration_s=_rounded(done.duration_s), tokens_per_s=_rounded(done.tokens_per_s),
        time_to_first_token_ms=timings_ms.get("first_token"),
        duration_ms=None if kept_partial else timings_ms.get("generation"),
    )


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)
