"""``/remember``, ``/memories`` and ``/forget`` over a real local character: what each shows,
and that ``/forget`` deletes only after a yes."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.commands import Invalid, MemoriesFilter, parse_forget, parse_memories_filter
from client.local import LocalCharacter
from client.screen import PlainScreen
from client.session import ChatSession
from runtime.settings import load_settings
from tests.client.chat_driver import run

Chat = tuple[ChatSession, io.StringIO]


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[Chat]:
    out = io.StringIO()
    character = LocalCharacter(load_settings({"data_dir": tmp_path}, environ={}), user="ann")
    chat = ChatSession(character, PlainScreen(out), vitals="off")
    await chat.attached(await character.attach("m-playful"))
    try:
        yield chat, out
    finally:
        await character.close()


def answering(chat: ChatSession, answer: str) -> list[str]:
    """Make ``chat``'s questions answered with ``answer``; returns the questions asked."""
    asked: list[str] = []

    async def ask(prompt: str) -> str:
        asked.append(prompt)
        return answer

    chat.ask = ask
    return asked


async def test_remember_then_memories_lists_it_as_remembered(session: Chat) -> None:
    chat, out = session
    assert "remembered as #1: I am allergic to peanuts." in await run(
        chat, out, "/remember I am allergic to peanuts.")
    listing = await run(chat, out, "/memories")
    assert "#1  fact  0.90  remembered  ann: I am allergic to peanuts." in listing
    assert "peanuts" in await run(chat, out, "/memory peanuts")


async def test_memories_shows_the_turn_a_memory_came_from_and_filters_by_user(
        session: Chat) -> None:
    chat, out = session
    await run(chat, out, "My dog is called Biscuit.")
    listing = await run(chat, out, "/memories --user ann")
    assert "turn 1  ann:" in listing and "Biscuit" in listing
    assert "(no memories)" in await run(chat, out, "/memories --user bob")
    assert "Usage: /memories" in await run(chat, out, "/memories bob")
    said = await run(chat, out, "/memories --kind message")
    assert said.strip() == '#2  message  0.30  turn 1  ann: Ann said: "My dog is called Biscuit."'
    facts = await run(chat, out, "/memories --kind fact,preference --user ann")
    assert "Biscuit" in facts and " message " not in facts and " reply " not in facts
    assert "[bad_request]" in await run(chat, out, "/memories --kind gossip")


async def test_forget_by_id_shows_it_asks_and_deletes_after_yes(session: Chat) -> None:
    chat, out = session
    await run(chat, out, "/remember I am allergic to peanuts.")
    asked = answering(chat, "y")
    shown = await run(chat, out, "/forget 1")
    assert "#1  fact" in shown and "peanuts" in shown and "forgot #1" in shown
    assert asked == ["Forget this memory? [y/N] "]
    assert "(no memories)" in await run(chat, out, "/memories")


@pytest.mark.parametrize("answer", ["", "n", "no thanks"])
async def test_forget_without_a_yes_keeps_the_memory(session: Chat, answer: str) -> None:
    chat, out = session
    await run(chat, out, "/remember I am allergic to peanuts.")
    answering(chat, answer)
    assert "kept: nothing was forgotten" in await run(chat, out, "/forget 1")
    assert "peanuts" in await run(chat, out, "/memories")


async def test_forget_by_query_offers_only_the_matching_memories(session: Chat) -> None:
    chat, out = session
    await run(chat, out, "/remember I am allergic to peanuts.")
    await run(chat, out, "/remember My sister lives in Lisbon.")
    asked = answering(chat, "yes")
    shown = await run(chat, out, "/forget peanuts")
    assert "peanuts" in shown and "Lisbon" not in shown
    assert asked == ["Forget this memory? [y/N] "]
    assert "Lisbon" in await run(chat, out, "/memories")
    assert "peanuts" not in await run(chat, out, "/memories")


async def test_forget_of_nothing_says_so_and_asks_nothing(session: Chat) -> None:
    chat, out = session
    asked = answering(chat, "y")
    assert "no memory #7" in await run(chat, out, "/forget 7")
    assert "no memory matches 'zebras'" in await run(chat, out, "/forget zebras")
    assert asked == []


async def test_remember_of_too_long_a_text_shows_the_stable_code(session: Chat) -> None:
    chat, out = session
    assert "[memory_too_long]" in await run(chat, out, "/remember " + "x" * 2001)


async def test_without_a_way_to_ask_forget_keeps_everything(session: Chat) -> None:
    chat, out = session
    await run(chat, out, "/remember I am allergic to peanuts.")
    assert "kept: nothing was forgotten" in await run(chat, out, "/forget 1")


@pytest.mark.parametrize(("argument", "expected"), [
    (None, MemoriesFilter()), ("--user bob", MemoriesFilter("bob")),
    ("--user=bob", MemoriesFilter("bob")),
    ("--kind fact", MemoriesFilter(kinds=("fact",))),
    ("--kind=fact,preference --user ann", MemoriesFilter("ann", ("fact", "preference"))),
])
def test_memories_filter_is_parsed(argument: str | None, expected: MemoriesFilter) -> None:
    assert parse_memories_filter(argument) == expected


@pytest.mark.parametrize("argument", ["bob", "--user", "--user a b", "--name bob", "--kind",
                                      "--kind ,", "--user a --user b"])
def test_a_wrong_memories_filter_is_invalid(argument: str) -> None:
    assert isinstance(parse_memories_filter(argument), Invalid)


@pytest.mark.parametrize(("argument", "expected"), [
    ("12", 12), ("#12", 12), ("0", "0"), ("my sister", "my sister"),
])
def test_forget_takes_an_id_or_a_query(argument: str, expected: int | str) -> None:
    assert parse_forget(argument) == expected
