"""A worker dies or hangs under real traffic: its character comes back, nothing
acknowledged is lost, and nobody else notices."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from dataclasses import replace

import pytest

from tests.backends.fake_llm_servers import FakeOllamaServer
from tests.reliability.conftest import (
    HELD_AFTER_TOKENS,
    STREAM,
    launch_in_each_platform_mode,
    ollama_env,
)
from tests.support.json_peer import Frame, JsonPeer, attach, open_peer
from tests.support.process_watch import wait_exited
from tests.support.running_server import Launch

pytestmark = [pytest.mark.process, pytest.mark.slow]

launch = launch_in_each_platform_mode()

VICTIM, BYSTANDERS = "m-playful", ("f-serious", "zen-master")


async def _traffic(peer: JsonPeer, stop: asyncio.Event) -> list[Frame]:
    """Status reads and chat turns back to back until ``stop``; every answer."""
    answers = []
    turn = 0
    while not stop.is_set():
        answers.append(await peer.request("status_request"))
        turn += 1
        answers.append(await peer.request("chat_request", timeout_s=30,
                                          user_message=f"bystander turn {turn}"))
    return answers


def _ready_again(generation: int) -> Callable[[Frame], bool]:
    return lambda e: (e.get("message_type") == "worker_state_event"
                      and e.get("state") == "ready" and e.get("generation", 0) > generation)


async def test_worker_sigkill_mid_stream_keeps_acknowledged_turns_and_bystanders_see_no_error(
    launch: Launch, fake_ollama: FakeOllamaServer
) -> None:
    server = await launch([VICTIM, *BYSTANDERS], engine="ollama", env=ollama_env(fake_ollama))
    async with open_peer(server.url) as victim, open_peer(server.url) as one, \
            open_peer(server.url) as two:
        await attach(victim, VICTIM, subscribe=("worker_state",))
        acknowledged = []
        for n in range(4):
            answer = await victim.request("chat_request", user_message=f"remember number {n}")
            assert answer["message_type"] == "chat_response", answer
            acknowledged.append(f"remember number {n}")
        await attach(one, BYSTANDERS[0])
        await attach(two, BYSTANDERS[1])
        worker = (await server.workers())[VICTIM]

        stop = asyncio.Event()
        async with asyncio.TaskGroup() as group:
            bystanders = [group.create_task(_traffic(p, stop)) for p in (one, two)]
            # Only the victim's turn is held: a bystander's chat must not take the script.
            fake_ollama.queue_script(replace(STREAM, hold_after=HELD_AFTER_TOKENS),
                                     for_text="never acked")
            in_flight = await victim.send_frame("chat_request", user_message="never acked",
                                                stream=True)
            await in_flight.first_delta.wait()
            await fake_ollama.holding.wait()  # the reply is parked mid-stream
            os.kill(worker["pid"], signal.SIGKILL)
            crashed = await asyncio.wait_for(in_flight.final, 10)
            await victim.next_event(_ready_again(worker["generation"]))
            fake_ollama.release()
            stop.set()

        assert crashed["message_type"] == "error_response"
        assert crashed["error_code"] == "worker_crashed", crashed
        answers = [a for task in bystanders for a in task.result()]
        assert answers and all(a.get("success") is True for a in answers), [
            a for a in answers if a.get("success") is not True]
        status = await victim.request("status_request", include_history=True)
        said = [t.get("user_message") for t in status["conversation_history"]]
        assert all(message in said for message in acknowledged), said
        assert "never acked" not in said
        assert (await server.workers())[VICTIM]["pid"] != worker["pid"]


async def test_hung_worker_is_killed_by_heartbeat_and_its_session_carries_on(
    launch: Launch,
) -> None:
    server = await launch([VICTIM, BYSTANDERS[0]],
                          env={"GREENROOM_HEARTBEAT_INTERVAL": "0.1",
                               "GREENROOM_HEARTBEAT_TIMEOUT": "0.5"})
    async with open_peer(server.url) as victim, open_peer(server.url) as bystander:
        await attach(victim, VICTIM, subscribe=("worker_state",))
        await attach(bystander, BYSTANDERS[0])
        worker = (await server.workers())[VICTIM]
        os.kill(worker["pid"], signal.SIGSTOP)  # silent as an infinite loop, no test hook
        stuck = await victim.send_frame("status_request")
        bystander_answer = await bystander.request("status_request")
        restarting = await victim.next_event(
            lambda e: e.get("message_type") == "worker_state_event"
            and e.get("state") == "restarting")
        await victim.next_event(_ready_again(worker["generation"]))

        assert bystander_answer["success"] is True
        assert await wait_exited(worker["pid"], 5.0), "the hung worker was not killed"
        assert "heartbeat" in (restarting.get("detail") or ""), restarting
        answer = await asyncio.wait_for(stuck.final, 10)
        assert answer.get("error_code") == "worker_crashed", answer
        assert (await victim.request("status_request"))["success"] is True
