"""A card's prompt as SillyTavern users expect it: the card's system prompt replaces the main
prompt, post-history instructions come last, the Character's Note sits at its depth, macros
expand, and nothing is said that the card does not say."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from schemas.card_import import import_card
from schemas.model import Character
from tests.engine.characters import character
from worker.backends.base import ChatMessage
from worker.engine.mood import derive_mood
from worker.engine.prompt import BuiltPrompt, PromptInput, build_prompt, main_prompt
from worker.engine.relationship import Relationship
from worker.engine.turn_rows import Exchange
from worker.engine.vitals import Vitals

REAL_CARDS = Path(__file__).resolve().parents[1] / "data" / "cards"
#: Wednesday 2 December 2026, 14:05 UTC
NOW = dt.datetime(2026, 12, 2, 14, 5, tzinfo=dt.UTC).timestamp()


def card(**roleplay: object) -> Character:
    return character(id="card", name="Mirela", archetype="imported_card", dialect="card_v2",
                     description="{{char}} runs the harbour café.", roleplay=roleplay)


def built(c: Character, *, history: list[Exchange] | None = None, seed: int = 0,
          message: str = "Hello there") -> BuiltPrompt:
    levels = Vitals.from_mapping(c.neurochemistry.baseline.as_dict())
    return build_prompt(PromptInput(
        character=c, vitals=levels, mood=derive_mood(levels, levels),
        relationship=Relationship(user="sam"), memories=[], history=history or [],
        user_message=message, user_name="sam", token_budget=100_000, now=NOW,
        macro_seed=seed))


def exchanges(count: int) -> list[Exchange]:
    return [Exchange(id=i + 1, user="sam", user_message=f"q{i}", reply=f"a{i}")
            for i in range(count)]


def test_the_cards_system_prompt_replaces_the_main_prompt() -> None:
    system = built(card(system_prompt="Write only {{char}}'s lines.")).messages[0].content
    assert "## Rules" not in system
    assert "Stay in character as" not in system
    assert system.endswith("## Instructions\nWrite only Mirela's lines.")


def test_original_in_the_system_prompt_is_greenrooms_main_prompt() -> None:
    c = card(system_prompt="{{original}}\nAlso: no emojis.")
    system = built(c).messages[0].content
    assert system.endswith(f"{main_prompt(c, 'sam')}\nAlso: no emojis.")


def test_without_a_system_prompt_greenrooms_rules_stay() -> None:
    assert "## Rules\nStay in character as Mirela" in built(card()).messages[0].content


def test_post_history_instructions_are_the_last_words_after_the_history() -> None:
    prompt = built(card(post_history_instructions="[Reply in one line, {{user}}.]"),
                   history=exchanges(3))
    assert prompt.messages[-1].content.endswith("End of note.]\n\n[Reply in one line, sam.]")
    assert all("Reply in one line" not in m.content for m in prompt.messages[:-1])


@pytest.mark.parametrize(("depth", "position"), [(0, -1), (1, -2), (2, -3), (4, -5)])
def test_the_characters_note_sits_at_its_depth(depth: int, position: int) -> None:
    note = {"prompt": "{{char}} hides a ledger.", "depth": depth, "role": "system"}
    prompt = built(card(card_extensions={"depth_prompt": note}), history=exchanges(4))
    assert prompt.messages[position] == ChatMessage("system", "Mirela hides a ledger.")
    assert len(prompt.messages) == 1 + 8 + 1 + 1


def test_a_deep_note_in_a_short_conversation_goes_right_after_the_system_message() -> None:
    note = {"prompt": "Hidden ledger.", "depth": 10, "role": "user"}
    prompt = built(card(card_extensions={"depth_prompt": note}), history=exchanges(1))
    assert [m.role for m in prompt.messages] == ["system", "user", "user", "assistant", "user"]
    assert prompt.messages[1].content == "Hidden ledger."
    sections = {s.name: s for s in prompt.sections}
    assert sections["depth_prompt"].message == 1
    assert sections["history"].message == 2 and sections["user_message"].message == 4


def test_an_empty_characters_note_adds_nothing() -> None:
    note = {"prompt": "", "depth": 4, "role": "system"}
    prompt = built(card(card_extensions={"depth_prompt": note}), history=exchanges(2))
    assert len(prompt.messages) == 1 + 4 + 1


def test_macros_in_the_card_expand_case_insensitively_with_the_turns_time() -> None:
    c = card(scenario="<USER> meets <BOT> on a {{Weekday}} at {{TIME}}, {{date}}."
                      "{{// not for the model}} Roll: {{roll:1d1}}.")
    system = built(c).messages[0].content
    local = dt.datetime.fromtimestamp(NOW, dt.UTC).astimezone()
    assert f"sam meets Mirela on a {local:%A} at " in system
    assert f"{local:%B} {local.day}, {local.year}." in system
    assert "not for the model" not in system and "Roll: 1." in system


def test_random_macros_follow_the_seed() -> None:
    c = card(scenario="Weather: {{random:rain,fog,sun,snow,hail,wind}}.")
    texts = {built(c, seed=seed).messages[0].content for seed in range(20)}
    assert len(texts) > 1
    assert built(c, seed=3).messages[0].content == built(c, seed=3).messages[0].content


def test_what_people_wrote_gets_only_names_replaced() -> None:
    prompt = built(card(), history=[Exchange(1, "sam", "I roll {{roll:d20}} for <BOT>",
                                             "{{User}}, keep the {{random:a,b}}")],
                   message="{{char}} at {{time}}?")
    contents = [m.content for m in prompt.messages[1:]]
    assert contents[0] == "I roll {{roll:d20}} for Mirela"
    assert contents[1] == "sam, keep the {{random:a,b}}"
    assert contents[2].startswith("Mirela at {{time}}?")


def test_a_card_is_described_only_by_what_it_says() -> None:
    system = built(card()).messages[0].content
    assert system.startswith("You are Mirela.\nMirela runs the harbour café.")
    for invented in ("imported card", "openness", "balanced in", "Temperament",
                     "## Personality"):
        assert invented not in system, invented


def test_greetings_are_not_listed_in_the_prompt() -> None:
    c = card(first_message="*Wipes the counter.*", alternate_greetings=["We're closed."])
    system = built(c).messages[0].content
    assert "Wipes the counter" not in system and "We're closed" not in system


def test_a_thread_opened_by_a_greeting_starts_with_the_characters_words() -> None:
    greeting = Exchange(id=1, user="sam", user_message="", reply="*Wipes the counter.*")
    prompt = built(card(), history=[greeting, Exchange(2, "sam", "Coffee?", "Black.")])
    assert [(m.role, m.content) for m in prompt.messages[1:4]] == [
        ("assistant", "*Wipes the counter.*"), ("user", "Coffee?"), ("assistant", "Black.")]


def test_nickname_is_what_char_stands_for() -> None:
    c = card(nickname="Mira", scenario="{{char}} waits.")
    assert "Mira waits." in built(c).messages[0].content


def test_real_flux_card_puts_its_post_history_note_last(tmp_path: Path) -> None:
    flux = import_card(REAL_CARDS / "default_FluxTheCat.png", tmp_path).character
    prompt = built(flux, history=exchanges(2))
    final = prompt.messages[-1].content
    assert final.rstrip().endswith(flux.roleplay.post_history_instructions.strip()
                                   .replace("{{char}}", "Flux the Cat")
                                   .replace("{{user}}", "sam")[-40:])
    system = prompt.messages[0].content
    assert system.startswith("You are Flux the Cat.\nFlux the Cat personality")
    assert "{{char}}" not in system and "{{user}}" not in system
    assert system.count("cat riding on top of a cool looking Roomba") == 1


@pytest.mark.parametrize("name", sorted(p.name for p in REAL_CARDS.glob("*.png")))
def test_every_real_cards_description_is_in_its_prompt_once(tmp_path: Path, name: str) -> None:
    c = import_card(REAL_CARDS / name, tmp_path).character
    system = built(c).messages[0].content
    first_line = next(line for line in c.description.splitlines() if line.strip())[:40]
    assert system.count(first_line.replace("{{char}}", c.name).replace("{{user}}", "sam")) == 1
    assert "## Other notes" not in system
