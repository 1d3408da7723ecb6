"""What goes wrong with a real llama-cpp-python server, and what greenroom answers: time
limits on silence, a prompt larger than the server's context, the server going away and
coming back.

Silence is made real by freezing the server (SIGSTOP): it keeps its connections and sends
nothing, as a server busy reading a long prompt, or elsewhere, would; no race with the
model's speed decides the outcome. A frozen server is always thawed in a
``finally`` (and ``LlamaServer.stop`` thaws it too).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import pytest

from tests.real_llm.conftest import StartGreenroom
from tests.real_llm.helpers import (
    CHARACTER,
    LONG_REPLY_PROMPT,
    REPLY_TIMEOUT_S,
    TALKER,
    chat,
    chat_reply,
    long_message,
    turn_count,
)
from tests.real_llm.llama_server import LlamaServer
from tests.support.json_peer import JsonPeer, attach, open_peer

pytestmark = pytest.mark.timeout(300)

FIRST_TOKEN_TIMEOUT_S = 1.0
SILENCE_TIMEOUT_S = 3.0
"""Above the longest gap between two tokens on 2 busy cores, so only the freeze trips it."""
GENEROUS_S = 60.0
"""The other limit in each timeout test: never the one that fires."""
OUTAGE_S = 16.0
OUTAGE_PACE_S = 0.25
"""Chats sent while the server is down: one every 0.25 s for 16 s, so greenroom's failures
pile up: a backoff that only waited (0.5, 1, 2, 4, 8 s) would then wait 15 s more before
trying the server again, whatever the server did meanwhile."""
RECOVERY_BOUND_S = 3.0
"""A chat sent this long after the server is back must work (the goal: a second or two)."""


async def test_first_token_timeout_ends_a_chat_the_server_never_starts_answering(
    greenroom: StartGreenroom, chat_llm: LlamaServer
) -> None:
    server = await greenroom(
        chat_llm, GREENROOM_LLM_FIRST_TOKEN_TIMEOUT=str(FIRST_TOKEN_TIMEOUT_S),
        GREENROOM_LLM_SILENCE_TIMEOUT=str(GENEROUS_S))
    async with open_peer(server.url) as peer:
        await attach(peer, CHARACTER)
        before = await turn_count(peer)
        # Frozen before the chat is sent: the connection is accepted (by the kernel) and the
        # request read by nobody, as when the server is busy reading a long prompt.
        chat_llm.suspend()
        try:
            answer = await chat(peer, "Hello, are you there?", stream=True)
        finally:
            chat_llm.resume()
        after = await turn_count(peer)

    assert answer["error_code"] == "timeout", answer
    assert "GREENROOM_LLM_FIRST_TOKEN_TIMEOUT" in answer["error"], answer["error"]
    assert CHARACTER in answer["error"], answer["error"]
    assert after == before


async def test_silence_timeout_ends_a_reply_whose_stream_goes_quiet(
    greenroom: StartGreenroom, chat_llm: LlamaServer
) -> None:
    server = await greenroom(
        chat_llm, [TALKER], GREENROOM_LLM_FIRST_TOKEN_TIMEOUT=str(GENEROUS_S),
        GREENROOM_LLM_SILENCE_TIMEOUT=str(SILENCE_TIMEOUT_S))
    async with open_peer(server.url) as peer:
        await attach(peer, TALKER)
        before = await turn_count(peer)
        pending = await peer.send_frame("chat_request", stream=True,
                                        user_message=LONG_REPLY_PROMPT)
        async with asyncio.timeout(REPLY_TIMEOUT_S):
            await pending.first_delta.wait()
        chat_llm.suspend()
        try:
            async with asyncio.timeout(GENEROUS_S / 2):
                answer = await pending.final
        finally:
            chat_llm.resume()
        after = await turn_count(peer)

    assert answer["error_code"] == "timeout", answer
    assert "GREENROOM_LLM_SILENCE_TIMEOUT" in answer["error"], answer["error"]
    assert pending.deltas, "the reply had started before the silence"
    assert after == before, "a reply cut by silence commits nothing"


async def test_prompt_over_the_servers_context_answers_context_overflow_with_the_sizes(
    greenroom: StartGreenroom, small_context_llm: LlamaServer
) -> None:
    server = await greenroom(small_context_llm)
    async with open_peer(server.url) as peer:
        await attach(peer, CHARACTER)
        before = await turn_count(peer)
        answer = await chat(peer, long_message(300, seed="o"), stream=True)
        after = await turn_count(peer)

    assert answer["error_code"] == "context_overflow", answer
    details = answer["details"]
    assert details["context_tokens"] == small_context_llm.config.n_ctx, details
    assert details["prompt_tokens"] > small_context_llm.config.n_ctx, details
    assert CHARACTER in answer["error"], answer["error"]
    assert after == before


async def chats_until_answered(peer: JsonPeer, *, within_s: float, pace_s: float
                               ) -> tuple[list[dict[str, object]], float]:
    """Chat every ``pace_s`` until one is answered ``chat_response`` or ``within_s`` has
    passed; returns every answer and when (``time.monotonic``) the last one was sent."""
    answers: list[dict[str, object]] = []
    deadline = time.monotonic() + within_s
    while True:
        sent_at = time.monotonic()
        answers.append(await chat(peer, "Are you there?"))
        if answers[-1]["message_type"] == "chat_response" or sent_at > deadline:
            return answers, sent_at
        await asyncio.sleep(pace_s)  # pacing the attempts, not awaiting luck


async def test_outage_answers_llm_unavailable_and_chats_work_soon_after_the_server_is_back(
    greenroom: StartGreenroom, llama_servers: Callable[..., LlamaServer]
) -> None:
    llm = llama_servers("outage")
    server = await greenroom(llm)
    async with open_peer(server.url) as peer:
        await attach(peer, CHARACTER)
        await chat_reply(peer, "Hello!")
        llm.stop()
        down: list[dict[str, object]] = []
        deadline = time.monotonic() + OUTAGE_S
        while time.monotonic() < deadline:
            down.append(await chat(peer, "Are you there?"))
            await asyncio.sleep(OUTAGE_PACE_S)
        llm.start()
        back_at = time.monotonic()
        after, answered_sent_at = await chats_until_answered(
            peer, within_s=RECOVERY_BOUND_S * 4, pace_s=0.05)
        recovered_after_s = answered_sent_at - back_at

    assert {answer.get("error_code") for answer in down} == {"llm_unavailable"}, down[-3:]
    assert llm.base_url in str(down[0]["error"]), down[0]
    assert after[-1]["message_type"] == "chat_response", after[-3:]
    print(f"the first chat answered was sent {recovered_after_s:.2f} s after the server was "
          f"back, after {len(after) - 1} refusal(s)")
    assert recovered_after_s < RECOVERY_BOUND_S, (
        f"chats were refused for {recovered_after_s:.1f} s after the server came back "
        f"({len(after) - 1} refusal(s): {after[0]})")
