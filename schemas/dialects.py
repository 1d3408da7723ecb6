"""Dialect A, dialect B and greenroom's own form, translated to the model's field names.

This step only renames and reshapes; it does not judge values (``conform`` and the model do
that). It never drops what a file says: an item it cannot reshape is left in place for the
model to report, and a key it does not know is handed on unchanged.

Dialect B's neurochemical baseline is derived, since B files give only sensitivities:
every level starts at the neutral 50 and the mood setpoint (-1..1) shifts it by up to
``SETPOINT_SWING`` points, up for the reward/bonding chemicals (dopamine, serotonin,
oxytocin, endorphins) and down for the stress chemicals (cortisol, adrenaline):

    level = 50 + SETPOINT_SWING * setpoint       (dopamine, serotonin, oxytocin, endorphins)
    level = 50 - SETPOINT_SWING * setpoint       (cortisol, adrenaline)

so a setpoint of 0.7 gives dopamine 64 and cortisol 36. A file that gives absolute levels
(``neurochemical_baseline``) keeps them, whichever dialect it otherwise uses.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, get_args

from schemas.model import NEUROCHEMICALS, Dialect
from schemas.problems import Problem
from schemas.yaml_io import as_text

NEUTRAL_LEVEL = 50.0
SETPOINT_SWING = 20.0
STRESS_CHEMICALS = frozenset({"cortisol", "adrenaline"})

DIALECTS: tuple[str, ...] = get_args(Dialect)

# Keys only one form uses; a file is labelled by the first family it matches.
_B_KEYS = frozenset({"character_id", "neurochemical_profile"})
_A_KEYS = frozenset({"neurochemical_baseline", "created_date"})
_GREENROOM_KEYS = frozenset({"neurochemistry", "goals", "roleplay", "llm", "source_id"})


@dataclass
class SourcePaths:
    """Maps a field path in the model back to the path the author wrote.

    Longest prefix wins: ``goals.2.priority`` becomes ``initial_goals.2.priority``.
    """

    renames: dict[tuple[str, ...], tuple[str, ...]] = field(default_factory=dict)

    def add(self, model_path: tuple[str, ...], source_path: tuple[str, ...]) -> None:
        self.renames[model_path] = source_path

    def to_source(self, loc: tuple[str | int, ...]) -> str:
        parts = tuple(str(p) for p in loc)
        for length in range(len(parts), 0, -1):
            renamed = self.renames.get(parts[:length])
            if renamed is not None:
                parts = renamed + parts[length:]
                break
        return ".".join(parts)


@dataclass
class Translation:
    data: dict[str, Any]
    dialect: Dialect
    paths: SourcePaths
    problems: list[Problem]


def detect_dialect(raw: Mapping[str, Any]) -> Dialect:
    """Which form a file is written in; an explicit valid ``dialect:`` key wins."""
    declared = raw.get("dialect")
    if isinstance(declared, str) and declared in DIALECTS:
        return declared  # type: ignore[return-value]  # checked against the Literal's args
    if _B_KEYS & raw.keys():
        return "b"
    if _A_KEYS & raw.keys():
        return "a"
    if _GREENROOM_KEYS & raw.keys():
        return "greenroom"
    return "b" if _has_weighted_items(raw) else "a"


def _has_weighted_items(raw: Mapping[str, Any]) -> bool:
    personality = raw.get("personality")
    lists: list[Any] = [raw.get("initial_goals")]
    if isinstance(personality, Mapping):
        lists += [personality.get("behavioral_traits"), personality.get("core_values")]
    return any(isinstance(items, list) and any(isinstance(i, Mapping) for i in items)
               for items in lists)


def translate(raw: Mapping[str, Any], file: str) -> Translation:
    """Rename and reshape a parsed file's top-level mapping into the model's layout."""
    out = _Translator(file)
    data = dict(raw)
    dialect = detect_dialect(raw)
    data.setdefault("dialect", dialect)

    out.rename(data, "character_id", "source_id")
    out.reshape_personality(data)
    out.reshape_mood(data)
    out.reshape_neurochemistry(data)
    out.reshape_goals(data)
    out.reshape_skills(data)
    return Translation(data, dialect, out.paths, out.problems)


class _Translator:
    def __init__(self, file: str) -> None:
        self.file = file
        self.paths = SourcePaths()
        self.problems: list[Problem] = []

    def conflict(self, path: str, keys: tuple[str, ...]) -> None:
        self.problems.append(Problem(
            self.file, path,
            f"expected only one of {' / '.join(keys)} (they mean the same thing), found both",
            code="conflicting-fields",
        ))

    def rename(self, data: dict[str, Any], old: str, new: str) -> None:
        if old not in data:
            return
        if new in data:
            self.conflict(old, (old, new))
            del data[old]  # the load fails anyway; don't also report it as unknown
            return
        data[new] = data.pop(old)
        self.paths.add((new,), (old,))

    def reshape_personality(self, data: dict[str, Any]) -> None:
        personality = data.get("personality")
        if isinstance(personality, str):
            data["personality"] = {"summary": personality}
            self.paths.add(("personality", "summary"), ("personality",))
            return
        if not isinstance(personality, Mapping):
            return
        personality = dict(personality)
        traits = personality.get("behavioral_traits")
        if isinstance(traits, list):
            personality["behavioral_traits"] = [_weighted(t, "trait", "intensity") for t in traits]
        values = personality.get("core_values")
        if isinstance(values, list):
            personality["core_values"] = [_weighted(v, "value", "priority") for v in values]
        data["personality"] = personality

    def reshape_mood(self, data: dict[str, Any]) -> None:
        mood = data.get("mood_baseline")
        if not isinstance(mood, Mapping) or "current_state" not in mood:
            return
        mood = dict(mood)
        if "default_state" in mood:
            self.conflict("mood_baseline.current_state", ("current_state", "default_state"))
            del mood["current_state"]
            data["mood_baseline"] = mood
            return
        mood["default_state"] = mood.pop("current_state")
        data["mood_baseline"] = mood
        self.paths.add(("mood_baseline", "default_state"), ("mood_baseline", "current_state"))

    def reshape_neurochemistry(self, data: dict[str, Any]) -> None:
        has_levels = "neurochemical_baseline" in data
        has_profile = "neurochemical_profile" in data
        if not (has_levels or has_profile):
            return
        if "neurochemistry" in data:
            given = [k for k in ("neurochemical_baseline", "neurochemical_profile") if k in data]
            self.conflict(given[0], (given[0], "neurochemistry"))
            for key in given:
                del data[key]
            return
        chemistry: dict[str, Any] = {}
        if has_levels:
            chemistry["baseline"] = data.pop("neurochemical_baseline")
            self.paths.add(("neurochemistry", "baseline"), ("neurochemical_baseline",))
        if has_profile:
            profile = data.pop("neurochemical_profile")
            if not isinstance(profile, Mapping):
                # Left where the model will say "expected a mapping" about it.
                chemistry["sensitivities"] = profile
                self.paths.add(("neurochemistry", "sensitivities"), ("neurochemical_profile",))
            else:
                self._take_profile(dict(profile), chemistry, data)
            if not has_levels:
                chemistry["baseline"] = baseline_from_setpoint(_setpoint(data))
        data["neurochemistry"] = chemistry

    def _take_profile(
        self, profile: dict[str, Any], chemistry: dict[str, Any], data: dict[str, Any]
    ) -> None:
        if "baseline_sensitivities" in profile:
            chemistry["sensitivities"] = profile.pop("baseline_sensitivities")
            self.paths.add(
                ("neurochemistry", "sensitivities"),
                ("neurochemical_profile", "baseline_sensitivities"),
            )
        if "gender_modifiers" in profile:
            chemistry["gender_modifiers"] = _with_boolean_applies(profile.pop("gender_modifiers"))
            self.paths.add(
                ("neurochemistry", "gender_modifiers"),
                ("neurochemical_profile", "gender_modifiers"),
            )
        # Whatever else the profile says is handed to ``conform`` as an unknown
        # neurochemistry key, reported under its source path.
        for key, value in profile.items():
            chemistry[key] = value
            self.paths.add(("neurochemistry", str(key)), ("neurochemical_profile", str(key)))

    def reshape_goals(self, data: dict[str, Any]) -> None:
        self.rename(data, "initial_goals", "goals")
        goals = data.get("goals")
        if isinstance(goals, list):
            data["goals"] = [_goal(g) for g in goals]

    def reshape_skills(self, data: dict[str, Any]) -> None:
        skills = data.get("skills")
        if not isinstance(skills, Mapping):
            return
        # A skill given as one number (``empathy: 0.8``) becomes a group with one entry.
        data["skills"] = {
            name: {"overall": value} if _is_number(value) else value
            for name, value in skills.items()
        }


def baseline_from_setpoint(setpoint: float) -> dict[str, float]:
    """Dialect B's derived baseline levels (see the module docstring for the formula)."""
    setpoint = max(-1.0, min(1.0, setpoint))
    return {
        name: round(
            NEUTRAL_LEVEL + (-1 if name in STRESS_CHEMICALS else 1) * SETPOINT_SWING * setpoint,
            2,
        )
        for name in NEUROCHEMICALS
    }


def _setpoint(data: Mapping[str, Any]) -> float:
    mood = data.get("mood_baseline")
    if not isinstance(mood, Mapping):
        return 0.0
    text = as_text(mood.get("baseline_setpoint"))
    try:
        return float(text) if text is not None else 0.0
    except ValueError:
        return 0.0  # the model reports the bad setpoint itself


_YES_NO = {"yes": True, "on": True, "true": True, "no": False, "off": False, "false": False}


def _with_boolean_applies(modifiers: Any) -> Any:
    """``applies: yes`` reads as text (see ``yaml_io``); this one flag is a boolean."""
    if isinstance(modifiers, Mapping) and isinstance(modifiers.get("applies"), str):
        flag = _YES_NO.get(modifiers["applies"].strip().lower())
        if flag is not None:
            return {**modifiers, "applies": flag}
    return modifiers


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _weighted(item: Any, name_key: str, weight_key: str) -> Any:
    """``"joy"`` → ``{value: joy}``; ``{joy: 10}`` → ``{value: joy, priority: 10}``."""
    text = item if isinstance(item, str) else None
    if text is not None:
        return {name_key: text}
    if isinstance(item, Mapping) and len(item) == 1:
        ((key, weight),) = item.items()
        if key not in (name_key, weight_key) and not isinstance(weight, Mapping | list):
            return {name_key: key, weight_key: weight}
    return item


def _goal(item: Any) -> Any:
    if isinstance(item, str):
        return {"description": item}
    if isinstance(item, Mapping) and isinstance(item.get("goal_type"), str):
        goal = dict(item)
        goal["goal_type"] = item["goal_type"].strip().lower().replace("-", "_").replace(" ", "_")
        return goal
    return item
