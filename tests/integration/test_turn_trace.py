"""A turn's trace through the whole system: stored by a real worker, read back with
``trace_request`` after that worker was killed and restarted, and by ``greenroom trace``."""

from __future__ import annotations

import json
import os
import signal
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.support.cli_process import run_greenroom
from tests.support.json_peer import Frame, attach, open_peer
from tests.support.running_server import ServerConfig, running_server

pytestmark = [pytest.mark.process, pytest.mark.timeout(90)]

CHARACTER = "m-playful"


def ready_after(generation: int) -> Callable[[Frame], bool]:
    return lambda e: (e.get("message_type") == "worker_state_event"
                      and e.get("state") == "ready" and e.get("generation", 0) > generation)


async def test_a_turns_trace_survives_a_worker_restart_and_greenroom_trace_reads_it(
        tmp_path: Path) -> None:
    async with running_server(ServerConfig(tmp_path / "data", characters=[CHARACTER])) as server:
        async with open_peer(server.url) as peer:
            await attach(peer, CHARACTER, subscribe=("worker_state",))
            for text in ("Hi! I love hiking in the mountains.", "You idiot!"):
                reply = await peer.request("chat_request", user_message=text,
                                           options={"temperature": 0.3})
                assert reply["message_type"] == "chat_response", reply
            before: Frame = await peer.request("trace_request", turn_index=1)
            assert before["message_type"] == "trace_response", before
            worker = (await server.workers())[CHARACTER]
            os.kill(worker["pid"], signal.SIGKILL)
            await peer.next_event(ready_after(worker["generation"]))
            after = await peer.request("trace_request", turn_index=1)
            newest = await peer.request("trace_request")
        assert after["trace"] == before["trace"]
        assert after["user_message"] == "Hi! I love hiking in the mountains."
        assert before["trace"]["generation"]["session"] == {"temperature": 0.3}
        assert newest["turn_index"] == 2
        assert newest["trace"]["appraisal"]["intent"] == "hostile"

        code, out = await run_greenroom("trace", CHARACTER, "1", "--json", "--server-url",
                                        server.url, data_dir=tmp_path / "cli")
        assert code == 0, out
        printed = json.loads(out)
        assert (printed["turn_index"], printed["trace"]) == (1, before["trace"])

        code, out = await run_greenroom("trace", CHARACTER, "--server-url", server.url,
                                        data_dir=tmp_path / "cli")
        assert code == 0, out
        assert out.startswith("why turn 2 — user: 'You idiot!'")
        assert "read as    hostile" in out

        code, out = await run_greenroom("trace", CHARACTER, "9", "--server-url", server.url,
                                        data_dir=tmp_path / "cli")
        assert code == 1 and "no turn 9; its newest turn is turn 2" in out
