"""Lorebook files: shared books on disk, and ``greenroom lorebook import``.

A **shared book** is ``<characters dir>/lorebooks/<name>.yaml``, in greenroom's normalised
form (``schemas.lorebook``); any character uses it by naming it in its file::

    lorebooks: [eldoria, city-of-lanthe]

so one world can serve a whole cast, and editing it changes every character that names it
(when their workers next start or reload). Names are spelt like character ids and checked
before they are joined to a path.

``import_lorebook`` reads another tool's book (SillyTavern World Info JSON, a V3
``lorebook_v3`` file, a card's ``character_book``, a card JSON or PNG; see
``schemas.lorebook_formats``) or a greenroom YAML book, and either writes it as a shared
book or attaches it to one character: appended as a ``lorebook:`` section at the end of
that character's file, so everything the author wrote above — comments included — stays
byte for byte. Files are written atomically; a failed import leaves nothing behind.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import ValidationError

from runtime.atomic_file import write_atomically
from schemas.cards import PNG_SIGNATURE, CardImportError, read_card
from schemas.dialects import SourcePaths
from schemas.lorebook import Lorebook
from schemas.lorebook_formats import ConvertedBook, NotALorebook, key_problems, lorebook_from_any
from schemas.model import CHARACTER_ID_PATTERN, is_valid_character_id
from schemas.problems import CharacterError, Problem
from schemas.validation import problems_from_validation_error
from schemas.yaml_io import dump_yaml, parse_yaml

LOREBOOKS_DIR: Final = "lorebooks"
LOREBOOK_SUFFIX: Final = ".yaml"


class LorebookError(CharacterError):
    """A lorebook could not be read, found or written. ``code`` says why (stable):
    ``lorebook-unreadable``, ``lorebook-not-a-book``, ``lorebook-invalid``,
    ``lorebook-name-invalid``, ``lorebook-not-found``, ``lorebook-exists``,
    ``lorebook-character-has-one``."""

    def __init__(self, code: str, message: str, problems: list[Problem] | None = None) -> None:
        self.code = code
        self.problems = problems or []
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class SharedLorebook:
    """A shared book read from ``path``, and the warnings its file produced."""

    name: str
    book: Lorebook
    path: Path
    warnings: list[Problem]


def lorebooks_dir(characters_dir: Path) -> Path:
    return characters_dir / LOREBOOKS_DIR


def lorebook_path(name: str, characters_dir: Path) -> Path:
    """``<characters_dir>/lorebooks/<name>.yaml``; the name is checked first."""
    if not is_valid_character_id(name):
        raise LorebookError(
            "lorebook-name-invalid",
            f"{name!r} is not a lorebook name: use 1-64 lowercase letters, digits, '-' and "
            f"'_', starting with a letter or digit ({CHARACTER_ID_PATTERN})")
    return lorebooks_dir(characters_dir) / f"{name}{LOREBOOK_SUFFIX}"


def available_lorebooks(characters_dir: Path) -> list[str]:
    """The names of the shared books in ``characters_dir``, sorted."""
    where = lorebooks_dir(characters_dir)
    if not where.is_dir():
        return []
    return sorted(p.stem for p in where.glob(f"*{LOREBOOK_SUFFIX}")
                  if p.is_file() and is_valid_character_id(p.stem))


def load_shared_lorebooks(names: Sequence[str], characters_dir: Path, *,
                          character_id: str) -> list[SharedLorebook]:
    """The shared books ``names`` (a character's ``lorebooks:``), in that order. Raises
    ``LorebookError`` naming ``character_id`` for a missing or broken book."""
    books = []
    for name in names:
        path = lorebook_path(name, characters_dir)
        if not path.is_file():
            known = available_lorebooks(characters_dir)
            raise LorebookError(
                "lorebook-not-found",
                f"character {character_id!r} names the shared lorebook {name!r}, but there "
                f"is no {path}; " + (f"available: {', '.join(known)}" if known else
                                     "import one with `greenroom lorebook import FILE`"))
        books.append(read_shared_lorebook(path))
    return books


def read_shared_lorebook(path: Path) -> SharedLorebook:
    """A shared book's file (greenroom's YAML form). Raises ``LorebookError``."""
    text = _read(path).decode("utf-8", errors="replace")
    try:
        data = parse_yaml(text).data
    except yaml.YAMLError as exc:
        raise LorebookError("lorebook-invalid", f"{path}: not valid YAML ({exc})") from exc
    book = _validated(data, str(path))
    return SharedLorebook(path.stem, book, path, key_problems(book, str(path)))


def read_lorebook_file(path: Path) -> ConvertedBook:
    """Any lorebook file ``import`` takes (see the module docstring)."""
    content = _read(path)
    source = str(path)
    try:
        if content.startswith(PNG_SIGNATURE):
            converted = lorebook_from_any(read_card(content, source).payload, source,
                                          name=path.stem)
        elif path.suffix.lower() in (".yaml", ".yml"):
            book = _validated(parse_yaml(content.decode("utf-8-sig")).data, source)
            converted = ConvertedBook(book, [])
        else:
            converted = lorebook_from_any(json.loads(content.decode("utf-8-sig")), source,
                                          name=path.stem)
    except (CardImportError, NotALorebook, UnicodeDecodeError, json.JSONDecodeError,
            yaml.YAMLError) as exc:
        raise LorebookError(
            "lorebook-not-a-book",
            f"{source}: not a lorebook ({exc}); expected a SillyTavern World Info file "
            "({\"entries\": {...}}), a lorebook_v3 or character_book JSON, a card, or a "
            "greenroom lorebook YAML") from exc
    return ConvertedBook(converted.book,
                         converted.warnings + key_problems(converted.book, source))


@dataclass(frozen=True, slots=True)
class LorebookImport:
    """What ``import_lorebook`` did: the book, where it went, and the warnings."""

    book: Lorebook
    path: Path
    warnings: list[Problem]
    character_id: str | None = None


def import_lorebook(source: Path, characters_dir: Path, *, name: str | None = None,
                    character_id: str | None = None, force: bool = False) -> LorebookImport:
    """Import ``source`` as the shared book ``name`` (default: from the file's name), or —
    with ``character_id`` — as that character's own ``lorebook:`` section. A shared book is
    not replaced unless ``force``; a character that has a ``lorebook:`` section already is
    refused (its file is the author's: greenroom appends, it never rewrites)."""
    converted = read_lorebook_file(source)
    book = converted.book
    if character_id is not None:
        target = _character_file(character_id, characters_dir)
        text = target.read_text(encoding="utf-8")
        existing = parse_yaml(text).data
        if isinstance(existing, dict) and existing.get("lorebook") is not None:
            raise LorebookError(
                "lorebook-character-has-one",
                f"character {character_id!r} ({target}) has a lorebook: section already; "
                "import this book as a shared one (`greenroom lorebook import FILE --name "
                "NAME`) and list it under lorebooks: in the character's file, or remove the "
                "section first")
        section = dump_yaml({"lorebook": _plain_book(book)})
        joiner = "" if not text or text.endswith("\n") else "\n"
        write_atomically(target, f"{text}{joiner}# lorebook imported from {source.name}\n"
                                  f"{section}")
        return LorebookImport(book, target, converted.warnings, character_id)
    stem = name if name is not None else _name_from(source.stem)
    target = lorebook_path(stem, characters_dir)
    if target.exists() and not force:
        raise LorebookError(
            "lorebook-exists",
            f"a shared lorebook {stem!r} exists already ({target}); choose another --name, "
            "or pass --force to replace it")
    if book.name is None:
        book = book.model_copy(update={"name": source.stem})
    header = (f"# greenroom lorebook, imported from {source.name}.\n"
              f"# Characters use it with: lorebooks: [{stem}]\n")
    write_atomically(target, header + dump_yaml(_plain_book(book)))
    return LorebookImport(book, target, converted.warnings)


def _character_file(character_id: str, characters_dir: Path) -> Path:
    from schemas.loader import character_path  # the loader imports this module

    target = character_path(character_id, characters_dir)
    if not target.is_file():
        raise LorebookError(
            "lorebook-not-found",
            f"character {character_id!r} not found: no file {target} to attach the lorebook "
            "to (see `greenroom characters list`)")
    return target


def _plain_book(book: Lorebook) -> dict[str, Any]:
    return book.model_dump(mode="python", exclude_defaults=True)


def _name_from(stem: str) -> str:
    from schemas.card_import import id_from_name

    name = id_from_name(stem)
    if not name:
        raise LorebookError("lorebook-name-invalid",
                            f"cannot make a lorebook name from {stem!r}; pass one with --name")
    return name


def _validated(data: Any, source: str) -> Lorebook:
    try:
        return Lorebook.model_validate(data)
    except ValidationError as exc:
        problems = problems_from_validation_error(exc, Lorebook, source, SourcePaths())
        lines = "\n  ".join(p.render() for p in problems)
        raise LorebookError("lorebook-invalid",
                            f"{source}: not a valid greenroom lorebook:\n  {lines}",
                            problems) from exc


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise LorebookError("lorebook-unreadable",
                            f"{path}: cannot read the lorebook file ({exc.strerror})") from exc

