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

from schemas.model import NEUROCHEMICALS, Dialect, GoalType
from schemas.mood_triggers import ReadTriggers, read_triggers
from schemas.problems import Problem
from schemas.readable import readable, readable_key
from schemas.yaml_io import as_text

NEUTRAL_LEVEL = 50.0
SETPOINT_SWING = 20.0
STRESS_CHEMICALS = frozenset({"cortisol", "adrenaline"})

DIALECTS: tuple[str, ...] = get_args(Dialect)
GOAL_TYPES: tuple[str, ...] = get_args(GoalType)

#: Top-level keys that say something about the file rather than the character: kept under
#: ``author_metadata``, never in the prompt, not reported. So is any key ending ``_metadata``.
AUTHOR_METADATA_KEYS = frozenset({
    "research_metadata", "metadata", "author", "authors", "license", "licence", "sources",
    "references", "citations", "changelog", "last_updated", "last_reviewed", "reviewed_by",
    "generated_with", "generator", "schema_version", "notes_for_authors",
})
#: Other words for the goal types, as keys of goals grouped by type.
GOAL_TYPE_WORDS = {
    "short": "short_term", "immediate": "short_term", "current": "short_term",
    "long": "long_term", "life": "long_term", "lifelong": "long_term",
    "ultimate": "long_term", "secret": "hidden", "private": "hidden", "hidden_goals": "hidden",
    "short_term_goals": "short_term", "long_term_goals": "long_term",
}

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
    out.reshape_triggers(data)
    out.reshape_neurochemistry(data)
    out.reshape_goals(data)
    out.reshape_skills(data)
    out.move_topics(data)
    out.collect_author_metadata(data)
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

    def coerced(self, path: str, message: str) -> None:
        self.problems.append(Problem(self.file, path, message, severity="warning",
                                     code="coerced"))

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
        for field_name, name_key, weight_key in (("behavioral_traits", "trait", "intensity"),
                                                 ("core_values", "value", "priority")):
            items = personality.get(field_name)
            if isinstance(items, Mapping):
                # {patient: 0.9, kind: 0.7}: one weighted item per entry.
                for index, key in enumerate(items):
                    self.paths.add(("personality", field_name, str(index)),
                                   ("personality", field_name, str(key)))
                items = [{key: weight} for key, weight in items.items()]
            if isinstance(items, list):
                personality[field_name] = [
                    self.weighted(item, name_key, weight_key, ("personality", field_name, str(i)))
                    for i, item in enumerate(items)]
        data["personality"] = personality

    def weighted(self, item: Any, name_key: str, weight_key: str, where: tuple[str, ...]
                 ) -> Any:
        """``"joy"`` → ``{value: joy}``; ``{joy: 10}`` → ``{value: joy, priority: 10}``; a
        one-entry mapping whose value is not a number → its text (``"joy: always"``)."""
        if isinstance(item, str):
            return {name_key: item}
        if isinstance(item, Mapping) and len(item) == 1:
            ((key, weight),) = item.items()
            if key in (name_key, weight_key):
                return item
            if _is_number(weight) or (isinstance(weight, str) and _is_numeric_text(weight)):
                return {name_key: as_text(key) or str(key), weight_key: weight}
            text = f"{readable_key(key)}: {readable(weight)}"
            self.coerced(self.paths.to_source(where),
                         f'expected a {weight_key} number, found "{readable(weight)}"; '
                         f'kept as the {name_key} "{text}"')
            return {name_key: text}
        return item

    def reshape_triggers(self, data: dict[str, Any]) -> None:
        mood = data.get("mood_baseline")
        given = [k for k in ("triggers", "mood_triggers", "triggered_by")
                 if isinstance(mood, Mapping) and k in mood]
        if not isinstance(mood, Mapping) or not given:
            return
        mood = dict(mood)
        usual = as_text(mood.get("default_state"))
        read = ReadTriggers()
        for key in given:
            read_triggers(mood.pop(key), ("mood_baseline", key),
                          usual if key == "triggered_by" else None, self.file, read)
        for index, source in enumerate(read.sources):
            self.paths.add(("mood_baseline", "triggers", str(index)), source)
        self.problems.extend(read.problems)
        mood["triggers"] = read.items
        data["mood_baseline"] = mood

    def move_topics(self, data: dict[str, Any]) -> None:
        """``communication_style.preferred_topics`` is the character's ``preferred_topics``;
        given in both places, the lists are joined."""
        style = data.get("communication_style")
        if not isinstance(style, Mapping) or "preferred_topics" not in style:
            return
        style = dict(style)
        nested = style.pop("preferred_topics")
        data["communication_style"] = style
        if "preferred_topics" not in data:
            data["preferred_topics"] = nested
            self.paths.add(("preferred_topics",), ("communication_style", "preferred_topics"))
            return
        top = data["preferred_topics"]
        data["preferred_topics"] = [*(top if isinstance(top, list) else [top]),
                                    *(nested if isinstance(nested, list) else [nested])]

    def collect_author_metadata(self, data: dict[str, Any]) -> None:
        keys = [k for k in data if isinstance(k, str)
                and (k in AUTHOR_METADATA_KEYS or k.endswith("_metadata"))
                and k != "author_metadata"]
        if not keys:
            return
        metadata = data.get("author_metadata")
        collected = dict(metadata) if isinstance(metadata, Mapping) else {}
        for key in keys:
            collected[key] = data.pop(key)
            self.paths.add(("author_metadata", key), (key,))
        if metadata is not None and not isinstance(metadata, Mapping):
            collected["author_metadata"] = metadata
        data["author_metadata"] = collected

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
        if isinstance(goals, Mapping):
            data["goals"] = self.goals_by_type(goals)
        elif isinstance(goals, list):
            data["goals"] = [_goal(g) for g in goals]

    def goals_by_type(self, groups: Mapping[Any, Any]) -> list[Any]:
        """``{short_term: [...], long_term: ..., hidden: [...]}`` → one list of typed goals;
        a key that is no goal type makes a short-term goal of ``key: text``."""
        source = self.paths.to_source(("goals",)).split(".")
        goals: list[Any] = []
        for key, items in groups.items():
            goal_type = _goal_type_word(as_text(key) or "")
            where = (*source, str(key))
            if goal_type is None:
                self.coerced(".".join(where), f"expected one of {', '.join(GOAL_TYPES)} as a "
                             f"group of goals, found {key!r}; kept as a short-term goal")
                self.paths.add(("goals", str(len(goals))), where)
                goals.append({"description": f"{readable_key(key)}: {readable(items)}"})
                continue
            listed = items if isinstance(items, list) else [items]
            for index, item in enumerate(listed):
                goal = _goal(item)
                if isinstance(goal, Mapping):
                    goal = {"goal_type": goal_type, **goal}
                self.paths.add(("goals", str(len(goals))),
                               (*where, str(index)) if isinstance(items, list) else where)
                goals.append(goal)
        return goals

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


def _is_numeric_text(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _goal_type_word(word: str) -> str | None:
    key = word.strip().lower().replace("-", "_").replace(" ", "_")
    return key if key in GOAL_TYPES else GOAL_TYPE_WORDS.get(key)


def _goal(item: Any) -> Any:
    if isinstance(item, str):
        return {"description": item}
    if isinstance(item, Mapping) and isinstance(item.get("goal_type"), str):
        goal = dict(item)
        goal["goal_type"] = item["goal_type"].strip().lower().replace("-", "_").replace(" ", "_")
        return goal
    return item
