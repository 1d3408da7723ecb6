"""``status(history_user=…)`` and ``export(user=…)`` in local mode (the worker's own service
in this process): one user's thread of a character several people talk to."""

from __future__ import annotations

from pathlib import Path

from client.local import LocalCharacter
from runtime.settings import load_settings


async def test_status_and_export_keep_one_users_thread(tmp_path: Path) -> None:
    settings = load_settings({"data_dir": tmp_path}, environ={})
    for user, message in (("ann", "Hello, I am Ann."), ("ben", "Hi, Ben here.")):
        character = LocalCharacter(settings, user=user)
        await character.attach("m-playful")
        try:
            await character.chat(message)
        finally:
            await character.close()
    character = LocalCharacter(settings, user="ann")
    await character.attach("m-playful")
    try:
        everyone = await character.status(include_history=True)
        bens = await character.status(include_history=True, history_user="ben")
        anns_export = await character.export(user="ann")
    finally:
        await character.close()
    assert everyone.history is not None and bens.history is not None
    assert [t["user"] for t in everyone.history] == ["ann", "ben"]
    assert [t["user_message"] for t in bens.history] == ["Hi, Ben here."]
    assert anns_export["user"] == "ann"
    assert [t["user"] for t in anns_export["content"]["turns"]] == ["ann"]
