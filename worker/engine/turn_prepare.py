"""A turn prepared without I/O: message → plan (appraisal, vitals, mood, relationship, next
state) → prompt.

The engine reads what a turn starts from (``TurnStart``), then runs ``plan_turn`` and
``prompt_for`` — pure, so they run in a thread while the event loop goes on — and commits
``TurnPlan.state_after`` only when the reply is complete, so a cancelled turn leaves nothing
behind. Between the two it searches the memories (I/O); ``recalled_for`` keeps those the
asking user may be told (their own and shared ones, never another user's) and
``relevant_memories`` those of them that matched.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import msgspec

from schemas.lorebook import MAX_SCAN_DEPTH
from schemas.model import Character
from worker.backends.base import ReplyContext
from worker.engine.appraisal import Appraisal, appraise
from worker.engine.mood import Mood, MoodChoice, choose_mood, derive_mood, pulls_for
from worker.engine.prompt import BuiltPrompt, PromptInput, build_prompt, cost_of
from worker.engine.prompt_budget import PromptBudget
from worker.engine.relationship import Relationship, update
from worker.engine.state import EngineState
from worker.engine.turn_rows import Exchange, TurnRow
from worker.engine.vitals import Vitals, VitalsModel, VitalsStep
from worker.engine.world_info import NO_LORE, LoreSelection, WorldInfo, seeded_roll
from worker.memory.models import MemoryHit

#: A memory reaches the prompt when its text matched (BM25 relevance > 0) or its meaning did.
MIN_VECTOR_SIMILARITY: Final = 0.6


@dataclass(frozen=True, slots=True)
class TurnPlan:
    """What a message does to the character. ``vitals`` is the model's step (decay since
    the last turn, then the stimulus, with what moved each level) and ``mood_choice`` why
    the mood is what it is: the facts a turn's trace records."""

    appraisal: Appraisal
    vitals: VitalsStep
    mood_choice: MoodChoice
    relationship_before: Relationship
    relationship_after: Relationship
    state_after: EngineState

    @property
    def vitals_before(self) -> Vitals:
        """The levels decayed to the turn's time, before the stimulus."""
        return self.vitals.decayed

    @property
    def vitals_after(self) -> Vitals:
        return self.vitals.after

    @property
    def mood(self) -> Mood:
        return self.mood_choice.mood

    @property
    def vitals_delta(self) -> dict[str, float]:
        return self.vitals_after.minus(self.vitals_before)


@dataclass(frozen=True, slots=True)
class TurnStart:
    """What a turn starts from, read before anything is computed.

    ``now`` is the turn's time: the clock's, or — for another reply to a turn others have
    answered after — that turn's own ``created_at``. ``state`` and ``relationship`` are
    those before the turn (``relationship_existed``: the user had one stored). ``history``
    is ``user``'s own exchanges before it, oldest first — the user's thread, never another
    user's turns (``CharacterDatabase.recent_exchanges``); ``variant`` the number of
    replies the turn already has (0 for a new turn). ``regenerating`` is the turn answered
    again, if any; ``moves_state`` whether committing it writes the shared state.
    """

    user: str
    user_message: str
    turn_id: int
    now: float
    state: EngineState
    relationship: Relationship
    relationship_existed: bool
    history: Sequence[Exchange]
    variant: int
    regenerating: TurnRow | None
    moves_state: bool

    @property
    def turn_index(self) -> int:
        return self.state.turn_count + 1


def current_vitals(model: VitalsModel, state: EngineState, now: float) -> Vitals:
    """The vitals at ``now``: the committed levels decayed for the time since."""
    return model.decay(state.levels, now - state.levels_at)


def current_mood(model: VitalsModel, state: EngineState, now: float) -> Mood:
    """The mood at ``now``, with the committed mood as the hysteresis anchor."""
    return derive_mood(current_vitals(model, state, now), model.baseline, previous=state.mood)


def plan_turn(
    model: VitalsModel,
    state: EngineState,
    relationship: Relationship,
    user_message: str,
    *,
    now: float,
) -> TurnPlan:
    appraisal = appraise(user_message, model.triggers)
    # The same decay as current_vitals: the trace's "before" is what the status showed.
    step = model.step(state.levels, now - state.levels_at, appraisal.stimulus,
                      pulls_for(appraisal.triggers))
    choice = choose_mood(step.after, model.baseline, previous=state.mood)
    relationship_after = update(relationship, appraisal.stimulus, now=now)
    state_after = msgspec.structs.replace(
        state,
        levels=step.after,
        levels_at=now,
        mood=choice.label,
        mood_intensity=choice.intensity,
        turn_count=state.turn_count + 1,
        last_turn_delta=step.after.minus(step.decayed),
    )
    return TurnPlan(
        appraisal=appraisal,
        vitals=step,
        mood_choice=choice,
        relationship_before=relationship,
        relationship_after=relationship_after,
        state_after=state_after,
    )


#: The ``user`` of a shared memory: one about no one in particular (the character's own
#: knowledge, a note written for everyone), which any user's turn may recall. A speaker is
#: never named ``""`` (a blank ``user`` falls back to the session's), so a memory formed
#: from what someone said is never shared by accident.
SHARED_USER: Final = ""


def may_recall(hit: MemoryHit, *, user: str) -> bool:
    """Whether a turn of ``user`` may quote ``hit``: a memory about ``user``, or a shared
    one — never one about another user."""
    return hit.user in (user, SHARED_USER)


def recalled_for(hits: Sequence[MemoryHit], *, user: str, turn_id: int, limit: int
                 ) -> list[MemoryHit]:
    """Of ``hits`` (best first), at most ``limit`` that turn ``turn_id`` of ``user`` may
    recall (``may_recall``): those that reach the prompt before those that do not, and
    among each, the ones about ``user`` before the shared ones, by rank otherwise.
    Memories about other users are left out entirely, so neither the prompt nor the
    turn's trace (which any session may read) quotes them."""
    allowed = [h for h in hits if may_recall(h, user=user)]
    allowed.sort(key=lambda h: (not memory_verdict(h, turn_id=turn_id, user=user).used,
                                h.user != user))
    return allowed[:limit]


def relevant_memories(hits: Sequence[MemoryHit], *, turn_id: int, user: str
                      ) -> list[MemoryHit]:
    """The hits formed before turn ``turn_id`` that matched by text or by meaning and that
    ``user`` may be told (``may_recall``)."""
    return [h for h in hits if memory_verdict(h, turn_id=turn_id, user=user).used]


@dataclass(frozen=True, slots=True)
class MemoryVerdict:
    """Whether a memory found for a turn reaches its prompt, and why (in words)."""

    used: bool
    reason: str


def memory_verdict(hit: MemoryHit, *, turn_id: int, user: str) -> MemoryVerdict:
    """Whether ``hit`` reaches the prompt of turn ``turn_id`` of ``user``: the one rule
    ``relevant_memories`` applies, with its reason for a turn's trace."""
    if not may_recall(hit, user=user):
        return MemoryVerdict(False, "about another user, and not shared")
    if hit.turn_id >= turn_id:
        return MemoryVerdict(False, "formed by this turn (a regenerate) or a later one")
    shared = " (shared)" if hit.user != user else ""
    if hit.scores.get("relevance", 0.0) > 0.0:
        return MemoryVerdict(True, f"its words matched{shared}")
    vector = hit.scores.get("vector")
    if vector is not None and vector >= MIN_VECTOR_SIMILARITY:
        return MemoryVerdict(True, f"its meaning matched (similarity {vector:.2f}){shared}")
    if vector is not None:
        return MemoryVerdict(False, f"no word matched, similarity {vector:.2f} < "
                                    f"{MIN_VECTOR_SIMILARITY}")
    return MemoryVerdict(False, "no word matched")


def lore_for(world_info: WorldInfo, character: Character, start: TurnStart, *,
             budget: PromptBudget) -> LoreSelection:
    """The lorebook entries that fire for the turn (``worker.engine.world_info``): scanned
    in the user's thread, newest message first, the turn's own message at depth 0; rolls
    seeded by the turn and its reply variant."""
    if world_info.empty:
        return NO_LORE
    messages = [start.user_message]
    for exchange in reversed(start.history):
        messages += [exchange.reply, exchange.user_message]
    ratio = budget.calibration.ratio
    return world_info.scan(
        messages[:MAX_SCAN_DEPTH], user=start.user,
        budget_tokens=world_info.budget_for(budget.prompt_tokens),
        cost=lambda text: cost_of(text, ratio),
        roll=seeded_roll(character=character.id, turn_id=start.turn_id,
                         variant=start.variant))


def prompt_for(character: Character, start: TurnStart, plan: TurnPlan,
               memories: Sequence[MemoryHit], *, budget: PromptBudget,
               world_info: WorldInfo) -> tuple[BuiltPrompt, ReplyContext]:
    """The prompt for the LLM (its messages and how they fit ``budget``, with the lorebook
    entries ``world_info`` fires) and the ``ReplyContext`` for an offline backend."""
    built = build_prompt(PromptInput(
        character=character,
        vitals=plan.vitals_after,
        mood=plan.mood,
        relationship=start.relationship,
        memories=[h.text for h in memories],
        history=start.history,
        user_message=start.user_message,
        user_name=start.user,
        token_budget=budget.prompt_tokens,
        now=start.now,
        macro_seed=start.turn_id * 1000 + start.variant,
        token_ratio=budget.calibration.ratio,
        lore=lore_for(world_info, character, start, budget=budget),
    ))
    context = ReplyContext(
        character=character, user_name=start.user, user_message=start.user_message,
        intent=plan.appraisal.intent, mood=plan.mood.label,
        mood_intensity=plan.mood.intensity, valence=plan.appraisal.stimulus.valence,
        turn_index=start.turn_index,
        memory_snippets=tuple(h.text for h in memories),
        variant=start.variant,
        earlier_user_messages=tuple(t.user_message for t in start.history),
    )
    return built, context
