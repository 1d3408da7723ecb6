"""Generated character files, every descriptive field in every shape, load and say it all.

Each example writes a YAML file whose descriptive fields are text, a list, a mapping or a
nested mix of them (random per field, random fields present), in dialect A or B, with mood
triggers in one of their forms, and checks:

* it loads (only ``name`` and ``archetype`` are given as required);
* every piece of text it holds (values and keys) is in the system prompt;
* a warning names a field exactly when that field was not in the model's own shape, and
  every warning is such a coercion;
* the normalised form loads back to the same character, without a warning.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas.model import Character
from schemas.moods import MOOD_LABELS, MOOD_WORDS
from schemas.normalised import to_yaml
from schemas.parsing import ParseResult, parse_character_text
from schemas.yaml_io import dump_yaml
from tests.characters.prompt_text import system_prompt

WORDS = ("amber", "Kestrel", "río", "Zürich", "tea time", "l'été", "north pier", "Ōsaka",
         "fig", "Grandmother Wu")

# Field path → what the model holds there: "text", "list" (of text; weighted lists and goals
# take text items too), "mapping" (of anything), "section" (a mapping of fields: only the
# text a few sections take is native).
FIELDS: dict[str, str] = {
    "description": "text", "backstory": "text", "tags": "list", "preferred_topics": "list",
    "development": "mapping", "initial_goals": "list",
    "demographics.gender": "text", "demographics.occupation": "text",
    "demographics.education": "text", "demographics.background": "text",
    "demographics.location": "text", "demographics.interests": "list",
    "personality.quirks": "list", "personality.strengths": "list",
    "personality.weaknesses": "list", "personality.behavioral_traits": "list",
    "personality.core_values": "list",
    "specialty.domain": "text", "specialty.subdomain_knowledge": "list",
    "specialty.certifications": "list", "specialty.notable_achievements": "list",
    "communication_style.verbal_pattern": "text", "communication_style.social_comfort": "text",
    "communication_style.body_language": "text", "communication_style.formality_level": "text",
    "communication_style.humor_style": "text", "communication_style.conversation_style": "text",
    "communication_style.quirks": "list", "mood_baseline.typical_moods": "list",
}
SECTIONS = ("demographics", "personality", "specialty", "communication_style")
MOOD_NAMES = sorted({*MOOD_LABELS, *(w for ws in MOOD_WORDS.values() for w in ws)} - {"neutral"})


@dataclass
class Generated:
    raw: dict[str, Any]
    shapes: dict[str, Any]  # source path → the value written there
    triggers: list[tuple[str, str]]  # (word, mood) written as mood triggers


class _Labels:
    """Makes every leaf and key unique (``fig-12x``) so each can be found in the prompt."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, word: str) -> str:
        self.count += 1
        return f"{word}-{self.count}x"

    def relabel(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {self(k): self.relabel(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.relabel(v) for v in value]
        return self(value)


leaf = st.sampled_from(WORDS)
flat_list = st.lists(leaf, min_size=1, max_size=4)
flat_mapping = st.dictionaries(leaf, leaf, min_size=1, max_size=3)
nested = st.recursive(
    flat_list | flat_mapping,
    lambda inner: st.lists(inner | leaf, min_size=1, max_size=3)
    | st.dictionaries(leaf, inner | leaf, min_size=1, max_size=3),
    max_leaves=10,
)
any_value = st.one_of(leaf, flat_list, flat_mapping, nested)
not_a_mapping = st.one_of(leaf, flat_list, st.lists(nested | leaf, min_size=1, max_size=3))


def texts_in(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from texts_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from texts_in(item)
    else:
        yield value


def is_native(kind: str, path: str, value: Any) -> bool:
    if kind == "text":
        return isinstance(value, str)
    if kind == "list":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    if kind == "mapping":
        return isinstance(value, dict)
    return path == "personality" and isinstance(value, str)  # a section as text


@st.composite
def character_files(draw: st.DrawFn) -> Generated:
    labels = _Labels()
    raw: dict[str, Any] = {"name": labels("Name"), "archetype": "generated"}
    shapes: dict[str, Any] = {}
    whole = draw(st.sets(st.sampled_from(SECTIONS), max_size=2))
    for section in whole:
        shapes[section] = raw[section] = labels.relabel(draw(not_a_mapping))
    for path in draw(st.sets(st.sampled_from(sorted(FIELDS)), min_size=1)):
        head, _, tail = path.partition(".")
        if head in whole:
            continue
        value = labels.relabel(draw(any_value))
        if tail:
            raw.setdefault(head, {})[tail] = value
        else:
            raw[head] = value
        shapes[path] = value
    for _ in range(draw(st.integers(0, 2))):
        shapes[f"skills.{labels('group')}"] = value = labels.relabel(draw(any_value))
        raw.setdefault("skills", {})[list(shapes)[-1].split(".", 1)[1]] = value
    triggers = [(labels(draw(leaf)), draw(st.sampled_from(MOOD_NAMES)))
                for _ in range(draw(st.integers(0, 3)))]
    if triggers and "mood_baseline" not in whole:
        form = draw(st.sampled_from(("by_mood", "items", "text", "arrows")))
        written: Any
        if form == "by_mood":
            written = {}
            for word, mood in triggers:
                written.setdefault(mood, []).append(word)
            triggers = [(w, m) for m, ws in written.items() for w in ws]
        elif form == "items":
            written = [{"trigger": w, "mood": m} for w, m in triggers]
        elif form == "text":
            written = "; ".join(f"{w}: {m}" for w, m in triggers)
        else:
            written = [f"{w} → {m}" for w, m in triggers]
        raw.setdefault("mood_baseline", {})["mood_triggers"] = written
    else:
        triggers = []
    dialect = draw(st.sampled_from(("a", "b", "plain")))
    if dialect == "a":
        raw["created_date"] = "2025-01-01"
    elif dialect == "b":
        raw["character_id"] = "char_gen"
    return Generated(raw, shapes, triggers)


def parsed(text: str) -> ParseResult:
    return parse_character_text(text, "gen", "gen.yaml")


def loaded(example: Generated) -> Character:
    result = parsed(dump_yaml(example.raw))
    assert result.character is not None, [p.render() for p in result.problems]
    return result.character


def kind_of(path: str) -> str:
    if path.startswith("skills."):
        return "list"
    return FIELDS.get(path, "section")


_EXAMPLES = settings(max_examples=150, deadline=None,
                     suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@_EXAMPLES
@given(character_files())
def test_a_file_in_any_shape_loads(example: Generated) -> None:
    assert loaded(example).name == example.raw["name"]


@_EXAMPLES
@given(character_files())
def test_every_text_a_file_holds_reaches_the_prompt(example: Generated) -> None:
    prompt = system_prompt(loaded(example))
    for path, value in example.shapes.items():
        for text in texts_in(value):
            assert text in prompt, f"{path}: {text!r} is not in the prompt"
    for word, _ in example.triggers:
        assert f'"{word}"' in prompt


@_EXAMPLES
@given(character_files())
def test_a_warning_names_a_field_exactly_when_it_was_coerced(example: Generated) -> None:
    result = parsed(dump_yaml(example.raw))
    warned = [p.field_path for p in result.warnings]
    assert {p.code for p in result.warnings} <= {"coerced"}, [p.render() for p in result.warnings]
    for path, value in example.shapes.items():
        named = [w for w in warned if w == path or w.startswith(path + ".")]
        if is_native(kind_of(path), path, value):
            assert not named, f"{path} was in the model's shape, yet warned: {named}"
        else:
            assert named, f"{path} was coerced without a warning"
    for warning in warned:
        assert any(warning == p or warning.startswith(p + ".") for p in example.shapes), warning


@_EXAMPLES
@given(character_files())
def test_mood_triggers_in_any_form_keep_their_words_and_moods(example: Generated) -> None:
    triggers = loaded(example).mood_baseline.triggers
    assert [(t.trigger, t.mood) for t in triggers] == example.triggers


@_EXAMPLES
@given(character_files())
def test_the_normalised_form_loads_back_equal_and_without_warnings(example: Generated) -> None:
    character = loaded(example)
    again = parsed(to_yaml(character))
    assert again.warnings == []
    assert again.character == character
