"""The committed JSON Schema is the one the model generates today."""

from __future__ import annotations

import json

from schemas.schema_gen import SCHEMA_PATH, render_schema


def test_committed_schema_matches_the_model() -> None:
    assert SCHEMA_PATH.read_text(encoding="utf-8") == render_schema(), (
        "schemas/character.schema.json is stale: run python -m schemas.schema_gen"
    )


def test_schema_requires_exactly_id_name_and_archetype() -> None:
    schema = json.loads(render_schema())
    assert sorted(schema["required"]) == ["archetype", "id", "name"]
