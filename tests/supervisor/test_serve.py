"""``greenroom serve`` end to end: no orphans, graceful SIGTERM, debugging one worker."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest

from tests.supervisor.dap_client import DapClient
from tests.support.json_peer import attach, open_peer
from tests.support.process_watch import descendants, is_running, wait_all_exited
from tests.support.running_server import Launch

pytestmark = pytest.mark.process

THREE = ["m-playful", "zen-master", "f-serious"]
FAST_HEARTBEAT = {"GREENROOM_HEARTBEAT_INTERVAL": "0.2"}


async def test_sigkill_of_the_supervisor_leaves_no_worker_alive_one_second_later(
    launch: Launch, characters_dir: Path
) -> None:
    server = await launch(THREE, characters_dir=characters_dir, env=FAST_HEARTBEAT)
    family = descendants(server.pid)
    assert len(family) == 4  # the fork server and three workers
    server.send_signal(signal.SIGKILL)
    await server.wait_exit(20.0)
    assert await wait_all_exited(family, timeout_s=1.0) == []


async def test_sigterm_during_a_streamed_reply_exits_zero_and_leaves_nothing_running(
    launch: Launch, characters_dir: Path, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    server = await launch(["m-playful"], data_dir=data_dir, characters_dir=characters_dir,
                          env=FAST_HEARTBEAT)
    family = descendants(server.pid)
    async with open_peer(server.url) as peer:
        await attach(peer, "m-playful")
        reply = await peer.send_frame("chat_request", "c", stream=True,
                                      user_message="Tell me a long story about the sea.")
        await reply.first_delta.wait()
        server.send_signal(signal.SIGTERM)
        final = await reply.final
    assert final["message_type"] == "chat_response" or final["error_code"] in (
        "cancelled", "shutting_down")
    assert await server.wait_exit(20.0) == 0
    assert not any(is_running(pid) for pid in family)

    if final["message_type"] == "chat_response":  # acknowledged ⇒ persisted
        again = await launch(["m-playful"], data_dir=data_dir, characters_dir=characters_dir,
                             env=FAST_HEARTBEAT)
        async with open_peer(again.url) as peer:
            await attach(peer, "m-playful")
            status = await peer.request("status_request", include_history=True)
        assert status["conversation_history"]


async def test_debug_wait_worker_accepts_a_dap_attach_while_others_serve(
    launch: Launch, characters_dir: Path
) -> None:
    server = await launch(["zen-master"], characters_dir=characters_dir, env=FAST_HEARTBEAT,
                          extra_args=["--debug", "m-playful", "--debug-wait"])
    waiting = await server.wait_for_line(lambda line: "waiting for a debugger" in line,
                                         timeout_s=30.0)
    port = int(re.search(r"127\.0\.0\.1:(\d+)", waiting).group(1))  # type: ignore[union-attr]

    async with open_peer(server.url) as other, open_peer(server.url) as debugged:
        await attach(other, "zen-master")
        status = await other.request("status_request")
        assert status["message_type"] == "status_response"

        dap = await DapClient.connect(port)
        init_seq = await dap.send("initialize", {"clientID": "greenroom-test",
                                                 "adapterID": "debugpy", "linesStartAt1": True,
                                                 "pathFormat": "path"})
        assert (await dap.until("response", "initialize", init_seq))["success"] is True
        attach_seq = await dap.send("attach", {"justMyCode": True})
        await dap.until("event", "initialized")
        done_seq = await dap.send("configurationDone")
        assert (await dap.until("response", "configurationDone", done_seq))["success"] is True
        assert (await dap.until("response", "attach", attach_seq))["success"] is True

        await attach(debugged, "m-playful")
        await dap.send("disconnect", {"terminateDebuggee": False})
        await dap.close()
    server.send_signal(signal.SIGTERM)
    assert await server.wait_exit(20.0) == 0
