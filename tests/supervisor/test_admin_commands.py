"""``greenroom ps``/``restart``/``debug``/``logs`` against a real ``greenroom serve``."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.support.cli_process import run_greenroom
from tests.support.running_server import Launch, RunningServer

pytestmark = pytest.mark.process

Greenroom = Callable[..., Awaitable[tuple[int, str]]]


@pytest.fixture
def greenroom(tmp_path: Path) -> Greenroom:
    """``greenroom <args>`` with the test's own (empty) data directory."""
    return partial(run_greenroom, data_dir=tmp_path / "cli")


@pytest.fixture
async def served(launch: Launch, characters_dir: Path) -> RunningServer:
    return await launch(["m-playful", "zen-master"], characters_dir=characters_dir,
                        env={"GREENROOM_HEARTBEAT_INTERVAL": "0.2"})


async def test_ps_lists_every_worker_with_pid_and_state(
    served: RunningServer, greenroom: Greenroom
) -> None:
    code, out = await greenroom("ps", "--server-url", served.url, "--json")
    assert code == 0, out
    workers = json.loads(out)
    assert [w["character_id"] for w in workers] == ["m-playful", "zen-master"]
    assert all(w["state"] == "ready" and w["pid"] and w["rss_bytes"] for w in workers)


async def test_ps_prints_a_table(served: RunningServer, greenroom: Greenroom) -> None:
    code, out = await greenroom("ps", "--server-url", served.url)
    assert code == 0, out
    assert "CHARACTER" in out and "zen-master" in out and "ready" in out


async def test_restart_replaces_the_worker_process(
    served: RunningServer, greenroom: Greenroom
) -> None:
    _, before = await greenroom("ps", "--server-url", served.url, "--json")
    old_pid = next(w["pid"] for w in json.loads(before) if w["character_id"] == "zen-master")
    code, out = await greenroom("restart", "zen-master", "--server-url", served.url)
    assert code == 0, out
    async with asyncio.timeout(10):
        while True:
            _, now = await greenroom("ps", "--server-url", served.url, "--json")
            worker = next(w for w in json.loads(now) if w["character_id"] == "zen-master")
            if worker["state"] == "ready" and worker["pid"] != old_pid:
                break
    assert worker["generation"] == 2


async def test_debug_prints_where_to_attach(served: RunningServer, greenroom: Greenroom) -> None:
    code, out = await greenroom("debug", "m-playful", "--server-url", served.url)
    assert code == 0, out
    assert "debugpy listens on 127.0.0.1:" in out
    assert "greenroom restart m-playful" in out and "pdb_listening" in out
    _, ps_out = await greenroom("ps", "--server-url", served.url, "--json")
    worker = next(w for w in json.loads(ps_out) if w["character_id"] == "m-playful")
    assert worker["state"] == "debugging" and worker["debug_port"]
    code, out = await greenroom("restart", "m-playful", "--server-url", served.url)
    assert code == 0, out
    workers = await served.wait_until(
        lambda w: w["m-playful"]["state"] == "ready" and w["m-playful"]["generation"] == 2, 20)
    assert workers["m-playful"]["pid"] != worker["pid"]
    with pytest.raises(ConnectionRefusedError):
        await asyncio.open_connection("127.0.0.1", worker["debug_port"])


async def test_a_web_page_can_neither_connect_nor_open_a_debugger(
    served: RunningServer, greenroom: Greenroom
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with connect(served.url, origin="https://evil.example"):  # type: ignore[arg-type]
            pass
    assert refused.value.response.status_code == 403
    record = await served.wait_for_record(lambda r: r.get("event") == "handshake_refused")
    assert record["origin"] == "https://evil.example" and record["remote"]
    async with connect(served.url, origin=f"http://localhost:{served.port}") as page:  # type: ignore[arg-type]
        await page.send(json.dumps({"message_type": "debug_request", "message_id": "d",
                                    "character_id": "m-playful"}))
        answer = json.loads(await asyncio.wait_for(page.recv(), 10))
    assert (answer["message_id"], answer["error_code"]) == ("d", "forbidden")
    code, out = await greenroom("ps", "--server-url", served.url, "--json")
    assert code == 0, out
    worker = next(w for w in json.loads(out) if w["character_id"] == "m-playful")
    assert worker["state"] == "ready" and worker["debug_port"] is None


async def test_ps_without_a_server_says_how_to_fix_it(greenroom: Greenroom) -> None:
    code, out = await greenroom("ps", "--server-url", "ws://127.0.0.1:9")
    assert code == 1
    assert "[unreachable]" in out and "greenroom serve" in out


async def test_logs_filters_by_character_and_event(
    served: RunningServer, tmp_path: Path, greenroom: Greenroom
) -> None:
    code, out = await greenroom("logs", "--data-dir", str(tmp_path / "data"), "--json",
                                "--character", "zen-master", "--event", "worker_*")
    assert code == 0, out
    records = [json.loads(line) for line in out.splitlines()]
    assert records and all(r["character"] == "zen-master" for r in records)
    assert all(r["event"].startswith("worker_") for r in records)
    assert {"ts", "level", "event", "process", "pid"} <= records[0].keys()
    assert {r["process"] for r in records} == {"gateway", "worker"}


async def test_piped_ps_prints_whole_pids_states_and_debug_ports(
    launch: Launch, characters_dir: Path, greenroom: Greenroom
) -> None:
    server = await launch(["zen-master"], characters_dir=characters_dir,
                          extra_args=["--debug", "m-playful"])
    await server.wait_until(lambda ws: ws.get("m-playful", {}).get("state") == "debugging",
                            timeout_s=30)
    _, listed = await greenroom("ps", "--server-url", server.url, "--json")
    workers = {w["character_id"]: w for w in json.loads(listed)}
    code, out = await greenroom("ps", "--server-url", server.url)
    assert code == 0, out
    header, *lines = out.splitlines()
    columns = header.split()
    rows = {line.split()[0]: line.split() for line in lines}
    assert rows.keys() == workers.keys(), out
    for character_id, worker in workers.items():
        row = rows[character_id]
        assert row[columns.index("PID")] == str(worker["pid"]), out
        assert row[columns.index("STATE")] == worker["state"], out
    debug = rows["m-playful"][columns.index("DEBUG")]
    assert debug == f"127.0.0.1:{workers['m-playful']['debug_port']}", out
    assert "…" not in out
