"""The chat shows every event published after the attach, even one that arrives before its
event follower first runs (opening prompt_toolkit under load takes long enough for a worker
to restart meanwhile: the full suite's flaky terminal test)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from client.chat_cli import ChatOptions, _run_mode
from client.local import LocalCharacter
from client.screen import PlainScreen
from protocol.events import WorkerStateEvent
from runtime.settings import load_settings

CHARACTER = "m-playful"


class RestartOnAnnounce(PlainScreen):
    """Publishes a worker restart the moment "talking to …" is shown, as a server does when
    the worker is killed right after the user saw the character attached."""

    def __init__(self, out: io.StringIO, character: LocalCharacter) -> None:
        super().__init__(out)
        self._character = character

    def notice(self, text: str) -> None:
        super().notice(text)
        if text.startswith("talking to"):
            self._character._hub.publish(
                WorkerStateEvent(character_id=CHARACTER, state="restarting", generation=2))


async def test_a_restart_right_after_the_attach_notice_is_shown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings({"data_dir": tmp_path}, environ={})
    character = LocalCharacter(settings, user="ann")
    out = io.StringIO()
    monkeypatch.setattr("sys.stdin", io.StringIO("/quit\n"))
    options = ChatOptions(character_id=CHARACTER, local=True, fallback=False,
                          vitals_only=False, vitals="off", user="ann", message=None,
                          tty=False)
    try:
        assert await _run_mode(character, options, settings,
                               RestartOnAnnounce(out, character)) == 0
    finally:
        await character.close()
    assert f"character {CHARACTER} restarting" in out.getvalue()
