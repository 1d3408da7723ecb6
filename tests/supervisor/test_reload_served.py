"""Reloading a running ``greenroom serve`` whose code is a temporary copy of the project:
edit a file of the copy, reload, see the new behaviour — or, when the edit is broken, see
everything keep serving and the error named by file and line."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path
from typing import Any

import pytest

from tests.support.character_copies import with_bundled
from tests.support.cli_process import run_greenroom
from tests.support.json_peer import JsonPeer, attach, open_peer
from tests.support.project_copy import SCRIPTED_BACKEND, ProjectCopy, copy_project
from tests.support.running_server import Launch, RunningServer

pytestmark = [pytest.mark.process, pytest.mark.slow]

PAIR = ("m-playful", "zen-master")


@pytest.fixture
def project(tmp_path: Path) -> ProjectCopy:
    return copy_project(tmp_path / "project")


@pytest.fixture
def characters(tmp_path: Path) -> Path:
    target = tmp_path / "characters"
    with_bundled(target, PAIR)
    return target


@pytest.fixture
async def served(launch: Launch, project: ProjectCopy, characters: Path) -> RunningServer:
    return await launch(list(PAIR), characters_dir=characters, env=project.env())


async def greenroom(server: RunningServer, tmp_path: Path, *args: str) -> tuple[int, str]:
    return await run_greenroom(*args, "--server-url", server.url, data_dir=tmp_path / "cli")


async def chat(peer: JsonPeer, text: str) -> str:
    answer = await peer.request("chat_request", user_message=text, timeout_s=20)
    assert answer.get("message_type") == "chat_response", answer
    return str(answer["response_text"])


async def ps(server: RunningServer, tmp_path: Path) -> dict[str, dict[str, Any]]:
    code, out = await greenroom(server, tmp_path, "ps", "--json")
    assert code == 0, out
    return {w["character_id"]: w for w in json.loads(out)}


def state_event(state: str, reason: str) -> Any:
    return lambda e: (e.get("message_type") == "worker_state_event"
                      and e.get("state") == state and e.get("reason") == reason)


async def test_a_reload_runs_the_edited_code_and_an_attached_session_keeps_its_turns(
    served: RunningServer, project: ProjectCopy, tmp_path: Path
) -> None:
    async with open_peer(served.url) as peer:
        await attach(peer, "m-playful", subscribe=("worker_state",))
        before = await chat(peer, "Hello! I am Sam.")
        project.prefix_replies("RELOADED-v2")
        code, out = await greenroom(served, tmp_path, "reload")
        assert code == 0, out
        assert "code generation 2 loaded from disk" in out
        assert "m-playful: reloaded" in out and "zen-master: reloaded" in out
        await peer.next_event(state_event("restarting", "reload"))
        await peer.next_event(state_event("ready", "reload"))
        after = await chat(peer, "Do you remember me?")
        assert after.startswith("RELOADED-v2 ") and not before.startswith("RELOADED")
        status = await peer.request("status_request", include_history=True)
    history = status["conversation_history"]
    assert [turn["user_message"] for turn in history] == ["Hello! I am Sam.",
                                                         "Do you remember me?"]
    workers = await ps(served, tmp_path)
    assert {w["code_generation"] for w in workers.values()} == {2}
    assert all(w["stale"] is None for w in workers.values())
    retired = await served.wait_for_record(lambda r: r.get("event") == "zygote_retired")
    assert retired["code_generation"] == 1


async def test_a_reload_with_a_syntax_error_keeps_everything_serving_and_names_file_and_line(
    served: RunningServer, project: ProjectCopy, tmp_path: Path
) -> None:
    pids = {cid: await served.worker_pid(cid) for cid in PAIR}
    line = project.break_syntax()
    code, out = await greenroom(served, tmp_path, "reload")
    assert code == 1, out
    assert f"{SCRIPTED_BACKEND}:{line}: SyntaxError" in out
    assert "Traceback" in out and "every worker keeps running code generation 1" in out
    assert {cid: await served.worker_pid(cid) for cid in PAIR} == pids
    workers = await ps(served, tmp_path)
    assert all(w["code_generation"] == 1 for w in workers.values())
    assert all(f"{SCRIPTED_BACKEND}:{line}" in (w["stale"] or "") for w in workers.values())
    code, table = await greenroom(served, tmp_path, "ps")
    assert code == 0 and "g1@" in table and "reload failed:" in table, table
    async with open_peer(served.url) as peer:
        await attach(peer, "zen-master")
        assert await chat(peer, "Still there?")


async def test_restart_after_an_edit_starts_the_worker_from_the_new_code(
    served: RunningServer, project: ProjectCopy, tmp_path: Path
) -> None:
    async with open_peer(served.url) as peer:
        await attach(peer, "m-playful", subscribe=("worker_state",))
        project.prefix_replies("RESTARTED-v2")
        code, out = await greenroom(served, tmp_path, "restart", "m-playful")
        assert code == 0 and "STALE" not in out, out
        await peer.next_event(state_event("ready", "restart"))
        assert (await chat(peer, "Hi again")).startswith("RESTARTED-v2 ")
    workers = await ps(served, tmp_path)
    assert workers["m-playful"]["code_generation"] == 2
    assert workers["zen-master"]["code_generation"] == 1
    assert "not reloaded yet" in workers["zen-master"]["stale"]


async def test_restart_on_broken_code_says_clearly_that_the_code_is_stale(
    served: RunningServer, project: ProjectCopy, tmp_path: Path
) -> None:
    line = project.break_syntax()
    async with open_peer(served.url) as peer:
        await attach(peer, "m-playful", subscribe=("worker_state",))
        code, out = await greenroom(served, tmp_path, "restart", "m-playful")
        assert code == 0, out
        assert "restarts on STALE code" in out and f"{SCRIPTED_BACKEND}:{line}" in out
        await peer.next_event(state_event("ready", "restart"))
    record = await served.wait_for_record(lambda r: r.get("event") == "worker_code_stale")
    assert record["character"] == "m-playful" and record["files"] == [SCRIPTED_BACKEND]
    assert f"{SCRIPTED_BACKEND}:{line}" in (await ps(served, tmp_path))["m-playful"]["stale"]


async def test_a_crash_report_of_edited_code_says_its_code_changed_on_disk(
    served: RunningServer, project: ProjectCopy, tmp_path: Path
) -> None:
    project.break_syntax()  # the restart cannot load it: the report must still be honest
    victim = await served.worker_pid("zen-master")
    os.kill(victim, signal.SIGKILL)
    crash = await served.wait_for_record(
        lambda r: r.get("event") == "worker_crashed" and r.get("worker_pid") == victim)
    assert crash["code_changed_on_disk"] == [SCRIPTED_BACKEND]
    workers = await served.wait_until(
        lambda ws: ws["zen-master"]["state"] == "ready"
        and ws["zen-master"]["pid"] != victim, timeout_s=20)
    assert workers["zen-master"]["pid"] != victim
    last_crash = (await ps(served, tmp_path))["zen-master"]["last_crash"]
    assert "its code changed on disk since it was loaded" in last_crash


async def test_serve_reload_reloads_an_edited_character_only_and_refuses_an_invalid_one(
    launch: Launch, project: ProjectCopy, characters: Path, tmp_path: Path
) -> None:
    served = await launch(list(PAIR), characters_dir=characters, env=project.env(),
                          extra_args=["--reload"])
    await served.wait_for_record(lambda r: r.get("event") == "reload_watching", 20)
    pids = {cid: await served.worker_pid(cid) for cid in PAIR}
    playful = characters / "m-playful.yaml"
    seen = len(served.records)
    playful.write_text(playful.read_text().replace("baseline_setpoint: 0.7",
                                                   "baseline_setpoint: 0.5"))
    done = await served.wait_for_record(lambda r: r.get("event") == "reload_done", 30,
                                        start=seen)
    assert done["reloaded"] == ["m-playful"] and done["up_to_date"] == ["zen-master"]
    assert await served.worker_pid("zen-master") == pids["zen-master"]
    reloaded_pid = await served.worker_pid("m-playful")
    assert reloaded_pid != pids["m-playful"]

    seen = len(served.records)
    playful.write_text(playful.read_text().replace("baseline_setpoint: 0.5",
                                                   "baseline_setpoint: 5"))
    refused = await served.wait_for_record(
        lambda r: r.get("event") == "character_reload_refused", 30, start=seen)
    assert refused["character"] == "m-playful" and "baseline_setpoint" in refused["problem"]
    assert await served.worker_pid("m-playful") == reloaded_pid
    async with open_peer(served.url) as peer:
        await attach(peer, "m-playful")
        assert await chat(peer, "Are you still fine?")
    assert "not reloaded" in (await ps(served, tmp_path))["m-playful"]["stale"]


async def test_serve_reload_logs_broken_code_and_ps_shows_it(
    launch: Launch, project: ProjectCopy, characters: Path, tmp_path: Path
) -> None:
    served = await launch(list(PAIR), characters_dir=characters, env=project.env(),
                          extra_args=["--reload"])
    await served.wait_for_record(lambda r: r.get("event") == "reload_watching", 20)
    line = project.break_syntax()
    failed = await served.wait_for_record(lambda r: r.get("event") == "code_reload_failed",
                                          30)
    assert f"{SCRIPTED_BACKEND}:{line}: SyntaxError" in failed["problem"]
    assert "Traceback" in failed["traceback"]
    code, table = await greenroom(served, tmp_path, "ps")
    assert code == 0, table
    assert "reload failed:" in table and f"{SCRIPTED_BACKEND}:{line}" in table, table
