"""Cards written by others (SillyTavern's own, see tests/data/cards/NOTICE.md) import as their
authors meant: ``data`` read, the V1 mirror at the root ignored, flat V3 accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.card_export import character_to_card
from schemas.card_import import import_card
from schemas.cards import read_card
from schemas.loader import load_character
from tests.characters.cards_factory import card_text, v2_card, write_json, write_png

REAL_CARDS = Path(__file__).resolve().parents[1] / "data" / "cards"
REAL_CARD_FILES = sorted(p for p in REAL_CARDS.iterdir() if p.suffix in (".png", ".json"))


def test_the_real_cards_are_all_there() -> None:
    assert len(REAL_CARD_FILES) == 8


@pytest.mark.parametrize("card_file", REAL_CARD_FILES, ids=lambda p: p.name)
def test_every_real_card_imports_without_a_warning(card_file: Path,
                                                   characters_dir: Path) -> None:
    result = import_card(card_file, characters_dir)
    assert result.warnings == []
    loaded = load_character(result.character.id, characters_dir)
    assert loaded.character == result.character
    assert loaded.warnings == []
    assert loaded.character.extensions == {}  # nothing left over, nothing doubled


@pytest.mark.parametrize("card_file", REAL_CARD_FILES, ids=lambda p: p.name)
def test_every_real_card_exports_as_its_data(card_file: Path, characters_dir: Path) -> None:
    card = read_card(card_file.read_bytes(), card_file.name)
    character = import_card(card_file, characters_dir).character
    exported = character_to_card(character)["data"]
    for key, value in card.data.items():
        assert exported[key] == value, key


def test_seraphina_reads_data_and_not_the_root_mirror(characters_dir: Path) -> None:
    character = import_card(REAL_CARDS / "default_Seraphina.png", characters_dir).character
    assert character.name == "Seraphina"
    assert character.description.startswith("[Seraphina's Personality=")
    assert character.roleplay.first_message is not None
    assert character.roleplay.lorebook is not None
    assert character.roleplay.card_extensions["world"] == "Eldoria"


def test_amy_prefers_the_ccv3_chunk(characters_dir: Path) -> None:
    character = import_card(REAL_CARDS / "contest_Assistant_Amy.png", characters_dir).character
    assert character.dialect == "card_v3"
    assert character.roleplay.card_extensions["depth_prompt"]["depth"] == 0


def test_flat_v3_file_without_data_is_accepted(characters_dir: Path) -> None:
    character = import_card(REAL_CARDS / "flat_v3_spec_sample.json", characters_dir).character
    assert character.dialect == "card_v3"
    assert character.name == "Wren Alder"
    assert character.roleplay.nickname == "Wren"
    assert character.roleplay.system_prompt is not None
    assert "{{original}}" in character.roleplay.system_prompt
    assert character.roleplay.card_metadata["spec_version"] == "3.0"


def test_v1_card_without_spec_imports_as_v2(tmp_path: Path, characters_dir: Path) -> None:
    v1 = {"name": "Old Tom", "description": "A ferryman.", "personality": "gruff",
          "scenario": "", "first_mes": "Fare's a penny.", "mes_example": ""}
    character = import_card(write_json(tmp_path / "tom.json", v1), characters_dir).character
    assert character.dialect == "card_v2"
    assert character.roleplay.first_message == "Fare's a penny."
    assert character.roleplay.scenario is None


def test_root_mirror_fields_are_dropped_silently_other_root_keys_kept(
    tmp_path: Path, characters_dir: Path
) -> None:
    card = v2_card()
    card.update({"name": "Mirror", "description": "mirrored", "first_mes": "hi",
                 "creatorcomment": "c", "avatar": "none", "talkativeness": "0.5",
                 "fav": False, "chat": "x", "create_date": "2023", "tags": [],
                 "someone_elses": {"kept": True}})
    result = import_card(write_png(tmp_path / "m.png", {"chara": card_text(card)}),
                         characters_dir)
    assert result.character.name == "Captain Mirela Voss"
    assert result.character.extensions == {"card.someone_elses": {"kept": True}}
    assert [w.field_path for w in result.warnings] == ["extensions.card.someone_elses"]
