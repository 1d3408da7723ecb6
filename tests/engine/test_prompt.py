
import pytest

from tests.engine.characters import character, full_character
from tests.support.paths import BUNDLED_CHARACTERS
from worker.backends.base import ChatMessage
from worker.characters.loader import available_ids, load_character
from worker.characters.model import Character
from worker.engine.goals import Goals
from worker.engine.mood import Mood, derive_mood
from worker.engine.prompt import PromptInput, build_prompt, estimate_tokens
from worker.engine.relationship import Relationship
from worker.engine.vitals import Vitals


def prompt_for(c: Character, *, history: list[tuple[str, str]] | None = None,
               budget: int = 100_000, memories: list[str] | None = None,
               vitals: Vitals | None = None, mood: Mood | None = None) -> list[ChatMessage]:
    levels = vitals or Vitals.from_mapping(c.neurochemistry.baseline.as_dict())
    return build_prompt(PromptInput(
        character=c, vitals=levels, mood=mood or derive_mood(levels),
        relationship=Relationship(user="sam"), memories=memories or [],
        history=history or [], user_message="What are you working on?", user_name="sam",
        token_budget=budget,
    ))


def system_text(messages: list[ChatMessage]) -> str:
    assert messages[0].role == "system"
    return messages[0].content


def test_prompt_contains_every_section_of_the_character_file() -> None:
    text = system_text(prompt_for(full_character()))
    for expected in (
        "Wren Alder", "reluctant archivist", "Keeper of a flooded library", "archive, river",
        "age 44", "archivist", "palaeography", "raised on a barge", "Ghent", "bookbinding",
        "Dry, patient, quietly stubborn", "openness 0.80", "meticulous (0.90)",
        "preservation (priority 10/10)", "Sniffs old paper to date it", "memory for detail",
        "hoards", "manuscript conservation", "20 years", "iron gall ink", "ICON accredited",
        "saved the 1793 ledgers", "binding 0.90", "terse", "reserved", "still", "formal",
        "deadpan", "Answers questions with a catalogue number", "wistful",
        "Find the missing folio", "Reopen the reading room", "Burn the mayor's letters",
        "The river took the ground floor", "thawing", "A rainy evening in the archive",
        "Keep answers short.", "Shoes off. Paper.", "favourite_ink: iron gall",
        "Shoes off, sam.",
    ):
        assert expected in text, expected


def test_hidden_goals_are_marked_never_to_be_revealed() -> None:
    text = system_text(prompt_for(full_character()))
    secret_line = next(line for line in text.splitlines() if "Burn the mayor's letters" in line)
    assert "never reveal" in secret_line
    assert "SECRET" in secret_line


def test_hidden_goals_are_not_among_public_goals() -> None:
    public = [g["description"] for g in Goals.of(full_character()).public()]
    assert public == ["Find the missing folio", "Reopen the reading room"]


def test_placeholders_are_replaced_with_names() -> None:
    messages = prompt_for(full_character())
    assert all("{{char}}" not in m.content and "{{user}}" not in m.content for m in messages)
    assert "sam: Hello?\nWren Alder: Shoes off. Paper." in system_text(messages)


def test_post_history_instructions_come_last_after_the_user_message() -> None:
    messages = prompt_for(full_character())
    assert messages[-2] == ChatMessage("user", "What are you working on?")
    assert messages[-1] == ChatMessage("system", "Stay terse.")


def test_mood_and_notable_vitals_are_in_words() -> None:
    levels = Vitals(cortisol=90.0, adrenaline=85.0, serotonin=20.0)
    text = system_text(prompt_for(character(), vitals=levels, mood=derive_mood(levels)))
    assert f"Mood: {derive_mood(levels).label}" in text
    assert "cortisol 90/100: stressed and on edge" in text
    assert "serotonin 20/100: low and discouraged" in text


def test_memories_and_relationship_reach_the_prompt() -> None:
    text = system_text(prompt_for(character(), memories=["sam's dog is called Biscuit."]))
    assert "- sam's dog is called Biscuit." in text
    assert "You have not talked with sam before" in text


def test_history_keeps_newest_exchanges_within_budget() -> None:
    history = [(f"question number {i} " + "x" * 200, f"answer number {i} " + "y" * 200)
               for i in range(40)]
    unlimited = prompt_for(character(), history=history)
    assert len(unlimited) == 2 + 2 * 40
    pinned = sum(estimate_tokens(m.content) for m in (unlimited[0], unlimited[-1]))
    pair = estimate_tokens(history[0][0]) + estimate_tokens(history[0][1])
    budget = pinned + 5 * pair + pair // 2
    messages = prompt_for(character(), history=history, budget=budget)
    kept = [m.content for m in messages[1:-1]]
    assert len(kept) == 10
    assert kept[0].startswith("question number 35 ")
    assert kept[-1].startswith("answer number 39 ")
    assert sum(estimate_tokens(m.content) for m in messages) <= budget


def test_system_part_is_pinned_even_when_over_budget() -> None:
    messages = prompt_for(full_character(), history=[("hi", "hello")], budget=10)
    assert [m.role for m in messages] == ["system", "user", "system"]
    assert "Wren Alder" in messages[0].content


BUNDLED = available_ids(BUNDLED_CHARACTERS)


def test_bundled_characters_exist() -> None:
    assert len(BUNDLED) >= 3


@pytest.mark.parametrize("character_id", BUNDLED)
def test_bundled_character_prompt_has_backstory_quirks_goals_and_mood(character_id: str) -> None:
    c = load_character(character_id, BUNDLED_CHARACTERS).character
    levels = Vitals.from_mapping(c.neurochemistry.baseline.as_dict())
    mood = derive_mood(levels)
    text = system_text(prompt_for(c, vitals=levels, mood=mood))
    assert c.backstory.strip() and c.backstory.strip() in text
    quirks = [*c.personality.quirks, *c.communication_style.quirks]
    assert quirks and all(q in text for q in quirks)
    assert c.goals and all(g.description in text for g in c.goals)
    assert f"Mood: {mood.label}" in text
