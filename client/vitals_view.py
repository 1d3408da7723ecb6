"""What the vitals panel shows, read out of the engine's free-form status objects.

``status_response.vitals`` / ``character_summary``, ``vitals_event.vitals`` and a turn's
``ChatReply`` (levels and their changes) are JSON objects whose inner shape belongs to the
engine. This module is the one place that reads them, and it reads them tolerantly: levels
may be plain numbers (``{"dopamine": 62.0}``), objects (``{"dopamine": {"level": 62,
"baseline": 75, "change": -3}}``) or parallel maps (``{"levels": {...}, "baselines": {...},
"changes": {...}}``), with an optional ``details`` map of per-level objects (what
``worker.engine.report`` sends). Anything missing is ``None`` and the renderer leaves it out.
When the engine gives no change, the change is computed against the previous view. Pure
functions over plain values.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from client.interface import ChatReply
from protocol.events import VitalsEvent

NEUROCHEMICALS: Final = (
    "dopamine", "serotonin", "oxytocin", "endorphins", "cortisol", "adrenaline",
)

_LEVEL_KEYS: Final = ("level", "current", "value")
_BASELINE_KEYS: Final = ("baseline",)
_CHANGE_KEYS: Final = ("last_turn_delta", "change", "delta")


@dataclass(frozen=True, slots=True)
class Level:
    """One neurochemical, 0–100; ``change`` is points since the previous turn."""

    name: str
    value: float
    baseline: float | None = None
    change: float | None = None


@dataclass(frozen=True, slots=True)
class Relationship:
    """The relationship with the chatting user; trust 0–1, affinity −1–1."""

    user: str | None = None
    trust: float | None = None
    affinity: float | None = None
    interactions: int | None = None
    description: str | None = None


@dataclass(frozen=True, slots=True)
class VitalsView:
    """Everything the panel draws. ``levels`` is in canonical order, possibly partial."""

    character: str | None = None
    levels: tuple[Level, ...] = ()
    mood: str | None = None
    mood_intensity: float | None = None
    relationship: Relationship | None = None
    goals: tuple[str, ...] = ()
    turn_count: int | None = None
    #: The people who have talked to the character, the most recent first.
    relationships: tuple[Relationship, ...] = ()

    def level(self, name: str) -> Level | None:
        return next((level for level in self.levels if level.name == name), None)


@dataclass(frozen=True, slots=True)
class TurnChange:
    """What one turn changed, as the server reported it — the same numbers in the
    ``chat_response`` of the person who spoke and in the ``vitals_event`` every other
    client gets: the mood it left (``mood_intensity`` 0–1) and the mood before, and per level
    the value after and the change (``Level.change``). ``user`` spoke."""

    user: str | None
    mood: str | None
    mood_intensity: float | None
    previous_mood: str | None
    levels: tuple[Level, ...]


def change_from_reply(reply: ChatReply) -> TurnChange:
    """The change of the user's own turn, from its answer."""
    user = reply.metadata.get("user")
    return TurnChange(
        user=user if isinstance(user, str) else None, mood=reply.mood,
        mood_intensity=reply.mood_intensity, previous_mood=reply.previous_mood,
        levels=_changed_levels(reply.vitals or {}, reply.vitals_delta or {}))


def change_from_event(event: VitalsEvent) -> TurnChange | None:
    """The change of a turn, from its ``vitals_event``; ``None`` for an event that is not
    a turn's, or from a server that sends no deltas."""
    if event.cause != "turn" or event.vitals_delta is None:
        return None
    values = _as_mapping(event.vitals.get("levels")) or event.vitals
    return TurnChange(
        user=event.user, mood=event.mood, mood_intensity=event.mood_intensity,
        previous_mood=event.previous_mood,
        levels=_changed_levels(values, event.vitals_delta))


def _changed_levels(values: Mapping[str, Any], changes: Mapping[str, Any]
                    ) -> tuple[Level, ...]:
    levels = []
    for name in NEUROCHEMICALS:
        value, change = _number(values.get(name)), _number(changes.get(name))
        if value is not None:
            levels.append(Level(name, value, None, change))
    return tuple(levels)


def level_history(turns: Sequence[Mapping[str, Any]]) -> dict[str, tuple[float, ...]]:
    """Each level over ``turns`` (``conversation_history`` entries, oldest first), from the
    levels each turn left; a turn without levels (an older server) is skipped."""
    series: dict[str, list[float]] = {name: [] for name in NEUROCHEMICALS}
    for turn in turns:
        levels = _as_mapping(turn.get("vitals"))
        if levels is None:
            continue
        for name in NEUROCHEMICALS:
            value = _number(levels.get(name))
            if value is not None:
                series[name].append(value)
    return {name: tuple(values) for name, values in series.items() if values}


def view_from_status(
    summary: Mapping[str, Any],
    vitals: Mapping[str, Any],
    previous: VitalsView | None = None,
) -> VitalsView:
    """The panel for a ``status_response`` (``character_summary`` and ``vitals``)."""
    mood, intensity = _mood(vitals.get("mood"), vitals.get("mood_intensity"))
    if mood is None:
        mood, intensity = _mood(summary.get("mood"), summary.get("mood_intensity"))
    return VitalsView(
        character=_text(summary.get("name")) or _text(summary.get("character_name")),
        levels=_levels(vitals, previous),
        mood=mood,
        mood_intensity=intensity,
        relationship=_relationship(summary.get("relationship") or vitals.get("relationship")),
        goals=_goals(summary.get("goals") or summary.get("active_goals") or vitals.get("goals")),
        turn_count=_int(summary.get("turn_count") or summary.get("conversation_turns")),
        relationships=_relationships(summary.get("relationships")),
    )


def view_from_event(event: VitalsEvent, previous: VitalsView | None) -> VitalsView:
    """The panel after a ``vitals_event``: new levels and mood, the rest kept from before.
    The event's own intensity and (after a turn) its changes are used as they are, never
    recomputed against what this client saw last."""
    base = previous or VitalsView()
    vitals: Mapping[str, Any] = event.vitals
    if event.vitals_delta is not None:
        vitals = {"levels": _as_mapping(vitals.get("levels")) or vitals,
                  "details": vitals.get("details") or {}, "changes": event.vitals_delta}
    event_mood, intensity = _mood(event.vitals.get("mood"), event.vitals.get("mood_intensity"))
    if event.mood_intensity is not None:
        intensity = event.mood_intensity
    return replace(
        base,
        levels=_levels(vitals, previous, prefer_changes=event.vitals_delta is not None),
        mood=event.mood or event_mood or base.mood,
        mood_intensity=intensity if intensity is not None else base.mood_intensity,
    )


def view_from_reply(reply: ChatReply, previous: VitalsView | None) -> VitalsView:
    """The panel after the user's own turn, from its answer: the levels after the message,
    what the message changed, the mood. Baselines, relationship and goals are kept from
    before: the answer does not carry them (``view_from_status`` reads them)."""
    base = previous or VitalsView()
    levels = _levels({"levels": reply.vitals or {}, "changes": reply.vitals_delta or {}},
                     previous)
    return replace(
        base,
        levels=levels,
        mood=reply.mood or base.mood,
        mood_intensity=(reply.mood_intensity if reply.mood_intensity is not None
                        else base.mood_intensity),
    )


def _levels(vitals: Mapping[str, Any], previous: VitalsView | None, *,
            prefer_changes: bool = False) -> tuple[Level, ...]:
    values = _as_mapping(vitals.get("levels")) or vitals
    details = _as_mapping(vitals.get("details")) or {}
    baselines = _as_mapping(vitals.get("baselines")) or _as_mapping(vitals.get("baseline"))
    changes = _as_mapping(vitals.get("changes")) or _as_mapping(vitals.get("change"))
    levels: list[Level] = []
    for name in NEUROCHEMICALS:
        raw = values.get(name)
        item = _as_mapping(details.get(name)) or _as_mapping(raw)
        value = _first_number(item, _LEVEL_KEYS) if item is not None else None
        if value is None:
            value = _number(raw)
        if value is None:
            continue
        baseline = _first_number(item, _BASELINE_KEYS) if item is not None else None
        if baseline is None and baselines is not None:
            baseline = _number(baselines.get(name))
        change = None
        if prefer_changes and changes is not None:
            change = _number(changes.get(name))
        if change is None and item is not None:
            change = _first_number(item, _CHANGE_KEYS)
        if change is None and changes is not None:
            change = _number(changes.get(name))
        if change is None and previous is not None:
            before = previous.level(name)
            change = None if before is None else round(value - before.value, 4)
        if baseline is None and previous is not None:
            before = previous.level(name)
            baseline = None if before is None else before.baseline
        levels.append(Level(name, value, baseline, change))
    return tuple(levels)


def _mood(raw: Any, raw_intensity: Any = None) -> tuple[str | None, float | None]:
    if isinstance(raw, str):
        return raw, _number(raw_intensity)
    item = _as_mapping(raw)
    if item is None:
        return None, None
    label = _text(item.get("label")) or _text(item.get("state")) or _text(item.get("name"))
    return label, _number(item.get("intensity"))


def _relationship(raw: Any) -> Relationship | None:
    if isinstance(raw, str):
        return Relationship(description=raw)
    item = _as_mapping(raw)
    if item is None:
        return None
    return Relationship(
        user=_text(item.get("user")),
        trust=_number(item.get("trust")),
        affinity=_number(item.get("affinity")),
        interactions=_int(item.get("interaction_count")),
        description=_text(item.get("description")),
    )


def _relationships(raw: Any) -> tuple[Relationship, ...]:
    if not isinstance(raw, list):
        return ()
    found = (_relationship(item) for item in raw if isinstance(item, Mapping))
    return tuple(r for r in found if r is not None and r.user)


def _goals(raw: Any) -> tuple[str, ...]:
    if not isinstance(raw, list):
        return ()
    goals: list[str] = []
    for goal in raw:
        if isinstance(goal, str):
            goals.append(goal)
        elif isinstance(goal, dict):
            text = _text(goal.get("description")) or _text(goal.get("goal"))
            if text:
                goals.append(text)
    return tuple(goals)


def _as_mapping(raw: Any) -> Mapping[str, Any] | None:
    return raw if isinstance(raw, Mapping) else None


def _first_number(item: Mapping[str, Any], keys: tuple[str, ...]) -> float | None:
    for key in keys:
        value = _number(item.get(key))
        if value is not None:
            return value
    return None


def _number(raw: Any) -> float | None:
    if isinstance(raw, bool) or not isinstance(raw, int | float):
        return None
    return float(raw)


def _int(raw: Any) -> int | None:
    return raw if isinstance(raw, int) and not isinstance(raw, bool) else None


def _text(raw: Any) -> str | None:
    return raw if isinstance(raw, str) and raw else None
