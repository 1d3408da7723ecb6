"""SillyTavern Character Cards (V2 and V3) read from bytes and turned into a ``Character``.

Pure: bytes in, a ``Character`` (or a ``CardImportError``) out; ``card_import.py`` does the
file I/O. A card is JSON ``{spec, spec_version, data: {...}}``, either as a ``.json`` file or
base64-encoded in a PNG text chunk with keyword ``chara`` (V2) or ``ccv3`` (V3, preferred
when both are present).

Where each card field goes (nothing is dropped):

    data.name / description / tags          → name / description / tags
    data.personality                        → personality.summary
    data.first_mes / mes_example            → roleplay.first_message / example_dialogue
    data.scenario, system_prompt, post_history_instructions, creator_notes, creator,
    character_version, alternate_greetings, group_only_greetings, nickname
                                            → roleplay.<same name>
    data.character_book                     → roleplay.lorebook (verbatim)
    data.extensions                         → roleplay.card_extensions (verbatim)
    spec_version, data.assets / source / creation_date / modification_date /
    creator_notes_multilingual              → roleplay.card_metadata
    any other key of data / of the card     → extensions["card.data.<key>"] / ["card.<key>"]

``{{char}}`` and ``{{user}}`` are kept as written; the prompt builder substitutes them.
Cards have no archetype; imported characters get ``IMPORTED_ARCHETYPE``.
"""

from __future__ import annotations

import base64
import binascii
import io
import json
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError

from schemas.model import Character
from schemas.parsing import parse_character_mapping
from schemas.problems import CharacterError, Problem

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMPORTED_ARCHETYPE = "imported_card"
SPECS: dict[str, Literal["card_v2", "card_v3"]] = {
    "chara_card_v2": "card_v2",
    "chara_card_v3": "card_v3",
}

_ROLEPLAY_FIELDS = {
    "first_mes": "first_message",
    "mes_example": "example_dialogue",
    "scenario": "scenario",
    "system_prompt": "system_prompt",
    "post_history_instructions": "post_history_instructions",
    "creator_notes": "creator_notes",
    "creator": "creator",
    "character_version": "character_version",
    "alternate_greetings": "alternate_greetings",
    "group_only_greetings": "group_only_greetings",
    "nickname": "nickname",
    "character_book": "lorebook",
    "extensions": "card_extensions",
}
_TOP_LEVEL_FIELDS = {"name": "name", "description": "description", "tags": "tags"}
_METADATA_FIELDS = frozenset(
    {"assets", "source", "creation_date", "modification_date", "creator_notes_multilingual"}
)


class CardImportError(CharacterError):
    """A card could not be imported. ``code`` says why (stable), the message what to do.

    Codes: ``card-unreadable``, ``card-png-corrupt``, ``card-png-no-card``,
    ``card-base64-invalid``, ``card-json-invalid``, ``card-not-a-card``, ``card-invalid``,
    ``card-id-invalid``, ``card-id-exists``.
    """

    def __init__(self, code: str, message: str, problems: list[Problem] | None = None) -> None:
        self.code = code
        self.problems = problems or []
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Card:
    """A decoded card: its parsed JSON and where it came from (for messages)."""

    payload: dict[str, Any]
    dialect: Literal["card_v2", "card_v3"]
    source: str

    @property
    def name(self) -> str:
        data = self.payload.get("data")
        name = data.get("name") if isinstance(data, dict) else None
        return name if isinstance(name, str) else ""


def read_card(content: bytes, source: str) -> Card:
    """Decode a card from a PNG or JSON file's bytes; ``source`` names it in errors."""
    if content.startswith(PNG_SIGNATURE):
        text = _card_text_from_png(content, source)
        try:
            decoded = base64.b64decode(_padded(text), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise CardImportError(
                "card-base64-invalid",
                f"{source}: the PNG's card chunk is not valid base64 ({exc}); "
                "re-export the card from the tool that made it",
            ) from exc
        return _card_from_json_bytes(decoded, source, inside="the PNG's card chunk")
    return _card_from_json_bytes(content, source, inside="the file")


def _padded(text: str) -> str:
    compact = "".join(text.split())
    return compact + "=" * (-len(compact) % 4)


def _card_text_from_png(content: bytes, source: str) -> str:
    try:
        with Image.open(io.BytesIO(content)) as image:
            image.load()  # reads to the end, so chunks after the image data are seen too
            chunks = {str(k).lower(): v for k, v in getattr(image, "text", {}).items()}
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError,
            Image.DecompressionBombError) as exc:
        raise CardImportError(
            "card-png-corrupt",
            f"{source}: not a readable PNG image ({exc}); the file is damaged or truncated",
        ) from exc
    for keyword in ("ccv3", "chara"):
        text = chunks.get(keyword)
        if isinstance(text, str):
            return text
    raise CardImportError(
        "card-png-no-card",
        f"{source}: this PNG holds no character card (no 'ccv3' or 'chara' text chunk); "
        "export the character as a card PNG or JSON",
    )


def _card_from_json_bytes(raw: bytes, source: str, *, inside: str) -> Card:
    try:
        payload = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CardImportError(
            "card-json-invalid",
            f"{source}: {inside} is not JSON ({exc}); expected a Character Card V2/V3 "
            "(.json) or a card PNG",
        ) from exc
    if not isinstance(payload, dict):
        raise _not_a_card(source, "the JSON is not an object")
    spec = payload.get("spec")
    dialect = SPECS.get(spec) if isinstance(spec, str) else None
    if dialect is None:
        raise _not_a_card(source, f"spec is {json.dumps(spec)}, expected chara_card_v2 or "
                                  "chara_card_v3")
    if not isinstance(payload.get("data"), dict):
        raise _not_a_card(source, "it has no 'data' object")
    return Card(payload, dialect, source)


def _not_a_card(source: str, why: str) -> CardImportError:
    return CardImportError(
        "card-not-a-card",
        f"{source}: not a Character Card V2/V3: {why}",
    )


def card_to_mapping(card: Card) -> dict[str, Any]:
    """The card as a greenroom normalised-form mapping (see the module docstring)."""
    data: dict[str, Any] = card.payload["data"]
    mapping: dict[str, Any] = {"dialect": card.dialect, "archetype": IMPORTED_ARCHETYPE}
    roleplay: dict[str, Any] = {}
    metadata: dict[str, Any] = {}
    extensions: dict[str, Any] = {}
    if "spec_version" in card.payload:
        metadata["spec_version"] = card.payload["spec_version"]
    for key, value in card.payload.items():
        if key not in ("spec", "spec_version", "data"):
            extensions[f"card.{key}"] = value
    for key, value in data.items():
        if key in _TOP_LEVEL_FIELDS:
            mapping[_TOP_LEVEL_FIELDS[key]] = value
        elif key == "personality":
            mapping["personality"] = {"summary": value}
        elif key in _ROLEPLAY_FIELDS:
            roleplay[_ROLEPLAY_FIELDS[key]] = value
        elif key in _METADATA_FIELDS:
            metadata[key] = value
        else:
            extensions[f"card.data.{key}"] = value
    if metadata:
        roleplay["card_metadata"] = metadata
    mapping["roleplay"] = roleplay
    if extensions:
        mapping["extensions"] = extensions
    return mapping


@dataclass(frozen=True, slots=True)
class ImportedCharacter:
    character: Character
    warnings: list[Problem]


def card_to_character(card: Card, character_id: str) -> ImportedCharacter:
    """Validate the card's mapping as character ``character_id``.

    Raises ``CardImportError("card-invalid")`` with every problem (e.g. ``tags`` not a list)
    when the card's fields have the wrong types.
    """
    result = parse_character_mapping(card_to_mapping(card), character_id, card.source)
    if result.character is None:
        lines = "\n  ".join(p.render() for p in result.errors)
        raise CardImportError(
            "card-invalid",
            f"{card.source}: the card's fields cannot make a character:\n  {lines}",
            result.problems,
        )
    return ImportedCharacter(result.character, result.warnings)


def character_to_card(character: Character) -> dict[str, Any]:
    """A Character Card (V3 if the character came from one, else V2) from a character.

    The inverse of ``card_to_mapping``: for an imported card, this gives back the card's
    JSON (every field, lorebook, extensions and unknown keys), which is how the tests prove
    that import loses nothing. Dialect-file characters export their card-relevant fields.
    """
    roleplay = character.roleplay
    v3 = character.dialect == "card_v3"
    metadata = dict(roleplay.card_metadata)
    spec_version = metadata.pop("spec_version", "3.0" if v3 else "2.0")
    data: dict[str, Any] = {
        "name": character.name,
        "description": character.description,
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
        "extensions": dict(roleplay.card_extensions),
    }
    if roleplay.lorebook is not None:
        data["character_book"] = roleplay.lorebook
    if v3 or roleplay.group_only_greetings:
        data["group_only_greetings"] = list(roleplay.group_only_greetings)
    if roleplay.nickname is not None:
        data["nickname"] = roleplay.nickname
    data.update(metadata)
    card: dict[str, Any] = {
        "spec": "chara_card_v3" if v3 else "chara_card_v2",
        "spec_version": spec_version,
        "data": data,
    }
    for key, value in character.extensions.items():
        if key.startswith("card.data."):
            data[key.removeprefix("card.data.")] = value
        elif key.startswith("card."):
            card[key.removeprefix("card.")] = value
    return card
