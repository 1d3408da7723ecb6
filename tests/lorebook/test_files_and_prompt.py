"""Real World Info files read, imported with ``greenroom lorebook import``, and placed in a
prompt (before/after the character, at a depth)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from runtime.settings import REPO_ROOT
from schemas.loader import load_character
from schemas.lorebook_formats import lorebook_from_any
from schemas.problems import CharacterFileError
from supervisor.cli import main
from tests.engine.characters import character
from worker.engine.mood import derive_mood
from worker.engine.prompt import PromptInput, build_prompt
from worker.engine.relationship import Relationship
from worker.engine.turn_rows import Exchange
from worker.engine.vitals import Vitals
from worker.engine.world_info import LoreSelection, LoreText

DATA = REPO_ROOT / "tests" / "data" / "worldinfo"


def test_sillytaverns_world_info_file_and_its_card_book_read_the_same() -> None:
    world = lorebook_from_any(json.loads((DATA / "Eldoria.json").read_text()), "Eldoria.json",
                              name="Eldoria")
    card = lorebook_from_any(json.loads((DATA / "Seraphina_character_book.json").read_text()),
                             "card")
    assert world.warnings == [] and card.warnings == []
    assert [e.keys for e in world.book.entries] == [e.keys for e in card.book.entries]
    assert [e.content for e in world.book.entries] == [e.content for e in card.book.entries]
    assert {e.position for e in card.book.entries} == {"before_character"}
    assert card.book.name == "Eldoria" and len(card.book.entries) == 4


def test_sillytavern_settings_are_translated_and_unsupported_ones_reported() -> None:
    raw = {"entries": {"7": {"uid": 7, "key": ["a"], "keysecondary": ["b"], "content": "c",
                             "selectiveLogic": 3, "position": 2, "probability": 40,
                             "useProbability": True, "group": "weather", "disable": False}}}
    converted = lorebook_from_any(raw, "w.json")
    (entry,) = converted.book.entries
    assert (entry.logic, entry.position, entry.depth, entry.probability, entry.id) == (
        "and_all", "at_depth", 4, 40, 7)
    assert entry.extensions == {"group": "weather"}
    assert {p.code for p in converted.warnings} == {"lorebook-position-mapped",
                                                     "lorebook-setting-unsupported"}


def run(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, list(args))
    return result.exit_code, result.output


def test_import_writes_a_shared_book_that_characters_name(tmp_path: Path) -> None:
    code, out = run("lorebook", "--characters-dir", str(tmp_path), "import",
                    str(DATA / "Eldoria.json"))
    assert code == 0 and "lorebooks: [eldoria]" in out
    (tmp_path / "mara.yaml").write_text("name: Mara\narchetype: ferrywoman\n"
                                        "lorebooks: [eldoria]\n")
    loaded = load_character("mara", tmp_path)
    assert [name for name, _ in loaded.shared_lorebooks] == ["eldoria"]
    assert len(loaded.lorebooks[0].book.entries) == 4
    code, out = run("lorebook", "--characters-dir", str(tmp_path), "list")
    assert code == 0 and out.startswith("eldoria")


def test_a_character_naming_a_missing_shared_book_does_not_load(tmp_path: Path) -> None:
    (tmp_path / "mara.yaml").write_text("name: Mara\narchetype: x\nlorebooks: [nowhere]\n")
    try:
        load_character("mara", tmp_path)
    except CharacterFileError as exc:
        assert "shared lorebook 'nowhere'" in str(exc)
    else:
        raise AssertionError("loaded a character whose shared lorebook is missing")


def test_import_into_a_character_appends_a_section_and_keeps_the_file(tmp_path: Path) -> None:
    original = "# Mara, by hand\nname: Mara\narchetype: ferrywoman  # keep me\n"
    (tmp_path / "mara.yaml").write_text(original)
    code, out = run("lorebook", "--characters-dir", str(tmp_path), "import",
                    str(DATA / "Eldoria.json"), "--character", "mara")
    assert code == 0 and "attached 4 entries to character mara" in out
    text = (tmp_path / "mara.yaml").read_text()
    assert text.startswith(original)
    loaded = load_character("mara", tmp_path).character
    assert loaded.lorebook is not None and len(loaded.lorebook.entries) == 4
    code, out = run("lorebook", "--characters-dir", str(tmp_path), "import",
                    str(DATA / "Eldoria.json"), "--character", "mara")
    assert code == 1 and "lorebook-character-has-one" in out


def test_import_refuses_what_is_not_a_book(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"hello": 1}')
    code, out = run("lorebook", "--characters-dir", str(tmp_path), "import",
                    str(tmp_path / "x.json"))
    assert code == 1 and "error [lorebook-not-a-book]" in out


def prompt_with(lore: LoreSelection, exchanges: int) -> list[str]:
    c = character(name="Mara")
    levels = Vitals.from_mapping(c.neurochemistry.baseline.as_dict())
    history = [Exchange(id=i + 1, user="sam", user_message=f"q{i}", reply=f"a{i}")
               for i in range(exchanges)]
    built = build_prompt(PromptInput(
        character=c, vitals=levels, mood=derive_mood(levels, levels),
        relationship=Relationship(user="sam"), memories=[], history=history,
        user_message="now", user_name="sam", token_budget=100_000, now=0.0, lore=lore))
    return [m.content for m in built.messages]


def selection(**places: object) -> LoreSelection:
    fields: dict[str, object] = {"firings": (), "before": (), "after": (), "at_depth": (),
                                 "budget_tokens": 100, "used_tokens": 0, "steps": 1}
    fields.update(places)
    return LoreSelection(**fields)  # type: ignore[arg-type]


def test_before_and_after_entries_surround_the_character_definition() -> None:
    system = prompt_with(selection(before=("BEFORE",), after=("AFTER",)), 0)[0]
    assert system.index("BEFORE") < system.index("You are Mara") < system.index("AFTER")
    assert system.index("AFTER") < system.index("## Rules")


def test_an_entry_at_depth_rides_in_the_user_message_that_far_from_the_end() -> None:
    lore = selection(at_depth=(LoreText("at_depth", 3, ("DEEP",)),
                               LoreText("at_depth", 0, ("NOW",))))
    messages = prompt_with(lore, 3)
    # [system, q0, a0, q1, a1, q2, a2, now]: depth 3 is a1, a reply, so the note goes on q2.
    assert messages[5].startswith("[World notes:\nDEEP\n]") and messages[5].endswith("q2")
    assert "DEEP" not in "".join(messages[:5] + messages[6:])
    assert messages[-1].startswith("now") and "## World notes\nNOW" in messages[-1]


def test_a_depth_beyond_the_history_goes_to_its_first_message() -> None:
    messages = prompt_with(selection(at_depth=(LoreText("at_depth", 40, ("DEEP",)),)), 1)
    assert messages[1].startswith("[World notes:") and messages[1].endswith("q0")
