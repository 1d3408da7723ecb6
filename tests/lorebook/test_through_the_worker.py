"""World Info through the whole system: ``greenroom serve`` with a real worker, a character
that names a shared book imported with ``greenroom lorebook import`` from SillyTavern's own
Eldoria World Info file, turns sent with the client library, and the prompt and trace read
back: an entry fires only when its key is said, and both say which key, in which message."""

from __future__ import annotations

from pathlib import Path

import pytest

from client.remote import CharacterClient
from runtime.settings import REPO_ROOT
from schemas.lorebook_files import import_lorebook
from tests.support.running_server import Launch

pytestmark = [pytest.mark.process, pytest.mark.timeout(120)]

ELDORIA = REPO_ROOT / "tests" / "data" / "worldinfo" / "Eldoria.json"


def cast(tmp_path: Path) -> Path:
    characters = tmp_path / "characters"
    characters.mkdir()
    source = (REPO_ROOT / "schemas" / "characters" / "zen-master.yaml").read_text()
    (characters / "zen-master.yaml").write_text(source + "\nlorebooks: [eldoria]\n")
    import_lorebook(ELDORIA, characters)
    return characters


async def test_an_entry_fires_only_when_its_key_is_said_and_the_prompt_says_why(
        launch: Launch, tmp_path: Path) -> None:
    server = await launch(["zen-master"], characters_dir=cast(tmp_path))
    client = await CharacterClient.connect(server.url, character_id="zen-master", user="sam")
    try:
        await client.chat("Hi there.")
        quiet = await client.prompt()
        assert quiet.lorebook == []
        assert "Shadowfangs" not in quiet.messages[0]["content"]

        await client.chat("Are there monsters out here?")
        shown = await client.prompt()
        fired = [(e["entry"], e["book"], e["key"], e["where"], e["included"])
                 for e in shown.lorebook]
        assert fired == [("shadowfang", "shared:eldoria", "monster", "message 0", True)]
        assert "The Shadowfangs are beasts of darkness" in shown.messages[0]["content"]

        trace = await client.trace()
        assert trace.trace is not None
        lore = trace.trace["lorebook"]
        assert [(f["entry"], f["key"]) for f in lore["fired"]] == [("shadowfang", "monster")]
    finally:
        await client.close()
