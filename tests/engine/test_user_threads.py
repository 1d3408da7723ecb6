"""Several people talking to one character: one body (vitals, mood, turn count), one
conversation per user. A user's prompt holds only that user's exchanges; memories about a
user reach only that user's prompts, unless they are shared (about no one: ``user == ""``)."""

from __future__ import annotations

from tests.engine.characters import sensitive_character
from tests.engine.conftest import OpenEngine, RecordingBackend, chat
from worker.backends.base import ChatMessage
from worker.memory.models import NewMemory


def history_texts(prompt: list[ChatMessage]) -> list[str]:
    """The messages between the system message and the final user message."""
    return [m.content for m in prompt[1:-1]]


def final_note(prompt: list[ChatMessage]) -> str:
    return prompt[-1].content


async def test_each_users_prompt_holds_only_their_own_exchanges(
        open_engine: OpenEngine) -> None:
    backend = RecordingBackend()
    engine = open_engine(sensitive_character(), backend=backend)
    await chat(engine, "Hello, I am Sam.", user="sam")
    await chat(engine, "You are a useless idiot.", user="bob")
    await chat(engine, "How are you today?", user="sam")
    sams_second = history_texts(backend.prompts[2])
    assert "Hello, I am Sam." in sams_second
    assert not any("idiot" in text for text in sams_second)
    await chat(engine, "Still here.", user="bob")
    bobs_second = history_texts(backend.prompts[3])
    assert "You are a useless idiot." in bobs_second
    assert not any("Sam" in text for text in bobs_second[::2])


async def test_the_body_is_shared_while_the_threads_are_not(open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "Hello, I am Sam.", user="sam")
    result = await chat(engine, "You are a useless idiot.", user="bob")
    assert result.turn_index == 2
    assert engine.status(user="sam").character_summary["turn_count"] == 2
