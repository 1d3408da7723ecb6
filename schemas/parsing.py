"""From a file's text (or an already-built mapping) to a ``Character`` plus every problem.

Pure: no file system, no clock. ``loader.py`` is the I/O shell around it. The pipeline is
YAML → ``dialects.translate`` → ``conform.conform`` → ``Character.model_validate``; each
stage reports what it finds and the next still runs, so one pass reports every mistake.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml
from pydantic import ValidationError

from schemas.conform import conform
from schemas.dialects import translate
from schemas.model import Character
from schemas.problems import Problem
from schemas.validation import describe_found, problems_from_validation_error
from schemas.yaml_io import parse_yaml, plain


@dataclass(frozen=True, slots=True)
class ParseResult:
    """``character`` is ``None`` exactly when ``problems`` holds at least one error."""

    character: Character | None
    problems: list[Problem]

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.is_error]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if not p.is_error]


def parse_character_text(text: str, character_id: str, file: str) -> ParseResult:
    """Parse YAML ``text`` as the character ``character_id``; ``file`` labels the problems."""
    try:
        parsed = parse_yaml(text)
    except yaml.YAMLError as exc:
        return ParseResult(None, [Problem(file, "", _yaml_error_message(exc), code="yaml-syntax")])
    problems = [
        Problem(
            file, dup.key,
            f"expected each key once per mapping, found it twice (lines {dup.first_line} and "
            f"{dup.second_line}); YAML would silently keep only the later value",
            code="duplicate-key",
        )
        for dup in parsed.duplicate_keys
    ]
    if not isinstance(parsed.data, dict):
        problems.append(Problem(
            file, "",
            "expected a mapping of fields (name: …, archetype: …), "
            f"found {describe_found(parsed.data)}",
            code="not-a-mapping",
        ))
        return ParseResult(None, problems)
    result = parse_character_mapping(parsed.data, character_id, file)
    problems += result.problems
    character = None if any(p.is_error for p in problems) else result.character
    return ParseResult(character, problems)


def parse_character_mapping(raw: Mapping[str, Any], character_id: str, file: str) -> ParseResult:
    """Validate an already-parsed mapping in any dialect (used for files and card imports)."""
    translation = translate(raw, file)
    problems = list(translation.problems)
    data = translation.data

    declared_id = data.pop("id", None)
    if declared_id is not None and declared_id != character_id:
        problems.append(Problem(
            file, "id",
            f'expected the file\'s own id "{character_id}" (the file name is the id), '
            f"found {describe_found(declared_id)}; rename the file or drop the id line",
            code="id-mismatch",
        ))

    conformed = conform(data, Character, file, translation.paths)
    fitted: dict[str, Any] = conformed.data
    problems.extend(conformed.warnings)

    declared_extensions = fitted.get("extensions")
    if isinstance(declared_extensions, dict):
        for key in declared_extensions:
            problems.append(Problem(
                file, f"extensions.{key}",
                "kept under extensions (the prompt shows it under \"Other notes\")",
                severity="warning", code="extension-kept",
            ))
        fitted["extensions"] = {**plain(declared_extensions), **conformed.extensions}
    elif conformed.extensions and declared_extensions is None:
        fitted["extensions"] = conformed.extensions
    # (a malformed ``extensions`` value is left for the model to report)
    fitted["id"] = character_id

    character: Character | None = None
    try:
        character = Character.model_validate(fitted)
    except ValidationError as exc:
        problems.extend(
            problems_from_validation_error(exc, Character, file, translation.paths)
        )
    if any(p.is_error for p in problems):
        character = None
    return ParseResult(character, problems)


def _yaml_error_message(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    what = getattr(exc, "problem", None) or str(exc)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return f"expected valid YAML, found a syntax error{where}: {what}"
