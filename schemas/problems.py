"""What can be wrong with a character file, as values and as exceptions.

A ``Problem`` is one finding about one field of one file. Loading collects every problem it
can find before giving up, so a file with five mistakes reports five problems at once.
Exceptions carry a stable ``code`` (for logs and protocol errors) and a message that says
what happened, to which character, and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Problem:
    """One finding: ``file: field.path: what was expected, what was found``.

    ``field_path`` is dotted (list items by index: ``initial_goals.2.priority``); it is empty
    for findings about the whole file (unreadable, not YAML, not a mapping). ``code`` is a
    stable machine-readable kind, e.g. ``unknown-field`` or ``out-of-range``.
    """

    file: str
    field_path: str
    message: str
    severity: Severity = "error"
    code: str = "invalid"

    @property
    def is_error(self) -> bool:
        return self.severity == "error"

    def render(self) -> str:
        """The one-line form ``validate`` prints."""
        if self.field_path:
            return f"{self.file}: {self.field_path}: {self.message}"
        return f"{self.file}: {self.message}"

    def __str__(self) -> str:
        return self.render()


class CharacterError(Exception):
    """Base of every character-loading error; ``code`` is stable across releases."""

    code = "character-error"


class InvalidCharacterId(CharacterError):
    """An id that is not lowercase letters, digits, ``-`` and ``_`` (refused before any path)."""

    code = "invalid-character-id"

    def __init__(self, character_id: str) -> None:
        self.character_id = character_id
        super().__init__(
            f"invalid character id {character_id!r}: ids are 1-64 characters of lowercase "
            "letters, digits, '-' and '_', starting with a letter or digit "
            "(the id is the file name without .yaml)"
        )


class CharacterNotFound(CharacterError):
    """No file for this id (or no file at this path)."""

    code = "character-not-found"

    def __init__(self, character_id: str, where: Path, available: list[str]) -> None:
        self.character_id = character_id
        self.where = where
        self.available = available
        hint = f"available: {', '.join(available)}" if available else "that directory is empty"
        super().__init__(
            f"character {character_id!r} not found: no file {where}; {hint} "
            "(see `greenroom characters list`)"
        )


class CharacterFileError(CharacterError):
    """The file exists but does not describe a valid character; see ``problems``."""

    code = "invalid-character-file"

    def __init__(self, character_id: str, path: Path, problems: list[Problem]) -> None:
        self.character_id = character_id
        self.path = path
        self.problems = problems
        errors = [p for p in problems if p.is_error]
        lines = "\n  ".join(p.render() for p in errors)
        super().__init__(
            f"character {character_id!r} ({path}) has {len(errors)} "
            f"error{'s' if len(errors) != 1 else ''}; fix the file, then check it with "
            f"`greenroom characters validate {character_id}`:\n  {lines}"
        )
