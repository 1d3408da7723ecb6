"""``breakpoint()`` in a worker opens a pdb on 127.0.0.1 that a terminal client drives, after
typing the one-time key from the log; a web page's HTTP request to that port runs nothing."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from runtime.settings import REPO_ROOT
from worker.debugging import key_refusal

pytestmark = pytest.mark.process

SCRIPT = """
import structlog
structlog.configure(processors=[structlog.processors.JSONRenderer()])
from worker import debugging
debugging.install_breakpoint_hook("m-playful", lambda port: None)
answer = 41
breakpoint()
print("resumed", answer, flush=True)
"""

PROMPT = b"(greenroom-pdb) "
TIMEOUT_S = 20.0


class Debuggee:
    """The script above in a subprocess; ``records`` are its JSON log lines."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process
        self.records: list[dict[str, Any]] = []

    async def record(self, event: str) -> dict[str, Any]:
        assert self.process.stdout is not None
        while True:
            async with asyncio.timeout(TIMEOUT_S):
                line = await self.process.stdout.readline()
            assert line, f"the program ended before logging {event}"
            if line.startswith(b"{"):
                self.records.append(json.loads(line))
                if self.records[-1]["event"] == event:
                    return self.records[-1]

    async def stdout_line(self) -> str:
        assert self.process.stdout is not None
        async with asyncio.timeout(TIMEOUT_S):
            return (await self.process.stdout.readline()).decode().strip()


@pytest.fixture
async def debuggee() -> AsyncIterator[Debuggee]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SCRIPT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, stdin=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        yield Debuggee(process)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def attach_with_key(port: int, key: str) -> tuple[asyncio.StreamReader,
                                                        asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(key.encode() + b"\n")
    async with asyncio.timeout(TIMEOUT_S):
        await reader.readuntil(PROMPT)
    return reader, writer


async def read_to_end(reader: asyncio.StreamReader) -> bytes:
    async with asyncio.timeout(TIMEOUT_S):
        return await reader.read()


async def test_with_the_key_from_the_log_pdb_works_and_continue_resumes_the_program(
    debuggee: Debuggee,
) -> None:
    listening = await debuggee.record("pdb_listening")
    assert listening["key"] in listening["attach"]
    reader, writer = await attach_with_key(listening["port"], listening["key"])
    writer.write(b"p answer + 1\n")
    async with asyncio.timeout(TIMEOUT_S):
        assert b"42" in await reader.readuntil(PROMPT)
    writer.write(b"c\n")
    await writer.drain()
    assert await debuggee.stdout_line() == "resumed 41"
    async with asyncio.timeout(TIMEOUT_S):
        assert await debuggee.process.wait() == 0
    writer.close()


async def test_a_no_cors_http_post_to_the_pdb_port_runs_nothing_and_is_closed(
    debuggee: Debuggee, tmp_path: Path
) -> None:
    """What ``fetch(url, {method: "POST", mode: "no-cors", body})`` from any page sends."""
    proof = tmp_path / "ran"
    body = (f"import pathlib; pathlib.Path({str(proof)!r}).write_text('ran')\n"
            f"!import pathlib; pathlib.Path({str(proof)!r}).write_text('ran')\n")
    listening = await debuggee.record("pdb_listening")
    port = listening["port"]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        (f"POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: https://evil.example\r\n"
         f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {len(body)}\r\n\r\n"
         f"{body}").encode())
    await writer.drain()
    assert await read_to_end(reader) == b"", "the pdb port answered an HTTP request"
    writer.close()
    refused = await debuggee.record("pdb_refused")
    assert "HTTP" in refused["reason"]
    reader, writer = await attach_with_key(port, listening["key"])
    writer.write(b"c\n")
    await writer.drain()
    assert await debuggee.stdout_line() == "resumed 41"
    assert not proof.exists()
    writer.close()


async def test_a_connection_without_the_key_is_told_so_and_closed_before_any_command(
    debuggee: Debuggee,
) -> None:
    listening = await debuggee.record("pdb_listening")
    reader, writer = await asyncio.open_connection("127.0.0.1", listening["port"])
    writer.write(b"p answer + 1\n")
    answer = await read_to_end(reader)
    writer.close()
    assert b"42" not in answer and b"key" in answer
    assert (await debuggee.record("pdb_refused"))["reason"] == "no key or a wrong key"
    reader, writer = await attach_with_key(listening["port"], listening["key"])
    writer.write(b"c\n")
    await writer.drain()
    assert await debuggee.stdout_line() == "resumed 41"
    writer.close()


@pytest.mark.parametrize(
    ("line", "refused"),
    [("k3y\n", None), ("k3y\r\n", None), ("k3y \n", "no key or a wrong key"),
     ("", "no key or a wrong key"),
     ("GET / HTTP/1.1\r\n", "an HTTP request (a web page?)"),
     ("POST /x?y=1 HTTP/1.0\n", "an HTTP request (a web page?)")],
)
def test_the_first_line_must_be_the_key(line: str, refused: str | None) -> None:
    assert key_refusal(line, "k3y") == refused
