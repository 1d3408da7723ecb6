"""``TurnRecord``: what one committed turn records about itself.

Stored with the turn (and with each reply kept as an alternative) as canonical JSON, in the
``record`` of the export's turns: the message's appraisal, the mood it led to, the vitals
before and after, the generation's figures, the memories used and formed, and the phase
timings up to the commit. A msgspec Struct, so the type is the schema: a record that does
not match it is refused when read, never half-read.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import msgspec

from worker.backends.base import GenerationDone
from worker.engine.appraisal import Appraisal
from worker.engine.vitals import Vitals
from worker.memory.models import MemoryHit, NewMemory

if TYPE_CHECKING:  # turn_prepare reads turn rows, which hold records: import for types only
    from worker.engine.turn_prepare import TurnPlan


class AppraisalRecord(msgspec.Struct, frozen=True):
    """A message's appraisal as stored: the stimulus axes (``valence`` −1…1, the rest 0…1),
    the intent and VADER's raw compound score."""

    valence: float
    arousal: float
    warmth: float
    threat: float
    curiosity: float
    humour: float
    intent: str
    sentiment: float

    @classmethod
    def of(cls, appraisal: Appraisal) -> AppraisalRecord:
        s = appraisal.stimulus
        return cls(valence=s.valence, arousal=s.arousal, warmth=s.warmth, threat=s.threat,
                   curiosity=s.curiosity, humour=s.humour, intent=appraisal.intent,
                   sentiment=appraisal.sentiment)


class MemoryUsed(msgspec.Struct, frozen=True):
    """A memory the turn's prompt was given: its id, text, search score, and the turn that
    formed it."""

    id: int
    text: str
    score: float
    turn_id: int


class TurnRecord(msgspec.Struct, frozen=True, omit_defaults=True):
    """What a committed turn records. ``vitals_delta`` is ``vitals_after − vitals_before``
    per level; ``generation`` the backend's figures; ``memories_formed`` the texts the turn
    stored; ``timings_ms`` the phases up to the commit (milliseconds, measurement only: the
    commit cannot time itself inside its own row). ``greeting`` is set on a turn that is a
    card's greeting (its index: 0 ``first_mes``, n the n-th alternate greeting), which has
    no user message and moved nothing (``worker.engine.greetings``); absent otherwise."""

    appraisal: AppraisalRecord
    intent: str
    mood: str
    mood_intensity: float
    vitals_before: Vitals
    vitals_after: Vitals
    vitals_delta: dict[str, float]
    generation: GenerationDone
    memories_used: tuple[MemoryUsed, ...]
    memories_formed: tuple[str, ...]
    timings_ms: dict[str, float]
    greeting: int | None = None

    @classmethod
    def of(cls, plan: TurnPlan, *, generation: GenerationDone, used: Sequence[MemoryHit],
           formed: Sequence[NewMemory], timings_ms: dict[str, float]) -> TurnRecord:
        return cls(
            appraisal=AppraisalRecord.of(plan.appraisal),
            intent=plan.appraisal.intent,
            mood=plan.mood.label,
            mood_intensity=plan.mood.intensity,
            vitals_before=plan.vitals_before,
            vitals_after=plan.vitals_after,
            vitals_delta=plan.vitals_delta,
            generation=generation,
            memories_used=tuple(MemoryUsed(id=h.id, text=h.text, score=h.score,
                                           turn_id=h.turn_id) for h in used),
            memories_formed=tuple(m.text for m in formed),
            timings_ms=timings_ms,
        )
