"""The characters shipped in schemas/characters are valid, distinct and complete."""

from __future__ import annotations

import pytest

from schemas.loader import available_ids, list_characters, load_character
from schemas.normalised import to_yaml
from schemas.parsing import parse_character_text
from tests.support.paths import BUNDLED_CHARACTERS

REQUIRED_IDS = {"m-playful", "f-playful", "m-serious", "f-serious", "m-sarcastic",
                "f-sarcastic", "zen-master", "ada-lovelace"}
BUNDLED_IDS = available_ids(BUNDLED_CHARACTERS)


def test_the_required_characters_are_bundled() -> None:
    assert set(BUNDLED_IDS) >= REQUIRED_IDS
    assert len(BUNDLED_IDS) >= 8


def test_every_bundled_file_is_listed_without_errors() -> None:
    assert [s.id for s in list_characters(BUNDLED_CHARACTERS) if not s.ok] == []


@pytest.mark.parametrize("character_id", BUNDLED_IDS)
def test_bundled_character_loads_without_warnings(character_id: str) -> None:
    assert load_character(character_id, BUNDLED_CHARACTERS).warnings == []


@pytest.mark.parametrize("character_id", BUNDLED_IDS)
def test_bundled_character_is_rich(character_id: str) -> None:
    character = load_character(character_id, BUNDLED_CHARACTERS).character
    assert len(character.backstory) > 300
    assert len(character.personality.quirks) >= 2
    assert len(character.personality.core_values) >= 3
    assert character.communication_style.verbal_pattern
    assert [g for g in character.goals if g.goal_type == "hidden"], "needs a hidden goal"


@pytest.mark.parametrize("character_id", BUNDLED_IDS)
def test_bundled_file_names_its_dialect_in_its_top_comment(character_id: str) -> None:
    path = BUNDLED_CHARACTERS / f"{character_id}.yaml"
    first_line = path.read_text(encoding="utf-8").split("\n")[0]
    character = load_character(character_id, BUNDLED_CHARACTERS).character
    expected = {"a": "Dialect A", "b": "Dialect B", "greenroom": "greenroom normalised form"}
    assert first_line.startswith(f"# {expected[character.dialect]}")


def test_bundled_characters_cover_both_dialects() -> None:
    dialects = {load_character(i, BUNDLED_CHARACTERS).character.dialect for i in BUNDLED_IDS}
    assert {"a", "b"} <= dialects


def test_bundled_characters_have_distinct_names_and_backstories() -> None:
    characters = [load_character(i, BUNDLED_CHARACTERS).character for i in BUNDLED_IDS]
    assert len({c.name for c in characters}) == len(characters)
    assert len({c.backstory for c in characters}) == len(characters)


@pytest.mark.parametrize("character_id", BUNDLED_IDS)
def test_normalised_yaml_loads_back_to_an_equal_character(character_id: str) -> None:
    character = load_character(character_id, BUNDLED_CHARACTERS).character
    for compact in (False, True):
        text = to_yaml(character, compact=compact)
        again = parse_character_text(text, character_id, "<normalised>")
        assert again.problems == []
        assert again.character == character
