"""Fit translated data to the model's shape before validation, guided by the model itself.

Three things happen here, each driven by the field types in ``model.py`` (so a new field
needs no change in this module):

* a field the model does not have is moved to ``extensions`` under its dotted source path
  and reported as a warning: kept, never silently dropped;
* a text field given a number, boolean or date gets the text the author wrote
  (``version: 1.0`` → ``"1.0"``, ``name: 1984`` → ``"1984"``);
* an empty value (``quirks:`` with nothing after it) means "not given" for a field that has
  a default, instead of failing as ``None``.

Numbers given as text (``"0.8"``) are left for pydantic, which converts them in lax mode.
"""

from __future__ import annotations

import types
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import BaseModel

from schemas.dialects import SourcePaths
from schemas.problems import Problem
from schemas.yaml_io import as_text, plain


@dataclass
class Conformed:
    data: Any
    extensions: dict[str, Any] = field(default_factory=dict)
    warnings: list[Problem] = field(default_factory=list)


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


def conform(
    data: dict[str, Any], model: type[BaseModel], file: str, paths: SourcePaths
) -> Conformed:
    """Return ``data`` fitted to ``model`` plus the unknown fields and their warnings.

    The unknown fields are *not* yet merged into ``data["extensions"]``; the caller decides
    (so it can also report what a file already listed under ``extensions``).
    """
    result = Conformed(data=None)
    result.data = _fit(data, model, (), result, file, paths)
    return result


def _fit(
    value: Any,
    annotation: Any,
    loc: tuple[str | int, ...],
    result: Conformed,
    file: str,
    paths: SourcePaths,
) -> Any:
    target = strip_annotation(annotation)
    origin = get_origin(target)

    if isinstance(target, type) and issubclass(target, BaseModel) and isinstance(value, dict):
        fitted: dict[str, Any] = {}
        for key, item in value.items():
            info = target.model_fields.get(key) if isinstance(key, str) else None
            if info is None:
                source = paths.to_source((*loc, str(key)))
                result.extensions[source] = plain(item)
                result.warnings.append(Problem(
                    file, source,
                    f"unknown field, kept under extensions[{source!r}] "
                    "(greenroom does not use it)",
                    severity="warning", code="unknown-field",
                ))
                continue
            if item is None and not info.is_required() and info.default is not None:
                continue
            fitted[key] = _fit(item, info.annotation, (*loc, key), result, file, paths)
        return fitted

    if origin is list and isinstance(value, list):
        (item_type,) = get_args(target) or (Any,)
        return [_fit(v, item_type, (*loc, i), result, file, paths) for i, v in enumerate(value)]

    if origin is dict and isinstance(value, dict):
        args = get_args(target)
        value_type = args[1] if len(args) == 2 else Any
        return {
            plain(k): _fit(v, value_type, (*loc, str(k)), result, file, paths)
            for k, v in value.items()
        }

    if target is str or origin is Literal:
        text = as_text(value)
        return text if text is not None else plain(value)

    return plain(value)
