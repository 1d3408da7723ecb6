"""A real worker's stdlib ``logging`` records (httpx's, here) reach the log file once each,
through the shared chain, carrying the request's bound context like the worker's own records."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from protocol.chat import ChatRequest, ChatResponse
from tests.backends.fake_llm_servers import FakeOllamaServer
from tests.supervisor.helpers import log_records, pid_of, request

pytestmark = pytest.mark.process

CHARACTER = "zen-master"


@pytest.fixture
async def ollama() -> AsyncIterator[FakeOllamaServer]:
    async with FakeOllamaServer(models=["llama3.2:latest"]) as server:
        yield server


async def test_an_httpx_record_carries_the_requests_context_and_is_written_once(
        start_pool, ollama: FakeOllamaServer, log_file: Path) -> None:
    pool, listener = await start_pool(settings={
        "engine": "ollama", "ollama_base_url": ollama.base_url, "ollama_model": "llama3.2",
        "model_memory": "off"})  # its notes' request would carry the chat's context too
    await pool.ensure(CHARACTER)
    chat = ChatRequest(message_id="chat-1", user_message="Hello there")
    reply = await request(pool, listener, CHARACTER, 7, chat)
    assert isinstance(reply, ChatResponse) and reply.success
    # The worker's records arrive on its channel before its reply: all written by now.
    records = [r for r in log_records(log_file) if r.get("message_id") == "chat-1"]
    (posted,) = [r for r in records if r.get("logger") == "httpx"
                 and "POST" in r["event"] and "/api/chat" in r["event"]]
    (committed,) = [r for r in records if r["event"] == "turn_committed"]
    context = ("process", "pid", "character", "session", "message_id", "worker_generation")
    assert {k: posted[k] for k in context} == {k: committed[k] for k in context} == {
        "process": "worker", "pid": pid_of(pool, CHARACTER), "character": CHARACTER,
        "session": "s-test", "message_id": "chat-1", "worker_generation": 1}
    assert posted["level"] == "info" and "ts" in posted
