"""Model-written memories through the whole system: ``greenroom serve`` with
``GREENROOM_MODEL_MEMORY=on``, a real worker process, the ``openai`` backend and the fake
model server. The reply is answered first; the fact the model then writes is found by
``memory_search_request`` and goes with its turn on ``undo_request``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.backends.fake_llm_servers import FakeOpenAIServer, StreamScript
from tests.support.json_peer import attach, open_peer
from tests.support.running_server import ServerConfig, running_server

pytestmark = [pytest.mark.process, pytest.mark.timeout(60)]

CHARACTER = "m-playful"
NOTES = "You keep notes about the person"
"""Only the note-taking request's system message says this."""
FACT = json.dumps({"fact": "The user's sister Ophelia lives in Lisbon."})


async def test_the_model_writes_a_fact_after_the_reply_and_undo_takes_it(
        tmp_path: Path) -> None:
    async with FakeOpenAIServer(models=["local-model"],
                                script=StreamScript(tokens=("Lovely", "!"))) as llm:
        llm.queue_script(StreamScript(tokens=(FACT,)), for_text=NOTES)
        env = {"OPENAI_BASE_URL": llm.base_url, "OPENAI_MODEL": "local-model",
               "GREENROOM_MODEL_MEMORY": "on"}
        config = ServerConfig(tmp_path, characters=[CHARACTER], engine="openai", env=env)
        async with running_server(config) as server, open_peer(server.url) as peer:
            await attach(peer, CHARACTER)
            reply = await peer.request("chat_request",
                                       user_message="My sister Ophelia moved to Lisbon.")
            assert reply["response_text"] == "Lovely!"
            written = await server.wait_for_record(
                lambda r: r.get("event") in ("model_memories_written", "model_memories_dropped",
                                             "memory_extraction_failed"), timeout_s=30)
            assert written["event"] == "model_memories_written", written
            found = await peer.request("memory_search_request", query="Ophelia Lisbon")
            facts = [m for m in found["memories"] if m["text"].startswith("The user's sister")]
            assert facts and facts[0]["kind"] == "fact", found
            undone = await peer.request("undo_request")
            assert undone["success"], undone
            after = await peer.request("memory_search_request", query="Ophelia Lisbon")
            assert not [m for m in after["memories"] if m["text"].startswith("The user's sister")]
