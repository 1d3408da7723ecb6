"""ChatSession: every slash command over a real local character, output as plain text."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from client.commands import parse_line
from client.interface import ChatReply, ReplyPhase
from client.local import LocalCharacter
from client.reply_stream import ReplyStream
from client.screen import PlainScreen
from client.session import ChatSession
from protocol.events import TurnEvent, VitalsEvent
from protocol.generation import GenerationSettings
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
    chat = ChatSession(character, InterruptingScreen(out))
    await chat.attached(await character.attach("m-playful"))
    try:
        yield chat, out
    finally:
        await character.close()




async def test_a_message_streams_the_reply_then_one_line_of_what_changed(
        session: tuple[ChatSession, io.StringIO]) -> None:
    chat, out = session
    text = await run(chat, out, "Hello! I love hiking.")
    assert text.startswith('Tobias "Toby" Okafor: ')
    changed = [line for line in text.splitlines() if line.startswith("-> mood ")]
    assert len(changed) == 1 and "[vitals" not in text


async def test_the_line_after_a_turn_is_drawn_from_its_answer_alone(
    session: tuple[ChatSession, io.StringIO], monkeypatch: pytest.MonkeyPatch
) -> None:
    chat, out = session
    asked: list[str] = []
    monkeypatch.setattr(chat.character, "status", lambda **_: asked.append("status"))
    text = await run(chat, out, "You are wonderful, thank you!")
    assert "-> mood " in text and " ^" in text
    assert asked == []


async def test_panel_mode_draws_the_panel_when_the_mood_changed_and_the_line_otherwise(
        session: tuple[ChatSession, io.StringIO]) -> None:
    chat, out = session
    chat.vitals_mode = "panel"
    moods = []
    for message in ("You are wonderful, thank you!", "You stupid useless idiot!",
                    "I hate you, you are awful!", "Thank you, friend."):
        text = await run(chat, out, message)
        before = moods[-1] if moods else "content"
        assert chat.view is not None
        moods.append(chat.view.mood)
        assert ("[vitals" in text) == (chat.view.mood != before), text
        assert ("-> mood" in text) == (chat.view.mood == before), text


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


async def test_another_clients_turn_is_shown_with_its_reply(
    session: tuple[ChatSession, io.StringIO],
) -> None:
    chat, out = session
    out.seek(0)
    out.truncate()
    await chat.on_event(TurnEvent(character_id="m-playful", user="bob", user_message="hi",
                                  response_text="hey bob", turn_index=1))
    assert "bob said to m-playful: hi" in out.getvalue()
    assert "hey bob" in out.getvalue()


async def test_another_clients_turn_arriving_mid_reply_waits_until_the_reply_is_written(
    session: tuple[ChatSession, io.StringIO], monkeypatch: pytest.MonkeyPatch,
) -> None:
    chat, out = session
    turn = TurnEvent(character_id="m-playful", user="bob", user_message="hi",
                     response_text="hey bob", turn_index=1)
    own_stream = chat.character.chat_stream

    def chat_stream(text: str, **options: Any) -> ReplyStream:
        stream = own_stream(text, **options)

        async def source() -> AsyncGenerator[str | ReplyPhase | ChatReply, None]:
            delivered = False
            async for delta in stream:
                yield delta
                if not delivered:  # bob's turn reaches this client after the first delta
                    await chat.on_event(turn)
                    delivered = True
            assert delivered and stream.reply is not None
            yield stream.reply

        return ReplyStream(source)

    monkeypatch.setattr(chat.character, "chat_stream", chat_stream)
    lines = (await run(chat, out, "Hello! I love hiking.")).splitlines()
    assert lines[0].startswith('Tobias "Toby" Okafor: ') and "bob" not in lines[0]
    assert lines[1].startswith("-> mood ")
    assert lines[2:] == ["* bob said to m-playful: hi", 'Tobias "Toby" Okafor: hey bob']


async def test_the_turns_own_vitals_event_arriving_as_the_reply_ends_stays_out_of_its_line(
    session: tuple[ChatSession, io.StringIO], monkeypatch: pytest.MonkeyPatch,
) -> None:
    chat, out = session
    own_stream = chat.character.chat_stream
    delivered: list[asyncio.Task[None]] = []

    def chat_stream(text: str, **options: Any) -> ReplyStream:
        stream = own_stream(text, **options)

        async def source() -> AsyncGenerator[str | ReplyPhase | ChatReply, None]:
            async for delta in stream:
                yield delta
            reply = stream.reply
            assert reply is not None
            yield reply
            # The server's vitals_event for this very turn, handled by the event follower
            # at the chat's first pause after the stream ended.
            event = VitalsEvent(character_id="m-playful", cause="turn", user="ann",
                                vitals=dict(reply.vitals), mood="content",
                                mood_intensity=0.5, previous_mood="content",
                                vitals_delta={"dopamine": 1.0})
            delivered.append(asyncio.create_task(chat.on_event(event)))

        return ReplyStream(source)

    monkeypatch.setattr(chat.character, "chat_stream", chat_stream)
    lines = (await run(chat, out, "Hello! I love hiking.")).splitlines()
    await asyncio.gather(*delivered)
    assert delivered and "turn:" not in out.getvalue()
    assert lines[0].startswith('Tobias "Toby" Okafor: ') and "->" not in lines[0]
    assert lines[1].startswith("-> mood ") and len(lines) == 2


async def test_another_clients_turn_shows_the_servers_numbers_once(
    session: tuple[ChatSession, io.StringIO],
) -> None:
    chat, out = session
    assert chat.view is not None
    levels = {level.name: level.value for level in chat.view.levels}
    event = VitalsEvent(character_id="m-playful", cause="turn", user="bob",
                        vitals={**levels, "cortisol": 50.0}, mood="anxious",
                        mood_intensity=0.84, previous_mood="content",
                        vitals_delta={"cortisol": 12.25, "dopamine": 0.1})
    out.seek(0)
    out.truncate()
    await chat.on_event(event)
    await chat.on_event(event)
    assert out.getvalue() == ("-> bob's turn: mood content -> anxious 84% | "
                              "cortisol 50.0 ^12.2\n")
    assert chat.view.mood_intensity == 0.84
    cortisol = chat.view.level("cortisol")
    assert cortisol is not None and cortisol.change == 12.25


async def test_a_vitals_change_that_is_no_turn_is_one_notice(
    session: tuple[ChatSession, io.StringIO],
) -> None:
    chat, out = session
    assert chat.view is not None
    same = {level.name: level.value for level in chat.view.levels}
    out.seek(0)
    out.truncate()
    await chat.on_event(VitalsEvent(character_id="m-playful", vitals=same, cause="reset"))
    assert out.getvalue() == ""
    await chat.on_event(VitalsEvent(character_id="m-playful", vitals={**same, "cortisol": 90.0},
                                    cause="reset"))
    assert out.getvalue().startswith("* vitals changed (reset): mood ")


async def test_vitals_shows_a_sparkline_of_each_level_over_the_turns(
        session: tuple[ChatSession, io.StringIO]) -> None:
    chat, out = session
    for message in ("You are wonderful!", "You stupid idiot!", "Thanks, friend."):
        await run(chat, out, message)
    panel = await run(chat, out, "/vitals")
    rows = [line for line in panel.splitlines() if line.startswith("cortisol")]
    assert len(rows) == 1 and len(rows[0].rsplit(" ", 1)[1]) == 3


async def test_set_goes_with_each_message_and_why_shows_it(
        session: tuple[ChatSession, io.StringIO]) -> None:
    chat, out = session
    assert "temperature set to 0.3 for this session" in await run(
        chat, out, "/set temperature 0.3")
    await run(chat, out, "Hello! I love hiking.")
    why = await run(chat, out, "/why")
    assert why.startswith("why turn 1 — ann: 'Hello! I love hiking.'")
    assert "temperature 0.3 (set)" in why
    assert len(why.splitlines()) <= 25  # one screen
    assert "back to the character's own" in await run(chat, out, "/set temperature default")
    await run(chat, out, "And you?")
    assert "(set)" not in await run(chat, out, "/why 2")


async def test_show_lists_the_session_settings_and_what_the_last_turn_ran_with(
        session: tuple[ChatSession, io.StringIO]) -> None:
    chat, out = session
    assert "no turn yet" in await run(chat, out, "/show")
    await run(chat, out, "/set max_tokens 64")
    await run(chat, out, "Hello!")
    shown = await run(chat, out, "/show")
    assert "max_tokens   64  (set)" in shown and "temperature  —" in shown
    assert "turn 1 ran on scripted with:" in shown and "max_tokens 64" in shown


async def test_why_explains_each_part_of_a_turn(session: tuple[ChatSession, io.StringIO]
                                                ) -> None:
    chat, out = session
    await run(chat, out, "My dog is called Biscuit.")
    await run(chat, out, "You stupid idiot, what is my dog called?")
    why = await run(chat, out, "/why")
    for part in ("read as    hostile", '"idiot"', "vitals ", "cortisol", "mood ",
                 "memories   2 found", "its words matched", "lorebook ", "history    kept 1 of 1",
                 "generation scripted"):
        assert part in why, part


async def test_why_refuses_a_turn_that_does_not_exist(
        session: tuple[ChatSession, io.StringIO]) -> None:
    chat, out = session
    assert "[bad_request]" in await run(chat, out, "/why")
    await run(chat, out, "Hello!")
    assert "no turn 4; its newest turn is turn 1" in await run(chat, out, "/why 4")
    assert "Usage: /why [N]" in await run(chat, out, "/why last")


async def test_a_bad_setting_is_refused_before_anything_is_sent(
        session: tuple[ChatSession, io.StringIO]) -> None:
    chat, out = session
    assert "expected a number from 0 to 1, got '3'" in await run(chat, out, "/set top_p 3")
    assert chat.options == GenerationSettings()
