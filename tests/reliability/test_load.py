"""Load from clients: one that never reads, and many that all want turns at once."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from contextlib import AsyncExitStack
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.load import Request, closed_loop
from tests.support.character_copies import character_copies
from tests.support.json_peer import JsonPeer, attach, open_peer
from tests.support.running_server import Launch

pytestmark = [pytest.mark.process, pytest.mark.slow]

CHARACTER = "f-serious"
SEND_QUEUE = 16
CLIENTS, CHARACTERS, LOAD_S = 200, 10, 30.0


async def test_a_client_that_never_reads_is_closed_and_others_are_not_slowed(
    launch: Launch,
) -> None:
    server = await launch([CHARACTER], env={"GREENROOM_SESSION_SEND_QUEUE": str(SEND_QUEUE)})
    # A tiny receive buffer and a one-frame library queue: once they are full the slow
    # client's kernel advertises a zero window and the gateway's writes to it block.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port or 0))
    async with connect(server.url, sock=sock, max_queue=1, compression=None,
                       close_timeout=0.5) as slow, \
            open_peer(server.url) as fast:
        await attach(fast, CHARACTER)
        seen = len(server.records)
        closing = asyncio.create_task(server.wait_for_record(
            lambda r: r.get("event") == "session_closing" and r.get("code") == 1008,
            timeout_s=30, start=seen))

        async def flood() -> int:
            sent = 0
            with contextlib.suppress(ConnectionClosed):
                while not closing.done():  # ~100 bytes answered per ping, never read
                    await slow.send(f'{{"message_type": "ping_request", "message_id": "s{sent}"}}')
                    sent += 1
                    if sent % 100 == 0:
                        await asyncio.sleep(0)  # let the fast client take its turns
            return sent

        flooding = asyncio.create_task(flood())
        slowest, pings = 0.0, 0
        while not closing.done():
            began = time.perf_counter()
            answer = await fast.request("ping_request")
            slowest = max(slowest, time.perf_counter() - began)
            pings += 1
            assert answer["message_type"] == "ping_response", answer
        sent = await flooding
        record = closing.result()
        assert "not reading fast enough" in record["reason"]
        chat = await fast.request("chat_request", user_message="are you still with me?")
        assert chat["success"] is True
    assert pings > 0
    assert slowest < 1.0, (f"a ping took {slowest:.3f} s while the slow client sent {sent} "
                           "frames it never read answers to")


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
