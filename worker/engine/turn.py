"""One turn, planned without I/O: appraisal → vitals → mood → relationship → next state.

The engine runs ``plan_turn`` before generating a reply and commits ``TurnPlan.state_after``
only when the reply is complete, so a cancelled turn leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from worker.engine.appraisal import Appraisal, appraise
from worker.engine.mood import Mood, derive_mood
from worker.engine.relationship import Relationship, update
from worker.engine.state import EngineState
from worker.engine.vitals import Vitals, VitalsModel


@dataclass(frozen=True, slots=True)
class TurnPlan:
    appraisal: Appraisal
    vitals_before: Vitals  # decayed to the turn's time, before the stimulus
    vitals_after: Vitals
    mood: Mood
    relationship_before: Relationship
    relationship_after: Relationship
    state_after: EngineState

    @property
    def vitals_delta(self) -> dict[str, float]:
        return self.vitals_after.minus(self.vitals_before)


def current_vitals(model: VitalsModel, state: EngineState, now: float) -> Vitals:
    """The vitals at ``now``: the committed levels decayed for the time since."""
    return model.decay(state.levels, now - state.levels_at)


def current_mood(model: VitalsModel, state: EngineState, now: float) -> Mood:
    """The mood at ``now``, with the committed mood as the hysteresis anchor."""
    return derive_mood(current_vitals(model, state, now), previous=state.mood)


def plan_turn(
    model: VitalsModel,
    state: EngineState,
    relationship: Relationship,
    user_message: str,
    *,
    now: float,
) -> TurnPlan:
    appraisal = appraise(user_message)
    before = current_vitals(model, state, now)
    after = model.respond(before, appraisal.stimulus)
    mood = derive_mood(after, previous=state.mood)
    relationship_after = update(relationship, appraisal.stimulus, now=now)
    state_after = replace(
        state,
        levels=after,
        levels_at=now,
        mood=mood.label,
        mood_intensity=mood.intensity,
        turn_count=state.turn_count + 1,
        last_turn_delta=after.minus(before),
    )
    return TurnPlan(
        appraisal=appraisal,
        vitals_before=before,
        vitals_after=after,
        mood=mood,
        relationship_before=relationship,
        relationship_after=relationship_after,
        state_after=state_after,
    )
