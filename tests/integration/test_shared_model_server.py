"""Two characters — two worker processes — on one model server, with model memory on: one
character's note-taking never starts while the other's reply streams (a server with
parallel slots, where replies may overlap each other), and on a llama.cpp-like server that
ends a stream when another request arrives (``interrupt_requests=True``) a reply that
starts while notes are being taken is never cut (the notes are, and are asked again).
The fake server records every request's span at the server (``ChatSpan``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.backends.fake_llm_servers import (
    NOTES_MARKER,
    FakeOpenAIServer,
    StreamScript,
    overlapping,
)
from tests.support.json_peer import attach, open_peer
from tests.support.running_server import Record, ServerConfig, running_server

pytestmark = [pytest.mark.process, pytest.mark.timeout(90)]

PLAYFUL, SERIOUS = "m-playful", "f-serious"
FACT = json.dumps({"fact": "The user's sister Ophelia lives in Lisbon."})
STORY = ("Once", " upon", " a", " time", " there", " was", " a", " lamp.")


def env_for(llm: FakeOpenAIServer) -> dict[str, str]:
    return {"OPENAI_BASE_URL": llm.base_url, "OPENAI_MODEL": "local-model",
            "GREENROOM_MODEL_MEMORY": "on", "GREENROOM_MODEL_MEMORY_REFLECT_EVERY": "0"}


def outcome_of(character: str) -> object:
    def matches(record: Record) -> bool:
        return record.get("character") == character and record.get("event") in (
            "model_memories_written", "model_memories_dropped", "memory_extraction_failed")
    return matches


async def test_notes_wait_while_another_characters_reply_streams(tmp_path: Path) -> None:
    async with FakeOpenAIServer(models=["local-model"], interrupt_requests=False,
                                script=StreamScript(tokens=("Lovely", "!"))) as llm:
        llm.queue_script(StreamScript(tokens=STORY, hold_after=2), for_text="a story")
        llm.queue_script(StreamScript(tokens=(FACT,)), for_text=NOTES_MARKER)
        config = ServerConfig(tmp_path, characters=[PLAYFUL, SERIOUS], engine="openai",
                              env=env_for(llm))
        async with running_server(config) as server, open_peer(server.url) as serious, \
                open_peer(server.url) as playful:
            await attach(serious, SERIOUS)
            await attach(playful, PLAYFUL)
            story = await serious.send_frame("chat_request", user_message="Tell me a story.")
            await llm.holding.wait()
            said = await playful.request("chat_request",
                                         user_message="My sister Ophelia moved to Lisbon.")
            assert said["response_text"] == "Lovely!"
            waiting = await server.wait_for_record(
                lambda r: r.get("event") == "background_request_waiting", timeout_s=30)
            assert (waiting["character"], waiting["waiting_for"]) == (PLAYFUL, "a reply")
            llm.release()
            told = await story.final
            written = await server.wait_for_record(outcome_of(PLAYFUL), timeout_s=30)
    assert told["response_text"] == "".join(STORY), told
    assert written["event"] == "model_memories_written", written
    # Then f-serious's own notes on its story, perhaps.
    assert [span.label for span in llm.spans][:3] == ["reply", "reply", "notes"]
    assert overlapping(llm.spans) == []
    assert not any(span.interrupted for span in llm.spans)


async def test_a_reply_that_starts_during_notes_is_never_cut(tmp_path: Path) -> None:
    async with FakeOpenAIServer(models=["local-model"], interrupt_requests=True,
                                script=StreamScript(tokens=("Lovely", "!"))) as llm:
        llm.queue_script(StreamScript(tokens=(FACT[:20], FACT[20:]), hold_after=1),
                         for_text=NOTES_MARKER)
        config = ServerConfig(tmp_path, characters=[PLAYFUL, SERIOUS], engine="openai",
                              env=env_for(llm))
        async with running_server(config) as server, open_peer(server.url) as serious, \
                open_peer(server.url) as playful:
            await attach(serious, SERIOUS)
            await attach(playful, PLAYFUL)
            await playful.request("chat_request",
                                  user_message="My sister Ophelia moved to Lisbon.")
            await llm.holding.wait()  # m-playful's notes are streaming
            reply = await serious.request("chat_request", user_message="Good evening.")
            written = await server.wait_for_record(outcome_of(PLAYFUL), timeout_s=30)
    assert reply["response_text"] == "Lovely!", reply
    assert written["event"] == "model_memories_written", written
    replies = [span for span in llm.spans if span.label == "reply"]
    assert len(replies) == 2 and not any(span.interrupted for span in replies)
    assert overlapping(llm.spans) == []
    notes = [span for span in llm.spans if span.label == "notes"]
    assert len(notes) >= 2  # the first was given up (or cut), then asked again
