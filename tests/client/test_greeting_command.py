"""A card's greeting opens the chat, locally and through a real server; /greeting N picks
another while the greeting is all the conversation holds."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from client.local import LocalCharacter
from client.remote import CharacterClient
from client.screen import PlainScreen
from client.session import ChatSession
from runtime.settings import load_settings
from schemas.loader import load_character
from tests.client.chat_driver import run
from tests.support.running_server import ServerConfig, running_server

BUNDLED = Path(__file__).resolve().parents[2] / "schemas" / "characters"
LAMPLIGHTER = load_character("lamplighter", BUNDLED).character


async def test_the_chat_opens_with_the_cards_first_message_and_greeting_n_replaces_it(
        tmp_path: Path) -> None:
    out = io.StringIO()
    character = LocalCharacter(load_settings({"data_dir": tmp_path}, environ={}), user="ann")
    try:
        chat = ChatSession(character, PlainScreen(out), vitals="off")
        await chat.attached(await character.attach("lamplighter"))
        first = LAMPLIGHTER.roleplay.first_message
        assert first is not None and first[:40] in out.getvalue()
        text = await run(chat, out, "/greeting 1")
        assert LAMPLIGHTER.roleplay.alternate_greetings[0][:40] in text
        history = (await character.status(include_history=True)).history or []
        assert [turn["user_message"] for turn in history] == [""]
        await run(chat, out, "Where am I?")
        refused = await run(chat, out, "/greeting 0")
        assert "already begun" in refused
    finally:
        await character.close()


async def test_attaching_again_does_not_greet_twice(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": tmp_path}, environ={})
    for expected in (True, False):
        out = io.StringIO()
        character = LocalCharacter(settings, user="ann")
        try:
            chat = ChatSession(character, PlainScreen(out), vitals="off")
            await chat.attached(await character.attach("lamplighter"))
            assert ("A lantern swings out of the fog" in out.getvalue()) is expected
        finally:
            await character.close()


@pytest.mark.process
async def test_greeting_request_through_a_real_server(tmp_path: Path) -> None:
    async with running_server(ServerConfig(data_dir=tmp_path,
                                           characters=["lamplighter"])) as server:
        client = await CharacterClient.connect(server.url, character_id="lamplighter",
                                               user="sam", retry_delay_s=0.2)
        try:
            opened = await client.greet()
            assert opened.greeting is not None and opened.greeting.startswith("*A lantern")
            assert (opened.index, opened.count) == (0, 2)
            chosen = await client.greet(1)
            assert chosen.replaced and chosen.greeting is not None
            assert chosen.greeting.startswith("*A match flares")
            await client.chat_stream("Which way to the canal?").collect()
            assert (await client.greet()).started
        finally:
            await client.close()
