"""The engine's committed state: vitals as of a time, mood, turn count. Pure values.

A state is stored as canonical JSON (sorted keys, no spaces, floats as ``repr``), so two equal
states are byte-identical and a snapshot restores the exact bytes it saved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Final

from schemas.model import Character
from worker.engine.mood import MOODS, derive_mood
from worker.engine.vitals import Vitals

STATE_FORMAT: Final = 1


def canonical_json(value: Any) -> str:
    """One spelling per value: sorted keys, compact separators, UTF-8 kept as is."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(frozen=True, slots=True)
class EngineState:
    """What a turn changes, apart from relationships and memories (stored beside it).

    ``levels`` are the vitals as of ``levels_at`` (seconds since the epoch); the current
    vitals at a later time are ``VitalsModel.decay(levels, now − levels_at)``.
    ``undo_floor`` is the id of the newest turn that undo may not cross (set by ``reset``,
    which keeps history but not the states it came from).
    """

    levels: Vitals
    levels_at: float
    mood: str
    mood_intensity: float
    turn_count: int = 0
    last_turn_delta: dict[str, float] = field(default_factory=dict)
    undo_floor: int = 0

    @classmethod
    def initial(cls, character: Character, *, now: float, turn_count: int = 0,
                undo_floor: int = 0) -> EngineState:
        """The character as its file describes it: levels at baseline, its default mood if
        that is one of ours, otherwise the mood its baseline levels give."""
        levels = Vitals.from_mapping(character.neurochemistry.baseline.as_dict())
        default = character.mood_baseline.default_state
        mood = derive_mood(levels, previous=default if default in MOODS else None)
        return cls(levels=levels, levels_at=now, mood=mood.label,
                   mood_intensity=mood.intensity, turn_count=turn_count, undo_floor=undo_floor)

    def to_json(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "levels": self.levels.as_dict(),
            "levels_at": self.levels_at,
            "mood": self.mood,
            "mood_intensity": self.mood_intensity,
            "turn_count": self.turn_count,
            "last_turn_delta": dict(self.last_turn_delta),
            "undo_floor": self.undo_floor,
        }

    def dumps(self) -> str:
        return canonical_json(self.to_json())

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> EngineState:
        return cls(
            levels=Vitals.from_mapping(data["levels"]),
            levels_at=float(data["levels_at"]),
            mood=str(data["mood"]),
            mood_intensity=float(data["mood_intensity"]),
            turn_count=int(data["turn_count"]),
            last_turn_delta={str(k): float(v) for k, v in data["last_turn_delta"].items()},
            undo_floor=int(data.get("undo_floor", 0)),
        )

    @classmethod
    def loads(cls, text: str) -> EngineState:
        return cls.from_json(json.loads(text))
