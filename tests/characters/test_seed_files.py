"""Character files written for the seed's system load as their authors wrote them.

The files in ``seed_files/`` use the shapes the seed's authors use (skill groups as lists,
education as a list, goals grouped by type, mood triggers in every form, author metadata):
each loads, what it says reaches the prompt, and a warning names a field only when
greenroom had to coerce it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.loader import LoadedCharacter, load_character
from tests.characters.conftest import WriteCharacter, problems_of
from tests.characters.prompt_text import system_prompt

SEED_FILES = Path(__file__).parent / "seed_files"
SEED_IDS = sorted(p.stem for p in SEED_FILES.glob("*.yaml"))


def seed(character_id: str) -> LoadedCharacter:
    return load_character(character_id, SEED_FILES)


def coerced_fields(loaded: LoadedCharacter) -> list[str]:
    return [w.field_path for w in loaded.warnings if w.code == "coerced"]


@pytest.mark.parametrize("character_id", SEED_IDS)
def test_every_seed_file_loads(character_id: str) -> None:
    assert seed(character_id).character.name


@pytest.mark.parametrize("character_id", SEED_IDS)
def test_seed_files_say_which_dialect_they_are(character_id: str) -> None:
    first = (SEED_FILES / f"{character_id}.yaml").read_text(encoding="utf-8").splitlines()[0]
    dialect = seed(character_id).character.dialect
    assert f"dialect {dialect.upper()}" in first


def test_skill_groups_written_as_lists_are_skills_without_a_warning() -> None:
    loaded = seed("priya-data-scientist")
    skills = loaded.character.skills
    assert skills["technical_skills"] == ["Python", "R", "SQL", "Stan", "data visualisation"]
    assert skills["soft_skills"] == ["mentoring", "public speaking", "active listening"]
    assert skills["intelligence"] == {"analytical": 0.92, "creative": 0.7, "practical": 0.8,
                                      "social": 0.65}
    assert not any(path.startswith("skills") for path in coerced_fields(loaded))
    assert "Skills in technical skills: Python, R, SQL, Stan, data visualisation." in (
        system_prompt(loaded.character))


def test_education_written_as_a_list_becomes_text_with_a_warning_naming_it() -> None:
    loaded = seed("priya-data-scientist")
    assert loaded.character.demographics.education == (
        "BSc Mathematics, University of Madras; MSc Statistics, Indian Statistical Institute")
    [warning] = [w for w in loaded.warnings if w.field_path == "demographics.education"]
    assert warning.code == "coerced"
    assert warning.message.startswith("expected text, found a list of 2 items")
    assert coerced_fields(loaded) == ["demographics.education"]


def test_a_list_of_mappings_reads_as_one_entry_per_item() -> None:
    education = seed("marcus-er-nurse").character.demographics.education
    assert education == ("degree: BSN, institution: University of Michigan, year: 2006; "
                         "degree: Trauma Nursing Core Course, institution: ENA, year: 2012")


def test_conversation_style_and_preferred_topics_reach_the_prompt() -> None:
    loaded = seed("priya-data-scientist")
    text = system_prompt(loaded.character)
    assert ("How you run a conversation: Socratic; asks what you already believe before "
            "correcting it") in text
    assert "cricket; vaccination data; why averages lie; South Indian food" in text


def test_preferred_topics_inside_communication_style_are_the_characters_topics() -> None:
    loaded = seed("marcus-er-nurse")
    assert loaded.character.preferred_topics == [
        "basketball", "his daughter's science fair", "shift-work sleep hacks"]
    assert not [w for w in loaded.warnings if "preferred_topics" in w.field_path]


def test_research_metadata_is_kept_as_author_metadata_without_a_warning() -> None:
    loaded = seed("marcus-er-nurse")
    metadata = loaded.character.author_metadata["research_metadata"]
    assert metadata["reviewer"] == "clinical advisor"
    assert not [w for w in loaded.warnings if w.field_path.startswith("research_metadata")]
    assert "clinical advisor" not in system_prompt(loaded.character)
    assert "research_metadata" not in loaded.character.extensions


def test_research_metadata_written_as_text_is_kept_too() -> None:
    assert seed("ray-detective").character.author_metadata == {
        "research_metadata": "Based on conversations with two retired detectives, 2024."}


def test_mood_triggers_as_mood_to_words_become_one_trigger_per_word() -> None:
    triggers = seed("marcus-er-nurse").character.mood_baseline.triggers
    assert [(t.trigger, t.mood) for t in triggers] == [
        ("code blue", "stressed"), ("short-staffed", "stressed"), ("paperwork", "stressed"),
        ("thank you", "happy"), ("discharged", "happy"), ("basketball", "happy")]


def test_mood_triggers_as_items_keep_their_intensity() -> None:
    triggers = seed("lucia-pastry-chef").character.mood_baseline.triggers
    assert [(t.trigger, t.mood, t.strength) for t in triggers] == [
        ("soggy", "irritated", 0.8), ("burnt", "irritated", 0.6),
        ("grandmother", "content", 0.5)]


def test_mood_triggers_as_text_and_as_arrows_are_read() -> None:
    ines = seed("ines-teacher").character.mood_baseline.triggers
    assert [(t.trigger, t.mood) for t in ines] == [
        ("grading", "tired"), ("recess", "happy"), ("bullying", "irritated")]
    ray = seed("ray-detective").character.mood_baseline.triggers
    assert [(t.trigger, t.mood) for t in ray] == [
        ("lies", "irritated"), ("missing child", "anxious"), ("Arsenal won", "happy")]


def test_triggered_by_without_a_mood_pushes_the_usual_state() -> None:
    triggers = seed("priya-data-scientist").character.mood_baseline.triggers
    assert [(t.trigger, t.mood) for t in triggers] == [
        ("a messy dataset", "curious"), ("an unexpected correlation", "curious")]


def test_triggered_by_as_a_mapping_names_its_moods() -> None:
    triggers = seed("bo-gardener").character.mood_baseline.triggers
    assert [(t.trigger, t.mood) for t in triggers] == [
        ("seedlings", "content"), ("rain", "content"), ("frost", "sad"),
        ("weedkiller", "sad")]


def test_mood_triggers_reach_the_prompt() -> None:
    text = system_prompt(seed("tomasz-jazz-pianist").character)
    assert ('What moves your mood: "rain", "his late wife" → sad; "a good piano", "Chopin" '
            "→ happy.") in text


def test_goals_grouped_by_type_keep_their_type() -> None:
    loaded = seed("ines-teacher")
    assert [(g.goal_type, g.description) for g in loaded.character.goals] == [
        ("short_term", "Get the user to read one poem aloud"),
        ("long_term", "Retire to the Douro valley and write children's books"),
        ("hidden", "Find out what happened to a pupil who vanished in 1998")]
    assert not [w for w in loaded.warnings if w.field_path.startswith("initial_goals")]


def test_a_goal_written_with_another_key_takes_its_text_as_the_description() -> None:
    loaded = seed("ray-detective")
    assert [g.description for g in loaded.character.goals] == [
        "Find out what the user is not telling him", "Pay off the office lease"]
    assert [w.field_path for w in loaded.warnings if w.field_path.startswith("initial_goals")
            ] == ["initial_goals.0", "initial_goals.1"]



def test_a_goal_under_a_key_of_its_own_keeps_the_key(write_character: WriteCharacter,
                                                     characters_dir: Path) -> None:
    """``{family: call mum}`` is not a ``{goal: …}``: the key is part of what it says (found
    by the generated corpus: the key never reached the prompt)."""
    write_character("g", "name: G\narchetype: g\ninitial_goals: [{family: call mum}]\n")
    loaded = load_character("g", characters_dir)
    assert [g.description for g in loaded.character.goals] == ["family: call mum"]

def test_traits_and_values_written_as_weight_mappings_are_weighted_items() -> None:
    personality = seed("ines-teacher").character.personality
    assert [(t.trait, t.intensity) for t in personality.behavioral_traits] == [
        ("patient", 0.95), ("playful", 0.6), ("stubborn", 0.4)]
    assert [(v.value, v.priority) for v in personality.core_values] == [
        ("curiosity", 9), ("kindness", 10), ("fairness", 8)]


def test_skill_levels_in_words_become_a_list_with_a_warning() -> None:
    loaded = seed("lucia-pastry-chef")
    assert loaded.character.skills["culinary"] == [
        "lamination: expert", "sugar work: advanced", "plating: 0.9"]
    assert "skills.culinary" in coerced_fields(loaded)


def test_nested_skill_levels_are_flattened() -> None:
    skills = seed("asha-astronaut").character.skills
    assert skills["technical_skills"] == {"piloting": 0.8, "robotics (canadarm)": 0.95,
                                          "robotics (dextre)": 0.85}


def test_a_section_written_as_text_goes_to_its_text_field() -> None:
    loaded = seed("asha-astronaut")
    assert loaded.character.specialty.domain == "robotic arms and spacewalk planning"
    assert "specialty" in coerced_fields(loaded)


def test_sections_written_as_mappings_read_as_key_value_text() -> None:
    loaded = seed("lucia-pastry-chef")
    assert loaded.character.backstory == (
        "childhood: Grew up in her grandmother's bakery in Girona; career: Trained in Paris, "
        "came home to open Forn Ferrer in 2015; turning point: Lost a Michelin pastry "
        "competition by one point")


def test_a_list_of_sentences_reads_as_a_paragraph() -> None:
    assert seed("tomasz-jazz-pianist").character.description == (
        "Jazz pianist in Kraków's cellar clubs. Plays standards slower than anyone else dares.")


def test_a_file_in_the_expected_shapes_gets_no_coercion_warning() -> None:
    assert seed("marcus-er-nurse").warnings == [w for w in seed("marcus-er-nurse").warnings
                                                 if w.field_path == "demographics.education"]
    assert coerced_fields(seed("ines-teacher")) == ["mood_baseline.typical_moods"]


def test_numbers_are_still_range_checked(write_character: WriteCharacter,
                                         characters_dir: Path) -> None:
    write_character("x", """\
        name: X
        archetype: t
        skills: {technical_skills: [Python], intelligence: {analytical: 9}}
        mood_baseline: {mood_triggers: [{trigger: rain, mood: sad, intensity: 3}]}
    """)
    errors = [p for p in problems_of("x", characters_dir) if p.is_error]
    assert [(p.field_path, p.message) for p in errors] == [
        ("skills.intelligence.analytical", "expected a number from 0 to 1, found 9"),
        ("mood_baseline.mood_triggers.0.strength", "expected a number from 0 to 1, found 3"),
    ]


def test_a_file_without_a_name_is_refused_naming_the_field(write_character: WriteCharacter,
                                                           characters_dir: Path) -> None:
    path = write_character("x", "archetype: t\ndemographics: {education: [a, b]}\n")
    [error] = [p for p in problems_of("x", characters_dir) if p.is_error]
    assert error.render() == (
        f"{path}: name: expected non-empty text, found nothing (this field is required)")


def test_a_file_that_is_a_list_is_refused_saying_what_it_found(
        write_character: WriteCharacter, characters_dir: Path) -> None:
    path = write_character("x", "- name: X\n- archetype: t\n")
    [error] = problems_of("x", characters_dir)
    assert error.render() == (
        f"{path}: expected a mapping of fields (name: …, archetype: …), found a list of 2 items")


def test_preferred_topics_given_in_both_places_are_joined(write_character: WriteCharacter,
                                                          characters_dir: Path) -> None:
    write_character("x", """\
        name: X
        archetype: t
        preferred_topics: [tides]
        communication_style: {preferred_topics: [knots, gulls]}
    """)
    assert load_character("x", characters_dir).character.preferred_topics == [
        "tides", "knots", "gulls"]


def test_author_metadata_in_the_normalised_form_is_merged_with_metadata_keys(
        write_character: WriteCharacter, characters_dir: Path) -> None:
    write_character("x", """\
        name: X
        archetype: t
        author_metadata: {author: Ann}
        generation_metadata: {model: seed v2}
    """)
    loaded = load_character("x", characters_dir)
    assert loaded.character.author_metadata == {"author": "Ann",
                                                "generation_metadata": {"model": "seed v2"}}
    assert loaded.warnings == []
