"""``breakpoint()`` in a worker opens a pdb on 127.0.0.1 that a terminal client drives."""

from __future__ import annotations

import asyncio
import os
import sys

import pytest

from supervisor.settings import REPO_ROOT

pytestmark = pytest.mark.process

SCRIPT = """
import sys
from worker import debugging
debugging.install_breakpoint_hook("m-playful", lambda port: print("PORT", port, flush=True))
answer = 41
breakpoint()
print("resumed", answer, flush=True)
"""


async def test_breakpoint_serves_pdb_over_tcp_and_continue_resumes_the_program() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-c", SCRIPT, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL, stdin=asyncio.subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    assert process.stdout is not None
    try:
        async with asyncio.timeout(20):
            while not (line := (await process.stdout.readline()).decode()).startswith("PORT"):
                assert line, "the program ended before listening"
            reader, writer = await asyncio.open_connection("127.0.0.1", int(line.split()[1]))
            await reader.readuntil(b"(greenroom-pdb) ")
            writer.write(b"p answer + 1\n")
            assert b"42" in await reader.readuntil(b"(greenroom-pdb) ")
            writer.write(b"c\n")
            await writer.drain()
            assert (await process.stdout.readline()).decode().strip() == "resumed 41"
            assert await process.wait() == 0
            writer.close()
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
