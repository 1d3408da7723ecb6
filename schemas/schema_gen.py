"""Write ``schemas/character.schema.json`` from the ``Character`` model.

    python -m schemas.schema_gen           # (re)write the file
    python -m schemas.schema_gen --check   # exit 1 if the file is out of date

The schema describes greenroom's *normalised* form (what ``greenroom characters show``
prints and ``import`` writes). Dialects A and B are translated before validation, so they
are deliberately not described by it; see ``docs/characters.md``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from runtime.generated_file import generated_file_main
from schemas.model import Character

SCHEMA_PATH = Path(__file__).resolve().parent / "character.schema.json"
SCHEMA_ID = "https://greenroom.invalid/schemas/character.schema.json"


def render_schema() -> str:
    """The schema text, byte-for-byte stable for a given model (sorted keys, ``\\n`` end)."""
    schema = Character.model_json_schema(mode="validation")
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": SCHEMA_ID,
              **schema}
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    return generated_file_main(argv, path=SCHEMA_PATH, render=render_schema,
                               command="python -m schemas.schema_gen",
                               description=__doc__)


if __name__ == "__main__":
    sys.exit(main())
