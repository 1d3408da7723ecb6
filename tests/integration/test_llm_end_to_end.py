"""Issue 6's "done when", through the whole system: a WebSocket client, the gateway, a real
worker process, the ``ollama`` / ``openai`` backend and a fake model server that speaks the
exact streaming wire format (``tests.backends.fake_llm_servers``).

One ``greenroom serve`` per engine is shared by the module's tests (starting one costs about
a second); each test scripts the fake server for its own chats and leaves the character able
to chat again. The fake server runs in this test's event loop, so the module runs in one
module-wide loop. Only the two tests of what the worker's startup health check finds (no
server, model not pulled) start a server of their own.

Every wait is on an event: a ``chat_delta`` arriving, the fake server holding a stream or
seeing its client go away, a final answer. The one loop of repeated requests (waiting out
the availability backoff after the model server comes back) is bounded by attempts.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio

from tests.backends.fake_llm_servers import (
    FakeLLMServer,
    FakeOllamaServer,
    FakeOpenAIServer,
    StreamScript,
)
from tests.support.json_peer import Frame, JsonPeer, attach, open_peer
from tests.support.ports import closed_port
from tests.support.running_server import RunningServer, ServerConfig, running_server

pytestmark = [
    pytest.mark.process,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.timeout(60),
]

CHARACTER = "m-playful"
OLLAMA_MODEL = "llama3.2"
OPENAI_MODEL = "local-model"
REPLY = StreamScript(tokens=("Hello", ",", " world", "!"))
"""What every chat is answered with unless a test queues another script."""
STORY = ("Once", " upon", " a", " time", ".")
TOKEN_DELAY_S = 0.05

RECOVERY_ATTEMPTS = 400
RECOVERY_PACE_S = 0.025
"""Chats sent while waiting for the worker's re-check after the model server comes back:
at most 400, one every 25 ms (10 s), far beyond the documented backoff of 0.5 s + 1 s for
the failures this test causes, and few enough requests not to load the machine."""


@dataclass
class Stack:
    """A fake model server and the ``greenroom serve`` whose worker talks to it."""

    engine: str
    llm: FakeLLMServer
    server: RunningServer

    def reset_llm_events(self) -> None:
        """Forget what earlier tests' streams did to the fake server's events (a stream
        cancelled while held leaves ``holding`` set)."""
        for event in (self.llm.holding, self.llm.disconnected, self.llm.first_token_written):
            event.clear()


def engine_env(engine: str, llm: FakeLLMServer) -> dict[str, str]:
    """The engine's settings against ``llm``; model memory off, since these tests read the
    model server's requests (a turn's notes would be the last)."""
    if engine == "ollama":
        return {"OLLAMA_BASE_URL": llm.base_url, "OLLAMA_MODEL": OLLAMA_MODEL,
                "GREENROOM_MODEL_MEMORY": "off"}
    return {"OPENAI_BASE_URL": llm.base_url, "OPENAI_MODEL": OPENAI_MODEL,
            "GREENROOM_MODEL_MEMORY": "off"}


def fake_server(engine: str, *, port: int = 0) -> FakeLLMServer:
    if engine == "ollama":
        return FakeOllamaServer(models=[f"{OLLAMA_MODEL}:latest"], script=REPLY, port=port)
    return FakeOpenAIServer(models=[OPENAI_MODEL], script=REPLY, port=port)


@asynccontextmanager
async def serving(engine: str, data_dir: Path) -> AsyncIterator[Stack]:
    async with AsyncExitStack() as stack:
        llm = await stack.enter_async_context(fake_server(engine))
        server = await stack.enter_async_context(running_server(ServerConfig(
            data_dir, characters=[CHARACTER], engine=engine, env=engine_env(engine, llm))))
        try:
            yield Stack(engine, llm, server)
        finally:
            llm.release()  # a stream a failed test left held must not stall shutdown


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def ollama_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with serving("ollama", tmp_path_factory.mktemp("ollama-data")) as stack:
        yield stack


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def openai_stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    async with serving("openai", tmp_path_factory.mktemp("openai-data")) as stack:
        yield stack


@pytest.fixture(params=["ollama", "openai"])
def stack(request: pytest.FixtureRequest) -> Stack:
    """Each engine's shared stack in turn, with the fake server's events reset. Tests change
    the fake's answers only with ``queue_script`` (one chat), never ``script`` itself."""
    chosen: Stack = request.getfixturevalue(f"{request.param}_stack")
    chosen.reset_llm_events()
    return chosen


@pytest_asyncio.fixture(loop_scope="module")
async def peer(stack: Stack) -> AsyncIterator[JsonPeer]:
    async with open_peer(stack.server.url) as client:
        await attach(client, CHARACTER)
        yield client


@pytest_asyncio.fixture(loop_scope="module")
async def ollama_peer(ollama_stack: Stack) -> AsyncIterator[JsonPeer]:
    ollama_stack.reset_llm_events()
    async with open_peer(ollama_stack.server.url) as client:
        await attach(client, CHARACTER)
        yield client


# -- helpers -----------------------------------------------------------------------------


async def status(peer: JsonPeer) -> Frame:
    answer = await peer.request("status_request", include_history=True)
    assert answer["message_type"] == "status_response", answer
    return answer


def committed_vitals(vitals: dict[str, Any]) -> dict[str, tuple[float, float]]:
    """Per level: the value stored at the last committed turn (now minus the drift since)
    and what that turn changed. Unlike ``level`` these do not move with the clock."""
    return {name: (detail["level"] - detail["since_last_turn"], detail["last_turn_delta"])
            for name, detail in vitals["details"].items()}


def assert_same_commit(before: Frame, after: Frame) -> None:
    summary_before, summary_after = before["character_summary"], after["character_summary"]
    assert summary_after["turn_count"] == summary_before["turn_count"], after
    assert after["conversation_history"] == before["conversation_history"]
    then, now = committed_vitals(before["vitals"]), committed_vitals(after["vitals"])
    for name, (level, delta) in then.items():
        # Both readings are rounded to 0.01, so their difference may be off by 0.02.
        assert now[name][0] == pytest.approx(level, abs=0.02), (name, then, now)
        assert now[name][1] == delta, (name, then, now)


async def assert_reads_answer(server: RunningServer, peer: JsonPeer, pid_before: int) -> None:
    """The worker survived (same pid) and answers status and memory search."""
    assert await server.worker_pid(CHARACTER) == pid_before, "the worker was restarted"
    await status(peer)
    search = await peer.request("memory_search_request", query="hello")
    assert search["message_type"] == "memory_search_response", search


async def assert_serves_and_chats(stack: Stack, peer: JsonPeer, pid_before: int) -> None:
    """The worker survived (same pid), still reads, and the next chat gets a full reply."""
    await assert_reads_answer(stack.server, peer, pid_before)
    reply = await peer.request("chat_request", user_message="Are you still there?")
    assert reply["message_type"] == "chat_response", reply
    assert reply["response_text"] == "".join(REPLY.tokens)


async def chat_after_recheck(peer: JsonPeer) -> list[Frame]:
    """Chat until a reply comes (the worker's re-check backoff has passed and the server
    answered); returns every answer, the reply last. Bounded by ``RECOVERY_ATTEMPTS``."""
    answers: list[Frame] = []
    for _ in range(RECOVERY_ATTEMPTS):
        answers.append(await peer.request("chat_request", user_message="Hello?"))
        if answers[-1]["message_type"] == "chat_response":
            break
        await asyncio.sleep(RECOVERY_PACE_S)  # pacing the attempts, not awaiting luck
    refusals = {answer.get("error_code") for answer in answers[:-1]}
    assert answers[-1]["message_type"] == "chat_response", answers[-3:]
    assert refusals <= {"llm_unavailable"}, answers
    assert answers[-1]["response_text"] == "".join(REPLY.tokens)
    return answers


async def chat_error(peer: JsonPeer, text: str = "Tell me a story.") -> Frame:
    answer = await peer.request("chat_request", user_message=text, stream=True)
    assert answer["message_type"] == "error_response", answer
    return answer


# -- streaming ---------------------------------------------------------------------------


async def test_first_token_reaches_the_client_while_the_model_server_holds_the_second(
    stack: Stack, peer: JsonPeer
) -> None:
    llm = stack.llm
    llm.queue_script(StreamScript(tokens=STORY, token_delay_s=TOKEN_DELAY_S, hold_after=1))
    written_before = llm.stats.tokens_written

    chat = await peer.send_frame("chat_request", user_message="Tell me a story.", stream=True)
    async with asyncio.timeout(10):
        await chat.first_delta.wait()
    written_at_first_delta = llm.stats.tokens_written - written_before
    async with asyncio.timeout(10):
        await llm.holding.wait()  # parked before writing the second token: it was not made
    deltas_while_held = list(chat.deltas)
    llm.release()
    async with asyncio.timeout(10):
        final = await chat.final

    assert written_at_first_delta == 1
    assert deltas_while_held == [STORY[0]]
    assert final["message_type"] == "chat_response", final
    assert "".join(chat.deltas) == final["response_text"] == "".join(STORY)


# -- cancellation ------------------------------------------------------------------------


async def test_cancel_closes_the_held_model_stream_and_commits_nothing(
    stack: Stack, peer: JsonPeer
) -> None:
    """The stream is held after two tokens and never released, so it would never end by
    itself (the read timeout is minutes): the model server seeing its client go away proves
    the cancel reached the backend, which closed the stream. That the backend closes rather
    than drains is proven by the backend tests (``drain_forever``); how soon, end to end, is
    measured by ``bench/cancel_bench.py``."""
    llm = stack.llm
    before = await status(peer)
    written_before = llm.stats.tokens_written
    disconnects_before = llm.stats.disconnects
    llm.queue_script(StreamScript(tokens=STORY, token_delay_s=TOKEN_DELAY_S, hold_after=2))
    chat = await peer.send_frame("chat_request", user_message="Tell me a story.", stream=True)
    async with asyncio.timeout(10):
        await llm.holding.wait()
    assert not llm.disconnected.is_set()

    cancel = await peer.send_frame("cancel_request", target_message_id=chat.message_id)
    async with asyncio.timeout(10):
        await llm.disconnected.wait()
        cancelled, cancel_answer = await chat.final, await cancel.final
    after = await status(peer)

    assert llm.stats.disconnects - disconnects_before == 1
    assert llm.stats.tokens_written - written_before == 2 < len(STORY)
    assert cancelled["error_code"] == "cancelled", cancelled
    assert cancel_answer["success"] is True, cancel_answer
    assert_same_commit(before, after)
    reply = await peer.request("chat_request", user_message="Let's start again.")
    assert reply["response_text"] == "".join(REPLY.tokens), reply


# -- failure modes -----------------------------------------------------------------------


async def test_no_model_server_answers_llm_unavailable_then_chats_work_once_it_starts(
    tmp_path: Path,
) -> None:
    port = closed_port()
    url = f"http://127.0.0.1:{port}"
    config = ServerConfig(tmp_path / "data", characters=[CHARACTER], engine="ollama",
                          env={"OLLAMA_BASE_URL": url, "OLLAMA_MODEL": OLLAMA_MODEL,
                               "GREENROOM_MODEL_MEMORY": "off"})  # counts chat requests
    async with running_server(config) as server, open_peer(server.url) as peer:
        startup_check = await server.wait_for_record(
            lambda r: r.get("event") == "llm_check_failed")
        await attach(peer, CHARACTER)
        pid = await server.worker_pid(CHARACTER)
        down = await chat_error(peer)

        assert url in startup_check["error"], startup_check
        assert down["error_code"] == "llm_unavailable", down
        assert url in down["error"] and "ollama serve" in down["error"], down["error"]
        assert CHARACTER in down["error"], "an error says which character it is about"
        await assert_reads_answer(server, peer, pid)

        async with fake_server("ollama", port=port) as llm:
            await chat_after_recheck(peer)
            assert llm.stats.requests["POST /api/chat"] == 1
        assert await server.worker_pid(CHARACTER) == pid


async def test_model_not_pulled_at_start_is_reported_by_the_startup_check_until_pulled(
    tmp_path: Path,
) -> None:
    async with fake_server("ollama") as llm:
        llm.models = ["mistral:7b"]
        config = ServerConfig(tmp_path / "data", characters=[CHARACTER], engine="ollama",
                              env=engine_env("ollama", llm))
        async with running_server(config) as server, open_peer(server.url) as peer:
            startup_check = await server.wait_for_record(
                lambda r: r.get("event") == "llm_check_failed")
            await attach(peer, CHARACTER)
            pid = await server.worker_pid(CHARACTER)
            missing = await chat_error(peer)

            assert "installed: mistral:7b" in startup_check["error"], startup_check
            assert f"ollama pull {OLLAMA_MODEL}" in startup_check["error"], startup_check
            assert missing["error_code"] == "llm_unavailable", missing
            assert f"'{OLLAMA_MODEL}'" in missing["error"], missing["error"]
            assert f"ollama pull {OLLAMA_MODEL}" in missing["error"], missing["error"]
            await assert_reads_answer(server, peer, pid)

            llm.models = [f"{OLLAMA_MODEL}:latest"]  # as `ollama pull` would
            await chat_after_recheck(peer)
            assert await server.worker_pid(CHARACTER) == pid


async def test_model_removed_while_running_answers_llm_unavailable_naming_it_and_pull(
    ollama_stack: Stack, ollama_peer: JsonPeer
) -> None:
    llm, installed = ollama_stack.llm, list(ollama_stack.llm.models)
    pid = await ollama_stack.server.worker_pid(CHARACTER)
    llm.models = ["mistral:7b"]
    try:
        missing = await chat_error(ollama_peer)
    finally:
        llm.models = installed

    assert missing["error_code"] == "llm_unavailable", missing
    assert f"'{OLLAMA_MODEL}'" in missing["error"], missing["error"]
    assert f"ollama pull {OLLAMA_MODEL}" in missing["error"], missing["error"]
    await chat_after_recheck(ollama_peer)  # the failure holds chats back for a while
    await assert_serves_and_chats(ollama_stack, ollama_peer, pid)


async def test_error_line_mid_stream_answers_llm_error_with_the_servers_text(
    stack: Stack, peer: JsonPeer
) -> None:
    pid = await stack.server.worker_pid(CHARACTER)
    stack.llm.queue_script(StreamScript(tokens=STORY, error_after=2,
                                        error_message="CUDA out of memory"))
    failed = await chat_error(peer)

    assert failed["error_code"] == "llm_error", failed
    assert "error mid-stream: CUDA out of memory" in failed["error"], failed["error"]
    await assert_serves_and_chats(stack, peer, pid)


async def test_model_server_dying_mid_stream_answers_llm_error_saying_the_stream_broke(
    stack: Stack, peer: JsonPeer
) -> None:
    pid = await stack.server.worker_pid(CHARACTER)
    stack.llm.queue_script(StreamScript(tokens=STORY, die_after=2))
    failed = await chat_error(peer)

    assert failed["error_code"] == "llm_error", failed
    assert "broke" in failed["error"] and "after 2 token(s)" in failed["error"], failed["error"]
    assert "not retried" in failed["error"], failed["error"]
    await assert_serves_and_chats(stack, peer, pid)


async def test_reply_cut_by_the_token_limit_reports_length_in_generation_info(
    stack: Stack, peer: JsonPeer
) -> None:
    stack.llm.queue_script(StreamScript(tokens=STORY, finish_reason="length"))
    reply = await peer.request("chat_request", user_message="Tell me a long story.")

    assert reply["message_type"] == "chat_response", reply
    info = reply["generation_info"]
    assert info["finish_reason"] == "length", info
    assert info["backend"] == stack.engine
    assert info["completion_tokens"] == len(STORY)


# -- per-session generation options ----------------------------------------------------------


async def test_chat_options_reach_the_model_servers_request_and_the_turns_trace(
    stack: Stack, peer: JsonPeer
) -> None:
    options = {"temperature": 0.35, "top_p": 0.5, "max_tokens": 77}
    reply = await peer.request("chat_request", user_message="Hello!", options=options)
    assert reply["message_type"] == "chat_response", reply
    body = stack.llm.last_reply_body()
    sent = body["options"] if stack.engine == "ollama" else body
    limit = "num_predict" if stack.engine == "ollama" else "max_tokens"
    assert (sent["temperature"], sent["top_p"], sent[limit]) == (0.35, 0.5, 77), body
    trace = (await peer.request("trace_request"))["trace"]
    generation = trace["generation"]
    assert generation["session"] == options
    assert {key: generation["options"][key] for key in options} == options
    assert generation["backend"] == stack.engine
    assert generation["prompt_tokens"] == REPLY.prompt_tokens  # the server's own count


async def test_an_option_out_of_range_is_refused_naming_it_and_nothing_is_generated(
    stack: Stack, peer: JsonPeer
) -> None:
    asked = len(stack.llm.stats.bodies)
    refused = await peer.request("chat_request", user_message="Hello!",
                                 options={"temperature": 3})
    assert refused["error_code"] == "bad_request", refused
    assert "$.options.temperature" in refused["error"], refused["error"]
    assert len(stack.llm.stats.bodies) == asked
