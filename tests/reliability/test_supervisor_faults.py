"""Faults of the whole server seen from its clients: a character that always crashes, the
supervisor killed outright, the supervisor asked to stop while replies are in flight."""

from __future__ import annotations

import asyncio
import signal
import socket
import sqlite3
from contextlib import AsyncExitStack
from dataclasses import replace
from pathlib import Path

import pytest

from tests.backends.fake_llm_servers import FakeOllamaServer
from tests.reliability.conftest import (
    HELD_AFTER_TOKENS,
    STREAM,
    launch_in_each_platform_mode,
    ollama_env,
)
from tests.support.character_copies import with_bundled
from tests.support.json_peer import JsonPeer, PeerClosed, attach, open_peer
from tests.support.process_watch import descendants, wait_all_exited
from tests.support.running_server import Launch
from worker.engine.database import database_path

pytestmark = [pytest.mark.process, pytest.mark.slow]

launch = launch_in_each_platform_mode()

HEALTHY, BROKEN = ("m-playful", "zen-master"), "lamplighter"


async def test_crash_looping_character_is_quarantined_and_answers_unavailable_while_others_serve(
    launch: Launch, tmp_path: Path
) -> None:
    characters = tmp_path / "characters"
    with_bundled(characters)
    good_yaml = (characters / f"{BROKEN}.yaml").read_text()
    (characters / f"{BROKEN}.yaml").write_text("name: [unterminated\n")
    server = await launch(HEALTHY, characters_dir=characters,
                          env={"GREENROOM_RESTART_MAX": "2"})
    async with open_peer(server.url) as healthy, open_peer(server.url) as victim:
        await attach(healthy, HEALTHY[0])
        refused = await victim.request("init_request", timeout_s=30, character_id=BROKEN)
        health = await server.healthz()

        assert refused["error_code"] == "character_unavailable", refused
        assert BROKEN in refused["error"]
        assert health["status"] == "degraded"
        workers = {w["character_id"]: w for w in health["workers"]}
        assert workers[BROKEN]["state"] == "failed"
        assert all(workers[c]["state"] == "ready" for c in HEALTHY)
        assert (await healthy.request("chat_request", user_message="still there?"))["success"]

        (characters / f"{BROKEN}.yaml").write_text(good_yaml)
        restarted = await victim.request("restart_request", character_id=BROKEN)
        assert restarted["success"] is True, restarted
        await server.wait_until(lambda ws: ws[BROKEN]["state"] == "ready", timeout_s=20)
        await attach(victim, BROKEN)


async def _held_stream(peer: JsonPeer, fake: FakeOllamaServer) -> None:
    """Start a streamed chat that the fake server parks mid-reply."""
    fake.holding.clear()
    fake.queue_script(replace(STREAM, hold_after=HELD_AFTER_TOKENS))
    pending = await peer.send_frame("chat_request", user_message="tell me a story",
                                    stream=True)
    await pending.first_delta.wait()
    await fake.holding.wait()


async def test_sigkill_of_the_supervisor_mid_stream_leaves_no_process_and_frees_the_port(
    launch: Launch, fake_ollama: FakeOllamaServer
) -> None:
    server = await launch(HEALTHY, engine="ollama", env=ollama_env(fake_ollama))
    async with AsyncExitStack() as stack:
        peers = [await stack.enter_async_context(open_peer(server.url)) for _ in HEALTHY]
        for peer, character in zip(peers, HEALTHY, strict=True):
            await attach(peer, character)
        await _held_stream(peers[0], fake_ollama)
        family = descendants(server.pid)
        assert len(family) == len(HEALTHY) + 1  # the workers and the fork server
        port = server.port
        server.send_signal(signal.SIGKILL)
        assert await server.wait_exit(5) == -signal.SIGKILL

        survivors = await wait_all_exited(family, timeout_s=1.0)
        fake_ollama.release()
        assert survivors == [], f"processes outlived the supervisor: {survivors}"
        for peer in peers:
            async with asyncio.timeout(5):
                await peer.ws.wait_closed()
    with socket.socket() as probe:  # nothing holds the listening socket any more
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port or 0))


async def test_sigterm_finishes_the_reply_in_flight_persists_every_turn_and_exits_zero(
    launch: Launch, fake_ollama: FakeOllamaServer, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    env = {**ollama_env(fake_ollama), "GREENROOM_SHUTDOWN_GRACE": "10"}
    server = await launch(HEALTHY, data_dir=data_dir, engine="ollama", env=env)
    acknowledged: dict[str, list[str]] = {c: [] for c in HEALTHY}
    async with AsyncExitStack() as stack:
        peers = {c: await stack.enter_async_context(open_peer(server.url)) for c in HEALTHY}
        for character, peer in peers.items():
            await attach(peer, character)
            for n in range(3):
                text = f"{character} turn {n}"
                assert (await peer.request("chat_request", user_message=text))["success"]
                acknowledged[character].append(text)
        fake_ollama.queue_script(replace(STREAM, hold_after=HELD_AFTER_TOKENS))
        in_flight = await peers[HEALTHY[0]].send_frame("chat_request", stream=True,
                                                       user_message="the last words")
        await fake_ollama.holding.wait()
        family = descendants(server.pid)
        seen = len(server.records)
        server.send_signal(signal.SIGTERM)
        await server.wait_for_record(lambda r: r.get("event") == "gateway_draining", start=seen)
        fake_ollama.release()
        try:
            final = await asyncio.wait_for(in_flight.final, 15)
        except PeerClosed:
            final = {"message_type": "closed"}
        assert final["message_type"] == "chat_response", final
        acknowledged[HEALTHY[0]].append("the last words")
        assert await server.wait_exit(20) == 0
    assert await wait_all_exited(family, timeout_s=1.0) == []

    for character, turns in acknowledged.items():
        with sqlite3.connect(database_path(data_dir, character)) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            stored = [row[0] for row in conn.execute(
                "SELECT user_message FROM turns ORDER BY id")]
        assert stored == turns, character
