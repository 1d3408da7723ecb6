"""``greenroom serve`` end to end: no orphans, graceful SIGTERM, debugging one worker."""

from __future__ import annotations

import re
import signal
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.supervisor.dap_client import DapClient
from tests.supervisor.helpers import alive, wait_until
from tests.supervisor.served import Served, Session

THREE_ARGS = ["-c", "m-playful", "-c", "zen-master", "-c", "f-serious"]


@pytest.fixture
async def servers() -> AsyncIterator[list[Served]]:
    started: list[Served] = []
    yield started
    for served in started:
        await served.kill()


async def test_sigkill_of_the_supervisor_leaves_no_worker_alive_one_second_later(
    tmp_path: Path, characters_dir: Path, servers: list[Served]
) -> None:
    served = await Served.start(THREE_ARGS, tmp_path / "data", characters_dir, expect_lines=3)
    servers.append(served)
    family = [p.pid for p in served.descendants()]
    assert len(family) == 4  # the fork server and three workers
    served.process.send_signal(signal.SIGKILL)
    await served.wait()
    await wait_until(lambda: not any(alive(pid) for pid in family), timeout_s=1.0)


async def test_sigterm_during_a_streamed_reply_exits_zero_and_leaves_nothing_running(
    tmp_path: Path, characters_dir: Path, servers: list[Served]
) -> None:
    data_dir = tmp_path / "data"
    served = await Served.start(["-c", "m-playful"], data_dir, characters_dir, expect_lines=1)
    servers.append(served)
    family = [p.pid for p in served.descendants()]
    session = await Session.open(served.url)
    init = await session.ask({"message_type": "init_request", "message_id": "i",
                              "character_id": "m-playful"})
    assert init["success"] is True
    await session.send({"message_type": "chat_request", "message_id": "c",
                        "user_message": "Tell me a long story about the sea.", "stream": True})
    first = await session.next_for("c")
    assert first["message_type"] == "chat_delta"
    served.process.send_signal(signal.SIGTERM)
    final = first
    while final["message_type"] == "chat_delta":
        final = await session.next_for("c")
    assert final["message_type"] == "chat_response" or final["error_code"] in (
        "cancelled", "shutting_down")
    assert await served.wait() == 0
    assert not any(alive(pid) for pid in family)

    if final["message_type"] == "chat_response":  # acknowledged ⇒ persisted
        again = await Served.start(["-c", "m-playful"], data_dir, characters_dir,
                                   expect_lines=1)
        servers.append(again)
        session = await Session.open(again.url)
        await session.ask({"message_type": "init_request", "message_id": "i",
                           "character_id": "m-playful"})
        status = await session.ask({"message_type": "status_request", "message_id": "s",
                                    "include_history": True})
        assert status["conversation_history"]
        await session.close()


async def test_debug_wait_worker_accepts_a_dap_attach_while_others_serve(
    tmp_path: Path, characters_dir: Path, servers: list[Served]
) -> None:
    served = await Served.start(
        ["-c", "zen-master", "--debug", "m-playful", "--debug-wait"],
        tmp_path / "data", characters_dir, expect_lines=2)
    servers.append(served)
    waiting = next(line for line in served.lines if "waiting for a debugger" in line)
    port = int(re.search(r"127\.0\.0\.1:(\d+)", waiting).group(1))  # type: ignore[union-attr]

    other = await Session.open(served.url)
    init = await other.ask({"message_type": "init_request", "message_id": "i",
                            "character_id": "zen-master"})
    assert init["success"] is True
    status = await other.ask({"message_type": "status_request", "message_id": "s"})
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

    debugged = await Session.open(served.url)
    init = await debugged.ask({"message_type": "init_request", "message_id": "i",
                               "character_id": "m-playful"}, timeout_s=20)
    assert init["success"] is True
    await dap.send("disconnect", {"terminateDebuggee": False})
    await dap.close()
    for session in (other, debugged):
        await session.close()
    served.process.send_signal(signal.SIGTERM)
    assert await served.wait() == 0
