"""Fit translated data to the model's shape before validation, guided by the model itself.

Driven by the field types in ``model.py`` (so a new field needs no change here):

* a field the model does not have is moved to ``extensions`` under its dotted source path
  and reported as a warning: kept, never silently dropped;
* a text field given a number, boolean or date gets the text the author wrote
  (``version: 1.0`` → ``"1.0"``, ``name: 1984`` → ``"1984"``);
* an empty value (``quirks:`` with nothing after it) means "not given" for a field that has
  a default, instead of failing as ``None``;
* a descriptive field written in another shape than the model's is **coerced**, with a
  ``coerced`` warning naming the field: a list or mapping where text is expected becomes
  its ``readable`` text; text or a mapping where a list is expected becomes a list of text
  (one item, or one ``key: value`` item per entry); text or a list where a section mapping
  is expected goes to the section's ``TEXT_FIELD`` (``specialty: marine biology`` →
  ``specialty.domain``); text where a mapping of notes is expected becomes ``{notes: …}``;
  a list item that is itself a mapping or list becomes its readable text; a list item
  mapping (a goal, a trait) that lacks its text field but has other keys takes their text;
  a skill group's nested scores are flattened, and one with levels in words becomes a list.

Numbers, dates and fixed choices (``goal_type``) are not coerced: pydantic checks them, and
a wrong one is an error. Numbers given as text (``"0.8"``) are converted by pydantic.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, get_args, get_origin

from pydantic import BaseModel

from schemas.dialects import SourcePaths
from schemas.model import SkillGroup
from schemas.problems import Problem
from schemas.readable import is_empty, readable, readable_key
from schemas.validation import describe_expected, describe_found, strip_annotation
from schemas.yaml_io import as_text, plain

#: The key a value written as text takes where a mapping of notes is expected.
NOTES_KEY = "notes"
#: The group a skills list or text written straight under ``skills`` goes to.
GENERAL_SKILLS = "general"


@dataclass
class Conformed:
    data: Any
    extensions: dict[str, Any] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)


#: Keys under which an item's own words are its text field (a goal's ``{goal: …}``, a mood
#: trigger's ``{when: …}``); under any other key the key is part of what it says.
_DESCRIPTION_KEYS: Final = frozenset({"goal", "objective", "aim", "description", "text",
                                      "when", "cue", "word", "words", "phrase"})


def conform(
    data: dict[str, Any], model: type[BaseModel], file: str, paths: SourcePaths
) -> Conformed:
    """Return ``data`` fitted to ``model`` plus the unknown fields and every warning.

    The unknown fields are *not* yet merged into ``data["extensions"]``; the caller decides
    (so it can also report what a file already listed under ``extensions``).
    """
    fitter = _Fitter(file, paths)
    result = Conformed(data=fitter.fit(data, model, ()))
    result.extensions = fitter.extensions
    result.warnings = fitter.warnings
    return result


def _is_model(target: Any) -> bool:
    return isinstance(target, type) and issubclass(target, BaseModel)


def _is_number_like(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return False
        return True
    return False


def _item_text(key: Any, value: Any) -> str:
    """One mapping entry as one item of text: ``key: value``."""
    return f"{readable_key(key)}: {readable(value)}" if not is_empty(value) else readable_key(key)


class _Fitter:
    def __init__(self, file: str, paths: SourcePaths) -> None:
        self.file = file
        self.paths = paths
        self.extensions: dict[str, Any] = {}
        self.warnings: list[Problem] = []

    def coerced(self, loc: tuple[str | int, ...], expected: str, found: Any, done: str) -> None:
        self.warnings.append(Problem(
            self.file, self.paths.to_source(loc),
            f"expected {expected}, found {describe_found(found)}; {done}",
            severity="warning", code="coerced",
        ))

    def unknown(self, loc: tuple[str | int, ...], value: Any) -> None:
        source = self.paths.to_source(loc)
        self.extensions[source] = plain(value)
        self.warnings.append(Problem(
            self.file, source,
            f"unknown field, kept under extensions[{source!r}] (the prompt shows it "
            'under "Other notes")',
            severity="warning", code="unknown-field",
        ))

    def fit(self, value: Any, annotation: Any, loc: tuple[str | int, ...]) -> Any:
        if annotation == SkillGroup:
            return self.fit_skill_group(value, loc)
        target = strip_annotation(annotation)
        origin = get_origin(target)
        if _is_model(target):
            return self.fit_section(value, target, loc)
        if origin is list:
            return self.fit_list(value, (get_args(target) or (Any,))[0], loc)
        if origin is dict:
            return self.fit_mapping(value, target, loc)
        if target is str:
            return self.fit_text(value, loc)
        if origin is Literal:
            text = as_text(value)
            return text if text is not None else plain(value)
        return plain(value)

    def fit_text(self, value: Any, loc: tuple[str | int, ...]) -> Any:
        text = as_text(value)
        if text is not None or value is None:
            return text
        if isinstance(value, Mapping | list):
            self.coerced(loc, "text", value, "written as one text")
            return readable(value)
        return plain(value)

    def fit_section(self, value: Any, target: type[BaseModel], loc: tuple[str | int, ...]
                    ) -> Any:
        if isinstance(value, dict):
            return self.fit_fields(value, target, loc)
        text_field = getattr(target, "TEXT_FIELD", None)
        if text_field is None or is_empty(value) or not (
                isinstance(value, list) or as_text(value) is not None):
            return plain(value)  # a numeric section, or nothing to keep: pydantic judges
        self.coerced(loc, describe_expected(target, []), value,
                     f"kept as {self.paths.to_source(loc)}"
                     f"{'.' if loc else ''}{text_field}")
        self.paths.add((*map(str, loc), text_field), tuple(map(str, loc)))
        return {text_field: as_text(value) or readable(value)}

    def fit_fields(self, value: dict[Any, Any], target: type[BaseModel],
                   loc: tuple[str | int, ...]) -> dict[str, Any]:
        fitted: dict[str, Any] = {}
        unknown: list[tuple[Any, Any]] = []
        for key, item in value.items():
            info = target.model_fields.get(key) if isinstance(key, str) else None
            if info is None:
                unknown.append((key, item))
                continue
            if item is None and not info.is_required() and info.default is not None:
                continue
            fitted[key] = self.fit(item, info.annotation, (*loc, key))
        text_field = getattr(target, "TEXT_FIELD", None)
        if (unknown and text_field is not None and text_field not in fitted
                and target.model_fields[text_field].is_required()):
            # A goal written {goal: …}: its own words are its description (_DESCRIPTION_KEYS).
            single = (len(unknown) == 1 and as_text(unknown[0][1]) is not None
                      and str(unknown[0][0]).strip().lower() in _DESCRIPTION_KEYS)
            fitted[text_field] = (as_text(unknown[0][1]) if single else
                                  "; ".join(_item_text(k, v) for k, v in unknown))
            names = ", ".join(str(k) for k, _ in unknown)
            self.warnings.append(Problem(
                self.file, self.paths.to_source(loc),
                f"expected a {text_field}, found {names} instead; its text is the {text_field}",
                severity="warning", code="coerced",
            ))
            return fitted
        for key, item in unknown:
            self.unknown((*loc, str(key)), item)
        return fitted

    def fit_list(self, value: Any, item_type: Any, loc: tuple[str | int, ...]) -> Any:
        item_target = strip_annotation(item_type)
        text_field = getattr(item_target, "TEXT_FIELD", None) if _is_model(item_target) else None
        takes_text = item_target is str or text_field is not None
        if isinstance(value, list):
            if item_target is str:
                compound = [i for i, v in enumerate(value) if isinstance(v, Mapping | list)]
                if compound:
                    self.coerced(loc, "a list of text", value,
                                 f"item{'s' if len(compound) > 1 else ''} "
                                 f"{', '.join(map(str, compound))} written as text")
            return [self.fit_list_item(v, item_type, (*loc, i)) for i, v in enumerate(value)]
        if not takes_text or is_empty(value):
            return plain(value)
        if isinstance(value, Mapping):
            texts = [_item_text(k, v) for k, v in value.items()]
            self.coerced(loc, "a list", value, "each entry kept as one item")
        elif as_text(value) is not None:
            texts = [as_text(value) or ""]
            self.coerced(loc, "a list", value, "kept as a list of one item")
        else:
            return plain(value)
        items: list[Any] = texts if item_target is str else [{text_field: t} for t in texts]
        return [self.fit(v, item_type, (*loc, i)) for i, v in enumerate(items)]

    def fit_list_item(self, value: Any, item_type: Any, loc: tuple[str | int, ...]) -> Any:
        if strip_annotation(item_type) is str and isinstance(value, Mapping | list):
            return readable(value)  # reported once, for the whole list
        return self.fit(value, item_type, loc)

    def fit_mapping(self, value: Any, target: Any, loc: tuple[str | int, ...]) -> Any:
        args = get_args(target)
        value_type = args[1] if len(args) == 2 else Any
        if isinstance(value, dict):
            return {plain(k): self.fit(v, value_type, (*loc, str(k))) for k, v in value.items()}
        if is_empty(value) or not (isinstance(value, list) or as_text(value) is not None):
            return plain(value)
        key = GENERAL_SKILLS if value_type == SkillGroup else NOTES_KEY
        self.coerced(loc, "a mapping", value, f"kept under {key}")
        self.paths.add((*map(str, loc), key), tuple(map(str, loc)))
        return {key: self.fit(plain(value), value_type, (*loc, key))}

    def fit_skill_group(self, value: Any, loc: tuple[str | int, ...]) -> Any:
        """Scores stay scores (nested ones flattened: ``robotics (arm)``); anything else
        becomes a list of skill names."""
        if isinstance(value, list):
            return self.fit_list(value, str, loc)
        if isinstance(value, Mapping):
            flat = _flattened(value)
            if all(_is_number_like(v) for v in flat.values()):
                if len(flat) != len(value) or any(isinstance(v, Mapping) for v in value.values()):
                    self.coerced(loc, "a mapping of skill levels", value,
                                 "nested levels flattened")
                return {k: plain(v) for k, v in flat.items()}
            self.coerced(loc, "a mapping of skill levels from 0 to 1", value,
                         "kept as a list of skills")
            return [_item_text(k, v) for k, v in value.items()]
        return self.fit_list(value, str, loc)


def _flattened(value: Mapping[Any, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, item in value.items():
        name = f"{prefix} ({as_text(key) or key})" if prefix else str(as_text(key) or key)
        if isinstance(item, Mapping) and item:
            flat.update(_flattened(item, name))
        else:
            flat[name] = item
    return flat
