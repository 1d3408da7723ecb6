"""Portable mode with real processes: the fork server and its workers keep their guarantees
without Linux's extras, and the fork server builds no HTTP client before it forks (macOS)."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from runtime.platform_support import PORTABLE_VARIABLE
from tests.supervisor.helpers import pid_of, zygote_pid
from tests.support.paths import REPO_ROOT
from tests.support.process_watch import _wait_portably, wait_all_exited

pytestmark = pytest.mark.process

ORPHANING_PARENT = """
import os, signal, socket, subprocess, sys
from supervisor.pool.control_frames import ControlDecoder
ours, theirs = socket.socketpair()
zygote = subprocess.Popen([sys.executable, "-m", "supervisor.pool.zygote", str(theirs.fileno()),
                           str(os.getpid())], pass_fds=(theirs.fileno(),),
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
theirs.close()
decoder = ControlDecoder()
while not decoder.feed(ours.recv(4096)):
    pass
holder = os.fork()  # keeps the control socket open: no EOF will tell the zygote
if holder == 0:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    signal.pause()
print(zygote.pid, holder, flush=True)
os._exit(0)
"""

PRELOAD_PROBE = """
import json, sys
from supervisor.pool import zygote
zygote.PRELOAD = (*zygote.PRELOAD, *sys.argv[1:])
print(json.dumps([problem.summary for problem in zygote._preload().problems]))
"""


@pytest.mark.parametrize("portable", ["0", "1"], ids=["native", "portable"])
async def test_workers_exit_when_their_fork_server_is_killed(
    start_pool, monkeypatch: pytest.MonkeyPatch, portable: str
) -> None:
    """Natively the death signal ends them; in portable mode their channel's EOF (the pool
    closes it when the fork server is gone) or their ``getppid`` check does."""
    monkeypatch.setenv(PORTABLE_VARIABLE, portable)
    pool, _listener = await start_pool()
    await pool.preload(["zen-master", "m-playful"])
    workers = [pid_of(pool, "zen-master"), pid_of(pool, "m-playful")]
    os.kill(zygote_pid(pool), signal.SIGKILL)
    assert await wait_all_exited(workers, timeout_s=10) == []


@pytest.mark.parametrize("portable", ["0", "1"], ids=["native", "portable"])
async def test_a_fork_server_whose_parent_died_exits_though_its_control_socket_stays_open(
    portable: str
) -> None:
    """Natively the death signal ends it; in portable mode its ``getppid`` check between
    two ``select`` calls (without it, it would serve on forever)."""
    env = {**os.environ, PORTABLE_VARIABLE: portable, "PYTHONPATH": str(REPO_ROOT)}
    parent = await asyncio.create_subprocess_exec(
        sys.executable, "-c", ORPHANING_PARENT, env=env, stdout=asyncio.subprocess.PIPE)
    output, _ = await asyncio.wait_for(parent.communicate(), 60)
    assert parent.returncode == 0
    zygote, holder = (int(pid) for pid in output.split())
    try:
        assert await wait_all_exited([zygote], timeout_s=10) == []
    finally:
        os.kill(holder, signal.SIGKILL)


def preload(tmp_path: Path, portable: str, *extra_modules: str) -> list[str]:
    env = {**os.environ, PORTABLE_VARIABLE: portable,
           "PYTHONPATH": os.pathsep.join([str(REPO_ROOT), str(tmp_path)])}
    result = subprocess.run([sys.executable, "-c", PRELOAD_PROBE, *extra_modules],
                            capture_output=True, text=True, env=env, timeout=60, check=True)
    errors: list[str] = json.loads(result.stdout.splitlines()[-1])
    return errors


def test_the_portable_preload_and_rehearsal_build_no_http_client_and_look_up_no_proxy(
    tmp_path: Path
) -> None:
    assert preload(tmp_path, "1") == []


def test_a_preloaded_module_that_builds_an_http_client_is_reported_as_a_fork_hazard(
    tmp_path: Path
) -> None:
    (tmp_path / "builds_a_client.py").write_text("import httpx\nhttpx.Client().close()\n")
    assert preload(tmp_path, "1", "builds_a_client") == [
        "fork hazard: httpx.Client built",
        "fork hazard: urllib.request.getproxies() called",
    ]


def test_serve_refuses_a_portable_switch_that_is_neither_on_nor_off(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-c", "from supervisor.cli import main; main()", "serve", "--port", "0",
         "--data-dir", str(tmp_path)],
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
        env={**os.environ, PORTABLE_VARIABLE: "sometimes"})
    assert result.returncode != 0
    assert "GREENROOM_PORTABLE='sometimes' is neither on nor off" in result.stderr


def test_the_harness_waits_for_exits_without_a_pidfd_too() -> None:
    """macOS has no ``os.pidfd_open``: ``wait_exited`` falls back on psutil there."""
    quick = subprocess.Popen(["sleep", "0.1"])
    slow = subprocess.Popen(["sleep", "30"])
    try:
        assert _wait_portably(quick.pid, timeout_s=10) is True
        assert _wait_portably(slow.pid, timeout_s=0.2) is False
    finally:
        slow.kill()
        slow.wait()
