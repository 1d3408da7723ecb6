"""Limits and hostile input: size, binary frames, fuzz, slow readers, bugs while handling."""

from __future__ import annotations

import asyncio
import json
import random
from typing import Any

import pytest
import structlog
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from protocol.pipe import WorkerReply
from protocol.session import PingResponse
from supervisor.gateway.gateway import Gateway
from tests.gateway.conftest import GatewayFactory, Peer, PeerFactory, open_peer, url_of
from tests.gateway.in_process_pool import InProcessPool


async def test_binary_frame_is_refused_with_its_message_id(peer: PeerFactory) -> None:
    async with peer() as client:
        await client.ws.send(b'{"message_type": "ping_request", "message_id": "b1"}')
        answer = await client.recv()
        still_there = await client.request("ping_request")
    assert (answer["error_code"], answer["message_id"]) == ("binary_not_supported", "b1")
    assert still_there["message_type"] == "ping_response"


async def test_malformed_json_is_bad_json_and_the_session_stays(peer: PeerFactory) -> None:
    async with peer() as client:
        await client.ws.send('{"message_type": "ping_request", "message_id": ')
        answer = await client.recv()
        still_there = await client.request("ping_request")
    assert answer["error_code"] == "bad_json"
    assert still_there["message_type"] == "ping_response"


async def test_wrong_field_type_echoes_the_message_id(peer: PeerFactory) -> None:
    async with peer() as client:
        message_id = await client.send("memory_search_request", query="x", limit="many")
        answer = await client.recv()
    assert (answer["error_code"], answer["message_id"]) == ("bad_request", message_id)


async def test_unknown_message_type_echoes_the_message_id(peer: PeerFactory) -> None:
    async with peer() as client:
        message_id = await client.send("launch_rockets")
        answer = await client.recv()
    assert (answer["error_code"], answer["message_id"]) == ("unknown_message_type", message_id)


async def test_frame_over_the_size_limit_closes_with_1009(make_gateway: GatewayFactory) -> None:
    gateway, _ = await make_gateway(max_frame_bytes=4096)
    async with open_peer(gateway) as client:
        await client.ws.send(json.dumps({"message_type": "ping_request", "pad": "x" * 5000}))
        with pytest.raises(ConnectionClosed):
            await client.recv()
        assert client.ws.close_code == 1009
    async with open_peer(gateway) as other:
        assert (await other.request("ping_request"))["message_type"] == "ping_response"


async def test_a_chat_message_over_the_limit_is_refused_before_it_reaches_a_worker(
    make_gateway: GatewayFactory,
) -> None:
    gateway, pool = await make_gateway(max_message_chars=10)
    pool.hold_chats()  # a chat that reached the pool would not be answered at all
    async with open_peer(gateway) as client:
        await client.request("init_request", character_id="alpha")
        refused = await client.request("chat_request", message_id="long", user_message="x" * 11)
    assert (refused["error_code"], refused["message_id"]) == ("message_too_long", "long")
    assert refused["details"] == {"max_chars": 10, "length": 11}
    assert "'alpha'" in refused["error"] and "10" in refused["error"]


async def test_bug_while_handling_a_request_answers_internal_and_keeps_the_session(
    peer: PeerFactory, gateway_and_pool: tuple[Gateway, InProcessPool]
) -> None:
    _, pool = gateway_and_pool
    pool.broken.add("alpha")
    async with peer() as client:
        message_id = await client.send("init_request", character_id="alpha")
        answer = await client.recv()
        still_there = await client.request("ping_request")
    assert (answer["error_code"], answer["message_id"]) == ("internal", message_id)
    assert still_there["message_type"] == "ping_response"


def _fuzz_frame(rng: random.Random, index: int) -> tuple[str | bytes, str | None]:
    """One invalid frame and the message_id its error must carry (None: unreadable)."""
    message_id = f"f{index}"
    choice = rng.randrange(9)
    if choice == 0:
        return "".join(rng.choice('{}[]":,ab1\\ \n') for _ in range(rng.randrange(1, 60))), None
    if choice == 1:
        return json.dumps(rng.choice([[], 1, "s", None, True, [{"message_id": "x"}]])), None
    if choice == 2:
        return json.dumps({"message_type": f"no_such_{rng.randrange(10**6)}",
                           "message_id": message_id}), message_id
    if choice == 3:
        return json.dumps({"message_id": message_id, "user_message": "no type"}), message_id
    if choice == 4:
        return json.dumps({"message_type": "chat_request", "message_id": message_id,
                           "user_message": rng.choice([1, None, [], {"a": 1}])}), message_id
    if choice == 5:
        return json.dumps({"message_type": "memory_search_request", "message_id": message_id,
                           "query": "q", "limit": rng.choice([0, -1, 10**9, "5", 2.5])}), message_id
    if choice == 6:
        payload = json.dumps({"message_type": "ping_request", "message_id": message_id})
        return payload.encode(), message_id
    if choice == 7:
        return json.dumps({"message_type": rng.choice([1, None, ["ping_request"]]),
                           "message_id": message_id}), message_id
    junk = "".join(chr(rng.randrange(0x20, 0x2FFF)) for _ in range(rng.randrange(1, 200)))
    return json.dumps({"message_type": "hello", "message_id": message_id,
                       "protocol_version": junk}), message_id


async def _fuzz_one_connection(peer: Peer, rng: random.Random, start: int, count: int) -> None:
    expected_ids: list[str | None] = []
    for index in range(start, start + count):
        frame, message_id = _fuzz_frame(rng, index)
        expected_ids.append(message_id)
        await peer.ws.send(frame)
    await peer.send("ping_request", message_id="done")
    frames = await peer.recv_until(lambda f: f.get("message_id") == "done")
    errors = frames[:-1]
    assert all(f["message_type"] == "error_response" for f in errors)
    assert [f["message_id"] for f in errors] == expected_ids


async def test_fuzz_thousands_of_bad_frames_from_many_connections_all_answered(
    make_gateway: GatewayFactory,
) -> None:
    gateway, _ = await make_gateway(max_frame_bytes=64 * 1024)
    connections, per_connection = 20, 150

    async def one(worker: int) -> None:
        async with open_peer(gateway) as client:
            await _fuzz_one_connection(
                client, random.Random(worker), worker * per_connection, per_connection
            )

    async def oversized(worker: int) -> int | None:
        async with connect(url_of(gateway)) as ws:
            await ws.send("[" + " " * (64 * 1024) + "]")
            with pytest.raises(ConnectionClosed):
                await ws.recv()
            return ws.close_code

    results: list[Any] = await asyncio.gather(
        *(one(i) for i in range(connections)), *(oversized(i) for i in range(5))
    )
    assert results[connections:] == [1009] * 5
    async with open_peer(gateway) as survivor:
        assert (await survivor.request("ping_request"))["message_type"] == "ping_response"
    samples = gateway.metrics.registry.get_sample_value(
        "greenroom_gateway_requests_total", {"message_type": "invalid", "code": "bad_json"}
    )
    assert samples is not None and samples > 0


async def _wait_for(predicate: Any, what: str) -> None:
    """Await a condition the gateway reaches on its own (bounded, checked every 10 ms).

    A send-queue overflow has no client-visible signal until the client reads, and reading
    would relieve the very pressure under test, so the gateway's own counter is watched."""
    async with asyncio.timeout(10):
        while not predicate():  # noqa: ASYNC110 - see the docstring
            await asyncio.sleep(0.01)


async def test_slow_reader_is_closed_with_1008_and_never_blocks_others(
    make_gateway: GatewayFactory,
) -> None:
    gateway, _ = await make_gateway(session_send_queue=4, max_frame_bytes=2 * 1024 * 1024)
    big_id = "x" * 512 * 1024  # each ping_response echoes it: half a MiB per answer
    overflowed = gateway.metrics.registry.get_sample_value
    async with open_peer(gateway, max_queue=1, max_size=None) as slow, \
            open_peer(gateway) as other:
        for _ in range(60):
            await slow.send("ping_request", message_id=big_id)
        await _wait_for(
            lambda: overflowed("greenroom_gateway_sessions_closed_for_overflow_total"),
            "the slow session to overflow",
        )
        # The slow session is stuck and being closed; another session is served meanwhile.
        assert (await other.request("ping_request"))["message_type"] == "ping_response"
        with pytest.raises(ConnectionClosed):
            while True:
                await slow.ws.recv()
        assert slow.ws.close_code == 1008
        assert "send queue overflow" in (slow.ws.close_reason or "")


async def test_a_bug_while_routing_a_worker_frame_is_logged_with_the_frame_it_lost(
    gateway_and_pool: tuple[Gateway, InProcessPool], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The pool's frame reader calls the gateway unguarded: the gateway's one guard must
    keep the bug from it and say what was lost."""
    gateway, _ = gateway_and_pool

    def broken(*_: Any) -> None:
        raise RuntimeError("a bug in routing")

    monkeypatch.setattr(gateway._router, "on_reply", broken)
    with structlog.testing.capture_logs() as logs:
        gateway.on_worker_frame("alpha", WorkerReply(request_id=7, message=PingResponse()))
    lost = [r for r in logs if r["event"] == "worker_frame_lost"]
    assert [(r["character"], r["kind"], r["request_id"], r["final"]) for r in lost] == [
        ("alpha", "WorkerReply", 7, True)]
