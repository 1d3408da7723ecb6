"""10,000 fuzzed frames from many connections at a real server: it stays up, answers every
frame exactly once with the right code, and its workers never notice."""

from __future__ import annotations

import asyncio
import json
import random
from collections import Counter
from collections.abc import Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass

import pytest
from websockets.exceptions import ConnectionClosed

from tests.support.json_peer import JsonPeer, attach, open_peer
from tests.support.running_server import Launch

pytestmark = [pytest.mark.process, pytest.mark.slow]

FRAMES = 10_000
CONNECTIONS = 10
CHARACTER = "zen-master"
MAX_FRAME_BYTES = 64 * 1024


@dataclass(frozen=True, slots=True)
class Probe:
    """One frame and what must answer it: the ``message_type`` of the answer and, for an
    ``error_response``, its ``error_code``. ``message_id`` is None when none is readable."""

    data: str | bytes
    message_id: str | None
    answer_type: str
    error_code: str | None = None


def fuzzed_frames(rng: random.Random, count: int, prefix: str) -> Iterator[Probe]:
    """Malformed, mistyped, unknown, binary and valid frames in random order (the oracle is
    independent of the server's code: it follows PROTOCOL.md's rules)."""
    for n in range(count):
        mid = f"{prefix}-{n}"
        kind = rng.randrange(9)
        if kind == 0:
            # Without a "}" the object never closes: never valid JSON, whatever else it holds.
            junk = "".join(chr(rng.randrange(32, 0x2FF)) for _ in range(rng.randrange(1, 40)))
            yield Probe("{" + junk.replace("}", ""), None, "error_response", "bad_json")
        elif kind == 1:
            yield Probe(json.dumps({"message_type": f"x_{rng.randrange(1000)}",
                                    "message_id": mid}), mid, "error_response",
                        "unknown_message_type")
        elif kind == 2:
            wrong: object = rng.choice([123, None, ["a"], {"b": 1}, True])
            yield Probe(json.dumps({"message_type": "chat_request", "message_id": mid,
                                    "user_message": wrong}), mid, "error_response",
                        "bad_request")
        elif kind == 3:
            yield Probe(json.dumps({"message_type": "memory_search_request", "message_id": mid,
                                    "query": "x", "limit": rng.choice([-1, 0, 10**6, "5"])}),
                        mid, "error_response", "bad_request")
        elif kind == 4:
            yield Probe(json.dumps(rng.choice([[1, 2], 3, "text", None, []])), None,
                        "error_response", "bad_request")
        elif kind == 5:
            yield Probe(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))), None,
                        "error_response", "binary_not_supported")
        elif kind == 6:
            yield Probe(json.dumps({"message_type": "ping_request", "message_id": mid,
                                    "unknown_field": rng.random()}), mid, "ping_response")
        elif kind == 7:
            yield Probe(json.dumps({"message_type": "status_request", "message_id": mid}),
                        mid, "status_response")
        else:
            yield Probe(json.dumps({"message_type": "init_request", "message_id": mid,
                                    "character_id": rng.choice(["../etc", "", "no-such-one"])}),
                        mid, "error_response", "character_not_found")


async def _fuzz_one_connection(peer: JsonPeer, probes: list[Probe]) -> list[str]:
    """Send every probe, then read exactly one answer per probe; returns the mismatches."""
    for probe in probes:
        await peer.send_text(probe.data)
    expected = {p.message_id: p for p in probes if p.message_id is not None}
    anonymous = Counter((p.answer_type, p.error_code) for p in probes if p.message_id is None)
    seen_anonymous: Counter[tuple[str, str | None]] = Counter()
    problems = []
    async with asyncio.timeout(60):
        for _ in probes:
            frame = await peer.events.get()
            key = (frame["message_type"], frame.get("error_code"))
            message_id = frame.get("message_id")
            match = expected.pop(message_id) if message_id in expected else None
            if match is None:
                seen_anonymous[key] += 1
            elif key != (match.answer_type, match.error_code):
                problems.append(f"{match.data!r} answered {frame}")
    if seen_anonymous != anonymous:
        problems.append(f"answers without a message_id: missing {anonymous - seen_anonymous}, "
                        f"unexpected {seen_anonymous - anonymous}")
    problems.extend(f"{p.data!r} never answered" for p in expected.values())
    return problems


async def test_ten_thousand_fuzzed_frames_are_each_answered_with_the_right_code(
    launch: Launch,
) -> None:
    server = await launch([CHARACTER], env={"GREENROOM_MAX_FRAME_BYTES": str(MAX_FRAME_BYTES),
                                            "GREENROOM_SESSION_REQUEST_LIMIT": "100000",
                                            "GREENROOM_SESSION_SEND_QUEUE": "100000"})
    pid_before = await server.worker_pid(CHARACTER)
    rng = random.Random(20240611)
    per_connection = FRAMES // CONNECTIONS
    async with AsyncExitStack() as stack:
        peers = []
        for _ in range(CONNECTIONS):
            peer = await stack.enter_async_context(open_peer(server.url))
            await attach(peer, CHARACTER)
            peers.append(peer)
        batches = [list(fuzzed_frames(rng, per_connection, f"c{c}")) for c in range(CONNECTIONS)]
        pairs = zip(peers, batches, strict=True)
        results = await asyncio.gather(*(_fuzz_one_connection(p, b) for p, b in pairs))

    problems = [p for result in results for p in result]
    assert not problems, f"{len(problems)} wrong answers, e.g. {problems[:5]}"
    health = await server.healthz()
    assert health["status"] == "ok"
    assert await server.worker_pid(CHARACTER) == pid_before, "a worker restarted under fuzz"


async def test_an_oversized_frame_closes_only_its_own_connection_with_1009(
    launch: Launch,
) -> None:
    server = await launch([CHARACTER], env={"GREENROOM_MAX_FRAME_BYTES": str(MAX_FRAME_BYTES)})
    async with open_peer(server.url) as bystander, open_peer(server.url) as offender:
        await attach(bystander, CHARACTER)
        await offender.send_text(json.dumps({"message_type": "chat_request", "message_id": "big",
                                             "user_message": "x" * (2 * MAX_FRAME_BYTES)}))
        try:
            async with asyncio.timeout(10):
                await offender.ws.wait_closed()
        except ConnectionClosed:
            pass
        assert offender.ws.close_code == 1009, offender.ws.close_reason
        assert (await bystander.request("status_request"))["success"] is True
