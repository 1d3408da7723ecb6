"""SillyTavern Character Cards (V1, V2 and V3) read from bytes and turned into a ``Character``.

Pure: bytes in, a ``Character`` (or a ``CardImportError``) out; ``card_import.py`` does the
file I/O. A card is JSON ``{spec, spec_version, data: {...}}``, either as a ``.json`` file or
base64-encoded in a PNG text chunk with keyword ``chara`` (V2) or ``ccv3`` (V3, preferred
when both are present). Also read:

* a **flat** card: ``spec: chara_card_v3`` (or ``_v2``) with the data fields at the root and
  no ``data`` object, as some tools and templates write it;
* a **V1** card: no ``spec``, the fields (``name``, ``description``, ``first_mes`` …) at the
  root — imported as ``card_v2``.

When a card has ``data``, only ``data`` is read: the V1 mirror fields SillyTavern writes at
the root beside it (``name``, ``description``, ``first_mes``, ``mes_example``,
``creatorcomment``, ``avatar``, ``talkativeness``, …, see ``ROOT_MIRROR_FIELDS``) repeat
``data`` and are dropped without a word. Any other root key is kept (``card.<key>``).

Where each card field goes (nothing is dropped):

    data.name / description / tags          → name / description / tags
    data.personality                        → personality.summary
    data.first_mes / mes_example            → roleplay.first_message / example_dialogue
    data.scenario, system_prompt, post_history_instructions, creator_notes, creator,
    character_version, alternate_greetings, group_only_greetings, nickname
                                            → roleplay.<same name>
    data.character_book                     → roleplay.lorebook (verbatim; in a greenroom
                                              export, the entries ``card_lorebook`` added
                                              return to their books)
    data.extensions (but ``greenroom``)     → roleplay.card_extensions (verbatim)
    data.extensions.greenroom               → every greenroom field (see ``card_export``)
    spec_version, data.assets / source / creation_date / modification_date /
    creator_notes_multilingual              → roleplay.card_metadata
    any other key of data / of the card     → extensions["card.data.<key>"] / ["card.<key>"]

Macros (``{{char}}``, ``{{user}}``, ``<BOT>`` …) are kept as written; the prompt builder
expands them (``worker.engine.macros``). Cards have no archetype; imported characters get
``IMPORTED_ARCHETYPE`` — unless the card was exported by greenroom, whose
``extensions.greenroom`` gives the character back as it was (``card_export``).
"""

from __future__ import annotations

import base64
import binascii
import copy
import hashlib
import io
import json
from dataclasses import dataclass
from typing import Any, Literal

from PIL import Image, UnidentifiedImageError

from schemas.card_lorebook import EXPORT_RECORD, restore_exported_lore
from schemas.model import Character
from schemas.parsing import parse_character_mapping
from schemas.problems import CharacterError, Problem

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMPORTED_ARCHETYPE = "imported_card"
SPECS: dict[str, Literal["card_v2", "card_v3"]] = {
    "chara_card_v2": "card_v2",
    "chara_card_v3": "card_v3",
}
#: Root keys SillyTavern writes beside ``data``: the V1 fields mirrored and its own
#: bookkeeping (``chat``, ``fav``, ``create_date``, ...). ``data`` holds the card.
ROOT_MIRROR_FIELDS = frozenset({
    "name", "description", "personality", "scenario", "first_mes", "mes_example",
    "creatorcomment", "avatar", "chat", "talkativeness", "fav", "tags", "create_date",
    "creator", "char_name", "char_persona", "char_greeting", "world_scenario",
    "example_dialogue",
})
#: A root with no ``data`` is read as the card's data when it has a name and one of these.
_V1_FIELDS = frozenset({"description", "personality", "scenario", "first_mes", "mes_example"})
GREENROOM_EXTENSION = "greenroom"
#: The key of ``extensions.greenroom`` holding the SHA-256 of the description greenroom wrote.
DESCRIPTION_DIGEST = "description_sha256"


def text_digest(text: str) -> str:
    """The hex SHA-256 of ``text`` (UTF-8)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

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
    def data(self) -> dict[str, Any]:
        data: dict[str, Any] = self.payload["data"]
        return data

    @property
    def name(self) -> str:
        name = self.data.get("name")
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
    return card_from_payload(payload, source)


def card_from_payload(payload: dict[str, Any], source: str) -> Card:
    """A decoded JSON object as a ``Card`` with a ``data`` object: nested (V2/V3), flat (the
    data fields at the root) or V1 (no ``spec``). Raises ``CardImportError`` otherwise."""
    spec = payload.get("spec")
    dialect = SPECS.get(spec) if isinstance(spec, str) else None
    data = payload.get("data")
    if spec is None and data is None and _looks_like_v1(payload):
        return Card({"spec": "chara_card_v2", "spec_version": "1.0", "data": dict(payload)},
                    "card_v2", source)
    if dialect is None:
        raise _not_a_card(source, f"spec is {json.dumps(spec)}, expected chara_card_v2 or "
                                  "chara_card_v3 (or a V1 card: name, description, first_mes "
                                  "… at the root)")
    if isinstance(data, dict):
        root = {k: v for k, v in payload.items() if k not in ROOT_MIRROR_FIELDS}
        return Card(root, dialect, source)
    if data is None and _looks_like_v1(payload):
        flat = {k: v for k, v in payload.items() if k not in ("spec", "spec_version")}
        root = {k: payload[k] for k in ("spec", "spec_version") if k in payload}
        return Card({**root, "data": flat}, dialect, source)
    raise _not_a_card(source, "it has no 'data' object and no card fields (name, "
                              "description, first_mes …) at its root")


def _looks_like_v1(payload: dict[str, Any]) -> bool:
    return isinstance(payload.get("name"), str) and bool(_V1_FIELDS & payload.keys())


def _not_a_card(source: str, why: str) -> CardImportError:
    return CardImportError(
        "card-not-a-card",
        f"{source}: not a Character Card V2/V3: {why}",
    )


def card_to_mapping(card: Card) -> dict[str, Any]:
    """The card's own fields as a greenroom normalised-form mapping (see the module
    docstring); ``extensions.greenroom`` is not applied here (``card_export`` does)."""
    data = card.data
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
        if value == "" and key not in _TOP_LEVEL_FIELDS:
            continue  # a card writes every text field; an empty one says nothing
        if key in _TOP_LEVEL_FIELDS:
            mapping[_TOP_LEVEL_FIELDS[key]] = value
        elif key == "personality":
            mapping["personality"] = {"summary": value}
        elif key == "extensions" and isinstance(value, dict):
            roleplay["card_extensions"] = {k: v for k, v in value.items()
                                           if k != GREENROOM_EXTENSION}
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


def exported_id(card: Card) -> str | None:
    """The id of the character a greenroom export was made from (``extensions.greenroom.id``),
    ``None`` for other cards."""
    extension = greenroom_extension(card)
    value = extension.get("id") if extension is not None else None
    return value if isinstance(value, str) else None


def greenroom_extension(card: Card) -> dict[str, Any] | None:
    """``data.extensions.greenroom`` when the card has one (a card greenroom exported)."""
    extensions = card.data.get("extensions")
    value = extensions.get(GREENROOM_EXTENSION) if isinstance(extensions, dict) else None
    return value if isinstance(value, dict) else None


@dataclass(frozen=True, slots=True)
class ImportedCharacter:
    character: Character
    warnings: list[Problem]


def card_to_character(card: Card, character_id: str) -> ImportedCharacter:
    """Validate the card's mapping as character ``character_id``; a card greenroom exported
    (``extensions.greenroom``) gives back the character it was made from, with the edits
    made to the card's own fields since (see ``card_export``).

    Raises ``CardImportError("card-invalid")`` with every problem (e.g. ``tags`` not a list)
    when the card's fields have the wrong types.
    """
    mapping = card_to_mapping(card)
    extension = greenroom_extension(card)
    lore_warnings: list[Problem] = []
    if extension is not None:
        mapping = with_greenroom_fields(mapping, extension, card.data.get("description"))
        lore_warnings = restore_exported_lore(mapping, extension.get(EXPORT_RECORD),
                                              card.source)
    result = parse_character_mapping(mapping, character_id, card.source)
    if result.character is None:
        lines = "\n  ".join(p.render() for p in result.errors)
        raise CardImportError(
            "card-invalid",
            f"{card.source}: the card's fields cannot make a character:\n  {lines}",
            result.problems,
        )
    return ImportedCharacter(result.character, [*lore_warnings, *result.warnings])


def with_greenroom_fields(mapping: dict[str, Any], extension: dict[str, Any],
                          card_description: object) -> dict[str, Any]:
    """The card's ``mapping`` with the fields of its ``extensions.greenroom`` put back.

    The card's own fields win (they may have been edited in another tool), except the
    description: while the card's is still the one greenroom wrote (its SHA-256 is the
    extension's ``description_sha256``), the extension's own ``description`` returns."""
    fields = copy.deepcopy(extension)
    fields.pop("id", None)  # the id is the file's name: ``exported_id`` suggests it
    fields.pop(EXPORT_RECORD, None)  # what the card's book gained (``card_lorebook``)
    digest = fields.pop(DESCRIPTION_DIGEST, None)
    own_description = fields.pop("description", None)
    merged = {**fields, **{k: v for k, v in mapping.items()
                           if k not in ("dialect", "archetype", "personality", "roleplay",
                                        "extensions")}}
    personality = fields.get("personality")
    card_personality = mapping.get("personality")
    if isinstance(personality, dict) and isinstance(card_personality, dict):
        merged["personality"] = {**personality, **card_personality}
    elif card_personality is not None:
        merged["personality"] = card_personality
    roleplay = dict(mapping.get("roleplay", {}))
    metadata = {k: v for k, v in roleplay.pop("card_metadata", {}).items()
                if k != "spec_version"}
    kept = fields.get("roleplay")
    if isinstance(kept, dict) and isinstance(kept.get("card_metadata"), dict):
        metadata.update(kept["card_metadata"])
    if metadata:
        roleplay["card_metadata"] = metadata
    merged["roleplay"] = roleplay
    own_extensions = fields.get("extensions")
    extensions = {**(own_extensions if isinstance(own_extensions, dict) else {}),
                  **mapping.get("extensions", {})}
    if extensions:
        merged["extensions"] = extensions
    if (isinstance(card_description, str) and own_description is not None
            and digest == text_digest(card_description)):
        merged["description"] = own_description
    return merged
