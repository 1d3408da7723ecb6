"""What a prompt gives up when the character's fixed parts crowd out the conversation, in
which order, and what it never gives up (``build_prompt`` with a tight budget)."""

from __future__ import annotations

import pytest

from schemas.lorebook_formats import character_lorebooks
from schemas.model import Character
from tests.engine.characters import character
from worker.engine.mood import derive_mood
from worker.engine.prompt import (
    TRIM_ORDER,
    BuiltPrompt,
    PromptInput,
    build_prompt,
    cost_of,
    estimate_tokens,
)
from worker.engine.relationship import Relationship
from worker.engine.turn_rows import Exchange
from worker.engine.vitals import Vitals
from worker.engine.world_info import WorldInfo

LORE = "The river city of Lanthe has seven bridges and no two clocks agree. " * 30


def card_character() -> Character:
    """A character whose reference material dwarfs the rest, as imported cards often do."""
    return character(
        id="carded", name="Mara", backstory="A ferrywoman on the Lanthe.",
        roleplay={"example_dialogue": "{{user}}: Fare?\n{{char}}: Two coins. " * 40,
                  "first_message": "Step aboard, {{user}}. " * 20,
                  "lorebook": {"entries": [{"keys": ["lanthe"], "content": LORE,
                                            "constant": True}]}},
        extensions={"tavern_notes": "kept the ferry since the flood " * 20},
    )


def history(count: int) -> list[Exchange]:
    return [Exchange(id=i + 1, user="sam", user_message=f"question {i} " + "x" * 120,
                     reply=f"answer {i} " + "y" * 120) for i in range(count)]


def built(c: Character, *, budget: int, exchanges: int = 12, min_exchanges: int = 3,
          ratio: float = 1.0) -> BuiltPrompt:
    levels = Vitals.from_mapping(c.neurochemistry.baseline.as_dict())
    # The card's one entry is constant: it fires every turn, within a lore budget of its own.
    lore = WorldInfo.compile(character_lorebooks(c), char=c.name).scan(
        ["Take me across?"], user="sam", budget_tokens=100_000,
        cost=lambda text: cost_of(text, ratio), roll=lambda book, index: 0.0)
    return build_prompt(PromptInput(
        character=c, vitals=levels, mood=derive_mood(levels, levels),
        relationship=Relationship(user="sam"), memories=[], history=history(exchanges),
        user_message="Take me across?", user_name="sam", token_budget=budget, now=0.0,
        min_exchanges=min_exchanges, token_ratio=ratio, lore=lore))


def section(prompt: BuiltPrompt, name: str) -> int:
    return next(s.tokens for s in prompt.sections if s.name == name)


def test_a_prompt_that_fits_is_not_trimmed_and_keeps_all_history() -> None:
    prompt = built(card_character(), budget=100_000)
    assert prompt.trimmed == () and not prompt.crowded
    assert prompt.history_kept == prompt.history_available == 12
    assert prompt.over_budget_warning() is None


def pinned_and_newest(c: Character) -> BuiltPrompt:
    """The prompt with only the three newest exchanges: what must fit before any cut."""
    return built(c, budget=100_000, exchanges=3)


def test_the_lorebook_goes_first_when_the_card_crowds_out_the_newest_exchanges() -> None:
    whole = pinned_and_newest(card_character())
    # Room for all but the lorebook (a few tokens to spare for rounding).
    budget = whole.estimated_tokens - section(whole, "lorebook") + 5
    prompt = built(card_character(), budget=budget)
    assert prompt.trimmed == ("lorebook",)
    assert "World notes" not in prompt.messages[0].content
    assert "Example dialogue" in prompt.messages[0].content
    assert prompt.history_kept == 3
    assert prompt.estimated_tokens <= budget and not prompt.over_budget


def test_sections_are_trimmed_in_the_documented_order() -> None:
    assert TRIM_ORDER == ("lorebook", "example_dialogue", "other_notes")
    whole = pinned_and_newest(card_character())
    cut = [built(card_character(), budget=whole.estimated_tokens + 5
                 - sum(section(whole, name) for name in TRIM_ORDER[:n])).trimmed
           for n in range(1, len(TRIM_ORDER) + 1)]
    assert cut == [TRIM_ORDER[:n] for n in range(1, len(TRIM_ORDER) + 1)]


def test_older_history_goes_before_any_section_is_trimmed() -> None:
    whole = built(card_character(), budget=100_000)
    pair = estimate_tokens(history(1)[0].user_message) + estimate_tokens(history(1)[0].reply)
    prompt = built(card_character(), budget=whole.estimated_tokens - 4 * pair)
    assert prompt.trimmed == ()
    assert 3 <= prompt.history_kept < 12


def test_the_newest_exchanges_are_kept_even_over_budget() -> None:
    prompt = built(card_character(), budget=50, min_exchanges=2)
    assert prompt.trimmed == TRIM_ORDER
    assert prompt.over_budget and prompt.estimated_tokens > 50
    assert prompt.history_kept == 2
    contents = [m.content for m in prompt.messages]
    assert contents[-2].startswith("answer 11 ") and contents[-3].startswith("question 11 ")
    assert contents[1].startswith("question 10 ")
    assert "You are Mara" in contents[0] and "## Rules" in contents[0]


def test_no_history_is_forced_when_none_is_asked_for() -> None:
    prompt = built(card_character(), budget=50, min_exchanges=0)
    assert [m.role for m in prompt.messages] == ["system", "user"]
    assert prompt.over_budget


def test_the_warning_says_what_was_trimmed_and_what_was_kept() -> None:
    prompt = built(card_character(), budget=50, min_exchanges=2)
    warning = prompt.over_budget_warning()
    assert warning is not None
    assert "trimmed lorebook, example_dialogue, other_notes" in warning
    assert "kept 2 of 12 exchanges" in warning
    assert "over the budget of 50" in warning


def test_sections_say_where_they_are_and_which_were_trimmed() -> None:
    prompt = built(card_character(), budget=50, min_exchanges=2)
    by_name = {s.name: s for s in prompt.sections}
    assert all(by_name[name].trimmed and by_name[name].message is None for name in TRIM_ORDER)
    assert by_name["identity"].message == 0 and not by_name["identity"].trimmed
    last = len(prompt.messages) - 1
    assert by_name["user_message"].message == last and by_name["vitals"].message == last
    history_section = by_name["history"]
    assert (history_section.exchanges_kept, history_section.exchanges_available) == (2, 12)


def test_section_tokens_add_up_to_about_the_estimate() -> None:
    prompt = built(card_character(), budget=100_000)
    listed = sum(s.tokens for s in prompt.sections if not s.trimmed)
    # Per-message overhead of the system and final messages, and rounding per section.
    assert prompt.estimated_tokens - 2 * 4 - len(prompt.sections) <= listed
    assert listed <= prompt.estimated_tokens


@pytest.mark.parametrize("ratio", [0.5, 2.0])
def test_the_calibration_ratio_scales_every_count(ratio: float) -> None:
    plain, scaled = built(card_character(), budget=100_000), built(
        card_character(), budget=100_000, ratio=ratio)
    assert scaled.raw_tokens == plain.raw_tokens
    assert scaled.estimated_tokens == pytest.approx(plain.estimated_tokens * ratio, rel=0.02)


def test_a_server_counting_more_tokens_keeps_less_history_for_the_same_budget() -> None:
    whole = built(card_character(), budget=100_000)
    assert built(card_character(), budget=whole.estimated_tokens, ratio=1.5).history_kept < 12
