"""Status reports as JSON-able dicts: the ``vitals``, ``character_summary``,
``conversation_history`` and ``performance_stats`` of a ``status_response``. Pure."""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Sequence
from typing import Any, Final

import msgspec

from schemas.model import NEUROCHEMICALS, Character
from worker.engine.goals import Goals
from worker.engine.mood import Mood
from worker.engine.prompt import describe_vitals
from worker.engine.relationship import Relationship
from worker.engine.state import EngineState
from worker.engine.turn_rows import TurnRow
from worker.engine.vitals import Vitals, VitalsModel


def iso_time(seconds: float) -> str:
    """Unix seconds as an ISO-8601 UTC timestamp with milliseconds."""
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat(timespec="milliseconds")


def vitals_report(model: VitalsModel, state: EngineState, current: Vitals, mood: Mood,
                  *, now: float) -> dict[str, Any]:
    """Current levels (flat, as seed-era clients read them) plus per-level details.

    ``details[name]``: ``level`` now, ``baseline``, ``sensitivity``, ``last_turn_delta``
    (what the last message did) and ``since_last_turn`` (drift back toward baseline since).
    """
    details = {
        name: {
            "level": round(float(getattr(current, name)), 2),
            "baseline": float(getattr(model.baseline, name)),
            "sensitivity": float(model.sensitivities[name]),
            "last_turn_delta": round(state.last_turn_delta.get(name, 0.0), 2),
            "since_last_turn": round(
                float(getattr(current, name)) - float(getattr(state.levels, name)), 2),
        }
        for name in NEUROCHEMICALS
    }
    return {
        **{name: details[name]["level"] for name in NEUROCHEMICALS},
        "mood": mood.label,
        "mood_intensity": mood.intensity,
        "notable": describe_vitals(current, model.baseline),
        "details": details,
        "as_of": iso_time(now),
        "half_life_s": model.half_life_s,
    }


def character_summary(character: Character, mood: Mood, relationship: Relationship, *,
                      turn_count: int, memory_count: int, backend: str,
                      relationships: Sequence[Relationship] = ()) -> dict[str, Any]:
    """Who the character is and where it stands with ``relationship.user``; hidden goals are
    counted, never listed. ``relationships`` lists the people who have talked to it, the
    most recent first (at most ``RELATIONSHIPS_LISTED``)."""
    goals = Goals.of(character)
    return {
        "id": character.id,
        "name": character.name,
        "archetype": character.archetype,
        "description": character.description,
        "mood": mood.label,
        "mood_intensity": mood.intensity,
        "turn_count": turn_count,
        "memory_count": memory_count,
        "relationship": {**msgspec.structs.asdict(relationship),
                         "description": relationship.describe()},
        "relationships": [msgspec.structs.asdict(r) for r in talking(relationships)],
        "active_goals": goals.public(),
        "hidden_goal_count": len(goals.hidden),
        "backend": backend,
    }


#: The most relationships a summary lists (the most recent ones).
RELATIONSHIPS_LISTED: Final = 10


def talking(relationships: Sequence[Relationship]) -> list[Relationship]:
    """The relationships of people who have spoken, the most recent interaction first (ties
    by name), at most ``RELATIONSHIPS_LISTED``."""
    spoken = [r for r in relationships if r.interaction_count > 0]
    spoken.sort(key=lambda r: (-(r.last_interaction_at or 0.0), r.user))
    return spoken[:RELATIONSHIPS_LISTED]


def conversation_history(turns: Sequence[TurnRow], alternatives: dict[int, int]
                         ) -> list[dict[str, Any]]:
    """Turns oldest first; ``alternatives`` maps turn id → number of earlier replies kept;
    ``vitals`` are the levels the turn's message left (by name, 0–100)."""
    return [
        {
            "turn_id": t.id,
            "turn_index": t.turn_index,
            "user": t.user,
            "user_message": t.user_message,
            "response": t.reply,
            "timestamp": iso_time(t.created_at),
            "intent": t.record.intent,
            "mood": t.record.mood,
            "mood_intensity": t.record.mood_intensity,
            "vitals": {name: round(float(getattr(t.record.vitals_after, name)), 2)
                       for name in NEUROCHEMICALS},
            "alternatives": alternatives.get(t.id, 0),
        }
        for t in turns
    ]


def performance_stats(turns: Sequence[TurnRow]) -> dict[str, Any]:
    """Phase timings over ``turns`` (the engine passes the most recent ones)."""
    totals = [t.record.timings_ms["total"] for t in turns]
    generation = [t.record.timings_ms["generation"] for t in turns]
    rates = [rate for t in turns if (rate := t.record.generation.tokens_per_s) is not None]
    return {
        "turns_measured": len(totals),
        "mean_total_ms": round(statistics.fmean(totals), 3) if totals else None,
        "median_total_ms": round(statistics.median(totals), 3) if totals else None,
        "max_total_ms": round(max(totals), 3) if totals else None,
        "mean_generation_ms": round(statistics.fmean(generation), 3) if generation else None,
        "mean_tokens_per_s": round(statistics.fmean(rates), 3) if rates else None,
        "last_turn_ms": dict(turns[-1].record.timings_ms) if turns else None,
    }
