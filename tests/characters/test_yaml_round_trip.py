"""Whatever the YAML writer emits, the loader reads back unchanged (property test)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.model import Character
from schemas.normalised import to_yaml
from schemas.parsing import parse_character_text

json_values: st.SearchStrategy[Any] = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None)
@given(extensions=st.dictionaries(st.text(max_size=10), json_values, max_size=4),
       text=st.text())
def test_any_card_data_survives_the_normalised_yaml(extensions: dict[str, Any],
                                                    text: str) -> None:
    character = Character(
        id="prop", name="Prop", archetype="t", backstory=text, dialect="card_v2",
        roleplay={"first_message": text, "card_extensions": extensions},
    )
    again = parse_character_text(to_yaml(character, compact=True), "prop", "<prop>")
    assert again.errors == []
    assert again.character == character
