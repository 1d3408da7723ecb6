"""``/prompt [TEXT]`` in the chat, over a real local character (the worker's own service in
this process): the last turn's prompt as sent, or a dry run of TEXT."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.commands import Command, parse_line
from client.interface import PromptView
from client.local import LocalCharacter
from client.render import prompt_plain
from client.screen import PlainScreen
from client.session import ChatSession
from runtime.settings import load_settings
from tests.client.chat_driver import run


@pytest.fixture
async def local(tmp_path: Path) -> AsyncIterator[tuple[ChatSession, LocalCharacter, io.StringIO]]:
    out = io.StringIO()
    character = LocalCharacter(load_settings({"data_dir": tmp_path}, environ={}), user="ann")
    session = ChatSession(character, PlainScreen(out), vitals="off")
    await character.attach("m-playful")
    try:
        yield session, character, out
    finally:
        await character.close()


def test_prompt_takes_an_optional_message() -> None:
    assert parse_line("/prompt") == Command("prompt")
    assert parse_line("/prompt  What now? ") == Command("prompt", "What now?")


async def test_before_any_turn_the_chat_says_there_is_no_prompt_yet(
        local: tuple[ChatSession, LocalCharacter, io.StringIO]) -> None:
    session, _, out = local
    shown = await run(session, out, "/prompt")
    assert shown.startswith("(no prompt: user 'ann' has not talked with character 'm-playful'")


async def test_after_a_turn_the_chat_shows_its_prompt_in_full(
        local: tuple[ChatSession, LocalCharacter, io.StringIO]) -> None:
    session, character, out = local
    await run(session, out, "Hello! I love hiking.")
    shown = await run(session, out, "/prompt")
    view = await character.prompt()
    assert view.kept and view.turn_id == 1 and view.user == "ann"
    assert shown.startswith("prompt of turn 1 for ann, as sent to scripted, model scripted")
    assert "budget: 3584 tokens = context 4096 (GREENROOM_CONTEXT_TOKENS" in shown
    assert "  identity " in shown and "  history " in shown and "kept 0 of 0 exchanges" in shown
    for index, message in enumerate(view.messages):
        assert f"--- {index} {message['role']} ---\n{message['content']}" in shown
    assert view.messages[-1]["content"].startswith("Hello! I love hiking.\n\n[Note for ")


async def test_prompt_with_text_is_a_dry_run_that_changes_nothing(
        local: tuple[ChatSession, LocalCharacter, io.StringIO]) -> None:
    session, character, out = local
    await run(session, out, "Hello! I love hiking.")
    before = await character.status(include_history=True)
    shown = await run(session, out, "/prompt Where should we hike?")
    assert shown.startswith("dry run for ann: the prompt this message would send")
    assert "Where should we hike?\n\n[Note for " in shown
    assert "kept 1 of 1 exchanges" in shown
    assert (await character.status(include_history=True)).history == before.history
    assert (await character.prompt()).messages[-1]["content"].startswith("Hello! I love")


def test_trimmed_sections_and_warnings_are_marked() -> None:
    view = PromptView(
        kept=True, dry_run=False, user="sam", turn_id=4, backend="ollama", model="llama3.2",
        options={"temperature": 0.8, "num_ctx": 2048, "max_tokens": 512, "stop": []},
        messages=[{"role": "system", "content": "You are Mara."},
                  {"role": "user", "content": "Hi"}],
        sections=[{"name": "lorebook", "tokens": 2500, "message_index": None, "trimmed": True},
                  {"name": "history", "tokens": 0, "message_index": None, "trimmed": False,
                   "exchanges_kept": 0, "exchanges_available": 3}],
        budget={"budget_tokens": 1536, "estimated_tokens": 1600, "context_tokens": 2048,
                "context_source": "num_ctx 2048 sent to Ollama", "reply_reserve_tokens": 512,
                "prompt_token_cap": None, "min_exchanges": 3, "token_ratio": 1.12,
                "calibration_turns": 4},
        usage={"prompt_tokens": 1790, "completion_tokens": 20, "usage_source": "reported"},
        warnings=[{"code": "prompt_over_budget", "message": "trimmed lorebook"}])
    text = prompt_plain(view)
    assert text.splitlines()[0] == ("prompt of turn 4 for sam, as sent to ollama, model"
                                    " llama3.2 (temperature 0.8, num_ctx 2048, max_tokens 512)")
    assert ("budget: 1536 tokens = context 2048 (num_ctx 2048 sent to Ollama) − 512 for the"
            " reply; estimated 1600 (×1.12, calibrated over 4 turn(s)); the server counted"
            " 1790") in text
    assert "lorebook" in text and "TRIMMED to fit the budget" in text
    assert "warning [prompt_over_budget]: trimmed lorebook" in text
