"""Finding and reading character files: the I/O shell around ``parsing``.

A character's id is its file's stem: ``<characters_dir>/<id>.yaml``. Ids are checked with
``is_valid_character_id`` before they are joined to any path, so an id can never reach a
file outside the characters directory.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import yaml

from schemas.lorebook import Lorebook
from schemas.lorebook_files import (
    LorebookError,
    SharedLorebook,
    load_shared_lorebooks,
    lorebook_path,
)
from schemas.lorebook_formats import key_problems, lorebook_from_character_book
from schemas.model import Character, is_valid_character_id
from schemas.parsing import parse_character_text
from schemas.problems import CharacterFileError, CharacterNotFound, InvalidCharacterId, Problem
from schemas.yaml_io import parse_yaml

CHARACTER_SUFFIX = ".yaml"
_ONE_LINE_LIMIT = 100


@dataclass(frozen=True, slots=True)
class LoadedCharacter:
    """A valid character, where it came from, the warnings its file produced, and the
    shared lorebooks it names (``lorebooks:``, read from ``<characters_dir>/lorebooks/``)."""

    character: Character
    warnings: list[Problem]
    path: Path
    lorebooks: tuple[SharedLorebook, ...] = ()

    @property
    def shared_lorebooks(self) -> list[tuple[str, Lorebook]]:
        """(name, book) of each shared book, as the engine takes them."""
        return [(shared.name, shared.book) for shared in self.lorebooks]


@dataclass(frozen=True, slots=True)
class CharacterSummary:
    """One line of ``greenroom characters list``; ``errors`` is empty for a valid file."""

    id: str
    name: str | None
    archetype: str | None
    description: str
    path: Path
    errors: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def character_path(character_id: str, characters_dir: Path) -> Path:
    """``<characters_dir>/<id>.yaml``; raises ``InvalidCharacterId`` before building a path."""
    if not is_valid_character_id(character_id):
        raise InvalidCharacterId(character_id)
    return characters_dir / f"{character_id}{CHARACTER_SUFFIX}"


def source_files(character_id: str, characters_dir: Path) -> list[Path]:
    """The files character ``character_id`` is made of: its file, then the shared lorebooks
    its ``lorebooks:`` names (found or not) — what a reload compares. Only the YAML is read,
    nothing validated or loaded: the worker does that. A file that cannot be read is only
    itself."""
    path = character_path(character_id, characters_dir)
    try:
        data = parse_yaml(path.read_text(encoding="utf-8")).data
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return [path]
    names = data.get("lorebooks") if isinstance(data, dict) else None
    if not isinstance(names, list):
        return [path]
    return [path, *(lorebook_path(name, characters_dir) for name in names
                    if isinstance(name, str) and is_valid_character_id(name))]


def available_ids(characters_dir: Path) -> list[str]:
    """Ids of the ``*.yaml`` files in ``characters_dir`` whose stems are valid ids, sorted."""
    if not characters_dir.is_dir():
        return []
    return sorted(
        p.stem for p in characters_dir.glob(f"*{CHARACTER_SUFFIX}")
        if p.is_file() and is_valid_character_id(p.stem)
    )


def load_character(id_or_path: str | Path, characters_dir: Path) -> LoadedCharacter:
    """Load a character by id (a ``str``) or from a file (a ``Path``).

    A ``str`` is always an id, never a path: ``"../x"`` and ``"a/b"`` raise
    ``InvalidCharacterId``. A ``Path`` is read as given; its stem must be a valid id.
    Raises ``CharacterNotFound``, ``InvalidCharacterId`` or ``CharacterFileError`` (whose
    ``problems`` list every error and warning found).
    """
    if isinstance(id_or_path, Path):
        path = id_or_path
        character_id = path.stem
        if not is_valid_character_id(character_id):
            raise InvalidCharacterId(character_id)
    else:
        character_id = id_or_path
        path = character_path(character_id, characters_dir)
    if not path.is_file():
        raise CharacterNotFound(character_id, path, available_ids(characters_dir))
    label = display_path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = Problem(label, "", f"expected a readable UTF-8 text file, found: {exc}",
                          code="unreadable")
        raise CharacterFileError(character_id, path, [problem]) from exc
    result = parse_character_text(text, character_id, label)
    if result.character is None:
        raise CharacterFileError(character_id, path, result.problems)
    character = result.character
    try:
        shared = load_shared_lorebooks(character.lorebooks, characters_dir,
                                       character_id=character_id)
    except LorebookError as exc:
        problem = Problem(label, "lorebooks", str(exc), code=exc.code)
        raise CharacterFileError(character_id, path, [*result.problems, problem]) from exc
    warnings = result.warnings + lorebook_warnings(character, label)
    for book in shared:
        warnings += book.warnings
    return LoadedCharacter(character, warnings, path, tuple(shared))


def lorebook_warnings(character: Character, file: str) -> list[Problem]:
    """What a character's own books would not do as written: keys that never match, and
    what of its card's ``character_book`` greenroom translates or ignores."""
    warnings = []
    if character.lorebook is not None:
        warnings += key_problems(character.lorebook, file, "lorebook")
    if character.roleplay.lorebook:
        converted = lorebook_from_character_book(character.roleplay.lorebook, file,
                                                 path="roleplay.lorebook")
        warnings += converted.warnings + key_problems(converted.book, file,
                                                      "roleplay.lorebook")
    return warnings


def list_characters(characters_dir: Path) -> list[CharacterSummary]:
    """Every ``*.yaml`` in ``characters_dir``, sorted by id; a broken file is listed with its
    errors instead of raising. Missing directory → empty list."""
    if not characters_dir.is_dir():
        return []
    summaries = []
    for path in sorted(characters_dir.glob(f"*{CHARACTER_SUFFIX}")):
        summaries.append(_summarise(path, characters_dir))
    return summaries


def _summarise(path: Path, characters_dir: Path) -> CharacterSummary:
    try:
        loaded = load_character(path, characters_dir)
    except CharacterFileError as exc:
        return CharacterSummary(
            path.stem, None, None, "", path,
            errors=[p for p in exc.problems if p.is_error],
            warnings=[p for p in exc.problems if not p.is_error],
        )
    except InvalidCharacterId as exc:
        problem = Problem(display_path(path), "", str(exc), code=exc.code)
        return CharacterSummary(path.stem, None, None, "", path, errors=[problem])
    character = loaded.character
    return CharacterSummary(
        character.id, character.name, character.archetype,
        one_line(character.description), path, warnings=loaded.warnings,
    )


def one_line(text: str, limit: int = _ONE_LINE_LIMIT) -> str:
    """The first non-empty line of ``text``, cut to ``limit`` characters with an ellipsis."""
    first = next((line.strip() for line in text.splitlines() if line.strip()), "")
    return first if len(first) <= limit else first[: limit - 1].rstrip() + "…"


def display_path(path: Path) -> str:
    """``path`` relative to the current directory when it is below it, else as given."""
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
