"""Issue 14 through the whole system: a WebSocket client, the gateway, real worker processes,
the ``openai`` backend and a fake server that behaves like llama-cpp-python's (it cuts off a
running reply when another model request arrives, has no ``/health``, sends no usage).

``GREENROOM_REQUEST_TIMEOUT`` is 1 s here, so replies that take longer in total (a slow
prompt, many slow tokens) prove that the gateway's deadline bounds silence, not length.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.backends.fake_llm_servers import (
    LLAMA_CPP_PYTHON_OVERFLOW,
    FakeOpenAIServer,
    StreamScript,
)
from tests.support.json_peer import JsonPeer, attach, open_peer
from tests.support.ports import closed_port
from tests.support.running_server import RunningServer, ServerConfig, running_server

pytestmark = [
    pytest.mark.process,
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.timeout(60),
]

FIRST, SECOND = "m-playful", "f-serious"
MODEL = "local-model"
REQUEST_TIMEOUT_S = 1.0
SLOW = StreamScript(tokens=tuple(f"w{i} " for i in range(15)), token_delay_s=0.1,
                      send_usage=False)
"""1.4 s of tokens, 0.1 s apart: longer than the request timeout, never silent for long."""


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory
                ) -> AsyncIterator[tuple[FakeOpenAIServer, RunningServer]]:
    async with FakeOpenAIServer(models=[MODEL], interrupt_requests=True, serve_health=False,
                                script=StreamScript(send_usage=False)) as llm:
        config = ServerConfig(
            tmp_path_factory.mktemp("data"), characters=[FIRST], engine="openai",
            env={"OPENAI_BASE_URL": llm.base_url, "OPENAI_MODEL": MODEL,
                 "GREENROOM_REQUEST_TIMEOUT": str(REQUEST_TIMEOUT_S)})
        async with running_server(config) as server:
            try:
                yield llm, server
            finally:
                llm.release()


@pytest_asyncio.fixture(loop_scope="module")
async def peer(stack: tuple[FakeOpenAIServer, RunningServer]) -> AsyncIterator[JsonPeer]:
    llm, server = stack
    for event in (llm.holding, llm.disconnected, llm.first_token_written):
        event.clear()
    async with open_peer(server.url) as client:
        await attach(client, FIRST)
        yield client


async def test_a_cut_off_reply_is_llm_incomplete_and_keep_partial_commits_it(
    stack: tuple[FakeOpenAIServer, RunningServer], peer: JsonPeer
) -> None:
    llm, _ = stack
    llm.queue_script(StreamScript(tokens=("The only", " thing"), finish_reason=None))
    turns_before = (await peer.request("status_request"))["character_summary"]["turn_count"]
    chat = await peer.send_frame("chat_request", user_message="Tell me a story.", stream=True)
    cut = await chat.final
    after_cut = (await peer.request("status_request"))["character_summary"]["turn_count"]
    kept = await peer.request("chat_request", user_message="Tell me a story.", keep_partial=True)

    assert cut["error_code"] == "llm_incomplete", cut
    assert cut["details"]["partial_text"] == "The only thing"
    assert FIRST in cut["error"] and "--interrupt_requests false" in cut["error"]
    assert [s["phase"] for s in chat.statuses] == ["reading_prompt", "streaming"]
    assert after_cut == turns_before
    assert kept["message_type"] == "chat_response", kept
    assert kept["response_text"] == "The only thing"
    assert kept["response_metadata"]["incomplete"] is True
    assert kept["generation_info"]["finish_reason"] == "incomplete"


@pytest.mark.parametrize("stream", [True, False], ids=["streamed", "seed-client"])
async def test_a_reply_longer_than_the_request_timeout_completes_while_it_makes_progress(
    stack: tuple[FakeOpenAIServer, RunningServer], peer: JsonPeer, stream: bool
) -> None:
    llm, _ = stack
    llm.queue_script(SLOW)
    reply = await peer.request("chat_request", user_message="Count slowly.", stream=stream)

    assert reply["message_type"] == "chat_response", reply
    assert reply["response_text"] == "".join(SLOW.tokens)
    assert reply["generation_info"]["usage_source"] == "counted"
    assert reply["generation_info"]["completion_tokens"] == len(SLOW.tokens)


async def test_a_prompt_read_longer_than_the_request_timeout_still_gets_its_reply(
    stack: tuple[FakeOpenAIServer, RunningServer], peer: JsonPeer
) -> None:
    llm, _ = stack
    llm.queue_script(StreamScript(first_token_delay_s=2.5 * REQUEST_TIMEOUT_S, send_usage=False))
    chat = await peer.send_frame("chat_request", user_message="Think first.", stream=True)
    reply = await chat.final

    assert reply["message_type"] == "chat_response", reply
    assert reply["response_text"] == "Hello, world!"
    phases = [s["phase"] for s in chat.statuses]
    # The keepalive repeats reading_prompt while the prompt is read, elapsed_s growing.
    assert phases[0] == "reading_prompt" and phases[-1] == "streaming", phases
    assert phases.count("reading_prompt") >= 2, phases


async def test_a_context_overflow_answers_context_overflow_with_the_sizes(
    stack: tuple[FakeOpenAIServer, RunningServer], peer: JsonPeer
) -> None:
    llm, _ = stack
    llm.queue_script(StreamScript(status=400, error_body=LLAMA_CPP_PYTHON_OVERFLOW))
    answer = await peer.request("chat_request", user_message="A very long message.")

    assert answer["error_code"] == "context_overflow", answer
    details = answer["details"]
    assert (details["prompt_tokens"], details["context_tokens"]) == (1131, 1024)  # the server's
    # ... and greenroom's side: its estimate, the budget and the window it assumed.
    assert details["budget_tokens"] == details["assumed_context_tokens"] - 512
    assert 0 < details["estimated_prompt_tokens"] <= details["budget_tokens"]
    assert "--n_ctx" in answer["error"] and FIRST in answer["error"]
    assert "greenroom estimated the prompt at ~" in answer["error"]
    assert "the server's window is 1024 tokens" in answer["error"]


async def test_a_character_starting_up_does_not_cut_off_another_characters_reply(
    stack: tuple[FakeOpenAIServer, RunningServer], peer: JsonPeer
) -> None:
    llm, server = stack
    llm.queue_script(StreamScript(tokens=("Once", " upon", " a", " time"), hold_after=1))
    chat = await peer.send_frame("chat_request", user_message="A story?", stream=True)
    await chat.first_delta.wait()
    await llm.holding.wait()
    seen = len(server.records)
    async with open_peer(server.url) as other:
        await attach(other, SECOND)  # starts the second character's worker: its health check
        await server.wait_for_record(lambda r: r.get("event") == "llm_check_passed"
                                     and r.get("character") == SECOND, start=seen)
    llm.release()
    reply = await chat.final

    assert reply["message_type"] == "chat_response", reply
    assert reply["response_text"] == "Once upon a time"
    assert llm.interrupted == 0


async def test_a_turn_queued_behind_another_is_told_it_is_queued(
    stack: tuple[FakeOpenAIServer, RunningServer], peer: JsonPeer
) -> None:
    llm, server = stack
    llm.queue_script(StreamScript(tokens=("first", " reply"), hold_after=1))
    first = await peer.send_frame("chat_request", user_message="One.", stream=True)
    await first.first_delta.wait()
    async with open_peer(server.url) as second_peer:
        await attach(second_peer, FIRST)
        second = await second_peer.send_frame("chat_request", user_message="Two.", stream=True)
        # The gateway answers the queued phase at once, while the first turn is held.
        await second.status_seen.wait()
        llm.release()
        done_first, done_second = await first.final, await second.final

    assert second.statuses[0]["phase"] == "queued", second.statuses
    assert [s["phase"] for s in second.statuses[1:]] == ["reading_prompt", "streaming"]
    assert done_first["message_type"] == done_second["message_type"] == "chat_response"


async def test_the_first_chat_after_the_server_comes_back_works(tmp_path: Path) -> None:
    port = closed_port()
    config = ServerConfig(tmp_path / "data", characters=[FIRST], engine="openai",
                          env={"OPENAI_BASE_URL": f"http://127.0.0.1:{port}/v1",
                               "OPENAI_MODEL": MODEL})
    async with running_server(config) as server, open_peer(server.url) as client:
        await server.wait_for_record(lambda r: r.get("event") == "llm_check_failed")
        await attach(client, FIRST)
        down = await client.request("chat_request", user_message="Anyone there?")
        seen = len(server.records)
        async with FakeOpenAIServer(models=[MODEL], port=port):
            # The worker's background probe notices within about a second; no chat needed.
            await server.wait_for_record(lambda r: r.get("event") == "llm_available_again",
                                         start=seen)
            back = await client.request("chat_request", user_message="Anyone there?")

    assert down["error_code"] == "llm_unavailable", down
    assert back["message_type"] == "chat_response", back
