"""Character files: the normalised model, both seed dialects, validation and card import.

Public API (what the engine, the supervisor and the CLI call)::

    load_character(id_or_path, characters_dir) -> LoadedCharacter
    list_characters(characters_dir) -> list[CharacterSummary]
    is_valid_character_id(value) -> bool

Errors: ``CharacterNotFound``, ``InvalidCharacterId``, ``CharacterFileError`` (``.problems``),
all ``CharacterError`` with a stable ``code``.
"""

from worker.characters.loader import (
    CharacterSummary,
    LoadedCharacter,
    character_path,
    list_characters,
    load_character,
)
from worker.characters.model import Character, is_valid_character_id
from worker.characters.problems import (
    CharacterError,
    CharacterFileError,
    CharacterNotFound,
    InvalidCharacterId,
    Problem,
)

__all__ = [
    "Character",
    "CharacterError",
    "CharacterFileError",
    "CharacterNotFound",
    "CharacterSummary",
    "InvalidCharacterId",
    "LoadedCharacter",
    "Problem",
    "character_path",
    "is_valid_character_id",
    "list_characters",
    "load_character",
]
