"""Character files: the normalised model, both seed dialects, validation and card import.

Imported by every part that reads characters (gateway, pool, chat CLI, engine); depends only
on ``runtime/``. The bundled files are ``schemas/characters/*.yaml``; ``character.schema.json``
is generated from ``model`` (``make schemas``).

Public API (what the engine, the supervisor and the CLI call)::

    loader.load_character(id_or_path, characters_dir) -> LoadedCharacter
    loader.list_characters(characters_dir) -> list[CharacterSummary]
    model.is_valid_character_id(value) -> bool
    card_import.import_card(...)   # SillyTavern Character Card V2/V3

Errors (``problems``): ``CharacterNotFound``, ``InvalidCharacterId``, ``CharacterFileError``
(``.problems``), all ``CharacterError`` with a stable ``code``.
"""
