"""Hybrid memory search with vectors from a real llama-cpp-python embedding server (SmolLM2
mean-pooled), reached through ``GREENROOM_EMBEDDING_BASE_URL`` while chats go to another
server."""

from __future__ import annotations

import pytest

from tests.real_llm.conftest import StartGreenroom
from tests.real_llm.helpers import CHARACTER, chat_reply
from tests.real_llm.llama_server import MODEL_NAME, LlamaServer, request_line
from tests.support.json_peer import attach, open_peer

pytestmark = pytest.mark.timeout(300)

FACT = "My favourite drink is black coffee."
UNRELATED_QUERY = "a dark roast in the morning"
"""Shares no word, lemma or category with the memories ``FACT`` forms (``espresso beverage``
did until search learned that a beverage is a drink): only its vector can find them."""


async def test_memory_search_finds_a_memory_by_its_vector_from_the_embedding_server(
    greenroom: StartGreenroom, chat_llm: LlamaServer, embedding_llm: LlamaServer
) -> None:
    chat_mark, embedding_mark = len(chat_llm.lines), len(embedding_llm.lines)
    server = await greenroom(chat_llm, GREENROOM_EMBEDDING_MODEL=MODEL_NAME,
                             GREENROOM_EMBEDDING_BASE_URL=embedding_llm.base_url)
    async with open_peer(server.url) as peer:
        await attach(peer, CHARACTER)
        reply = await chat_reply(peer, FACT)
        by_word = await peer.request("memory_search_request", query="coffee")
        by_meaning = await peer.request("memory_search_request", query=UNRELATED_QUERY)

    formed = reply["cognitive_summary"]["memories_formed"]
    assert formed, f"{FACT!r} forms a memory: {reply['cognitive_summary']}"
    assert by_word["count"] >= 1, by_word
    top = by_word["memories"][0]
    assert "coffee" in top["text"], by_word
    assert top["scores"]["relevance"] > 0 and top["scores"]["vector"] > 0, top
    found = [m for m in by_meaning["memories"] if "coffee" in m["text"]]
    assert found, f"the vector finds the memory without a shared word: {by_meaning}"
    assert found[0]["scores"]["relevance"] == 0 and found[0]["scores"]["vector"] > 0, found
    embedding_requests = [request_line(line) for line in embedding_llm.lines[embedding_mark:]]
    chat_requests = [request_line(line) for line in chat_llm.lines[chat_mark:]]
    assert "POST /v1/embeddings" in embedding_requests
    assert "POST /v1/embeddings" not in chat_requests, "embeddings go to their own server"
