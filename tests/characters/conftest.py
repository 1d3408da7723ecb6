"""Helpers shared by the character tests: write a file, load it, collect its problems."""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from schemas.loader import LoadedCharacter, load_character
from schemas.problems import CharacterFileError, Problem

WriteCharacter = Callable[[str, str], Path]


@pytest.fixture
def characters_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "characters"
    directory.mkdir()
    return directory


@pytest.fixture
def write_character(characters_dir: Path) -> WriteCharacter:
    """Write ``<id>.yaml`` (text is dedented) into a fresh characters directory."""

    def write(character_id: str, text: str) -> Path:
        path = characters_dir / f"{character_id}.yaml"
        path.write_text(textwrap.dedent(text), encoding="utf-8")
        return path

    return write


def load(character_id: str, characters_dir: Path) -> LoadedCharacter:
    return load_character(character_id, characters_dir)


def problems_of(character_id: str, characters_dir: Path) -> list[Problem]:
    """The problems a file that must fail to load reports."""
    with pytest.raises(CharacterFileError) as failure:
        load_character(character_id, characters_dir)
    return failure.value.problems
