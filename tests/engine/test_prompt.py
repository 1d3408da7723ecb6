
import pytest

from schemas.loader import available_ids, load_character
from schemas.model import Character
from tests.engine.characters import character, full_character
from tests.support.paths import BUNDLED_CHARACTERS
from worker.backends.base import ChatMessage
from worker.engine.appraisal import appraise
from worker.engine.goals import Goals
from worker.engine.mood import Mood, derive_mood
from worker.engine.prompt import HISTORY_CUT_STEP, PromptInput, build_prompt, estimate_tokens
from worker.engine.relationship import Relationship, update
from worker.engine.turn_rows import Exchange
from worker.engine.vitals import Vitals, VitalsModel


def prompt_for(c: Character, *, history: list[tuple[str, str]] | None = None,
               budget: int = 100_000, memories: list[str] | None = None,
               vitals: Vitals | None = None, mood: Mood | None = None) -> list[ChatMessage]:
    levels = vitals or Vitals.from_mapping(c.neurochemistry.baseline.as_dict())
    return build_prompt(PromptInput(
        character=c, vitals=levels, mood=mood or derive_mood(levels, levels),
        relationship=Relationship(user="sam"), memories=memories or [],
        history=exchanges(history or []), user_message="What are you working on?",
        user_name="sam",
        token_budget=budget, now=0.0,
    )).messages


def exchanges(pairs: list[tuple[str, str]], first_id: int = 1) -> list[Exchange]:
    return [Exchange(id=first_id + i, user="sam", user_message=u, reply=r)
            for i, (u, r) in enumerate(pairs)]


def system_text(messages: list[ChatMessage]) -> str:
    assert messages[0].role == "system"
    return messages[0].content


def turn_note(messages: list[ChatMessage]) -> str:
    """The delimited note after the user's words in the final user message."""
    assert messages[-1].role == "user"
    words, note = messages[-1].content.split("\n\n[Note for ", 1)
    assert words == "What are you working on?"
    note, _, _post = note.partition("\nEnd of note.]")
    return note + "\nEnd of note.]"


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
        "Keep answers short.", "Shoes off. Paper.", "favourite ink: iron gall",
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
    assert messages[-1].content.endswith("\nEnd of note.]\n\nStay terse.")
    assert "Stay terse." not in system_text(messages)


def test_mood_and_notable_vitals_are_in_words() -> None:
    levels = Vitals(cortisol=90.0, adrenaline=85.0, serotonin=20.0)
    text = turn_note(prompt_for(character(), vitals=levels, mood=derive_mood(levels, Vitals())))
    assert f"Mood: {derive_mood(levels, Vitals()).label}" in text
    assert "cortisol 90/100: stressed and on edge" in text
    assert "serotonin 20/100: low and discouraged" in text


def test_memories_and_relationship_reach_the_prompt() -> None:
    text = turn_note(prompt_for(character(), memories=["sam's dog is called Biscuit."]))
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


def test_history_over_budget_starts_at_an_aligned_id_that_stays_put_for_several_turns() -> None:
    """Dropping one exchange per turn would move the history's first message every turn,
    and a server's prompt cache would re-read the whole history every turn."""
    pairs = [(f"question {i} " + "x" * 100, f"answer {i} " + "y" * 100) for i in range(60)]
    pinned = sum(estimate_tokens(m.content) for m in (prompt_for(character())[0],
                                                      prompt_for(character())[-1]))
    pair = estimate_tokens(pairs[0][0]) + estimate_tokens(pairs[0][1])
    budget = pinned + 10 * pair
    starts = []
    for turn in range(20, 60):
        messages = prompt_for(character(), history=pairs[:turn], budget=budget)
        kept = len(messages) - 2
        assert sum(estimate_tokens(m.content) for m in messages) <= budget
        assert 2 * (10 - HISTORY_CUT_STEP + 1) <= kept <= 2 * 10
        first = int(messages[1].content.split()[1])  # "question <index>", id = index + 1
        assert (first + 1) % HISTORY_CUT_STEP == 0
        assert messages[-2].content.startswith(f"answer {turn - 1} ")
        starts.append(first)
    assert starts == sorted(starts)
    assert len(set(starts)) <= 40 // HISTORY_CUT_STEP + 1


def test_history_longer_than_a_cut_step_is_kept_whole_when_it_fits() -> None:
    pairs = [(f"q{i}", f"a{i}") for i in range(7)]
    messages = prompt_for(character(), history=pairs)
    assert [m.content for m in messages[1:-1]] == [t for pair in pairs for t in pair]


def test_system_part_is_pinned_even_when_over_budget() -> None:
    messages = prompt_for(full_character(), history=[("hi", "hello")], budget=10)
    assert [m.role for m in messages] == ["system", "user"]
    assert "Wren Alder" in messages[0].content


BUNDLED = available_ids(BUNDLED_CHARACTERS)


def test_bundled_characters_exist() -> None:
    assert len(BUNDLED) >= 3


@pytest.mark.parametrize("character_id", BUNDLED)
def test_bundled_character_prompt_has_backstory_quirks_goals_and_mood(character_id: str) -> None:
    c = load_character(character_id, BUNDLED_CHARACTERS).character
    levels = Vitals.from_mapping(c.neurochemistry.baseline.as_dict())
    mood = derive_mood(levels, levels)
    messages = prompt_for(c, vitals=levels, mood=mood)
    text = system_text(messages)
    assert c.backstory.strip() and c.backstory.strip() in text
    quirks = [*c.personality.quirks, *c.communication_style.quirks]
    assert quirks and all(q in text for q in quirks)
    assert c.goals and all(g.description in text for g in c.goals)
    assert f"Mood: {mood.label}" in turn_note(messages)


# -- stable-first layout: what a server's prompt cache can reuse ---------------------------

EXCHANGES = [
    ("Hello! I'm sam, I restore old maps.", "Shoes off. Paper. Welcome."),
    ("You are useless and I hate this place.", "Then the door is where you left it."),
    ("Sorry. That was unfair. I brought you tea.", "Tea. Keep it away from the folios."),
    ("Ha, what do you call a lazy librarian? A shelf-starter!", "Catalogue number 0. No."),
    ("Do you remember what I restore?", "Maps. Badly, I assume."),
]


def conversation(c: Character) -> list[list[ChatMessage]]:
    """The prompts of EXCHANGES as consecutive turns, with state evolving as the engine
    evolves it (appraisal → vitals → mood, relationship) and memories recalled per turn."""
    model = VitalsModel.for_character(c, half_life_s=600.0)
    levels, rel = model.baseline, Relationship(user="sam")
    mood = derive_mood(levels, model.baseline)
    prompts: list[list[ChatMessage]] = []
    history: list[tuple[str, str]] = []
    for index, (message, reply) in enumerate(EXCHANGES):
        stimulus = appraise(message).stimulus
        levels = model.respond(model.decay(levels, 30.0), stimulus)
        mood = derive_mood(levels, model.baseline, previous=mood.label)
        prompts.append(build_prompt(PromptInput(
            character=c, vitals=levels, mood=mood, relationship=rel,
            memories=[f"sam said: {history[-1][0]}"] if history else [],
            history=exchanges(history), user_message=message, user_name="sam",
            token_budget=100_000, now=0.0,
        )).messages)
        rel = update(rel, stimulus, now=float(index))
        history.append((message, reply))
    return prompts


def test_the_system_message_is_byte_identical_from_turn_to_turn() -> None:
    prompts = conversation(full_character())
    finals = [p[-1].content for p in prompts]
    assert len(set(finals)) == len(finals)  # the state did change every turn ...
    assert len({p[0].content for p in prompts}) == 1  # ... and the system message did not


def test_each_turn_extends_the_previous_turns_messages_by_one_exchange() -> None:
    prompts = conversation(full_character())
    for (message, reply), before, after in zip(EXCHANGES, prompts, prompts[1:], strict=False):
        assert after[:-1] == [*before[:-1], ChatMessage("user", message),
                              ChatMessage("assistant", reply)]


def test_turn_state_is_only_in_the_final_user_message_after_the_users_words() -> None:
    for prompt in conversation(full_character()):
        earlier = "\n".join(m.content for m in prompt[:-1])
        final = prompt[-1].content
        assert final.index("[Note for Wren Alder, not part of sam's message:") > 0
        for state in ("Mood:", "## You and sam", "## What you remember", "Stay terse."):
            assert state not in earlier
        assert "Mood:" in final and "## You and sam" in final and "Stay terse." in final


def test_one_leading_system_message_then_strictly_alternating_turns() -> None:
    # Chat templates such as Llama 2's, Mistral's and Gemma's reject any other shape.
    prompt = conversation(full_character())[-1]
    roles = [m.role for m in prompt]
    assert roles == ["system", *["user", "assistant"] * (len(EXCHANGES) - 1), "user"]
