"""ChatSession: every slash command over a real local character, output as plain text."""

from __future__ import annotations

import io
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.commands import parse_line
from client.local import LocalCharacter
from client.screen import PlainScreen
from client.session import ChatSession
from protocol.events import TurnEvent, VitalsEvent
from runtime.settings import load_settings
from tests.client.chat_driver import run


class InterruptingScreen(PlainScreen):
    """Plain output that presses Ctrl+C (``session.interrupt``) after the first delta."""

    session: ChatSession | None = None

    def reply_delta(self, text: str) -> None:
        super().reply_delta(text)
        if self.session is not None:
            self.session.interrupt()
            self.session = None


@pytest.fixture
async def session(tmp_path: Path) -> AsyncIterator[tuple[ChatSession, io.StringIO]]:
    out = io.StringIO()
    character = LocalCharacter(load_settings({"data_dir": tmp_path}, environ={}), user="ann")
    chat = ChatSession(character, InterruptingScreen(out), show_vitals=True)
    await chat.attached(await character.attach("m-playful"))
    try:
        yield chat, out
    finally:
        await character.close()




async def test_a_message_streams_the_reply_then_the_vitals(session: tuple[ChatSession, io.StringIO]
                                                           ) -> None:
    chat, out = session
    text = await run(chat, out, "Hello! I love hiking.")
    assert text.startswith('Tobias "Toby" Okafor: ')
    assert "[vitals" in text and "mood:" in text


async def test_the_panel_after_a_turn_is_drawn_from_its_answer_alone(
    session: tuple[ChatSession, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    chat, out = session
    asked: list[str] = []
    monkeypatch.setattr(chat.character, "status", lambda **_: asked.append("status"))
    text = await run(chat, out, "You are wonderful, thank you!")
    assert "[vitals" in text and "^ +" in text
    assert asked == []


async def test_ctrl_c_cancels_the_reply_and_the_chat_goes_on(
    session: tuple[ChatSession, io.StringIO],
) -> None:
    chat, out = session
    assert isinstance(chat.screen, InterruptingScreen)
    chat.screen.session = chat
    text = await run(chat, out, "Tell me a long story.")
    assert "reply cancelled" in text
    assert "Okafor" in await run(chat, out, "Hello again.")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/help", "/memory QUERY"),
        ("/vitals", "dopamine"),
        ("/mood", "mood: "),
        ("/goals", "- "),
        ("/status", "archetype: playful"),
        ("/save first", "saved snapshot 'first'"),
        ("/snapshots", "(no snapshots)"),
        ("/characters", "m-playful"),
        ("/memory nothing-like-this", "(no matching memories)"),
        ("/undo", "[nothing_to_undo]"),
        ("/load missing", "[snapshot_not_found]"),
        ("/save ../x", "[invalid_name]"),
        ("/reset", "reset (memories kept)"),
        ("/reset --wipe-memories", "reset (memories wiped)"),
        ("/nonsense", "Unknown command /nonsense"),
        ("/clear", "nothing to clear"),
    ],
)
async def test_each_command_answers(
    session: tuple[ChatSession, io.StringIO], line: str, expected: str
) -> None:
    chat, out = session
    assert expected in await run(chat, out, line)


async def test_memory_undo_load_after_a_turn(session: tuple[ChatSession, io.StringIO]) -> None:
    chat, out = session
    await run(chat, out, "I love hiking in the mountains.")
    assert "hiking" in await run(chat, out, "/memory hiking")
    assert "saved snapshot 'trip'" in await run(chat, out, "/save trip")
    assert "1 turns" not in await run(chat, out, "/undo")
    assert "1 turns" in await run(chat, out, "/load trip")


async def test_regen_streams_a_new_reply(session: tuple[ChatSession, io.StringIO]) -> None:
    chat, out = session
    await run(chat, out, "Hello!")
    assert "Okafor: " in await run(chat, out, "/regen")


async def test_pick_goes_back_to_an_earlier_reply(session: tuple[ChatSession, io.StringIO]) -> None:
    chat, out = session
    first = (await run(chat, out, "Hello!")).split("Okafor: ", 1)[1].splitlines()[0]
    await run(chat, out, "/regen")
    listing = await run(chat, out, "/alts")
    assert listing.splitlines()[0].startswith("  0: ") and "* 1: " in listing
    assert "reply 0 is now the current one" in await run(chat, out, "/pick 0")
    assert first[:40] in (await run(chat, out, "/alternatives")).split("* 0: ", 1)[1]
    assert "usage: /pick N" in await run(chat, out, "/pick first")


async def test_export_to_a_file_writes_json(
    session: tuple[ChatSession, io.StringIO], tmp_path: Path
) -> None:
    chat, out = session
    target = tmp_path / "toby.json"
    assert "exported to" in await run(chat, out, f"/export {target}")
    assert json.loads(target.read_text())["character_id"] == "m-playful"


async def test_switch_talks_to_another_character(session: tuple[ChatSession, io.StringIO]) -> None:
    chat, out = session
    assert "Margot Vell" in await run(chat, out, "/switch f-sarcastic")
    assert chat.character.character_id == "f-sarcastic"


async def test_quit_ends_the_session(session: tuple[ChatSession, io.StringIO]) -> None:
    chat, _ = session
    assert await chat.handle(parse_line("/quit")) is False


def test_another_clients_turn_is_shown_with_its_reply(
    session: tuple[ChatSession, io.StringIO],
) -> None:
    chat, out = session
    out.seek(0)
    out.truncate()
    chat.on_event(TurnEvent(character_id="m-playful", user="bob", user_message="hi",
                            response_text="hey bob", turn_index=1))
    assert "bob said to m-playful: hi" in out.getvalue()
    assert "hey bob" in out.getvalue()


def test_vitals_event_redraws_only_when_levels_change(
    session: tuple[ChatSession, io.StringIO],
) -> None:
    chat, out = session
    assert chat.view is not None
    same = {level.name: level.value for level in chat.view.levels}
    out.seek(0)
    out.truncate()
    chat.on_event(VitalsEvent(character_id="m-playful", vitals=same))
    assert out.getvalue() == ""
    chat.on_event(VitalsEvent(character_id="m-playful", vitals={**same, "cortisol": 90.0}))
    assert "cortisol" in out.getvalue()
