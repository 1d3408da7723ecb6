from dataclasses import replace
from itertools import pairwise

import pytest

from tests.engine.characters import character, full_character
from worker.backends.base import (
    ChatMessage,
    GenerationDone,
    GenerationOptions,
    GenerationRequest,
    ReplyContext,
    TextDelta,
)
from worker.backends.scripted import ScriptedBackend, compose_reply

PLAYFUL = character(
    name="Pip", communication_style={"formality_level": "casual",
                                     "quirks": ["Uses lots of emojis"]})


def context(intent: str, *, mood: str = "neutral", intensity: float = 0.2,
            message: str = "Tell me about lighthouses", turn_index: int = 3,
            memories: tuple[str, ...] = ()) -> ReplyContext:
    return ReplyContext(character=full_character(), user_name="sam", user_message=message,
                        intent=intent, mood=mood, mood_intensity=intensity, valence=0.0,
                        turn_index=turn_index, memory_snippets=memories)


async def collect(request: GenerationRequest) -> tuple[list[str], GenerationDone]:
    deltas, done = [], None
    async for event in ScriptedBackend().generate(request):
        if isinstance(event, TextDelta):
            deltas.append(event.text)
        else:
            done = event
    assert done is not None
    return deltas, done


async def test_reply_streams_word_by_word_then_done() -> None:
    ctx = context("question")
    deltas, done = await collect(GenerationRequest(messages=[], context=ctx))
    assert "".join(deltas) == compose_reply(ctx)
    assert len(deltas) == len(compose_reply(ctx).split())
    assert (done.backend, done.finish_reason, done.completion_tokens) == (
        "scripted", "stop", len(deltas))


async def test_max_tokens_cuts_the_reply_with_finish_reason_length() -> None:
    request = GenerationRequest(messages=[], context=context("question"),
                                options=GenerationOptions(max_tokens=3))
    deltas, done = await collect(request)
    assert len(deltas) == 3
    assert done.finish_reason == "length"


def test_replies_differ_by_intent() -> None:
    intents = ["greeting", "farewell", "thanks", "hostile", "question", "smalltalk", "joke"]
    replies = {compose_reply(context(i)) for i in intents}
    assert len(replies) == len(intents)


def test_reply_changes_with_mood() -> None:
    calm = compose_reply(context("smalltalk", mood="calm", intensity=0.7))
    stressed = compose_reply(context("smalltalk", mood="stressed", intensity=0.7))
    assert calm != stressed
    assert "still and clear" in calm
    assert "stressed" in stressed


def test_reply_mentions_a_matched_memory() -> None:
    reply = compose_reply(context("smalltalk", memories=("sam's dog is called Biscuit.",)))
    assert "sam's dog is called Biscuit" in reply


def test_greeting_uses_name_and_formal_voice() -> None:
    reply = compose_reply(context("greeting", turn_index=2))
    assert "Good day, sam" in reply
    assert "Wren Alder" in reply


def test_first_greeting_uses_the_characters_first_message() -> None:
    assert compose_reply(context("greeting", turn_index=1)).startswith("Shoes off, sam.")


def test_quirks_show_in_the_reply() -> None:
    ctx = replace(context("smalltalk", mood="happy"), character=PLAYFUL)
    assert "😄" in compose_reply(ctx)
    tapper = character(communication_style={"quirks": ["Taps the table when thinking."]})
    assert "*taps the table when thinking*" in compose_reply(
        replace(context("smalltalk"), character=tapper))


def test_question_draws_on_the_specialty() -> None:
    assert "manuscript conservation" in compose_reply(context("question"))


async def test_without_context_it_echoes_the_last_user_message() -> None:
    request = GenerationRequest(messages=[ChatMessage("user", "ping")])
    deltas, _ = await collect(request)
    assert "".join(deltas) == "You said: ping"


async def test_check_always_succeeds() -> None:
    await ScriptedBackend().check()


INTENTS = ["greeting", "farewell", "thanks", "apology", "hostile", "joke", "compliment",
           "question", "smalltalk"]


@pytest.mark.parametrize("intent", INTENTS)
def test_consecutive_variants_give_different_replies(intent: str) -> None:
    replies = [compose_reply(replace(context(intent), variant=v)) for v in range(6)]
    assert all(a != b for a, b in pairwise(replies))
    assert len(set(replies[:3])) == 3  # three openings per intent: the first three all differ


def test_the_same_variant_gives_the_same_reply() -> None:
    ctx = replace(context("question"), variant=2)
    assert compose_reply(ctx) == compose_reply(ctx)


def test_a_regenerated_first_greeting_leaves_the_first_message_for_an_opening() -> None:
    again = compose_reply(replace(context("greeting", turn_index=1), variant=1))
    assert not again.startswith("Shoes off")
    assert "sam" in again
