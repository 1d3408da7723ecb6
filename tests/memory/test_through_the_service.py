"""What a client sees of memory, through the worker's real ``CharacterService`` (local mode:
the same service a worker process runs, in this process)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from client.local import LocalCharacter
from runtime.settings import load_settings


@pytest.fixture
async def character(tmp_path: Path) -> AsyncIterator[LocalCharacter]:
    local = LocalCharacter(load_settings({"data_dir": tmp_path}, environ={}), user="sam")
    await local.attach("m-playful")
    try:
        yield local
    finally:
        await local.close()


async def test_a_memory_found_carries_its_words_as_text_and_as_the_seeds_content(
        character: LocalCharacter) -> None:
    await character.chat("My sister Ophelia moved to Lisbon last spring.")
    [best, *_] = await character.search_memory("where does my sister live", limit=3)
    assert "Lisbon" in best["text"] and best["content"] == best["text"]
    assert best["kind"] == "message"


async def test_status_counts_every_memory_stored(character: LocalCharacter) -> None:
    for message in ("My sister moved to Lisbon.", "I'm allergic to peanuts."):
        await character.chat(message)
    stored = (await character.export())["content"]["memories"]
    assert len(stored) >= 4  # both messages and both replies, though no rule knows them
    assert (await character.status()).summary["memory_count"] == len(stored)
