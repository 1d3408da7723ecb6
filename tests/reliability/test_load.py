"""Load from clients: one that never reads, and many that all want turns at once."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.load import Request, closed_loop
from tests.support.character_copies import character_copies
from tests.support.json_peer import JsonPeer, attach, open_peer
from tests.support.running_server import Launch, RunningServer

pytestmark = [pytest.mark.process, pytest.mark.slow]

CHARACTER = "f-serious"
SEND_QUEUE = 16
CLIENTS, CHARACTERS, LOAD_S = 200, 10, 30.0

TOKEN = "load-test-token"
AUTH = {"Authorization": f"Bearer {TOKEN}"}
BIG_ID = "x" * (1024 * 1024 - 1024)
"""Each ``ping_response`` echoes its id: a MiB per answer."""
STUCK_PINGS = 12
"""12 MiB of answers owed to a client that reads nothing: more than every buffer between the
gateway and it can hold (the kernel's send buffer grows to 4 MiB at most, the gateway's
transport takes one frame past 64 KiB, the client a frame and a 4 KiB window), and fewer
frames than the send queue holds, so the gateway's writer to it blocks with frames queued."""
STUCK_FRAMES = 4
FAST_PINGS = 20


async def _wait_for_queued_frames(server: RunningServer, at_least: int) -> float:
    """Poll ``/metrics`` until the gateway's send queues hold ``at_least`` frames: a stuck
    writer has no client-visible signal, and reading would unstick it."""
    async with asyncio.timeout(30):
        while (queued := await server.metric(  # noqa: ASYNC110 - see the docstring
                "greenroom_gateway_send_queue_frames")) < at_least:
            await asyncio.sleep(0.01)
    return queued


async def test_a_client_that_never_reads_blocks_nobody_and_is_closed(launch: Launch) -> None:
    """While the gateway's writes to a client that reads nothing are stuck, another client
    gets every ping and chat answered; then the stuck client floods and is closed with
    1008. No clock: a gateway that made others wait for the stuck socket would never answer
    them (the test's timeout). The slowest ping while flooded is measured by
    ``bench/cancel_bench.py``."""
    server = await launch([CHARACTER], env={
        "GREENROOM_SESSION_SEND_QUEUE": str(SEND_QUEUE), "GREENROOM_TOKEN": TOKEN,
        "GREENROOM_MAX_FRAME_BYTES": str(2 * 1024 * 1024)})
    # A tiny receive buffer and a one-frame library queue: once they are full the slow
    # client's kernel advertises a zero window and the gateway's writes to it block.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port or 0))
    async with connect(server.url, sock=sock, max_queue=1, max_size=None, compression=None,
                       additional_headers=AUTH, close_timeout=0.5) as slow, \
            open_peer(server.url, additional_headers=AUTH) as fast:
        await attach(fast, CHARACTER)
        seen = len(server.records)
        for n in range(STUCK_PINGS):
            await slow.send(json.dumps({"message_type": "ping_request",
                                        "message_id": f"{n}{BIG_ID}"}))
        await _wait_for_queued_frames(server, STUCK_FRAMES)

        async with asyncio.timeout(30):
            answers = [await fast.request("ping_request") for _ in range(FAST_PINGS)]
            chat = await fast.request("chat_request", user_message="are you still with me?")
        assert [a["message_type"] for a in answers] == ["ping_response"] * FAST_PINGS
        assert chat["success"] is True, chat
        # Still stuck: the fast client was answered while the slow one held the gateway's
        # writes, not after they cleared.
        assert await server.metric("greenroom_gateway_send_queue_frames") >= STUCK_FRAMES

        closing = asyncio.create_task(server.wait_for_record(
            lambda r: r.get("event") == "session_closing" and r.get("code") == 1008,
            timeout_s=30, start=seen))

        async def flood() -> None:
            sent = 0
            with contextlib.suppress(ConnectionClosed):
                while not closing.done():  # small pings that overflow the send queue
                    await slow.send(f'{{"message_type": "ping_request", "message_id": "s{sent}"}}')
                    sent += 1
                    if sent % 100 == 0:
                        await asyncio.sleep(0)  # let the record reader take its turn

        await flood()
        record = await closing
        assert "not reading fast enough" in record["reason"]
        chat = await fast.request("chat_request", user_message="and now?")
        assert chat["success"] is True, chat


def _turn(peer: JsonPeer, n: int) -> Request:
    return lambda: peer.request("chat_request", timeout_s=60, user_message=f"client {n} here")


async def test_two_hundred_clients_over_ten_characters_for_thirty_seconds_see_no_error(
    launch: Launch, tmp_path: Path
) -> None:
    ids = character_copies(tmp_path / "characters", CHARACTERS)
    per_character = -(-CLIENTS // CHARACTERS)
    server = await launch(ids, characters_dir=tmp_path / "characters", ready_timeout_s=60,
                          env={"GREENROOM_CHAT_QUEUE_DEPTH": str(per_character + 2)})
    async with AsyncExitStack() as stack:
        peers = []
        for n in range(CLIENTS):
            peer = await stack.enter_async_context(open_peer(server.url))
            await attach(peer, ids[n % CHARACTERS])
            peers.append(peer)
        result = await closed_loop([_turn(p, n) for n, p in enumerate(peers)], LOAD_S)
    assert result.errors == 0, result.first_errors
    assert len(result.latencies_s) >= CLIENTS, "fewer turns than clients in 30 s"
    assert (await server.healthz())["status"] == "ok"
    assert all(w["restarts"] == 0 for w in (await server.workers()).values())
