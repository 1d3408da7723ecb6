"""Both seed dialects and the normalised form load, unedited, into the same model."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from schemas.dialects import SETPOINT_SWING, baseline_from_setpoint
from tests.characters.conftest import WriteCharacter, load

DIALECT_A = """\
    name: Ada Lovelace
    archetype: analytical_genius
    description: Analyst and metaphysician.
    version: 1.0
    created_date: 2025-01-01
    tags: [historical, mathematician]
    demographics: {age: 28, background: London society, location: London, education: tutors,
                   interests: [engines, music]}
    personality:
      big_five: {openness: 0.95, conscientiousness: 0.85, extraversion: 0.65,
                 agreeableness: 0.70, neuroticism: 0.45}
      behavioral_traits: [analytical, visionary]
      core_values: [intellectual pursuit, truth]
      quirks: [writes long notes]
      strengths: [abstraction]
      weaknesses: [impatience]
    specialty: {domain: mathematics, expertise_level: 0.95, experience_years: 15,
                subdomain_knowledge: [calculus], certifications: [], notable_achievements: [Notes]}
    skills: {intelligence: {analytical: 0.9, creative: 0.8, practical: 0.6, social: 0.5},
             emotional_intelligence: 0.6}
    communication_style: {verbal_pattern: elaborate, social_comfort: confident,
                          listening_preference: 0.5, body_language: animated,
                          quirks: [draws machines], formality_level: formal, humor_style: arch}
    mood_baseline: {current_state: curious, intensity: 0.6, baseline_setpoint: 0.6,
                    emotional_volatility: 0.4, typical_moods: [curious, restless]}
    neurochemical_baseline: {dopamine: 75, serotonin: 70, oxytocin: 60,
                             endorphins: 55, cortisol: 25, adrenaline: 45}
    initial_goals: [Explain the Engine, Be remembered]
    backstory: Born in 1815.
    development: {arc_stage: ascent, growth_areas: [patience]}
"""

DIALECT_B = """\
    character_id: "char_001_rio"
    name: "Rio Vance"
    archetype: "playful"
    demographics: {age: 29, gender: male, occupation: juggler, education: none, background: circus}
    personality:
      big_five: {openness: 0.9, conscientiousness: 0.4, extraversion: 0.9,
                 agreeableness: 0.8, neuroticism: 0.3}
      behavioral_traits: [{trait: spontaneous, intensity: 0.8}, {trait: loud, intensity: 0.6}]
      core_values: [{value: joy, priority: 10}, {value: freedom, priority: 7}]
    specialty: {domain: juggling, expertise_level: 0.7, subdomain_knowledge: [clubs, knives]}
    skills: {social: {humor: 0.9}}
    communication_style: {verbal_pattern: verbose, social_comfort: assertive,
                          listening_preference: 0.4, body_language: expressive,
                          quirks: ["Uses lots of emojis"]}
    mood_baseline: {default_state: happy, emotional_volatility: 0.4, baseline_setpoint: 0.7}
    neurochemical_profile:
      baseline_sensitivities: {dopamine: 1.3, serotonin: 1.1, oxytocin: 1.4,
                               endorphins: 1.2, cortisol: 0.7, adrenaline: 0.9}
      gender_modifiers: {applies: yes, modifier_set: male, notes: standard}
    initial_goals:
      - {goal_id: goal_rio_1, goal_type: short_term, description: Make them laugh, priority: 9}
      - {goal_id: goal_rio_2, goal_type: hidden, description: Find his brother, priority: 7}
"""


def test_dialect_a_with_yaml_date_loads(write_character: WriteCharacter,
                                        characters_dir: Path) -> None:
    write_character("ada", DIALECT_A)
    loaded = load("ada", characters_dir)
    character = loaded.character
    assert character.dialect == "a"
    assert character.created_date == dt.date(2025, 1, 1)
    assert character.version == "1.0"
    assert loaded.warnings == []


def test_dialect_a_absolute_levels_become_the_baseline(write_character: WriteCharacter,
                                                       characters_dir: Path) -> None:
    write_character("ada", DIALECT_A)
    chemistry = load("ada", characters_dir).character.neurochemistry
    assert chemistry.baseline.as_dict() == {
        "dopamine": 75, "serotonin": 70, "oxytocin": 60,
        "endorphins": 55, "cortisol": 25, "adrenaline": 45,
    }
    assert chemistry.sensitivities.as_dict() == dict.fromkeys(chemistry.baseline.as_dict(), 1.0)


def test_dialect_a_plain_lists_become_weighted_items_with_defaults(
    write_character: WriteCharacter, characters_dir: Path
) -> None:
    write_character("ada", DIALECT_A)
    character = load("ada", characters_dir).character
    assert [(t.trait, t.intensity) for t in character.personality.behavioral_traits] == [
        ("analytical", 0.5), ("visionary", 0.5)]
    assert [(v.value, v.priority) for v in character.personality.core_values] == [
        ("intellectual pursuit", 5), ("truth", 5)]
    assert [(g.description, g.goal_type) for g in character.goals] == [
        ("Explain the Engine", "short_term"), ("Be remembered", "short_term")]


def test_dialect_a_current_state_is_the_default_mood(write_character: WriteCharacter,
                                                     characters_dir: Path) -> None:
    write_character("ada", DIALECT_A)
    assert load("ada", characters_dir).character.mood_baseline.default_state == "curious"


def test_a_skill_given_as_one_number_becomes_an_overall_entry(
    write_character: WriteCharacter, characters_dir: Path
) -> None:
    write_character("ada", DIALECT_A)
    skills = load("ada", characters_dir).character.skills
    assert skills["emotional_intelligence"] == {"overall": 0.6}
    assert skills["intelligence"]["analytical"] == 0.9


def test_dialect_b_sensitivities_reach_the_model(write_character: WriteCharacter,
                                                 characters_dir: Path) -> None:
    write_character("rio", DIALECT_B)
    character = load("rio", characters_dir).character
    assert character.dialect == "b"
    assert character.neurochemistry.sensitivities.as_dict() == {
        "dopamine": 1.3, "serotonin": 1.1, "oxytocin": 1.4,
        "endorphins": 1.2, "cortisol": 0.7, "adrenaline": 0.9,
    }


def test_dialect_b_goals_reach_the_model_with_type_and_priority(
    write_character: WriteCharacter, characters_dir: Path
) -> None:
    write_character("rio", DIALECT_B)
    goals = load("rio", characters_dir).character.goals
    assert [(g.goal_id, g.goal_type, g.description, g.priority) for g in goals] == [
        ("goal_rio_1", "short_term", "Make them laugh", 9),
        ("goal_rio_2", "hidden", "Find his brother", 7),
    ]


def test_dialect_b_baseline_is_neutral_shifted_by_the_setpoint(
    write_character: WriteCharacter, characters_dir: Path
) -> None:
    write_character("rio", DIALECT_B)
    baseline = load("rio", characters_dir).character.neurochemistry.baseline
    shift = SETPOINT_SWING * 0.7
    assert baseline.dopamine == pytest.approx(50 + shift)
    assert baseline.oxytocin == pytest.approx(50 + shift)
    assert baseline.cortisol == pytest.approx(50 - shift)
    assert baseline.adrenaline == pytest.approx(50 - shift)


def test_negative_setpoint_lowers_reward_levels_and_raises_stress_levels() -> None:
    baseline = baseline_from_setpoint(-0.5)
    assert baseline["serotonin"] < 50 < baseline["cortisol"]


def test_dialect_b_weighted_traits_values_and_character_id_survive(
    write_character: WriteCharacter, characters_dir: Path
) -> None:
    write_character("rio", DIALECT_B)
    character = load("rio", characters_dir).character
    assert character.id == "rio"
    assert character.source_id == "char_001_rio"
    assert [(t.trait, t.intensity) for t in character.personality.behavioral_traits] == [
        ("spontaneous", 0.8), ("loud", 0.6)]
    assert [(v.value, v.priority) for v in character.personality.core_values] == [
        ("joy", 10), ("freedom", 7)]


def test_dialect_b_gender_modifiers_are_kept_with_a_boolean_applies(
    write_character: WriteCharacter, characters_dir: Path
) -> None:
    write_character("rio", DIALECT_B)
    modifiers = load("rio", characters_dir).character.neurochemistry.gender_modifiers
    assert modifiers == {"applies": True, "modifier_set": "male", "notes": "standard"}


def test_single_key_mappings_are_read_as_weighted_items(write_character: WriteCharacter,
                                                        characters_dir: Path) -> None:
    write_character("mix", """\
        name: Mix
        archetype: test
        personality:
          behavioral_traits: [calm, {bold: 0.9}]
          core_values: [{kindness: 8}, honesty]
    """)
    personality = load("mix", characters_dir).character.personality
    assert [(t.trait, t.intensity) for t in personality.behavioral_traits] == [
        ("calm", 0.5), ("bold", 0.9)]
    assert [(v.value, v.priority) for v in personality.core_values] == [
        ("kindness", 8), ("honesty", 5)]


def test_goal_types_are_normalised_from_common_spellings(write_character: WriteCharacter,
                                                          characters_dir: Path) -> None:
    write_character("g", """\
        name: G
        archetype: test
        initial_goals:
          - {goal_type: Long-Term, description: one}
          - {goal_type: HIDDEN, description: two}
    """)
    goals = load("g", characters_dir).character.goals
    assert [g.goal_type for g in goals] == ["long_term", "hidden"]


def test_normalised_form_loads_with_its_own_field_names(write_character: WriteCharacter,
                                                         characters_dir: Path) -> None:
    write_character("norm", """\
        name: Norm
        archetype: test
        neurochemistry:
          baseline: {dopamine: 10}
          sensitivities: {cortisol: 2.5}
        goals: [{goal_type: hidden, description: secret, priority: 3}]
        roleplay: {first_message: "Hello {{user}}"}
        llm: {temperature: 0.3}
    """)
    character = load("norm", characters_dir).character
    assert character.dialect == "greenroom"
    assert character.neurochemistry.baseline.dopamine == 10
    assert character.neurochemistry.sensitivities.cortisol == 2.5
    assert character.goals[0].goal_type == "hidden"
    assert character.roleplay.first_message == "Hello {{user}}"
    assert character.llm.temperature == 0.3


def test_free_text_personality_becomes_the_summary(write_character: WriteCharacter,
                                                   characters_dir: Path) -> None:
    write_character("t", "name: T\narchetype: test\npersonality: cheerful and kind\n")
    assert load("t", characters_dir).character.personality.summary == "cheerful and kind"


def test_only_name_and_archetype_are_required(write_character: WriteCharacter,
                                              characters_dir: Path) -> None:
    write_character("min", "name: Min\narchetype: minimal\n")
    character = load("min", characters_dir).character
    assert (character.name, character.archetype, character.goals) == ("Min", "minimal", [])
