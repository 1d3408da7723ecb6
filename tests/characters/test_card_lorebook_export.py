"""A character's lorebooks travel in its exported card's ``character_book``: its own
``lorebook:`` section and the shared books it names, beside the card's own book.

* importing the card back gives the same character (books and all), also after a tool
  dropped the entries' markers;
* a tool that reads only ``character_book`` (SillyTavern) fires the same entries for the
  same messages as greenroom does with the original books;
* an own entry edited in the card wins, a deleted one is gone; an edited shared entry stays
  with the card, with a warning.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from schemas.card_export import character_to_card
from schemas.card_lorebook import MARKER
from schemas.cards import GREENROOM_EXTENSION, card_to_character, read_card
from schemas.loader import LoadedCharacter, load_character
from schemas.lorebook_files import import_lorebook
from schemas.lorebook_formats import character_lorebooks
from schemas.model import Character
from supervisor.cli import main
from tests.support.paths import REPO_ROOT
from worker.engine.world_info import WorldInfo

DATA = REPO_ROOT / "tests" / "data"
MARA = """\
name: Mara
archetype: ferrywoman
lorebooks: [eldoria]
lorebook:
  name: Mara's river
  scan_depth: 3
  case_sensitive: true
  match_whole_words: true
  token_budget: 800
  entries:
    - keys: [Ferry]
      content: The ferry leaves at dawn.
    - keys: ["/tides?/i"]
      secondary_keys: [storm]
      logic: not_any
      content: High tide drowns the lower dock.
      position: at_depth
      depth: 2
      order: 300
    - keys: [lantern]
      content: Mara's lantern never goes out.
      probability: 40
      scan_depth: 6
      position: after_character
      name: lantern
      comment: the lantern
    - constant: true
      content: Mara speaks softly.
"""
MESSAGES = [
    "Does the Ferry run today?", "does the ferry run today?", "The tides are high.",
    "The tides are high and a storm is coming.", "I saw a lantern by the water.",
    "Tell me about Eldoria.", "Is the Mystic Forest near the Crystal Lake?", "Hello.",
]


@pytest.fixture
def mara(tmp_path: Path) -> LoadedCharacter:
    import_lorebook(DATA / "worldinfo" / "Eldoria.json", tmp_path, name="eldoria")
    (tmp_path / "mara.yaml").write_text(MARA, encoding="utf-8")
    return load_character("mara", tmp_path)


def exported(loaded: LoadedCharacter) -> dict[str, Any]:
    return character_to_card(loaded.character, "v2", shared=loaded.shared_lorebooks)


def imported(card: dict[str, Any]) -> tuple[Character, list[str]]:
    result = card_to_character(read_card(json.dumps(card).encode(), "mara.json"), "mara")
    return result.character, [p.code for p in result.warnings]


def included_contents(books: list[tuple[str, Any]], message: str
                      ) -> tuple[tuple[str, ...], ...]:
    """What enters the prompt for ``message``, by place (every probability roll passes)."""
    world = WorldInfo.compile(books, char="Mara")
    chosen = world.scan([message], user="sam", budget_tokens=100_000,
                        cost=lambda text: len(text.split()), roll=lambda book, index: 0.0)
    depth = sorted(f"{t.depth}:{text}" for t in chosen.at_depth for text in t.texts)
    return tuple(sorted(chosen.before)), tuple(sorted(chosen.after)), tuple(depth)


def test_the_card_book_holds_every_book_and_import_gives_the_character_back(
        mara: LoadedCharacter) -> None:
    card = exported(mara)
    book = card["data"]["character_book"]
    assert [e["extensions"][MARKER]["book"] for e in book["entries"]] == (
        ["character"] * 4 + ["shared:eldoria"] * 4)
    assert book["name"] == "Mara's river" and book["scan_depth"] == 3
    assert len({e["id"] for e in book["entries"]}) == 8
    character, warnings = imported(card)
    assert warnings == []
    assert character == mara.character


def test_a_tool_reading_only_the_card_book_fires_what_greenroom_fires(
        mara: LoadedCharacter) -> None:
    card = exported(mara)
    del card["data"]["extensions"][GREENROOM_EXTENSION]  # what SillyTavern acts on
    foreign, _ = imported(card)
    assert foreign.lorebook is None and foreign.lorebooks == []
    theirs = character_lorebooks(foreign)
    ours = character_lorebooks(mara.character, mara.shared_lorebooks)
    seen = set()
    for message in MESSAGES:
        assert included_contents(theirs, message) == included_contents(ours, message), message
        seen.add(included_contents(ours, message))
    assert len(seen) >= 5  # the messages fire different entries: the comparison means something


def test_markers_dropped_by_another_tool_still_give_the_character_back(
        mara: LoadedCharacter) -> None:
    card = exported(mara)
    for index, entry in enumerate(card["data"]["character_book"]["entries"]):
        del entry["extensions"][MARKER]
        entry["extensions"].update(display_index=index, group="", role=0, sticky=None)
    character, warnings = imported(card)
    assert warnings == []
    assert character == mara.character


def test_an_own_entry_edited_in_the_card_wins_and_a_deleted_one_is_gone(
        mara: LoadedCharacter) -> None:
    card = exported(mara)
    entries = card["data"]["character_book"]["entries"]
    entries[0]["content"] = "The ferry leaves at noon now."
    del entries[3]  # the constant one
    character, _ = imported(card)
    assert character.lorebook is not None and mara.character.lorebook is not None
    before = mara.character.lorebook.entries
    after = character.lorebook.entries
    assert [e.content for e in after] == ["The ferry leaves at noon now.",
                                          before[1].content, before[2].content]
    assert after[1:] == before[1:3]
    assert character.roleplay.lorebook is None
    assert character.lorebooks == ["eldoria"]


def test_an_edited_shared_entry_stays_with_the_card_and_says_so(
        mara: LoadedCharacter) -> None:
    card = exported(mara)
    edited = card["data"]["character_book"]["entries"][5]
    edited["content"] += " (as the ferrywoman tells it)"
    character, warnings = imported(card)
    assert warnings == ["card-shared-lore-edited"]
    assert character.lorebook == mara.character.lorebook
    assert character.roleplay.lorebook is not None
    (kept,) = character.roleplay.lorebook["entries"]
    assert kept["content"].endswith("(as the ferrywoman tells it)")
    assert MARKER not in kept["extensions"]


def test_a_cards_own_book_comes_first_and_unchanged(tmp_path: Path) -> None:
    card = read_card((DATA / "cards" / "default_Seraphina.png").read_bytes(), "Seraphina")
    seraphina = card_to_character(card, "seraphina").character
    own_book = copy.deepcopy(seraphina.roleplay.lorebook)
    assert own_book is not None and own_book["entries"]
    mara = load_character("mara", _write(tmp_path, MARA.replace("lorebooks: [eldoria]\n", "")))
    both = seraphina.model_copy(update={"lorebook": mara.character.lorebook})
    written = character_to_card(both, "v2")
    entries = written["data"]["character_book"]["entries"]
    assert entries[:len(own_book["entries"])] == own_book["entries"]
    assert len(entries) == len(own_book["entries"]) + 4
    back, warnings = imported(written)
    assert warnings == [] and back.model_copy(update={"id": both.id}) == both


def test_the_export_command_writes_the_books_into_the_card(
        mara: LoadedCharacter, tmp_path: Path) -> None:
    out = tmp_path / "mara.json"
    result = CliRunner().invoke(main, ["characters", "--characters-dir", str(mara.path.parent),
                                       "export", "mara", "-o", str(out)])
    assert result.exit_code == 0, result.output
    book = json.loads(out.read_text())["data"]["character_book"]
    assert len(book["entries"]) == 8
    assert {e["content"] for e in book["entries"]} >= {"Mara speaks softly."}


def _write(directory: Path, text: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "mara.yaml").write_text(text, encoding="utf-8")
    return directory
