"""A card's greeting opens a user's thread as the character's first message: stored so it is
in the history, chosen again with an index, taken back by undo, never regenerated."""

from __future__ import annotations

import pytest

from schemas.model import Character
from tests.engine.characters import character
from tests.engine.conftest import OpenEngine, RecordingBackend, chat
from worker.engine.errors import EngineError


def greeter(**roleplay: object) -> Character:
    fields = {"first_message": "*Wipes the counter.* Trouble, {{user}}?",
              "alternate_greetings": ["We're closed, <USER>.", "Storm's early."]}
    fields.update(roleplay)
    return character(id="greeter", name="Mirela", archetype="imported_card",
                     dialect="card_v2", roleplay=fields)


def test_opening_an_empty_thread_stores_the_first_message(open_engine: OpenEngine) -> None:
    engine = open_engine(greeter())
    greeted = engine.greet(user="sam")
    assert greeted.text == "*Wipes the counter.* Trouble, sam?"
    assert (greeted.index, greeted.count, greeted.replaced) == (0, 3, False)
    status = engine.status(include_history=True, user="sam", history_user="sam")
    assert status.conversation_history is not None
    assert [t["response"] for t in status.conversation_history] == [greeted.text]


async def test_the_greeting_is_the_first_message_the_model_reads(
        open_engine: OpenEngine) -> None:
    backend = RecordingBackend()
    engine = open_engine(greeter(), backend=backend)
    engine.greet(user="sam")
    await chat(engine, "Coffee, black.", user="sam")
    prompt = backend.prompts[0]
    assert (prompt[1].role, prompt[1].content) == ("assistant",
                                                   "*Wipes the counter.* Trouble, sam?")
    assert prompt[2].role == "user" and prompt[2].content.startswith("Coffee, black.")
    assert "Wipes the counter" not in prompt[0].content


def test_a_greeting_moves_nothing_but_the_turn_count(open_engine: OpenEngine) -> None:
    engine = open_engine(greeter())
    before = engine.status(user="sam")
    engine.greet(user="sam")
    after = engine.status(user="sam")
    assert after.vitals == before.vitals
    assert engine.character_info()["turn_count"] == 1
    assert engine.memories(user="sam")[1] == 0


def test_greeting_n_replaces_a_greeting_that_is_all_the_thread_holds(
        open_engine: OpenEngine) -> None:
    engine = open_engine(greeter())
    first = engine.greet(user="sam")
    second = engine.greet(user="sam", index=1)
    assert second.text == "We're closed, sam." and second.replaced
    assert second.turn_id == first.turn_id
    assert engine.character_info()["turn_count"] == 1


def test_opening_again_after_a_greeting_stores_nothing(open_engine: OpenEngine) -> None:
    engine = open_engine(greeter())
    engine.greet(user="sam")
    again = engine.greet(user="sam")
    assert again.text is None and again.started
    assert engine.character_info()["turn_count"] == 1


async def test_no_greeting_once_the_conversation_has_begun(open_engine: OpenEngine) -> None:
    engine = open_engine(greeter())
    engine.greet(user="sam")
    await chat(engine, "Coffee?", user="sam")
    assert engine.greet(user="sam").text is None
    with pytest.raises(EngineError) as refused:
        engine.greet(user="sam", index=2)
    assert refused.value.code == "bad_request"
    assert "already begun" in str(refused.value)


def test_each_user_gets_their_own_greeting(open_engine: OpenEngine) -> None:
    engine = open_engine(greeter())
    assert engine.greet(user="sam").text == "*Wipes the counter.* Trouble, sam?"
    assert engine.greet(user="bob", index=1).text == "We're closed, bob."


@pytest.mark.parametrize("index", [3, 99])
def test_an_unknown_greeting_is_refused_with_the_ones_there_are(
        open_engine: OpenEngine, index: int) -> None:
    engine = open_engine(greeter())
    with pytest.raises(EngineError) as refused:
        engine.greet(user="sam", index=index)
    assert refused.value.code == "bad_request"
    assert "its greetings are 0, 1, 2" in str(refused.value)


def test_a_character_without_greetings_opens_nothing(open_engine: OpenEngine) -> None:
    engine = open_engine(character())
    opened = engine.greet(user="sam")
    assert (opened.text, opened.count, opened.started) == (None, 0, False)
    with pytest.raises(EngineError) as refused:
        engine.greet(user="sam", index=0)
    assert "has no greeting" in str(refused.value)


def test_undo_takes_the_greeting_back(open_engine: OpenEngine) -> None:
    engine = open_engine(greeter())
    engine.greet(user="sam")
    engine.undo(user="sam")
    assert engine.character_info()["turn_count"] == 0
    assert engine.greet(user="sam").text is not None


async def test_a_greeting_is_not_regenerated(open_engine: OpenEngine) -> None:
    engine = open_engine(greeter())
    engine.greet(user="sam")
    with pytest.raises(EngineError) as refused:
        async for _ in engine.regenerate(user="sam"):
            pass
    assert refused.value.code == "bad_request"
    assert "greeting" in str(refused.value)
