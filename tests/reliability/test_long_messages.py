"""A long message costs time in proportion to its length, never the worker's life: one within
the limit is answered while heartbeats and a bystander's reads are answered too, and one
over the limit is refused with ``message_too_long`` and the limit."""

from __future__ import annotations

import asyncio

import pytest

from runtime.settings import DEFAULT_MAX_MESSAGE_CHARS
from tests.support.json_peer import attach, open_peer
from tests.support.running_server import Launch

pytestmark = [pytest.mark.process, pytest.mark.slow]

CHARACTER = "m-playful"
HEARTBEAT_TIMEOUT_S = 0.5
WORD_DELAY_S = 0.1
# Just within the default limit: about 4,900 words, which took VADER seconds to appraise.
LONGEST_ALLOWED = "hello friend " * (DEFAULT_MAX_MESSAGE_CHARS // len("hello friend "))


async def test_a_long_allowed_message_is_answered_by_the_same_worker_while_a_bystander_reads(
    launch: Launch,
) -> None:
    server = await launch([CHARACTER], env={
        "GREENROOM_HEARTBEAT_INTERVAL": "0.1",
        "GREENROOM_HEARTBEAT_TIMEOUT": str(HEARTBEAT_TIMEOUT_S),
        # Each streamed word waits, so the turn outlasts the heartbeat timeout.
        "GREENROOM_SCRIPTED_WORD_DELAY": str(WORD_DELAY_S),
    })
    pid = await server.worker_pid(CHARACTER)
    async with open_peer(server.url) as speaker, open_peer(server.url) as bystander:
        await attach(speaker, CHARACTER)
        await attach(bystander, CHARACTER)
        turn = await speaker.send_frame("chat_request", user_message=LONGEST_ALLOWED,
                                        stream=True)
        await asyncio.wait_for(turn.first_delta.wait(), 20)
        status = await bystander.request("status_request")
        answered_meanwhile = not turn.final.done()
        answer = await asyncio.wait_for(turn.final, 30)

    assert answer["message_type"] == "chat_response", answer
    assert status["success"] is True, status
    assert answered_meanwhile, "the bystander's status waited for the long turn"
    assert len(turn.deltas) * WORD_DELAY_S > HEARTBEAT_TIMEOUT_S, "too short to prove anything"
    assert await server.worker_pid(CHARACTER) == pid, "the worker was replaced"


async def test_a_100_kb_message_is_refused_with_message_too_long_and_the_configured_limit(
    launch: Launch,
) -> None:
    limit = 20_000
    server = await launch([CHARACTER], env={"GREENROOM_MAX_MESSAGE_CHARS": str(limit)})
    pid = await server.worker_pid(CHARACTER)
    message = "hello friend " * 8000  # 104,000 characters, a tenth of the frame limit
    async with open_peer(server.url) as peer:
        await attach(peer, CHARACTER)
        refused = await peer.request("chat_request", user_message=message)
        status = await peer.request("status_request", include_history=True)

    assert refused["error_code"] == "message_too_long", refused
    assert refused["message_id"] is not None
    assert refused["details"] == {"max_chars": limit, "length": len(message)}
    assert str(limit) in refused["error"] and CHARACTER in refused["error"]
    assert status["conversation_history"] == []
    assert await server.worker_pid(CHARACTER) == pid
