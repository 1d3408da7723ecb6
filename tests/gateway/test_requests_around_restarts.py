"""Requests around an operator's restart and during a streaming turn: a request sent right
after ``restart_request`` answers ``character_restarting`` (nothing crashed), a
``debug_request`` that waits for the new worker never blocks its session, and ``save_request``
succeeds while another session's chat streams."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.backends.fake_llm_servers import FakeOllamaServer, StreamScript
from tests.gateway.conftest import GatewayFactory, Peer, open_peer
from tests.gateway.test_gateway_with_real_workers import A, hello, serving

pytestmark = pytest.mark.timeout(120)

PROGRESS = ("chat_delta", "generation_status")
"""Frames of a streamed chat before its final answer."""

HELD = StreamScript(tokens=["Once", " upon", " a", " time", "."], hold_after=2)


def final_of(frames: list[dict[str, Any]], message_id: str) -> dict[str, Any]:
    return next(f for f in frames if f.get("message_id") == message_id
                and f["message_type"] not in PROGRESS)


async def until_ready(watcher: Peer) -> list[dict[str, Any]]:
    return await watcher.recv_until(
        lambda f: f["message_type"] == "worker_state_event" and f["state"] == "ready")


def ollama_settings(llm: FakeOllamaServer) -> dict[str, Any]:
    """The fake answers every chat request with its scripts, one-offs included: the model's
    notes after a turn would take them, so model memory is off."""
    return {"engine": "ollama", "ollama_base_url": llm.base_url, "ollama_model": "llama3.2",
            "model_memory": "off"}


@pytest.mark.process
async def test_requests_right_after_restart_request_answer_character_restarting(
    tmp_path: Path,
) -> None:
    """The old worker stops reading at its Shutdown; before, a status sent meanwhile (and a
    chat queued behind the chat it was finishing) reached it, was lost, and answered
    ``worker_crashed``."""
    async with FakeOllamaServer(models=["llama3.2:latest"]) as llm:
        llm.queue_script(HELD)
        async with serving(tmp_path, **ollama_settings(llm)) as (gateway, _), \
                open_peer(gateway) as alice, open_peer(gateway) as bob, \
                open_peer(gateway) as admin, open_peer(gateway) as watcher:
            for peer in (alice, bob, admin):
                await hello(peer, A)
            await hello(watcher, A, ["worker_state"])
            held_id = await alice.send("chat_request", user_message="Tell me a story.",
                                       stream=True)
            await alice.recv_until(lambda f: f["message_type"] == "chat_delta")
            await llm.holding.wait()
            restarted = await admin.request("restart_request", character_id=A)
            status = await admin.request("status_request")
            queued = await bob.request("chat_request", user_message="Hello?")
            held = final_of(await alice.recv_until(
                lambda f: f.get("message_id") == held_id and f["message_type"] not in PROGRESS),
                held_id)
            await until_ready(watcher)
            after = await bob.request("chat_request", user_message="Are you back?")
    assert restarted["message_type"] == "restart_response"
    assert (status["message_type"], status.get("error_code")) == (
        "error_response", "character_restarting"), status
    assert "restarting" in status["error"] and A in status["error"]
    assert queued.get("error_code") == "character_restarting", queued
    assert held.get("error_code") == "cancelled", held  # the restart's grace ran out for it
    assert after["message_type"] == "chat_response"


@pytest.mark.process
async def test_debug_request_right_after_restart_debugs_the_new_worker(tmp_path: Path) -> None:
    async with serving(tmp_path) as (gateway, pool), open_peer(gateway) as admin:
        await hello(admin, A)
        generation = next(s.generation for s in pool.snapshots() if s.character_id == A)
        await admin.request("restart_request", character_id=A)
        debug = await admin.request("debug_request", character_id=A)
        worker = next(s for s in pool.snapshots() if s.character_id == A)
        status = await admin.request("status_request")
    assert debug["message_type"] == "debug_response", debug
    assert worker.generation == generation + 1
    assert (debug["port"], debug["pid"]) == (worker.debug_port, worker.pid)
    assert status["message_type"] == "status_response"


async def test_a_waiting_debug_request_does_not_hold_up_the_sessions_other_requests(
    make_gateway: GatewayFactory,
) -> None:
    gateway, pool = await make_gateway()
    pool.debugger_gate.clear()  # as while the character's new worker is still starting
    async with open_peer(gateway) as admin:
        await admin.request("init_request", character_id="alpha")
        debug_id = await admin.send("debug_request", character_id="alpha")
        await pool.debugger_asked.wait()
        ping = await admin.request("ping_request")
        status = await admin.request("status_request")
        pool.debugger_gate.set()
        debug = final_of(await admin.recv_until(lambda f: f.get("message_id") == debug_id),
                         debug_id)
    assert ping["message_type"] == "ping_response"
    assert status["message_type"] == "status_response"
    assert debug["message_type"] == "debug_response"


async def test_a_debug_request_for_a_worker_slow_to_become_ready_answers_timeout(
    make_gateway: GatewayFactory,
) -> None:
    """Waiting for a restarting worker plus debugpy's start can outlast the request timeout;
    that used to surface as ``internal`` with a ``request_failed`` traceback."""
    gateway, pool = await make_gateway(request_timeout_s=0.2)
    pool.debugger_gate.clear()  # the new worker never becomes ready within the timeout
    async with open_peer(gateway) as admin:
        await admin.request("init_request", character_id="alpha")
        debug = await admin.request("debug_request", character_id="alpha")
        ping = await admin.request("ping_request")
    assert (debug["message_type"], debug.get("error_code")) == ("error_response", "timeout")
    assert "alpha" in debug["error"] and "0.2 s" in debug["error"], debug
    assert ping["message_type"] == "ping_response"


@pytest.mark.process
async def test_save_while_another_sessions_chat_streams_succeeds_with_the_committed_turns(
    tmp_path: Path,
) -> None:
    async with FakeOllamaServer(models=["llama3.2:latest"]) as llm, \
            serving(tmp_path, **ollama_settings(llm)) as (gateway, _), \
            open_peer(gateway) as alice, open_peer(gateway) as bob:
        await hello(alice, A)
        await hello(bob, A)
        first = await alice.request("chat_request", user_message="Hello there!")
        llm.queue_script(HELD)
        held_id = await alice.send("chat_request", user_message="Tell me a story.",
                                   stream=True)
        await alice.recv_until(lambda f: f["message_type"] == "chat_delta")
        await llm.holding.wait()
        saved = await bob.request("save_request", filename="mid-reply")
        listed = await bob.request("snapshots_request")
        llm.release()
        rest = await alice.recv_until(
            lambda f: f.get("message_id") == held_id and f["message_type"] not in PROGRESS)
    assert first["message_type"] == "chat_response"
    assert saved["message_type"] == "save_response", saved
    assert saved["filename"] == "mid-reply"
    assert [(s["filename"], s["turn_count"]) for s in listed["snapshots"]] == [("mid-reply", 1)]
    assert rest[-1]["message_type"] == "chat_response"

