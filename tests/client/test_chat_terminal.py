"""``greenroom chat`` driven in a real terminal (pexpect pty) against a real server.

The server runs the ``ollama`` engine against the fake Ollama HTTP server of the backend
tests, so a reply can be held mid-stream (``hold_after``) and Ctrl+C always lands while it
streams. pexpect blocks, so every wait runs in a thread (``expect``) and the event loop keeps
serving the fake LLM and reading the server's output.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pexpect
import pytest
from pexpect.popen_spawn import PopenSpawn  # type: ignore[import-untyped]

from client.remote import CharacterClient
from tests.backends.fake_llm_servers import FakeOllamaServer, StreamScript
from tests.support.cli_process import clean_env, greenroom_argv
from tests.support.paths import REPO_ROOT
from tests.support.ports import closed_port
from tests.support.running_server import RunningServer, ServerConfig, running_server

pytestmark = pytest.mark.process

CHARACTER = "m-playful"
REPLY = ["Hello", " there", ", friend", "!"]
REPLY_TEXT = "".join(REPLY)
WAIT_S = 30


@asynccontextmanager
async def llm_and_server(data_dir: Path, *extra_args: str
                         ) -> AsyncIterator[tuple[FakeOllamaServer, RunningServer]]:
    async with FakeOllamaServer(models=["llama3.2:latest"]) as llm:
        llm.script = StreamScript(tokens=REPLY)
        config = ServerConfig(
            data_dir=data_dir / "server", characters=[CHARACTER], engine="ollama",
            env={"OLLAMA_BASE_URL": llm.base_url, "OLLAMA_MODEL": "llama3.2"},
            extra_args=list(extra_args),
        )
        async with running_server(config) as server:
            yield llm, server


def spawn_chat(server_url: str, data_dir: Path, *args: str) -> pexpect.spawn:
    argv = greenroom_argv("chat", "--server-url", server_url, *args)
    return pexpect.spawn(argv[0], argv[1:], env=clean_env(data_dir / "client"),
                         cwd=str(REPO_ROOT), encoding="utf-8", dimensions=(50, 200),
                         timeout=WAIT_S)


ANSI_CODES = r"(?:\x1b\[[0-9;?]*[A-Za-z])*"


async def expect(child: pexpect.spawn | PopenSpawn, text: str) -> None:
    """Wait for ``text`` on the terminal; the terminal may interleave control sequences
    (prompt_toolkit wraps every streamed delta in some), so they are allowed between any two
    characters."""
    pattern = ANSI_CODES.join(re.escape(char) for char in text)
    await asyncio.to_thread(child.expect, pattern, timeout=WAIT_S)


async def at_prompt(child: pexpect.spawn, line: str) -> None:
    """Type ``line`` once the prompt is up (prompt_toolkit turns bracketed paste on as it
    starts reading), as a person answers a prompt they see."""
    await asyncio.to_thread(child.expect_exact, "\x1b[?2004h", timeout=WAIT_S)
    child.sendline(line)


async def finish(child: pexpect.spawn) -> int:
    child.sendline("/quit")
    await asyncio.to_thread(child.expect, pexpect.EOF, timeout=WAIT_S)
    child.close()
    status: int = child.exitstatus
    return status


async def test_terminal_session_streams_cancels_and_runs_commands(tmp_path: Path) -> None:
    async with llm_and_server(tmp_path) as (llm, server):
        child = spawn_chat(server.url, tmp_path, "-c", CHARACTER, "--user", "ann")
        try:
            await expect(child, "talking to Tobias")
            await at_prompt(child, "Hi! I love hiking in the mountains.")
            await expect(child, REPLY_TEXT)
            await expect(child, "↳ mood ")

            llm.queue_script(StreamScript(tokens=["Once", " upon", " a", " time"], hold_after=2))
            await at_prompt(child, "Tell me a story.")
            await expect(child, "Once upon")
            child.sendintr()
            await expect(child, "reply cancelled")

            await at_prompt(child, "Still there?")
            await expect(child, REPLY_TEXT)
            await at_prompt(child, "/save snap1")
            await expect(child, "saved snapshot 'snap1'")
            await at_prompt(child, "/undo")
            await expect(child, "undid your last turn")
            await at_prompt(child, "/load snap1")
            await expect(child, "loaded snapshot 'snap1'")
            await at_prompt(child, "/memory hiking")
            await expect(child, "(score ")
            await at_prompt(child, "/vitals")
            await expect(child, "adrenaline")
            assert await finish(child) == 0
        finally:
            child.close(force=True)


async def test_killed_worker_is_shown_and_the_next_message_works(tmp_path: Path) -> None:
    async with llm_and_server(tmp_path) as (_, server):
        child = spawn_chat(server.url, tmp_path, "-c", CHARACTER, "--no-vitals")
        try:
            await expect(child, "talking to Tobias")
            os.kill(await server.worker_pid(CHARACTER), signal.SIGKILL)
            await expect(child, f"character {CHARACTER} restarting")
            await expect(child, f"back — {CHARACTER} is ready")
            child.sendline("Are you back?")
            await expect(child, REPLY_TEXT)
            assert await finish(child) == 0
        finally:
            child.close(force=True)


async def test_server_restart_reconnects_and_reattaches(tmp_path: Path) -> None:
    port = closed_port()
    async with llm_and_server(tmp_path, "--port", str(port)) as (_, server):
        child = spawn_chat(server.url, tmp_path, "-c", CHARACTER, "--no-vitals")
        await expect(child, "talking to Tobias")
        child.sendline("Remember me.")
        await expect(child, REPLY_TEXT)
    try:
        await expect(child, "server gone — reconnecting (1/3)")
        async with llm_and_server(tmp_path, "--port", str(port)):
            child.sendline("I am back.")
            await expect(child, "back — connection restored")
            await expect(child, REPLY_TEXT)
            assert await finish(child) == 0
    finally:
        child.close(force=True)


async def test_vitals_only_follows_another_clients_turn(tmp_path: Path) -> None:
    async with llm_and_server(tmp_path) as (_, server):
        argv = greenroom_argv("chat", "--server-url", server.url, "-c", CHARACTER,
                              "--vitals-only")
        dashboard = PopenSpawn(argv, env=clean_env(tmp_path / "client"), cwd=str(REPO_ROOT),
                               encoding="utf-8", timeout=WAIT_S)
        try:
            await expect(dashboard, "[vitals")
            await expect(dashboard, "mood:")
            talker = await CharacterClient.connect(server.url, character_id=CHARACTER,
                                                   user="bob")
            try:
                await talker.chat("You are wonderful, thank you so much!")
            finally:
                await talker.close()
            await expect(dashboard, f"bob said to {CHARACTER}")
            await expect(dashboard, "[vitals")
            await expect(dashboard, "^ +")
            status = await server.workers()
            assert status[CHARACTER]["state"] == "ready"
        finally:
            dashboard.kill(signal.SIGTERM)
            await asyncio.to_thread(dashboard.wait)


@pytest.mark.parametrize("flag", ["--no-fallback"])
async def test_no_server_with_no_fallback_exits_non_zero(tmp_path: Path, flag: str) -> None:
    child = spawn_chat(f"ws://127.0.0.1:{closed_port()}", tmp_path, "-c", CHARACTER, flag)
    await asyncio.to_thread(child.expect, pexpect.EOF, timeout=WAIT_S)
    child.close()
    assert child.exitstatus == 2
    assert "[connection_failed]" in (child.before or "")


async def test_no_server_falls_back_to_local_with_a_notice(tmp_path: Path) -> None:
    child = spawn_chat(f"ws://127.0.0.1:{closed_port()}", tmp_path, "-c", CHARACTER,
                       "--no-vitals")
    try:
        await expect(child, "falling back to LOCAL mode")
        await expect(child, "(local)")
        child.sendline("Hello!")
        await expect(child, "Okafor: ")
        assert await finish(child) == 0
    finally:
        child.close(force=True)


async def test_set_reaches_the_model_server_and_why_explains_the_turn(tmp_path: Path) -> None:
    async with llm_and_server(tmp_path) as (llm, server):
        child = spawn_chat(server.url, tmp_path, "-c", CHARACTER, "--user", "ann", "--no-vitals")
        try:
            await expect(child, "talking to Tobias")
            await at_prompt(child, "/set temperature 0.25")
            await expect(child, "temperature set to 0.25 for this session")
            await at_prompt(child, "/set top_p 7")
            await expect(child, "expected a number from 0 to 1, got '7'")
            await at_prompt(child, "Hi! I love hiking in the mountains.")
            await expect(child, REPLY_TEXT)
            assert llm.last_reply_body()["options"]["temperature"] == 0.25
            await at_prompt(child, "/why")
            await expect(child, "why turn 1 — ann:")
            await expect(child, "read as    greeting")
            await expect(child, "temperature 0.25 (set)")
            await at_prompt(child, "/show")
            await expect(child, "temperature  0.25  (set)")
            await at_prompt(child, "/why 5")
            await expect(child, "no turn 5; its newest turn is turn 1")
            assert await finish(child) == 0
        finally:
            child.close(force=True)


async def test_forget_in_a_terminal_asks_at_the_prompt_and_deletes_only_after_yes(
        tmp_path: Path) -> None:
    async with llm_and_server(tmp_path) as (_, server):
        child = spawn_chat(server.url, tmp_path, "-c", CHARACTER, "--user", "ann")
        try:
            await expect(child, "talking to Tobias")
            await at_prompt(child, "/remember I am allergic to peanuts.")
            await expect(child, "remembered as #1")
            await at_prompt(child, "/memories")
            await expect(child, "remembered  ann: I am allergic to peanuts.")
            await at_prompt(child, "/forget 1")
            await expect(child, "Forget this memory? [y/N]")
            child.sendline("n")
            await expect(child, "kept: nothing was forgotten")
            await at_prompt(child, "/forget peanuts")
            await expect(child, "Forget this memory? [y/N]")
            child.sendline("y")
            await expect(child, "forgot #1")
            await at_prompt(child, "/memories")
            await expect(child, "(no memories)")
            assert await finish(child) == 0
        finally:
            child.close(force=True)
