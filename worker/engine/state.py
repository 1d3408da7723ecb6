"""The engine's committed state: vitals as of a time, mood, turn count. Pure values.

``EngineState`` is a msgspec Struct: the type is the stored schema. It is stored as
canonical JSON (``worker.engine.canonical``), tagged ``"format": 1``; a state of another
format is refused when decoded rather than misread, and one without the tag (none was ever
written) reads as format 1.
"""

from __future__ import annotations

from typing import Final

import msgspec

from schemas.model import Character
from worker.engine.mood import MOODS, derive_mood
from worker.engine.vitals import Vitals

STATE_FORMAT: Final = 1


class EngineState(msgspec.Struct, frozen=True, tag_field="format", tag=STATE_FORMAT):
    """What a turn changes, apart from relationships and memories (stored beside it).

    ``levels`` are the vitals as of ``levels_at`` (seconds since the epoch); the current
    vitals at a later time are ``VitalsModel.decay(levels, now − levels_at)``.
    ``last_turn_delta`` is what the last turn's message moved each level by.
    ``undo_floor`` is the id of the newest turn that undo may not cross (set by ``reset``,
    which keeps history but not the states it came from).
    """

    levels: Vitals
    levels_at: float
    mood: str
    mood_intensity: float
    turn_count: int = 0
    last_turn_delta: dict[str, float] = {}
    undo_floor: int = 0

    @classmethod
    def initial(cls, character: Character, *, now: float, turn_count: int = 0,
                undo_floor: int = 0) -> EngineState:
        """The character as its file describes it: levels at baseline, its default mood if
        that is one of ours, otherwise the mood its baseline levels give."""
        levels = Vitals.from_mapping(character.neurochemistry.baseline.as_dict())
        default = character.mood_baseline.default_state
        mood = derive_mood(levels, levels, previous=default if default in MOODS else None)
        return cls(levels=levels, levels_at=now, mood=mood.label,
                   mood_intensity=mood.intensity, turn_count=turn_count, undo_floor=undo_floor)
