"""A character's lorebooks in the one ``character_book`` a Character Card has. Pure.

On export (``card_export``) the card's book is the character's card book as it was
imported (verbatim), followed by the entries of its own ``lorebook:`` section and of every
shared book it names, each translated into a card entry SillyTavern's
``convertCharacterBook`` reads (its settings under the entry's ``extensions``: position,
depth, logic, probability, scan depth, matching, recursion). Book settings of the
character's own book (or the card's, when the card has one) stay the book's; what an entry
took from its own book (case sensitivity, whole words, scan depth) is written on the entry.
Each added entry carries ``extensions.greenroom = {"book": "character" | "shared:NAME",
"index": i}``, and the card's ``extensions.greenroom.character_book`` says whether the card
had a book of its own before and what each added entry reads as (a SHA-256).

On import (``restore_exported_lore``) those entries come out of the card's book again: an
entry unchanged since the export (it reads as the same entry) is the original, so the
character's ``lorebook:`` and shared books return exactly; an entry of its own book edited
in another tool replaces the original (edits win); an edited entry of a shared book stays
with the card as one of its own entries (a shared book is not changed by importing one
card), with a warning. A tool that dropped the markers (older SillyTavern) leaves
unchanged entries recognisable by their content alone.
"""

from __future__ import annotations

import copy
import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any, Final

from schemas.lorebook import DEFAULT_SCAN_DEPTH, Lorebook, LoreEntry
from schemas.lorebook_formats import POSITIONS, SELECTIVE_LOGIC, lorebook_from_character_book
from schemas.problems import Problem

#: The key, in an entry's and in the card's ``extensions.greenroom``, of what export added.
MARKER: Final = "greenroom"
EXPORT_RECORD: Final = "character_book"
OWN_BOOK: Final = "character"
_LOGIC_NUMBER: Final = {logic: number for number, logic in SELECTIVE_LOGIC.items()}
#: The SillyTavern position each greenroom position is read from (the unmapped ones).
_POSITION_NUMBER: Final = {position: number for number, (position, _, why) in POSITIONS.items()
                           if not why}
_BOOK_SETTINGS: Final = ("name", "description", "scan_depth", "token_budget",
                         "recursive_scanning")


def character_book_for_export(card_book: Mapping[str, Any] | None, own: Lorebook | None,
                              shared: Sequence[tuple[str, Lorebook]] = ()
                              ) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """The ``character_book`` to write and the record for ``extensions.greenroom``
    (``None``: nothing was added, the card's book is written as it was)."""
    books = ([(OWN_BOOK, own)] if own is not None else []) + [
        (f"shared:{name}", book) for name, book in shared]
    if not any(book.entries for _, book in books):
        return (dict(card_book) if card_book is not None else None), None
    written: dict[str, Any] = copy.deepcopy(dict(card_book)) if card_book else {}
    if not card_book:
        first = own if own is not None else books[0][1]
        written.update(_book_settings(first))
    entries: list[Any] = written.setdefault("entries", [])
    if not isinstance(entries, list):
        entries = written["entries"] = []
    scan_depth = written.get("scan_depth", DEFAULT_SCAN_DEPTH)
    next_id = 1 + max((e["id"] for e in entries if isinstance(e, Mapping)
                       and isinstance(e.get("id"), int) and not isinstance(e["id"], bool)),
                      default=-1)
    added = []
    for label, book in books:
        for index, entry in enumerate(book.entries):
            written_entry = card_entry(entry, book, {"book": label, "index": index},
                                       entry_id=next_id, book_scan_depth=scan_depth)
            entries.append(written_entry)
            added.append({"book": label, "index": index,
                          "sha256": _digest(_read_back(written_entry, scan_depth))})
            next_id += 1
    return written, {"had_own": bool(card_book), "added": added}


def card_entry(entry: LoreEntry, book: Lorebook, marker: dict[str, Any], *, entry_id: int,
               book_scan_depth: int) -> dict[str, Any]:
    """``entry`` of ``book`` as a card entry (V2/V3, SillyTavern's settings under
    ``extensions``) that reads back as the same entry inside a book scanning
    ``book_scan_depth`` messages."""
    scan_depth = entry.scan_depth if entry.scan_depth is not None else book.scan_depth
    extensions: dict[str, Any] = {
        **entry.extensions,
        "position": _POSITION_NUMBER[entry.position],
        "depth": entry.depth,
        "selectiveLogic": _LOGIC_NUMBER[entry.logic],
        "probability": _number(entry.probability),
        "useProbability": entry.probability < 100,
        "match_whole_words": (book.match_whole_words if entry.match_whole_words is None
                              else entry.match_whole_words),
        "exclude_recursion": entry.exclude_recursion,
        "prevent_recursion": entry.prevent_recursion,
        "delay_until_recursion": entry.delay_until_recursion,
        MARKER: marker,
    }
    if scan_depth != book_scan_depth or entry.scan_depth is not None:
        extensions["scan_depth"] = scan_depth
    written: dict[str, Any] = {
        "id": entry_id,
        "keys": list(entry.keys),
        "secondary_keys": list(entry.secondary_keys),
        "content": entry.content,
        "enabled": entry.enabled,
        "insertion_order": entry.order,
        "case_sensitive": (book.case_sensitive if entry.case_sensitive is None
                           else entry.case_sensitive),
        "selective": entry.selective,
        "constant": entry.constant,
        "position": "before_char" if entry.position == "before_character" else "after_char",
        "use_regex": True,
        "comment": entry.comment,
        "extensions": extensions,
    }
    if entry.name is not None:
        written["name"] = entry.name
    return written


def restore_exported_lore(mapping: dict[str, Any], record: Any, source: str) -> list[Problem]:
    """Take the entries export added out of ``mapping``'s card book (``roleplay.lorebook``)
    and put the character's own ``lorebook`` back as described in the module docstring.
    ``record`` is the card's ``extensions.greenroom.character_book``. Changes ``mapping``;
    returns the warnings."""
    roleplay = mapping.get("roleplay")
    card_book = roleplay.get("lorebook") if isinstance(roleplay, dict) else None
    if not isinstance(record, Mapping) or not isinstance(card_book, Mapping):
        return []
    assert isinstance(roleplay, dict)
    raw_entries = card_book.get("entries")
    entries = raw_entries if isinstance(raw_entries, list) else []
    scan_depth = card_book.get("scan_depth", DEFAULT_SCAN_DEPTH)
    added = _added(record)
    marked = any(_marker(entry) is not None for entry in entries)
    own_mapping = mapping.get("lorebook")
    own = Lorebook.model_validate(own_mapping) if isinstance(own_mapping, Mapping) else None
    own_entries: list[LoreEntry | None] = list(own.entries) if own is not None else []
    kept: list[Any] = []
    warnings: list[Problem] = []
    for index, raw in enumerate(entries):
        current = _read_back(raw, scan_depth)
        digest = _digest(current)
        where = _marker(raw)
        if where is None and not marked:  # markers dropped: known by what the entry says
            where = next((key for key, value in added.items() if value == digest), None)
        if where is None:
            kept.append(raw)
            continue
        if added.pop(where, None) == digest:
            continue  # unchanged since the export: the original returns with its book
        book, at = where
        if book == OWN_BOOK and current is not None and 0 <= at < len(own_entries):
            previous = own_entries[at]
            own_entries[at] = current.model_copy(
                update={"id": previous.id if previous is not None else None})
            continue  # edited in the other tool: the edit wins
        kept.append(_unmarked(raw))
        if book != OWN_BOOK:
            warnings.append(Problem(
                source, f"roleplay.lorebook.entries.{index}",
                f"this entry of the shared lorebook {book.removeprefix('shared:')!r} was "
                "edited in the card: it stays with the card as one of its own entries; the "
                "shared book is unchanged", severity="warning", code="card-shared-lore-edited"))
    for book, at in added:  # deleted in the other tool: gone from the own book too
        if book == OWN_BOOK and 0 <= at < len(own_entries):
            own_entries[at] = None
    if own is not None:
        remaining = [entry for entry in own_entries if entry is not None]
        mapping["lorebook"] = own.model_copy(update={"entries": remaining}).model_dump(
            mode="json", exclude_defaults=True)
    if kept or record.get("had_own"):
        book_fields = dict(card_book)
        book_fields["entries"] = kept
        if not record.get("had_own"):
            for key in _BOOK_SETTINGS:
                book_fields.pop(key, None)
        roleplay["lorebook"] = book_fields
    else:
        roleplay.pop("lorebook", None)
    return warnings


def _added(record: Mapping[str, Any]) -> dict[tuple[str, int], str]:
    """What export appended, by (book, index): the digest of what each entry reads as."""
    added: dict[tuple[str, int], str] = {}
    for item in record.get("added") or []:
        if (isinstance(item, Mapping) and isinstance(item.get("book"), str)
                and isinstance(item.get("index"), int) and isinstance(item.get("sha256"), str)):
            added[(item["book"], item["index"])] = item["sha256"]
    return added


def _digest(entry: LoreEntry | None) -> str | None:
    if entry is None:
        return None
    canonical = json.dumps(entry.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _read_back(raw: Any, scan_depth: int) -> LoreEntry | None:
    """The entry a card entry reads as, its ``id`` and the marker aside."""
    if not isinstance(raw, Mapping):
        return None
    book = lorebook_from_character_book({"scan_depth": scan_depth, "entries": [_unmarked(raw)]},
                                        "").book
    if not book.entries:
        return None
    return book.entries[0].model_copy(update={"id": None})


def _marker(raw: Any) -> tuple[str, int] | None:
    """The (book, index) export marked ``raw`` with."""
    extensions = raw.get("extensions") if isinstance(raw, Mapping) else None
    marker = extensions.get(MARKER) if isinstance(extensions, Mapping) else None
    if (isinstance(marker, Mapping) and isinstance(marker.get("book"), str)
            and isinstance(marker.get("index"), int)):
        return marker["book"], marker["index"]
    return None


def _unmarked(raw: Mapping[str, Any]) -> dict[str, Any]:
    entry = dict(raw)
    extensions = entry.get("extensions")
    if isinstance(extensions, Mapping) and MARKER in extensions:
        entry["extensions"] = {k: v for k, v in extensions.items() if k != MARKER}
    return entry


def _book_settings(book: Lorebook) -> dict[str, Any]:
    settings = book.model_dump(mode="json", include=set(_BOOK_SETTINGS), exclude_none=True)
    settings.setdefault("scan_depth", book.scan_depth)
    return settings


def _number(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value
