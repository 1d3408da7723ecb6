"""Issue 16's "the prompt, exactly" and "a budget that knows the model", through the whole
system: ``greenroom serve`` with a real worker, the ``ollama`` / ``openai`` backend, a fake
model server speaking the real wire formats (``tests.backends.fake_llm_servers``), turns
sent with the client library, and the prompt read back with the ``greenroom prompt`` CLI
and with ``/prompt`` in a chat session.

One server per engine serves the module's tests (one event loop: the fake model server
runs in it). Every wait is on an event: a log record, an answer, a process exiting.
"""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from client.remote import CharacterClient
from client.screen import PlainScreen
from client.session import ChatSession
from runtime.settings import REPO_ROOT
from tests.backends.fake_llm_servers import FakeLLMServer, FakeOllamaServer, FakeOpenAIServer
from tests.client.chat_driver import run
from tests.support.cli_process import CLI_TIMEOUT_S, clean_env, greenroom_argv
from tests.support.running_server import RunningServer, ServerConfig, running_server

pytestmark = [
    pytest.mark.process,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.timeout(60),
]

CHARACTER = "m-playful"
OLLAMA_MODEL = "llama3.2"
OPENAI_MODEL = "local-model"
OLLAMA_TRAINED_CONTEXT = 2048
"""Below the ``num_ctx`` 4096 greenroom sends: the budget must come from ``/api/show``."""
LLAMA_SERVER_N_CTX = 8192


@dataclass
class Stack:
    engine: str
    llm: FakeLLMServer
    server: RunningServer
    data_dir: Path

    @property
    def chat_path(self) -> str:
        return "POST /api/chat" if self.engine == "ollama" else "POST /v1/chat/completions"

    def chat_bodies(self) -> list[dict[str, Any]]:
        return [b for b in self.llm.stats.bodies if isinstance(b, dict) and "messages" in b]


async def serving(stack: AsyncExitStack, engine: str, data_dir: Path) -> Stack:
    llm: FakeLLMServer
    if engine == "ollama":
        llm = await stack.enter_async_context(FakeOllamaServer(
            models=[f"{OLLAMA_MODEL}:latest"], context_length=OLLAMA_TRAINED_CONTEXT))
        env = {"OLLAMA_BASE_URL": llm.base_url, "OLLAMA_MODEL": OLLAMA_MODEL}
    else:
        llm = await stack.enter_async_context(FakeOpenAIServer(
            models=[OPENAI_MODEL], props_n_ctx=LLAMA_SERVER_N_CTX))
        env = {"OPENAI_BASE_URL": llm.base_url, "OPENAI_MODEL": OPENAI_MODEL}
    # No decay between a dry run and the turn after it: the vitals in both prompts agree.
    env["GREENROOM_DECAY_HALF_LIFE"] = "1000000000"
    env["GREENROOM_MODEL_MEMORY"] = "off"  # the turn's prompt is the model's last request
    server = await stack.enter_async_context(running_server(ServerConfig(
        data_dir, characters=[CHARACTER], engine=engine, env=env)))
    # The worker asks its model server about the context window in its start-up check.
    await server.wait_for_record(lambda r: r.get("event") == "llm_check_passed")
    return Stack(engine, llm, server, data_dir)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def ollama_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with AsyncExitStack() as stack:
        yield await serving(stack, "ollama", tmp_path_factory.mktemp("ollama-data"))


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def openai_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with AsyncExitStack() as stack:
        yield await serving(stack, "openai", tmp_path_factory.mktemp("openai-data"))


@pytest.fixture(params=["ollama", "openai"])
def stack(request: pytest.FixtureRequest) -> Stack:
    chosen: Stack = request.getfixturevalue(f"{request.param}_stack")
    return chosen


async def client_for(stack: Stack, user: str) -> CharacterClient:
    return await CharacterClient.connect(stack.server.url, character_id=CHARACTER, user=user)


async def chat_as(stack: Stack, user: str, text: str) -> None:
    client = await client_for(stack, user)
    try:
        await client.chat(text)
    finally:
        await client.close()


async def greenroom_prompt(stack: Stack, *args: str) -> tuple[int, dict[str, Any], str]:
    """``greenroom prompt CHARACTER --json ARGS`` as a user's shell runs it: exit code, the
    JSON it printed on stdout, and its stderr."""
    process = await asyncio.create_subprocess_exec(
        *greenroom_argv("prompt", CHARACTER, "--json", "--server-url", stack.server.url, *args),
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        stdin=asyncio.subprocess.DEVNULL, env=clean_env(stack.data_dir), cwd=REPO_ROOT)
    async with asyncio.timeout(CLI_TIMEOUT_S):
        out, err = await process.communicate()
    assert out, err.decode()
    return process.returncode or 0, json.loads(out), err.decode()


async def test_the_prompt_after_a_turn_is_what_the_model_server_received(stack: Stack
                                                                         ) -> None:
    await chat_as(stack, "sam", "Hello! I'm Sam and I restore old maps.")
    await chat_as(stack, "sam", "What are you up to today?")
    received = stack.chat_bodies()[-1]
    code, shown, _ = await greenroom_prompt(stack, "--user", "sam")
    assert code == 0
    assert shown["messages"] == received["messages"]
    assert json.dumps(shown["messages"]) == json.dumps(received["messages"])  # byte for byte
    assert shown["model"] == received["model"]
    assert shown["user"] == "sam" and shown["dry_run"] is False and shown["kept"] is True
    sent_options = received["options"] if stack.engine == "ollama" else received
    assert shown["options"]["max_tokens"] == sent_options.get(
        "num_predict" if stack.engine == "ollama" else "max_tokens")
    assert shown["options"]["temperature"] == sent_options["temperature"]
    names = [s["name"] for s in shown["sections"]]
    for name in ("identity", "personality", "goals", "history", "user_message", "vitals",
                 "relationship"):
        assert name in names
    history = next(s for s in shown["sections"] if s["name"] == "history")
    assert history["exchanges_kept"] == history["exchanges_available"] >= 1
    assert shown["usage"]["prompt_tokens"] == stack.llm.script.prompt_tokens


async def test_the_budget_comes_from_the_model_servers_context_window(stack: Stack) -> None:
    await chat_as(stack, "ann", "Hi there!")
    _, shown, _ = await greenroom_prompt(stack, "--user", "ann")
    budget = shown["budget"]
    if stack.engine == "ollama":
        assert budget["context_tokens"] == OLLAMA_TRAINED_CONTEXT
        assert "llama.context_length" in budget["context_source"]
        assert "/api/show" in budget["context_source"]
    else:
        assert budget["context_tokens"] == LLAMA_SERVER_N_CTX
        assert budget["context_source"] == "llama.cpp GET /props default_generation_settings.n_ctx"
    assert budget["reply_reserve_tokens"] == 512
    assert budget["budget_tokens"] == budget["context_tokens"] - 512
    assert 0 < budget["estimated_tokens"] <= budget["budget_tokens"]


async def test_a_dry_run_commits_nothing_and_sends_the_model_nothing(stack: Stack) -> None:
    await chat_as(stack, "bo", "Good morning!")
    client = await client_for(stack, "bo")
    try:
        before = await client.status(include_history=True)
        asked = stack.llm.stats.requests[stack.chat_path]
        code, dry, _ = await greenroom_prompt(stack, "--user", "bo", "--message",
                                              "Tell me about your day")
        after = await client.status(include_history=True)
        assert stack.llm.stats.requests[stack.chat_path] == asked
        assert after.history == before.history
        assert after.summary["turn_count"] == before.summary["turn_count"]
        assert code == 0 and dry["dry_run"] is True and dry["turn_id"] is None
        assert dry["messages"][-1]["content"].startswith("Tell me about your day\n\n[Note for ")
        _, kept, _ = await greenroom_prompt(stack, "--user", "bo")
        assert kept["messages"][-1]["content"].startswith("Good morning!")  # still the turn's
        await client.chat("Tell me about your day")
    finally:
        await client.close()
    assert stack.chat_bodies()[-1]["messages"] == dry["messages"]


async def test_a_user_without_turns_gets_no_prompt_and_exit_status_1(stack: Stack) -> None:
    code, shown, _ = await greenroom_prompt(stack, "--user", "nobody-yet")
    assert code == 1
    assert shown["kept"] is False and shown["messages"] == []
    assert "has not talked with" in shown["note"]


async def test_slash_prompt_in_a_remote_chat_shows_the_last_turns_prompt(
        ollama_stack: Stack) -> None:
    out = io.StringIO()
    client = await client_for(ollama_stack, "cy")
    try:
        session = ChatSession(client, PlainScreen(out), vitals="off")
        assert "(no prompt: " in await run(session, out, "/prompt")
        await run(session, out, "I brought you a map of the harbour.")
        shown = await run(session, out, "/prompt")
        received = ollama_stack.chat_bodies()[-1]["messages"]
        assert "prompt of turn" in shown and "for cy, as sent to ollama, model llama3.2" in shown
        assert f"budget: {OLLAMA_TRAINED_CONTEXT - 512} tokens = context" in shown
        assert "--- 0 system ---\n" + received[0]["content"] in shown
        assert received[-1]["content"] in shown
        dry = await run(session, out, "/prompt Where is the harbour?")
        assert dry.startswith("dry run for cy: ")
        assert "Where is the harbour?\n\n[Note for " in dry
    finally:
        await client.close()
