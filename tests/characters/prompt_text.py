"""The system prompt a character gets, for the character tests (no engine, no I/O)."""

from __future__ import annotations

from schemas.model import Character
from worker.engine.mood import derive_mood
from worker.engine.prompt import PromptInput, build_prompt
from worker.engine.relationship import Relationship
from worker.engine.vitals import Vitals


def system_prompt(character: Character) -> str:
    """The pinned system message of a first turn with ``character``, budget unbounded."""
    levels = Vitals.from_mapping(character.neurochemistry.baseline.as_dict())
    built = build_prompt(PromptInput(
        character=character, vitals=levels, mood=derive_mood(levels, levels),
        relationship=Relationship(user="sam"), memories=[], history=[],
        user_message="Hello", user_name="sam", token_budget=1_000_000, now=0.0,
    ))
    return built.messages[0].content
