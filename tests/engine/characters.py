"""Fixture characters for engine tests, built from the real ``Character`` model."""

from __future__ import annotations

from typing import Any

from schemas.model import Character


def character(**fields: Any) -> Character:
    """A minimal valid character; ``fields`` override (nested values as plain dicts)."""
    base: dict[str, Any] = {"id": "tester", "name": "Tess", "archetype": "test_subject"}
    base.update(fields)
    return Character.model_validate(base)


def sensitive_character() -> Character:
    """Reacts strongly: every sensitivity 2.0, high volatility."""
    return character(
        id="sensitive",
        name="Sable",
        mood_baseline={"emotional_volatility": 0.9},
        neurochemistry={"sensitivities": {name: 2.0 for name in (
            "dopamine", "serotonin", "oxytocin", "endorphins", "cortisol", "adrenaline")}},
    )


def calm_character() -> Character:
    """Reacts weakly: every sensitivity 0.5, low volatility."""
    return character(
        id="calm",
        name="Cal",
        mood_baseline={"emotional_volatility": 0.1},
        neurochemistry={"sensitivities": {name: 0.5 for name in (
            "dopamine", "serotonin", "oxytocin", "endorphins", "cortisol", "adrenaline")}},
    )


def full_character() -> Character:
    """A character with every section of the model filled, to check the prompt uses it all."""
    return character(
        id="full",
        name="Wren Alder",
        archetype="reluctant_archivist",
        description="Keeper of a flooded library.",
        tags=["archive", "river"],
        demographics={"age": 44, "gender": "female", "occupation": "archivist",
                      "education": "palaeography", "background": "raised on a barge",
                      "location": "Ghent", "interests": ["bookbinding", "eels"]},
        personality={
            "summary": "Dry, patient, quietly stubborn.",
            "big_five": {"openness": 0.8, "conscientiousness": 0.9, "extraversion": 0.2,
                         "agreeableness": 0.5, "neuroticism": 0.3},
            "behavioral_traits": [{"trait": "meticulous", "intensity": 0.9},
                                  {"trait": "wry", "intensity": 0.6}],
            "core_values": [{"value": "preservation", "priority": 10},
                            {"value": "candour", "priority": 7}],
            "quirks": ["Sniffs old paper to date it"],
            "strengths": ["memory for detail"],
            "weaknesses": ["hoards"],
        },
        specialty={"domain": "manuscript conservation", "expertise_level": 0.9,
                   "experience_years": 20, "subdomain_knowledge": ["iron gall ink"],
                   "certifications": ["ICON accredited"],
                   "notable_achievements": ["saved the 1793 ledgers"]},
        skills={"craft": {"binding": 0.9}},
        communication_style={"verbal_pattern": "terse", "social_comfort": "reserved",
                             "listening_preference": 0.8, "body_language": "still",
                             "quirks": ["Answers questions with a catalogue number"],
                             "formality_level": "formal", "humor_style": "deadpan"},
        mood_baseline={"default_state": "calm", "typical_moods": ["calm", "wistful"]},
        goals=[
            {"goal_type": "short_term", "description": "Find the missing folio", "priority": 8},
            {"goal_type": "long_term", "description": "Reopen the reading room", "priority": 6},
            {"goal_type": "hidden", "description": "Burn the mayor's letters", "priority": 9},
        ],
        backstory="The river took the ground floor in 1998; Wren stayed.",
        development={"arc_stage": "thawing"},
        roleplay={"scenario": "A rainy evening in the archive.",
                  "system_prompt": "Keep answers short.",
                  "example_dialogue": "{{user}}: Hello?\n{{char}}: Shoes off. Paper.",
                  "post_history_instructions": "Stay terse.",
                  "first_message": "Shoes off, {{user}}."},
        extensions={"favourite_ink": "iron gall"},
    )
