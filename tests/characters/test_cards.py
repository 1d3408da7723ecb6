"""Importing Character Cards V2/V3 (JSON and PNG) loses nothing and fails clearly."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from schemas.card_export import character_to_card
from schemas.card_import import id_from_name, import_card
from schemas.cards import CardImportError
from schemas.loader import load_character
from tests.characters.cards_factory import (
    card_text,
    v2_card,
    v3_card,
    write_json,
    write_png,
)


def test_v2_png_round_trips_into_yaml_with_nothing_lost(tmp_path: Path,
                                                        characters_dir: Path) -> None:
    png = write_png(tmp_path / "mirela.png", {"chara": card_text(v2_card())})
    result = import_card(png, characters_dir)
    loaded = load_character(result.character.id, characters_dir)
    assert loaded.character == result.character
    assert character_to_card(loaded.character) == v2_card()


def test_v3_json_round_trips_into_yaml_with_nothing_lost(tmp_path: Path,
                                                         characters_dir: Path) -> None:
    card_file = write_json(tmp_path / "mirela.json", v3_card())
    result = import_card(card_file, characters_dir, character_id="mira")
    loaded = load_character("mira", characters_dir)
    assert loaded.character == result.character
    assert character_to_card(loaded.character) == v3_card()


def test_imported_fields_land_in_the_model_where_the_engine_reads_them(
    tmp_path: Path, characters_dir: Path
) -> None:
    write_png(tmp_path / "c.png", {"chara": card_text(v2_card())})
    character = load_character(
        import_card(tmp_path / "c.png", characters_dir).character.id, characters_dir
    ).character
    roleplay = character.roleplay
    assert character.dialect == "card_v2"
    assert roleplay.first_message == "*Wipes the counter.* You look like trouble, {{user}}. Coffee?"
    assert roleplay.alternate_greetings == ["*Doesn't look up.* We're closed.", "Storm's early."]
    assert roleplay.example_dialogue == v2_card()["data"]["mes_example"]
    assert roleplay.scenario == "{{user}} walks into the café during a storm."
    assert roleplay.system_prompt == "Stay in character as {{char}}; never narrate for {{user}}."
    assert roleplay.post_history_instructions == "Keep replies under 120 words."
    assert roleplay.lorebook is not None
    assert roleplay.lorebook["entries"][0]["keys"] == ["lighthouse"]
    assert roleplay.card_extensions["depth_prompt"]["depth"] == 4
    assert character.personality.summary == "wry, protective, unsentimental"


def test_unknown_card_fields_are_kept_and_reported(tmp_path: Path, characters_dir: Path) -> None:
    result = import_card(write_json(tmp_path / "c.json", v3_card()), characters_dir)
    assert result.character.extensions == {"card.data.x_future_field": {"kept": True}}
    assert [w.field_path for w in result.warnings] == ["extensions.card.data.x_future_field"]


def test_png_with_both_chunks_prefers_v3(tmp_path: Path, characters_dir: Path) -> None:
    png = write_png(tmp_path / "both.png",
                    {"chara": card_text(v2_card()), "ccv3": card_text(v3_card())})
    result = import_card(png, characters_dir)
    assert result.character.dialect == "card_v3"
    assert result.character.name == "Mirela (V3)"


def test_id_defaults_to_a_slug_of_the_card_name(tmp_path: Path, characters_dir: Path) -> None:
    result = import_card(write_json(tmp_path / "c.json", v2_card()), characters_dir)
    assert result.character.id == "captain-mirela-voss"
    assert result.path == characters_dir / "captain-mirela-voss.yaml"


def test_slug_drops_accents_and_punctuation() -> None:
    assert id_from_name("Dr. Élodie  Vance!") == "dr-elodie-vance"
    assert id_from_name("李白") == ""


def test_existing_id_is_not_overwritten_without_force(tmp_path: Path,
                                                      characters_dir: Path) -> None:
    target = characters_dir / "mira.yaml"
    target.write_text("name: Keep\narchetype: t\n", encoding="utf-8")
    with pytest.raises(CardImportError) as refused:
        import_card(write_json(tmp_path / "c.json", v2_card()), characters_dir, character_id="mira")
    assert refused.value.code == "card-id-exists"
    assert target.read_text(encoding="utf-8") == "name: Keep\narchetype: t\n"


def test_force_replaces_an_existing_id(tmp_path: Path, characters_dir: Path) -> None:
    (characters_dir / "mira.yaml").write_text("name: Old\narchetype: t\n", encoding="utf-8")
    import_card(write_json(tmp_path / "c.json", v2_card()), characters_dir,
                character_id="mira", force=True)
    assert load_character("mira", characters_dir).character.name == "Captain Mirela Voss"


def _import_error(card_file: Path, characters_dir: Path) -> CardImportError:
    with pytest.raises(CardImportError) as failure:
        import_card(card_file, characters_dir)
    assert list(characters_dir.iterdir()) == [], "a failed import must write nothing"
    return failure.value


def test_corrupt_png_is_a_clear_error(tmp_path: Path, characters_dir: Path) -> None:
    good = write_png(tmp_path / "good.png", {"chara": card_text(v2_card())}).read_bytes()
    broken = tmp_path / "broken.png"
    broken.write_bytes(good[:40] + b"\x00" * 16 + good[56:])
    error = _import_error(broken, characters_dir)
    assert error.code == "card-png-corrupt"
    assert str(error).startswith(f"{broken}: not a readable PNG image")


def test_truncated_png_is_a_clear_error(tmp_path: Path, characters_dir: Path) -> None:
    good = write_png(tmp_path / "good.png", {"chara": card_text(v2_card())}).read_bytes()
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(good[:60])
    assert _import_error(truncated, characters_dir).code == "card-png-corrupt"


def test_png_without_a_card_chunk_is_a_clear_error(tmp_path: Path,
                                                    characters_dir: Path) -> None:
    error = _import_error(write_png(tmp_path / "plain.png", {"Comment": "hi"}), characters_dir)
    assert error.code == "card-png-no-card"
    assert "no 'ccv3' or 'chara' text chunk" in str(error)


def test_bad_base64_in_the_chunk_is_a_clear_error(tmp_path: Path,
                                                  characters_dir: Path) -> None:
    error = _import_error(write_png(tmp_path / "b.png", {"chara": "not*base64!"}), characters_dir)
    assert error.code == "card-base64-invalid"


def test_base64_that_is_not_json_is_a_clear_error(tmp_path: Path,
                                                  characters_dir: Path) -> None:
    chunk = base64.b64encode(b"\x89 definitely not json").decode()
    error = _import_error(write_png(tmp_path / "j.png", {"chara": chunk}), characters_dir)
    assert error.code == "card-json-invalid"


def test_json_that_is_not_a_card_is_a_clear_error(tmp_path: Path, characters_dir: Path) -> None:
    error = _import_error(write_json(tmp_path / "x.json", {"spec": "something_else"}),
                          characters_dir)
    assert error.code == "card-not-a-card"
    assert str(error) == (f"{tmp_path / 'x.json'}: not a Character Card V2/V3: spec is "
                          '"something_else", expected chara_card_v2 or chara_card_v3 (or a V1 '
                          "card: name, description, first_mes … at the root)")


def test_card_fields_in_another_shape_are_coerced_and_named(tmp_path: Path,
                                                            characters_dir: Path) -> None:
    card = v2_card()
    card["data"]["tags"] = "noir"
    card["data"]["alternate_greetings"] = [1, {"x": 1}]
    result = import_card(write_json(tmp_path / "t.json", card), characters_dir)
    assert result.character.tags == ["noir"]
    assert result.character.roleplay.alternate_greetings == ["1", "x: 1"]
    assert sorted(p.field_path for p in result.warnings if p.code == "coerced") == [
        "roleplay.alternate_greetings", "tags"]


def test_card_without_a_name_is_refused_with_the_field_named(tmp_path: Path,
                                                   characters_dir: Path) -> None:
    card = v2_card()
    card["data"]["name"] = ""
    with pytest.raises(CardImportError) as failure:
        import_card(write_json(tmp_path / "t.json", card), characters_dir, character_id="mira")
    error = failure.value
    assert list(characters_dir.iterdir()) == [], "a failed import must write nothing"
    assert error.code == "card-invalid"
    assert [p.field_path for p in error.problems if p.is_error] == ["name"]


def test_missing_card_file_is_a_clear_error(tmp_path: Path, characters_dir: Path) -> None:
    assert _import_error(tmp_path / "nope.json", characters_dir).code == "card-unreadable"
