"""Writing a ``Character`` back out in greenroom's normalised form (YAML or JSON).

Promise: for every character ``c`` loaded from ``<id>.yaml``,
``parse_character_text(to_yaml(c), c.id, …).character == c``: the normalised form loads
back to an equal model. ``dialect`` is always written (it records where the character came
from; without it a short file would be re-labelled by guessing).
"""

from __future__ import annotations

from typing import Any

from schemas.model import Character
from schemas.yaml_io import dump_yaml


def to_normalised_dict(
    character: Character, *, include_id: bool = True, compact: bool = False
) -> dict[str, Any]:
    """The character as plain data in model field order.

    ``compact`` leaves out every value equal to its default (what ``import`` writes, so the
    file stays short); otherwise only empty (``None``) values are left out, so derived values
    such as dialect B's baseline levels are visible (what ``show`` prints).
    """
    if compact:
        body = character.model_dump(mode="python", exclude_defaults=True)
    else:
        body = character.model_dump(mode="python", exclude_none=True)
    body.pop("id", None)
    body.pop("dialect", None)
    head: dict[str, Any] = {"id": character.id} if include_id else {}
    head["dialect"] = character.dialect
    return {**head, **body}


def to_yaml(
    character: Character, *, include_id: bool = True, compact: bool = False, header: str = ""
) -> str:
    """YAML text of ``to_normalised_dict``, after ``header`` lines written as comments."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comment + dump_yaml(
        to_normalised_dict(character, include_id=include_id, compact=compact)
    )
