"""``--placement ray`` end to end, on one machine and loopback only: a real ``greenroom serve``
that starts its own Ray head (127.0.0.1, no dashboard), real character actors, a second
``greenroom gateway`` joining the same cluster, real WebSockets.

Ray's start-up is slow (seconds on two cores), so the whole module shares one server: the
tests run in file order and the last one shuts it down and checks that nothing is left.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio

from tests.support.cli_process import greenroom_argv
from tests.support.json_peer import attach, open_peer
from tests.support.process_watch import descendants, wait_all_exited
from tests.support.running_server import RunningServer, ServerConfig, running_server

pytestmark = [
    pytest.mark.process,
    pytest.mark.xdist_group("ray"),  # one Ray head at a time on the machine
    pytest.mark.skipif(importlib.util.find_spec("ray") is None,
                       reason="ray is not installed (pip install 'greenroom[ray]')"),
    pytest.mark.asyncio(loop_scope="module"),
    pytest.mark.timeout(180),
]

CAST = ["m-playful", "zen-master"]
# Slow words: a reply streams long enough to kill its actor mid-stream.
ENV = {"GREENROOM_SCRIPTED_WORD_DELAY": "0.05", "GREENROOM_HEARTBEAT_INTERVAL": "0.5"}
READY_S = 120.0


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningServer]:
    data_dir = tmp_path_factory.mktemp("ray") / "data"
    config = ServerConfig(data_dir=data_dir, characters=CAST, env=ENV,
                          extra_args=["--placement", "ray"], ready_timeout_s=READY_S)
    async with running_server(config, wait_ready=False) as started:
        # ``serve`` prints each preloaded character once ready (no /healthz polling: on two
        # cores it would slow Ray's start).
        for character_id in CAST:
            await started.wait_for_line(lambda line, c=character_id: f"{c}: ready" in line,
                                        READY_S)
        yield started
        print(f"--- output of server pid {started.pid} ---\n{started.output_tail(60)}")


def ray_address(server: RunningServer) -> str:
    line = next(line for line in server.lines if "--ray-address" in line)
    match = re.search(r"--ray-address (\S+)", line)
    assert match is not None, line
    return match.group(1)


async def test_a_reply_streams_from_a_character_actor_and_ps_shows_its_node_and_pid(
    server: RunningServer,
) -> None:
    assert "127.0.0.1:" in ray_address(server)  # the local head is on loopback
    async with open_peer(server.url) as peer:
        await attach(peer, "m-playful")
        reply = await peer.send_frame("chat_request", stream=True,
                                      user_message="Hello! How are you today?")
        final = await asyncio.wait_for(reply.final, 30.0)
        workers = await peer.request("workers_request")
    assert final["message_type"] == "chat_response", final
    assert "".join(reply.deltas) == final["response_text"]
    shown = {w["character_id"]: w for w in workers["workers"]}
    assert shown["m-playful"]["node"].endswith("@127.0.0.1")
    assert shown["m-playful"]["pid"] != shown["zen-master"]["pid"]


async def test_sigkill_of_an_actor_mid_stream_is_a_crash_that_others_never_notice(
    server: RunningServer,
) -> None:
    before = (await server.workers())["m-playful"]
    async with open_peer(server.url) as peer, open_peer(server.url) as other:
        await attach(peer, "m-playful", subscribe=("worker_state",))
        await attach(other, "zen-master")
        kept = await peer.request("chat_request", user_message="Remember the lighthouse.",
                                  timeout_s=30.0)
        assert kept["message_type"] == "chat_response"
        reply = await peer.send_frame("chat_request", stream=True,
                                      user_message="Tell me a long story about the sea.")
        await asyncio.wait_for(reply.first_delta.wait(), 30.0)
        os.kill(before["pid"], signal.SIGKILL)
        final = await asyncio.wait_for(reply.final, 30.0)
        assert final["error_code"] == "worker_crashed", final

        status = await other.request("status_request")  # the other character: unaffected
        assert status["message_type"] == "status_response"

        back = await peer.next_event(lambda f: f["message_type"] == "worker_state_event"
                                     and f["state"] == "ready", READY_S)
        assert back["generation"] == before["generation"] + 1
        history = await peer.request("status_request", include_history=True)
        said = [turn["user_message"] for turn in history["conversation_history"]]
        assert "Remember the lighthouse." in said  # acknowledged, so kept
        again = await peer.request("chat_request", user_message="Are you back?",
                                   timeout_s=30.0)
        assert again["message_type"] == "chat_response"
    crashed = (await server.workers())["m-playful"]
    assert crashed["restarts"] == before["restarts"] + 1
    assert crashed["pid"] != before["pid"]


async def start_gateway(server: RunningServer, data_dir: Path) -> RunningServer:
    config = ServerConfig(data_dir=data_dir, env=ENV, ready_timeout_s=READY_S)
    process = await asyncio.create_subprocess_exec(
        *greenroom_argv("gateway", "--placement", "ray", "--ray-address", ray_address(server),
                        "--host", "127.0.0.1", "--port", "0", "--data-dir", str(data_dir),
                        "--log-format", "json"),
        env=config.environment(), cwd=data_dir, stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True)
    gateway = RunningServer(config, process)
    await gateway.wait_for_record(lambda r: r.get("event") == "gateway_listening", READY_S)
    return gateway


async def test_two_gateways_share_one_actor_and_a_client_moves_when_its_gateway_dies(
    server: RunningServer, tmp_path: Path,
) -> None:
    gateway = await start_gateway(server, tmp_path)
    try:
        before = (await server.workers())["zen-master"]
        async with open_peer(server.url) as first, open_peer(gateway.url) as second:
            await attach(first, "zen-master", subscribe=("turns", "vitals"))
            await attach(second, "zen-master", subscribe=("turns", "vitals"))
            answer = await second.request("chat_request", user_message="What is patience?",
                                          timeout_s=30.0)
            assert answer["message_type"] == "chat_response", answer
            seen = await first.next_event(lambda f: f["message_type"] == "turn_event", 30.0)
            assert seen["user_message"] == "What is patience?"
            # Both gateways' people talking at once: the second turn waits at the actor.
            running = await first.send_frame("chat_request", stream=True,
                                             user_message="Tell me of stillness.")
            await asyncio.wait_for(running.first_delta.wait(), 30.0)
            waiting = await second.send_frame("chat_request", stream=True,
                                              user_message="And of motion?")
            answers = await asyncio.wait_for(asyncio.gather(running.final, waiting.final), 60.0)
            assert [a["message_type"] for a in answers] == ["chat_response"] * 2, answers
            assert waiting.statuses[0]["phase"] == "queued"
            turns = [a["response_metadata"]["turn_id"] for a in answers]
            assert turns[1] == turns[0] + 1
        assert (await gateway.workers())["zen-master"]["pid"] == before["pid"]

        gateway.send_signal(signal.SIGKILL)
        await gateway.wait_exit(20.0)
        async with open_peer(server.url) as moved:
            await attach(moved, "zen-master")
            history = await moved.request("status_request", include_history=True)
            said = [turn["user_message"] for turn in history["conversation_history"]]
            assert "What is patience?" in said
            on = await moved.request("chat_request", user_message="And after patience?",
                                     timeout_s=30.0)
            assert on["message_type"] == "chat_response"
        assert (await server.workers())["zen-master"]["pid"] == before["pid"]
    finally:
        if gateway.process.returncode is None:
            await gateway.stop()


async def test_sigterm_stops_every_actor_and_the_head_leaving_no_process(
    server: RunningServer,
) -> None:
    family = descendants(server.pid)
    actors = [w["pid"] for w in (await server.workers()).values()]
    assert set(actors) <= set(family)
    server.send_signal(signal.SIGTERM)
    assert await server.wait_exit(60.0) == 0
    assert await wait_all_exited(family, timeout_s=10.0) == []
