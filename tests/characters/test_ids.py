"""Ids are checked before they touch a path; a ``str`` is always an id, never a path."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NoReturn, cast

import pytest

from schemas.loader import character_path, list_characters, load_character
from schemas.problems import CharacterNotFound, InvalidCharacterId
from tests.characters.conftest import WriteCharacter


class DirectoryThatMustNotBeTouched:
    """Stands in for the characters directory; any use of it fails the test."""

    def _touched(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AssertionError("the characters directory was used before the id was checked")

    __truediv__ = __rtruediv__ = __fspath__ = __str__ = _touched

    def __getattr__(self, name: str) -> NoReturn:
        self._touched()


UNTOUCHABLE = cast(Path, DirectoryThatMustNotBeTouched())


@pytest.mark.parametrize("bad_id", ["../x", "A", "a/b", "", "a\x00b", "..", ".hidden",
                                    "-leading-dash", "x" * 65, "caf\u00e9", "a b"])
def test_invalid_ids_are_refused_before_any_path_is_built(bad_id: str) -> None:
    with pytest.raises(InvalidCharacterId) as refused:
        load_character(bad_id, UNTOUCHABLE)
    assert refused.value.character_id == bad_id
    assert refused.value.code == "invalid-character-id"


@pytest.mark.parametrize("bad_id", ["../x", "A", "a/b", "", "a\x00b"])
def test_character_path_refuses_invalid_ids(bad_id: str) -> None:
    with pytest.raises(InvalidCharacterId):
        character_path(bad_id, UNTOUCHABLE)


@pytest.mark.parametrize("good_id", ["m-playful", "zen_master", "a", "007", "x" * 64])
def test_valid_ids_name_a_file_inside_the_directory(good_id: str, tmp_path: Path) -> None:
    assert character_path(good_id, tmp_path) == tmp_path / f"{good_id}.yaml"


def test_unknown_id_raises_not_found_listing_what_exists(write_character: WriteCharacter,
                                                         characters_dir: Path) -> None:
    write_character("present", "name: P\narchetype: t\n")
    with pytest.raises(CharacterNotFound) as missing:
        load_character("absent", characters_dir)
    assert missing.value.available == ["present"]
    assert "character 'absent' not found" in str(missing.value)


def test_a_file_whose_name_is_not_an_id_is_refused(characters_dir: Path) -> None:
    path = characters_dir / "Bad Name.yaml"
    path.write_text("name: B\narchetype: t\n", encoding="utf-8")
    with pytest.raises(InvalidCharacterId):
        load_character(path, characters_dir)


def test_list_reports_a_badly_named_file_instead_of_raising(write_character: WriteCharacter,
                                                            characters_dir: Path) -> None:
    write_character("good", "name: G\narchetype: t\n")
    (characters_dir / "Bad.yaml").write_text("name: B\narchetype: t\n", encoding="utf-8")
    summaries = {s.id: s for s in list_characters(characters_dir)}
    assert summaries["good"].ok
    assert summaries["Bad"].errors[0].code == "invalid-character-id"
