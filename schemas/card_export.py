"""A greenroom character as a Character Card (V2 or V3) that SillyTavern imports.

The card's text fields carry everything SillyTavern reads: ``description`` is the
character's description followed by its greenroom sections in words
(``card_definition.card_description``); greetings, scenario, example dialogue, system
prompt, post-history instructions, tags and creator fields are the character's own, and
``character_book`` is its card's book followed by the entries of its ``lorebook:`` section
and of the shared books it names (``card_lorebook``), so SillyTavern triggers them all.
Everything greenroom has and a card does not — archetype, vitals baselines and
sensitivities, Big Five, traits with intensities, goals (hidden ones too), mood baseline,
skills, model settings — goes under ``data.extensions.greenroom``: the character's
normalised form (compact, as JSON) without the fields the card already
holds. Other tools' ``extensions`` keys (``roleplay.card_extensions``) are written back
beside it.

Promise (``tests/characters/test_card_export.py``): ``import(export(c)) == c``, field by
field, for every character ``c``; and for a character imported from a card without a
``greenroom`` extension, ``export`` gives that card back (every field, lorebook, unknown
keys). When the description written is not the character's own, the extension keeps the
own one and the written one's SHA-256: imported back unchanged, the own description
returns; edited in SillyTavern, the edited text is the new description. Edits to any other
card field simply win.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, Literal

from schemas.card_definition import card_description
from schemas.card_lorebook import EXPORT_RECORD, character_book_for_export
from schemas.card_png import card_chunk_text, default_picture, png_with_cards
from schemas.cards import (
    DESCRIPTION_DIGEST,
    GREENROOM_EXTENSION,
    IMPORTED_ARCHETYPE,
    text_digest,
)
from schemas.lorebook import Lorebook
from schemas.model import Character

CardFormat = Literal["v2", "v3"]
SPEC_OF_FORMAT: dict[CardFormat, tuple[str, str]] = {
    "v2": ("chara_card_v2", "2.0"),
    "v3": ("chara_card_v3", "3.0"),
}
_CARD_DIALECTS = ("card_v2", "card_v3")


def default_format(character: Character) -> CardFormat:
    """V3 for a character imported from a V3 card, else V2 (what most tools read)."""
    return "v3" if character.dialect == "card_v3" else "v2"


def character_to_card(character: Character, card_format: CardFormat | None = None, *,
                      shared: Sequence[tuple[str, Lorebook]] = ()) -> dict[str, Any]:
    """The Character Card JSON object for ``character`` (see the module docstring);
    ``card_format`` defaults to ``default_format``; ``shared``: the shared lorebooks it
    names, (name, book), whose entries the card's ``character_book`` carries too."""
    chosen = card_format or default_format(character)
    roleplay = character.roleplay
    metadata = dict(roleplay.card_metadata)
    spec, default_version = SPEC_OF_FORMAT[chosen]
    kept_version = metadata.pop("spec_version", None)
    same_spec = character.dialect == f"card_{chosen}"
    description = card_description(character)
    extensions = dict(roleplay.card_extensions)
    greenroom = greenroom_fields(character, description)
    if greenroom is not None:
        extensions[GREENROOM_EXTENSION] = greenroom
    data: dict[str, Any] = {
        "name": character.name,
        "description": description,
        "personality": character.personality.summary or "",
        "scenario": roleplay.scenario or "",
        "first_mes": roleplay.first_message or "",
        "mes_example": roleplay.example_dialogue or "",
        "creator_notes": roleplay.creator_notes or "",
        "system_prompt": roleplay.system_prompt or "",
        "post_history_instructions": roleplay.post_history_instructions or "",
        "alternate_greetings": list(roleplay.alternate_greetings),
        "tags": list(character.tags),
        "creator": roleplay.creator or "",
        "character_version": roleplay.character_version or "",
        "extensions": extensions,
    }
    book, added = character_book_for_export(roleplay.lorebook, character.lorebook, shared)
    if book is not None:
        data["character_book"] = book
    if added is not None:
        extensions[GREENROOM_EXTENSION] = {**(greenroom or {}), EXPORT_RECORD: added}
    if chosen == "v3" or roleplay.group_only_greetings:
        data["group_only_greetings"] = list(roleplay.group_only_greetings)
    if roleplay.nickname is not None:
        data["nickname"] = roleplay.nickname
    data.update(metadata)
    card: dict[str, Any] = {
        "spec": spec,
        "spec_version": kept_version if same_spec and kept_version else default_version,
        "data": data,
    }
    for key, value in character.extensions.items():
        if key.startswith("card.data."):
            data[key.removeprefix("card.data.")] = value
        elif key.startswith("card."):
            card[key.removeprefix("card.")] = value
    return card


def greenroom_fields(character: Character, description: str) -> dict[str, Any] | None:
    """``data.extensions.greenroom`` for ``character``: its compact normalised form minus
    what the card's own fields carry; ``None`` when nothing is left (a card-born
    character that greenroom added nothing to)."""
    fields = {"id": character.id, "dialect": character.dialect,
              **character.model_dump(mode="json", exclude_defaults=True, exclude={"id"})}
    for key in ("name", "description", "tags", "roleplay"):
        fields.pop(key, None)
    personality = fields.get("personality")
    if isinstance(personality, dict):
        personality.pop("summary", None)
        if not personality:
            del fields["personality"]
    extensions = fields.get("extensions")
    if isinstance(extensions, dict):
        own = {k: v for k, v in extensions.items() if not k.startswith("card.")}
        if own:
            fields["extensions"] = own
        else:
            del fields["extensions"]
    if "spec_version" in character.roleplay.card_metadata:
        fields["roleplay"] = {"card_metadata": {
            "spec_version": character.roleplay.card_metadata["spec_version"]}}
    if description != character.description:
        fields["description"] = character.description
        fields[DESCRIPTION_DIGEST] = text_digest(description)
    card_born = (character.dialect in _CARD_DIALECTS
                 and character.archetype == IMPORTED_ARCHETYPE)
    if card_born and set(fields) <= {"id", "dialect", "archetype", "roleplay"}:
        return None
    return fields


def card_file(character: Character, card_format: CardFormat | None = None, *,
              picture: bytes | None = None, as_json: bool = False,
              shared: Sequence[tuple[str, Lorebook]] = ()) -> bytes:
    """The bytes of the exported card file: the card's JSON (``as_json``), or a PNG of
    ``picture`` (PNG bytes; ``default_picture`` when ``None``) carrying the card the way
    SillyTavern writes it — V2 in ``chara``, and for V3 also the V3 card in ``ccv3``."""
    chosen = card_format or default_format(character)
    if as_json:
        text = json.dumps(character_to_card(character, chosen, shared=shared), indent=2,
                          ensure_ascii=False)
        return (text + "\n").encode("utf-8")
    chunks = {"chara": card_chunk_text(character_to_card(character, "v2", shared=shared))}
    if chosen == "v3":
        chunks["ccv3"] = card_chunk_text(character_to_card(character, "v3", shared=shared))
    return png_with_cards(picture or default_picture(character.name), chunks)
