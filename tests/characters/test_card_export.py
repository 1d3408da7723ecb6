"""Exporting characters as Character Cards: SillyTavern's shape, and back without a loss."""

from __future__ import annotations

import base64
import json
import struct
from pathlib import Path

import pytest

from schemas.card_export import card_file, character_to_card
from schemas.card_import import import_card
from schemas.cards import read_card
from schemas.loader import available_ids, load_character
from schemas.model import Character
from tests.characters.cards_factory import card_text, v2_card, v3_card, write_png

BUNDLED = Path(__file__).resolve().parents[2] / "schemas" / "characters"
BUNDLED_IDS = available_ids(BUNDLED)


def _bundled(character_id: str) -> Character:
    return load_character(character_id, BUNDLED).character


def _text_chunks(png: bytes) -> list[tuple[str, str]]:
    """(keyword, text) of every tEXt chunk, in file order, read without Pillow."""
    chunks, offset = [], 8
    while offset < len(png):
        (length,) = struct.unpack(">I", png[offset:offset + 4])
        kind, body = png[offset + 4:offset + 8], png[offset + 8:offset + 8 + length]
        if kind == b"tEXt":
            keyword, text = body.split(b"\0", 1)
            chunks.append((keyword.decode("latin-1"), text.decode("latin-1")))
        elif kind == b"IEND":
            chunks.append(("<IEND>", ""))
        offset += 12 + length
    return chunks


def _same_fields(got: Character, want: Character) -> None:
    """Field by field, so a failure names the field."""
    for field in Character.model_fields:
        assert getattr(got, field) == getattr(want, field), field


@pytest.mark.parametrize("card_format", ["v2", "v3"])
@pytest.mark.parametrize("character_id", BUNDLED_IDS)
def test_every_bundled_character_comes_back_from_its_exported_png(
    tmp_path: Path, characters_dir: Path, character_id: str, card_format: str
) -> None:
    original = _bundled(character_id)
    png = tmp_path / f"{character_id}.png"
    png.write_bytes(card_file(original, card_format))  # type: ignore[arg-type]
    result = import_card(png, characters_dir)
    assert result.character.id == character_id
    _same_fields(load_character(character_id, characters_dir).character, original)


@pytest.mark.parametrize("character_id", BUNDLED_IDS)
def test_every_bundled_character_comes_back_from_its_exported_json(
    tmp_path: Path, characters_dir: Path, character_id: str
) -> None:
    original = _bundled(character_id)
    card = tmp_path / "card.json"
    card.write_bytes(card_file(original, "v3", as_json=True))
    import_card(card, characters_dir)
    _same_fields(load_character(character_id, characters_dir).character, original)


def test_export_puts_greenroom_fields_under_extensions_greenroom() -> None:
    character = _bundled("zen-master")
    card = character_to_card(character, "v2")
    greenroom = card["data"]["extensions"]["greenroom"]
    assert card["spec"] == "chara_card_v2" and card["spec_version"] == "2.0"
    assert greenroom["archetype"] == "zen_master"
    assert greenroom["neurochemistry"]["baseline"]["serotonin"] == 82
    assert greenroom["personality"]["big_five"]["openness"] == 0.85
    hidden = [g for g in greenroom["goals"] if g.get("goal_type") == "hidden"]
    assert hidden and "knees are failing" in hidden[0]["description"]
    assert "name" not in greenroom and "roleplay" not in greenroom


def test_exported_description_says_in_words_what_sillytavern_cannot_read_from_fields() -> None:
    description = character_to_card(_bundled("zen-master"))["data"]["description"]
    assert description.startswith("A retired ferry pilot")
    assert "About {{char}}: age 78" in description
    assert "Traits: serene" in description
    assert "{{char}}'s backstory:" in description
    assert "Secret motives ({{char}} never reveals" in description


def test_a_description_edited_in_another_tool_wins_on_import(
    tmp_path: Path, characters_dir: Path
) -> None:
    card = character_to_card(_bundled("zen-master"))
    card["data"]["description"] = "Edited in SillyTavern."
    card["data"]["first_mes"] = "*Rakes.* Have you eaten?"
    png = write_png(tmp_path / "edited.png", {"chara": card_text(card)})
    character = import_card(png, characters_dir).character
    assert character.description == "Edited in SillyTavern."
    assert character.roleplay.first_message == "*Rakes.* Have you eaten?"
    assert character.neurochemistry == _bundled("zen-master").neurochemistry


def test_v3_png_carries_chara_and_ccv3_before_iend_as_sillytavern_writes_them() -> None:
    png = card_file(_bundled("ada-lovelace"), "v3")
    chunks = _text_chunks(png)
    assert [k for k, _ in chunks] == ["chara", "ccv3", "<IEND>"]
    v2 = json.loads(base64.b64decode(chunks[0][1]))
    v3 = json.loads(base64.b64decode(chunks[1][1]))
    assert (v2["spec"], v3["spec"]) == ("chara_card_v2", "chara_card_v3")
    assert v2["data"]["name"] == v3["data"]["name"] == "Ada Lovelace"
    assert read_card(png, "ada.png").dialect == "card_v3"


def test_v2_png_carries_only_chara() -> None:
    assert [k for k, _ in _text_chunks(card_file(_bundled("m-playful"), "v2"))] == [
        "chara", "<IEND>"]


def test_a_given_picture_keeps_its_chunks_and_loses_its_old_card(tmp_path: Path) -> None:
    old = write_png(tmp_path / "old.png", {"chara": card_text(v2_card()), "Comment": "hello"})
    png = card_file(_bundled("m-playful"), "v2", picture=old.read_bytes())
    chunks = _text_chunks(png)
    assert [k for k, _ in chunks] == ["Comment", "chara", "<IEND>"]
    assert read_card(png, "new.png").name == _bundled("m-playful").name


@pytest.mark.parametrize(("card", "card_format"), [(v2_card, "v2"), (v3_card, "v3")])
def test_an_imported_card_exports_as_the_same_card(
    tmp_path: Path, characters_dir: Path, card: object, card_format: str
) -> None:
    made = card()  # type: ignore[operator]
    png = write_png(tmp_path / "c.png", {"chara": card_text(made)})
    character = load_character(import_card(png, characters_dir).character.id,
                               characters_dir).character
    assert character_to_card(character, card_format) == made  # type: ignore[arg-type]
