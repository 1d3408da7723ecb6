"""WorkerPool with real processes: spawn, crash and restart, quarantine, liveness."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil
import pytest

from protocol.queries import StatusRequest, StatusResponse
from protocol.session import PingResponse
from supervisor.pool.api import CharacterNotFound, CharacterUnavailable
from tests.supervisor.conftest import THREE
from tests.supervisor.helpers import log_records, pid_of, request, wait_until, zygote_pid
from tests.support.paths import BUNDLED_CHARACTERS
from tests.support.process_watch import is_running

pytestmark = pytest.mark.process


async def test_preloaded_workers_are_forked_with_their_title_and_fds(start_pool) -> None:
    pool, _listener = await start_pool()
    states = await pool.preload(THREE)
    assert set(states.values()) == {"ready"}
    for character_id in THREE:
        pid = pid_of(pool, character_id)
        process = psutil.Process(pid)
        assert process.cmdline()[0] == f"greenroom worker {character_id}"
        assert process.ppid() == zygote_pid(pool)
        assert os.readlink(f"/proc/{pid}/fd/0") == "/dev/null"
        for fd in (1, 2, 3):
            assert os.readlink(f"/proc/{pid}/fd/{fd}").startswith("socket:")


async def test_a_ready_worker_answers_requests(start_pool) -> None:
    pool, listener = await start_pool()
    await pool.ensure("zen-master")
    reply = await request(pool, listener, "zen-master", 1)
    assert isinstance(reply, PingResponse) and reply.message_id == "p"


async def test_unknown_character_is_not_found(start_pool) -> None:
    pool, _listener = await start_pool()
    with pytest.raises(CharacterNotFound, match="no-such-one"):
        await pool.ensure("no-such-one")


async def test_sigkilled_worker_is_back_and_answering_while_others_never_notice(
    start_pool, log_file: Path
) -> None:
    pool, listener = await start_pool()
    await pool.preload(THREE)
    others = {cid: pid_of(pool, cid) for cid in THREE[1:]}
    seen = len(listener.states)
    victim = pid_of(pool, "m-playful")
    os.kill(victim, signal.SIGKILL)
    await listener.wait_state("m-playful", "restarting", after=seen)
    await listener.wait_state("m-playful", "ready", after=seen)
    assert isinstance(await request(pool, listener, "m-playful", 7), PingResponse)
    assert pid_of(pool, "m-playful") != victim
    assert {cid: pid_of(pool, cid) for cid in others} == others
    assert all(cid == "m-playful" for cid, _, _ in listener.states[seen:])
    crashes = [r for r in log_records(log_file) if r["event"] == "worker_crashed"]
    assert crashes[0]["character"] == "m-playful"
    assert crashes[0]["exit"] == "killed by SIGKILL"
    assert crashes[0]["worker_pid"] == victim


async def test_crash_report_is_kept_for_ps(start_pool) -> None:
    pool, listener = await start_pool()
    await pool.ensure("zen-master")
    os.kill(pid_of(pool, "zen-master"), signal.SIGKILL)
    snapshot = await listener.wait_state("zen-master", "restarting")
    assert snapshot.last_crash == "killed by SIGKILL"
    assert snapshot.restarts == 1


async def test_always_crashing_character_is_quarantined_others_keep_serving_restart_clears(
    start_pool, characters_dir: Path, log_file: Path
) -> None:
    broken = characters_dir / "lamplighter.yaml"
    broken.write_text("name: [unterminated\n")
    pool, listener = await start_pool(settings={"restart_max": 2, "restart_window_s": 30.0})
    await pool.preload(["zen-master"])
    with pytest.raises(CharacterUnavailable, match="quarantined"):
        await pool.ensure("lamplighter")
    assert pool.state("lamplighter") == "failed"
    assert listener.states_of("lamplighter").count("restarting") == 2
    assert isinstance(await request(pool, listener, "zen-master", 1), PingResponse)
    failed = next(s for s in pool.snapshots() if s.character_id == "lamplighter")
    assert failed.last_crash is not None and failed.last_crash.startswith("exit code 1: ")
    assert any(r["event"] == "worker_quarantined" for r in log_records(log_file))

    broken.write_text((BUNDLED_CHARACTERS / "lamplighter.yaml").read_text())
    seen = len(listener.states)
    await pool.restart("lamplighter")
    await listener.wait_state("lamplighter", "ready", after=seen)
    assert isinstance(await request(pool, listener, "lamplighter", 2), PingResponse)


async def test_crash_report_carries_the_workers_traceback(start_pool, characters_dir: Path,
                                                           log_file: Path) -> None:
    (characters_dir / "lamplighter.yaml").write_text("name: [unterminated\n")
    pool, _listener = await start_pool(settings={"restart_max": 0})
    with pytest.raises(CharacterUnavailable):
        await pool.ensure("lamplighter")
    (crash,) = [r for r in log_records(log_file) if r["event"] == "worker_crashed"]
    assert crash["exitcode"] == 1
    assert "Traceback" in crash["traceback"]
    assert crash["decision"] == "quarantine"


async def test_hung_worker_is_killed_by_heartbeat_and_restarted(start_pool) -> None:
    pool, listener = await start_pool()
    await pool.ensure("f-serious")
    hung = pid_of(pool, "f-serious")
    os.kill(hung, signal.SIGSTOP)  # as silent as an infinite loop, without a test hook
    snapshot = await listener.wait_state("f-serious", "restarting")
    assert snapshot.last_crash is not None and "no heartbeat answered" in snapshot.last_crash
    await listener.wait_state("f-serious", "ready", after=2)
    assert not is_running(hung)


async def test_debugged_worker_is_never_killed_for_silence(start_pool) -> None:
    pool, listener = await start_pool(settings={"heartbeat_timeout_s": 0.3,
                                                "heartbeat_interval_s": 0.05})
    await pool.ensure("f-serious")
    port = await pool.start_debugger("f-serious", None, wait=False)
    assert port > 0 and pool.state("f-serious") == "debugging"
    paused = pid_of(pool, "f-serious")
    os.kill(paused, signal.SIGSTOP)  # a debugger stopped at a breakpoint looks like this
    # Nothing to await for an event that must not happen: observe 5 timeouts' worth.
    with pytest.raises(TimeoutError):
        await listener.wait_state("f-serious", "restarting", timeout_s=1.5)
    os.kill(paused, signal.SIGCONT)
    assert isinstance(await request(pool, listener, "f-serious", 3), PingResponse)
    assert pid_of(pool, "f-serious") == paused


async def test_status_is_answered_by_the_character_engine(start_pool) -> None:
    pool, listener = await start_pool()
    await pool.ensure("zen-master")
    reply = await request(pool, listener, "zen-master", 5, StatusRequest(message_id="s1"))
    assert isinstance(reply, StatusResponse) and reply.vitals


async def test_close_leaves_no_process_behind(start_pool) -> None:
    before = set(psutil.Process().children())  # what earlier tests left is not this pool's
    pool, _listener = await start_pool()
    await pool.preload(THREE)
    pids = [pid_of(pool, cid) for cid in THREE] + [zygote_pid(pool)]
    await pool.close(grace_s=1.0)
    assert not any(is_running(pid) for pid in pids)
    assert {s.state for s in pool.snapshots()} == {"stopped"}
    assert set(psutil.Process().children()) - before == set()


async def test_sigusr1_logs_every_threads_stack(start_pool, log_file: Path) -> None:
    pool, listener = await start_pool()
    await pool.ensure("zen-master")
    os.kill(pid_of(pool, "zen-master"), signal.SIGUSR1)
    await request(pool, listener, "zen-master", 9)

    def dumped() -> bool:
        return any(r["event"] == "thread_stacks" for r in log_records(log_file))

    await wait_until(dumped, timeout_s=5.0)
    (dump,) = [r for r in log_records(log_file) if r["event"] == "thread_stacks"]
    assert dump["character"] == "zen-master"
    assert any("channel-reader" in name for name in dump["stacks"])


async def test_stack_dumps_during_busy_sends_never_block_the_worker(
    start_pool, log_file: Path
) -> None:
    # Regression: the SIGUSR1 handler used to log from the main thread, deadlocking on the
    # channel's send lock when the signal landed while the main thread was sending a frame.
    pool, listener = await start_pool()
    await pool.ensure("zen-master")
    pid = pid_of(pool, "zen-master")
    for request_id in range(100, 140):
        os.kill(pid, signal.SIGUSR1)
        await request(pool, listener, "zen-master", request_id,
                      StatusRequest(message_id=f"s{request_id}", include_history=True))

    def all_dumped() -> bool:
        return sum(r["event"] == "thread_stacks" for r in log_records(log_file)) == 40

    await wait_until(all_dumped, timeout_s=10.0)
    assert pid_of(pool, "zen-master") == pid
