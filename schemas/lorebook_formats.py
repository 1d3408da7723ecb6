"""Other tools' lorebooks translated into greenroom's ``Lorebook``. Pure: values in, a book
and its warnings out (``lorebook_files`` does the file I/O).

Three shapes are read:

* a SillyTavern World Info file, ``{"entries": {"<uid>": {key, keysecondary, content,
  selectiveLogic, order, position, ...}}}`` (what its World Info panel exports);
* a Character Card's ``character_book`` (V2/V3: ``{"entries": [{keys, secondary_keys,
  insertion_order, position: "before_char", extensions: {...}}]}``), SillyTavern's own
  settings read from each entry's ``extensions`` as SillyTavern does
  (``convertCharacterBook``);
* a V3 standalone book, ``{"spec": "lorebook_v3", "data": <character_book>}``, and a whole
  card (its ``data.character_book``).

Field by field (SillyTavern name → greenroom name) in ``docs/lorebooks.md``. A setting
greenroom does not act on (inclusion groups, sticky/cooldown/delay, character filters,
vector matching) is kept under the entry's ``extensions`` and reported as a warning when
it is set to something other than its default; SillyTavern's positions with no
counterpart here (Author's Note top/bottom, example messages top/bottom) are mapped to
the nearest one, with a warning. An entry whose fields cannot make an entry is skipped
with a warning; the others still load.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from pydantic import ValidationError

from schemas.dialects import SourcePaths
from schemas.lore_keys import UnusableKey, compile_key
from schemas.lorebook import DEFAULT_ENTRY_DEPTH, Lorebook, LoreEntry
from schemas.model import Character
from schemas.problems import Problem
from schemas.validation import problems_from_validation_error

#: SillyTavern's ``selectiveLogic`` numbers.
SELECTIVE_LOGIC: Final = {0: "and_any", 1: "not_all", 2: "not_any", 3: "and_all"}
#: SillyTavern's ``world_info_position`` → (greenroom position, depth override, why).
POSITIONS: Final[dict[int, tuple[str, int | None, str]]] = {
    0: ("before_character", None, ""),
    1: ("after_character", None, ""),
    2: ("at_depth", DEFAULT_ENTRY_DEPTH, "Author's Note (top) → at depth 4"),
    3: ("at_depth", DEFAULT_ENTRY_DEPTH, "Author's Note (bottom) → at depth 4"),
    4: ("at_depth", None, ""),
    5: ("after_character", None, "top of the example messages → after the character"),
    6: ("after_character", None, "bottom of the example messages → after the character"),
}
#: SillyTavern settings greenroom keeps but does not act on, with their defaults: a value
#: other than the default is reported.
_UNSUPPORTED: Final[dict[str, Any]] = {
    "group": "", "groupOverride": False, "groupWeight": 100, "useGroupScoring": False,
    "sticky": None, "cooldown": None, "delay": None, "vectorized": False,
    "characterFilter": None, "automationId": "", "role": 0,
    # their character_book spellings
    "group_override": False, "group_weight": 100, "use_group_scoring": False,
    "automation_id": "",
}
#: Only the editor's concern: dropped without a word.
_EDITOR_ONLY: Final = frozenset({"displayIndex", "display_index", "addMemo", "uid", "world"})


@dataclass(frozen=True, slots=True)
class ConvertedBook:
    """A book read from another tool's shape, and what the reader should know about it."""

    book: Lorebook
    warnings: list[Problem]


class NotALorebook(ValueError):
    """The value is not a lorebook in any shape read here; the message says what it is."""


def lorebook_from_any(data: Any, source: str, *, name: str | None = None) -> ConvertedBook:
    """Whichever shape ``data`` is (see the module docstring); ``name`` names a book that
    does not name itself (a World Info file is named by its file). Raises
    ``NotALorebook``."""
    if not isinstance(data, Mapping):
        raise NotALorebook("the JSON is not an object")
    spec = data.get("spec")
    if spec == "lorebook_v3" or spec in ("chara_card_v2", "chara_card_v3"):
        inner = data.get("data")
        if isinstance(inner, Mapping) and spec != "lorebook_v3":
            inner = inner.get("character_book")
            if inner is None:
                raise NotALorebook("it is a character card without a character_book")
        if not isinstance(inner, Mapping):
            raise NotALorebook(f"spec is {spec!r} but it has no book object")
        return lorebook_from_character_book(inner, source, name=name)
    entries = data.get("entries")
    if isinstance(entries, Mapping):
        return lorebook_from_world_info(data, source, name=name)
    if isinstance(entries, list):
        return lorebook_from_character_book(data, source, name=name)
    raise NotALorebook("it has no 'entries' (an object in a SillyTavern World Info file, "
                       "a list in a card's character_book)")


def lorebook_from_world_info(data: Mapping[str, Any], source: str, *,
                             name: str | None = None) -> ConvertedBook:
    """A SillyTavern World Info file (``{"entries": {uid: entry}}``)."""
    warnings: list[Problem] = []
    entries = []
    raw_entries: Mapping[str, Any] = data.get("entries") or {}
    for uid, raw in raw_entries.items():
        where = f"entries.{uid}"
        if not isinstance(raw, Mapping):
            warnings.append(_warn(source, where, "skipped: an entry must be an object",
                                  "lorebook-entry-skipped"))
            continue
        fields = _world_info_entry(raw, where, source, warnings)
        fields.setdefault("id", _id(raw.get("uid", uid)))
        entry = _entry(fields, where, source, warnings)
        if entry is not None:
            entries.append(entry)
    book_name = data.get("name") if isinstance(data.get("name"), str) else name
    return ConvertedBook(Lorebook(name=book_name, entries=entries), warnings)


def lorebook_from_character_book(book: Mapping[str, Any], source: str, *,
                                 name: str | None = None, path: str = "") -> ConvertedBook:
    """A card's ``character_book`` (V2 or V3); ``path`` prefixes the field paths of the
    warnings (``roleplay.lorebook`` for a book inside a character file)."""
    warnings: list[Problem] = []
    prefix = f"{path}." if path else ""
    entries = []
    raw_entries = book.get("entries")
    for index, raw in enumerate(raw_entries if isinstance(raw_entries, list) else []):
        where = f"{prefix}entries.{index}"
        if not isinstance(raw, Mapping):
            warnings.append(_warn(source, where, "skipped: an entry must be an object",
                                  "lorebook-entry-skipped"))
            continue
        entry = _entry(_card_entry(raw, where, source, warnings), where, source, warnings)
        if entry is not None:
            entries.append(entry)
    settings: dict[str, Any] = {}
    for key in ("name", "description", "scan_depth", "token_budget", "recursive_scanning"):
        if book.get(key) is not None:
            settings[key] = book[key]
    if settings.get("name") is None and name is not None:
        settings["name"] = name
    extensions = book.get("extensions")
    if isinstance(extensions, Mapping) and extensions:
        settings["extensions"] = dict(extensions)
    try:
        converted = Lorebook(**settings, entries=entries)
    except ValidationError as exc:
        for problem in problems_from_validation_error(exc, Lorebook, source, SourcePaths()):
            warnings.append(_warn(source, prefix + problem.field_path,
                                  f"ignored: {problem.message}", "lorebook-setting-ignored"))
        converted = Lorebook(name=settings.get("name") if isinstance(settings.get("name"), str)
                             else None, entries=entries)
    return ConvertedBook(converted, warnings)


def character_lorebooks(character: Character, shared: Sequence[tuple[str, Lorebook]] = ()
                        ) -> list[tuple[str, Lorebook]]:
    """Every book a character uses, labelled as traces name them: its own ``lorebook:``
    (``character``), its card's ``roleplay.lorebook`` (``card``, translated here, its
    warnings left to ``characters validate``) and the shared books its file names
    (``shared:<name>``, in the order named)."""
    books: list[tuple[str, Lorebook]] = []
    if character.lorebook is not None:
        books.append(("character", character.lorebook))
    card = character.roleplay.lorebook
    if card:
        books.append(("card", lorebook_from_character_book(card, character.id).book))
    books += [(f"shared:{name}", book) for name, book in shared]
    return books


def key_problems(book: Lorebook, source: str, path: str = "") -> list[Problem]:
    """A warning for each key of ``book`` that can never match (see ``lore_keys``)."""
    prefix = f"{path}." if path else ""
    problems = []
    for index, entry in enumerate(book.entries):
        case = book.case_sensitive if entry.case_sensitive is None else entry.case_sensitive
        words = (book.match_whole_words if entry.match_whole_words is None
                 else entry.match_whole_words)
        for field in ("keys", "secondary_keys"):
            for number, key in enumerate(getattr(entry, field)):
                try:
                    compile_key(key, case_sensitive=case, whole_words=words)
                except UnusableKey as exc:
                    problems.append(_warn(source, f"{prefix}entries.{index}.{field}.{number}",
                                          f"never matches: {exc}", "lorebook-key-unusable"))
    return problems


def _world_info_entry(raw: Mapping[str, Any], where: str, source: str,
                      warnings: list[Problem]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    extensions: dict[str, Any] = {}
    renamed = {"key": "keys", "keysecondary": "secondary_keys", "content": "content",
               "comment": "comment", "constant": "constant", "selective": "selective",
               "order": "order", "depth": "depth", "scanDepth": "scan_depth",
               "caseSensitive": "case_sensitive", "matchWholeWords": "match_whole_words",
               "excludeRecursion": "exclude_recursion", "preventRecursion": "prevent_recursion"}
    for key, value in raw.items():
        if key in renamed:
            if value is not None:
                fields[renamed[key]] = value
        elif key == "disable":
            fields["enabled"] = not value
        elif key == "selectiveLogic":
            _logic(value, fields, where, source, warnings)
        elif key == "position":
            _position(value, fields, where, source, warnings)
        elif key == "delayUntilRecursion":
            fields["delay_until_recursion"] = bool(value)
        elif key in ("probability", "useProbability"):
            continue
        elif key not in _EDITOR_ONLY:
            _keep(key, value, extensions, where, source, warnings)
    _probability(raw.get("probability"), raw.get("useProbability"), fields)
    if extensions:
        fields["extensions"] = extensions
    return fields


def _card_entry(raw: Mapping[str, Any], where: str, source: str,
                warnings: list[Problem]) -> dict[str, Any]:
    fields: dict[str, Any] = {}
    extensions: dict[str, Any] = {}
    renamed = {"keys": "keys", "secondary_keys": "secondary_keys", "content": "content",
               "enabled": "enabled", "insertion_order": "order",
               "case_sensitive": "case_sensitive", "name": "name", "comment": "comment",
               "selective": "selective", "constant": "constant"}
    fields["selective"] = False  # the spec: secondary keys count only when selective
    fields["position"] = "after_character"  # SillyTavern: anything but before_char
    for key, value in raw.items():
        if key in renamed:
            if value is not None:
                fields[renamed[key]] = value
        elif key == "id":
            fields["id"] = _id(value)
        elif key == "position":
            if value == "before_char":
                fields["position"] = "before_character"
        elif key == "extensions":
            continue
        elif key == "use_regex":
            continue  # SillyTavern writes true on every entry; /.../ marks a regex key
        elif key == "priority" and value is not None:
            extensions["priority"] = value
        elif key not in _EDITOR_ONLY:
            _keep(key, value, extensions, where, source, warnings)
    own = raw.get("extensions")
    if isinstance(own, Mapping):
        renamed_ext = {"depth": "depth", "scan_depth": "scan_depth",
                       "case_sensitive": "case_sensitive",
                       "match_whole_words": "match_whole_words",
                       "exclude_recursion": "exclude_recursion",
                       "prevent_recursion": "prevent_recursion"}
        for key, value in own.items():
            if key in renamed_ext:
                if value is not None:
                    fields[renamed_ext[key]] = value
            elif key == "position":
                _position(value, fields, f"{where}.extensions", source, warnings)
            elif key == "selectiveLogic":
                _logic(value, fields, f"{where}.extensions", source, warnings)
            elif key == "delay_until_recursion":
                fields["delay_until_recursion"] = bool(value)
            elif key in ("probability", "useProbability"):
                continue
            elif key not in _EDITOR_ONLY:
                _keep(key, value, extensions, f"{where}.extensions", source, warnings)
        _probability(own.get("probability"), own.get("useProbability"), fields)
    if extensions:
        fields["extensions"] = extensions
    return fields


def _entry(fields: dict[str, Any], where: str, source: str,
           warnings: list[Problem]) -> LoreEntry | None:
    try:
        return LoreEntry(**fields)
    except ValidationError as exc:
        found = "; ".join(f"{p.field_path}: {p.message}" for p in
                          problems_from_validation_error(exc, LoreEntry, source, SourcePaths()))
        warnings.append(_warn(source, where, f"skipped, its fields cannot make an entry "
                                             f"({found})", "lorebook-entry-skipped"))
        return None


def _logic(value: Any, fields: dict[str, Any], where: str, source: str,
           warnings: list[Problem]) -> None:
    if value is None:
        return
    logic = SELECTIVE_LOGIC.get(value) if isinstance(value, int) else None
    if logic is None:
        warnings.append(_warn(source, f"{where}.selectiveLogic",
                              f"expected 0-3 (AND ANY, NOT ALL, NOT ANY, AND ALL), found "
                              f"{value!r}; AND ANY is used", "lorebook-setting-ignored"))
        return
    fields["logic"] = logic


def _position(value: Any, fields: dict[str, Any], where: str, source: str,
              warnings: list[Problem]) -> None:
    mapped = POSITIONS.get(value) if isinstance(value, int) else None
    if mapped is None:
        warnings.append(_warn(source, f"{where}.position",
                              f"expected a SillyTavern position 0-6, found {value!r}; "
                              "before the character is used", "lorebook-setting-ignored"))
        fields["position"] = "before_character"
        return
    position, depth, why = mapped
    fields["position"] = position
    if depth is not None:
        fields.setdefault("depth", depth)
    if why:
        warnings.append(_warn(source, f"{where}.position",
                              f"greenroom has no such position: {why}", "lorebook-position-mapped"))


def _probability(probability: Any, use: Any, fields: dict[str, Any]) -> None:
    if use is False or probability is None:
        return  # SillyTavern rolls only when useProbability is on
    fields["probability"] = probability


def _keep(key: str, value: Any, extensions: dict[str, Any], where: str, source: str,
          warnings: list[Problem]) -> None:
    """Keep what greenroom does not use; say so when it would change what activates."""
    default = _UNSUPPORTED.get(key, ...)
    if value in (default, None, "", [], {}) or (key == "characterFilter"
                                                and not _filters(value)):
        return
    extensions[key] = value
    if default is not ...:
        warnings.append(_warn(source, f"{where}.{key}",
                              f"kept, but greenroom does not act on {key!r} "
                              f"(set to {value!r})", "lorebook-setting-unsupported"))


def _filters(value: Any) -> bool:
    return isinstance(value, Mapping) and bool(value.get("names") or value.get("tags"))


def _id(value: Any) -> int | str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    text = str(value)
    return int(text) if text.isdigit() else text


def _warn(source: str, where: str, message: str, code: str) -> Problem:
    return Problem(source, where, message, severity="warning", code=code)
