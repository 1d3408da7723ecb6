"""The export as streamed text: the whole history as one document, cut into bounded chunks,
and a consistent picture while turns commit."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from tests.engine.conftest import OpenEngine, chat
from worker.text_chunks import text_chunks


@given(st.lists(st.text(max_size=40), max_size=12), st.integers(min_value=1, max_value=17))
def test_chunks_rejoin_to_the_text_and_only_the_last_is_short(pieces: list[str],
                                                             size: int) -> None:
    chunks = list(text_chunks(pieces, size))
    assert "".join(chunks) == "".join(pieces)
    assert all(len(chunk) == size for chunk in chunks[:-1])
    assert all(0 < len(chunk) <= size for chunk in chunks)


async def test_the_export_text_is_the_whole_history_document(open_engine: OpenEngine) -> None:
    engine = open_engine()
    await chat(engine, "Hello! I love hiking in the hills.")
    await chat(engine, "Tell me about the sea.")
    engine.save("after-two")
    document = json.loads("".join(engine.export_text()))
    assert (document["format"], document["format_version"]) == (
        "greenroom.character-history", 1)
    assert document["character_id"] == engine.character.id
    assert document["content"]["state"]["turn_count"] == 2
    assert [t["user_message"] for t in document["content"]["turns"]] == [
        "Hello! I love hiking in the hills.", "Tell me about the sea."]
    assert document["snapshots"][0]["name"] == "after-two"
    assert len(document["snapshots"][0]["content"]["turns"]) == 2


async def test_a_turn_committed_while_the_export_is_read_is_not_in_it(
    open_engine: OpenEngine,
) -> None:
    engine = open_engine()
    await chat(engine, "First words.")
    pieces = engine.export_text()
    started = next(pieces)  # the read transaction has begun
    await chat(engine, "Second words, after the export began.")
    document = json.loads(started + "".join(pieces))
    assert [t["user_message"] for t in document["content"]["turns"]] == ["First words."]
    assert document["content"]["state"]["turn_count"] == 1
