"""``greenroom characters import``: a card file in, a normalised ``<id>.yaml`` out.

The file is written only after the card has been fully decoded and validated, and written
atomically (temporary file, then rename), so a failed import leaves nothing behind and a
reader never sees half a file.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from runtime.atomic_file import write_atomically
from schemas.cards import CardImportError, card_to_character, exported_id, read_card
from schemas.loader import character_path
from schemas.model import Character, is_valid_character_id
from schemas.normalised import to_yaml
from schemas.problems import Problem


@dataclass(frozen=True, slots=True)
class ImportResult:
    character: Character
    path: Path
    warnings: list[Problem]


def id_from_name(name: str) -> str:
    """A character id made from a display name: ``"Dr. Élodie Vance"`` → ``dr-elodie-vance``.

    Returns ``""`` when nothing usable is left (e.g. a name in a non-Latin script); the
    caller then asks for ``--id``.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:64].rstrip("-")


def import_card(
    card_file: Path,
    characters_dir: Path,
    *,
    character_id: str | None = None,
    force: bool = False,
) -> ImportResult:
    """Import ``card_file`` (JSON or PNG) as ``<characters_dir>/<id>.yaml``.

    The id is ``character_id`` or, when ``None``, the id a greenroom export was made from,
    else one made from the card's name. Refuses to
    replace an existing file unless ``force``. Raises ``CardImportError`` (see its codes).
    """
    try:
        content = card_file.read_bytes()
    except OSError as exc:
        raise CardImportError(
            "card-unreadable", f"{card_file}: cannot read the card file ({exc.strerror})"
        ) from exc
    card = read_card(content, str(card_file))

    if character_id is None:
        character_id = exported_id(card) or id_from_name(card.name)
        if not is_valid_character_id(character_id):
            raise CardImportError(
                "card-id-invalid",
                f"{card_file}: cannot make an id from the card's name {card.name!r}; "
                "pass one with --id (lowercase letters, digits, '-' and '_')",
            )
    elif not is_valid_character_id(character_id):
        raise CardImportError(
            "card-id-invalid",
            f"--id {character_id!r} is not a character id: use 1-64 lowercase letters, "
            "digits, '-' and '_', starting with a letter or digit",
        )

    target = character_path(character_id, characters_dir)
    if target.exists() and not force:
        raise CardImportError(
            "card-id-exists",
            f"character {character_id!r} already exists ({target}); choose another --id, "
            "or pass --force to replace it",
        )
    imported = card_to_character(card, character_id)
    header = (
        f"greenroom normalised form, imported from {card_file.name} "
        f"(Character Card {'V3' if card.dialect == 'card_v3' else 'V2'}).\n"
        "{{char}} and {{user}} are placeholders, filled in when the prompt is built."
    )
    write_atomically(target, to_yaml(imported.character, include_id=False, compact=True,
                                     header=header).encode("utf-8"))
    return ImportResult(imported.character, target, imported.warnings)

