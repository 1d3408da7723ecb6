"""Pydantic's validation errors, rewritten as ``file: field.path: expected …, found …``.

The "expected" half is read from the model's field types and bounds (``Unit`` reads as
"a number from 0.0 to 1.0"), so messages stay right when the model changes. Paths are given
as the author wrote them (``initial_goals.1.priority``, not ``goals.1.priority``).
"""

from __future__ import annotations

import datetime as dt
import types
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import annotated_types
from pydantic import BaseModel, Tag, ValidationError
from pydantic_core import ErrorDetails

from schemas.dialects import SourcePaths
from schemas.problems import Problem

_FOUND_TEXT_LIMIT = 60


def strip_annotation(annotation: Any) -> Any:
    """``Annotated[X, ...] | None`` → ``X``."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            members = [a for a in get_args(annotation) if a is not type(None)]
            if len(members) != 1:
                return annotation
            annotation = members[0]
        else:
            return annotation


def problems_from_validation_error(
    error: ValidationError, model: type[BaseModel], file: str, paths: SourcePaths
) -> list[Problem]:
    """One ``Problem`` per pydantic error, in the order pydantic found them."""
    return [_problem(detail, model, file, paths) for detail in error.errors()]


def _problem(
    detail: ErrorDetails, model: type[BaseModel], file: str, paths: SourcePaths
) -> Problem:
    loc, annotation, metadata = annotation_at(model, tuple(detail["loc"]))
    expected = describe_expected(annotation, metadata)
    kind = detail["type"]
    if kind == "missing":
        return Problem(file, paths.to_source(loc),
                       f"expected {expected}, found nothing (this field is required)",
                       code="missing")
    code = "out-of-range" if kind in _RANGE_ERRORS else "wrong-type"
    if kind == "literal_error":
        code = "not-allowed"
    return Problem(file, paths.to_source(loc),
                   f"expected {expected}, found {describe_found(detail.get('input'))}",
                   code=code)


_RANGE_ERRORS = frozenset({
    "greater_than", "greater_than_equal", "less_than", "less_than_equal",
    "string_too_short", "string_too_long", "too_short", "too_long",
})


def annotation_at(model: type[BaseModel], loc: tuple[str | int, ...]
                  ) -> tuple[tuple[str | int, ...], Any, list[Any]]:
    """``loc`` without the tags of tagged unions (``skills.x.levels.y`` → ``skills.x.y``),
    the declared type there and its constraint metadata (``Ge``, ``Le``, …)."""
    annotation: Any = model
    metadata: list[Any] = []
    kept: list[str | int] = []
    for part in loc:
        member = _tagged_member(annotation, part)
        if member is not None:
            annotation, metadata = member, []
            continue
        kept.append(part)
        target = strip_annotation(annotation)
        origin = get_origin(target)
        if isinstance(target, type) and issubclass(target, BaseModel):
            info = target.model_fields.get(str(part))
            if info is None:
                return tuple(kept), None, []
            annotation, metadata = info.annotation, list(info.metadata)
        elif origin is list:
            annotation, metadata = (get_args(target) or (Any,))[0], []
        elif origin is dict:
            args = get_args(target)
            annotation, metadata = (args[1] if len(args) == 2 else Any), []
        else:
            return (*kept, *loc[len(kept):]), None, []
    return tuple(kept), annotation, metadata + _inner_metadata(annotation)


def _tagged_member(annotation: Any, part: str | int) -> Any:
    """The member of a tagged union ``annotation`` whose ``Tag`` is ``part``, else ``None``."""
    if get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) not in (Union, types.UnionType):
        return None
    for member in get_args(annotation):
        tags = [m.tag for m in getattr(member, "__metadata__", ()) if isinstance(m, Tag)]
        if part in tags:
            return member
    return None


def _inner_metadata(annotation: Any) -> list[Any]:
    """Constraints inside ``Annotated[...]``, also when wrapped in ``| None``."""
    found: list[Any] = []
    stack = [annotation]
    while stack:
        current = stack.pop()
        if hasattr(current, "__metadata__"):
            for item in current.__metadata__:
                found.extend(getattr(item, "metadata", [item]))
            stack.append(get_args(current)[0])
        else:
            stack.extend(a for a in get_args(current) if a is not type(None))
    return found


def describe_expected(annotation: Any, metadata: list[Any]) -> str:
    """Plain-words description of what a field accepts."""
    target = strip_annotation(annotation)
    origin = get_origin(target)
    if target is None:
        return "no such field"
    if origin is Literal:
        return "one of " + ", ".join(str(a) for a in get_args(target))
    if target is bool:
        return "true or false"
    if target in (int, float):
        noun = "a whole number" if target is int else "a number"
        low = next((m.ge for m in metadata if isinstance(m, annotated_types.Ge)), None)
        high = next((m.le for m in metadata if isinstance(m, annotated_types.Le)), None)
        above = next((m.gt for m in metadata if isinstance(m, annotated_types.Gt)), None)
        if low is not None and high is not None:
            return f"{noun} from {low:g} to {high:g}"
        if above is not None:
            return f"{noun} greater than {above}"
        if low is not None:
            return f"{noun} of at least {low}"
        return noun
    if target is str:
        if any(isinstance(m, annotated_types.MinLen) and m.min_length > 0 for m in metadata):
            return "non-empty text"
        return "text"
    if target is dt.date:
        return "a date (YYYY-MM-DD)"
    if origin is list:
        return "a list"
    if origin is dict:
        return "a mapping"
    if isinstance(target, type) and issubclass(target, BaseModel):
        required = [n for n, f in target.model_fields.items() if f.is_required()]
        if required:
            return f"a mapping with {', '.join(required)}"
        return f"a mapping of {', '.join(target.model_fields)}"
    return "a valid value"


def describe_found(value: Any) -> str:
    """What the author wrote, short enough for one line."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if value == "":
            return "empty text"
        shown = value if len(value) <= _FOUND_TEXT_LIMIT else value[:_FOUND_TEXT_LIMIT] + "…"
        return '"' + shown.replace("\n", "\\n") + '"'
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return f"a list of {len(value)} item{'s' if len(value) != 1 else ''}"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__
