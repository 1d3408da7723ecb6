"""``greenroom serve`` as a real subprocess, and a tiny WebSocket client for it."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import psutil
from websockets.asyncio.client import ClientConnection, connect

from supervisor.settings import REPO_ROOT


class Served:
    def __init__(self, process: asyncio.subprocess.Process, url: str, lines: list[str]) -> None:
        self.process = process
        self.url = url
        self.lines = lines

    @classmethod
    async def start(cls, args: list[str], data_dir: Path, characters_dir: Path,
                    *, expect_lines: int, env: dict[str, str] | None = None) -> Served:
        """Start serve on an ephemeral port; return after ``expect_lines`` status lines."""
        full_env = {**os.environ, "GREENROOM_HEARTBEAT_INTERVAL": "0.2",
                    "PYTHONPATH": str(REPO_ROOT), **(env or {})}
        log_path = data_dir / "serve-console.log"
        data_dir.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - test set-up, instant
        with open(log_path, "ab") as console:  # noqa: ASYNC230 - handed to the child, closed
            process = await asyncio.create_subprocess_exec(
                sys.executable, "-c", "from supervisor.cli import main; main()", "serve",
                "--port", "0", "--data-dir", str(data_dir),
                "--characters-dir", str(characters_dir), "--log-format", "json", *args,
                stdout=asyncio.subprocess.PIPE, stderr=console, stdin=asyncio.subprocess.DEVNULL,
                env=full_env, cwd=str(data_dir),
            )
        assert process.stdout is not None
        lines: list[str] = []
        url = None
        async with asyncio.timeout(30):
            while url is None or len(lines) < expect_lines + 1:
                line = (await process.stdout.readline()).decode()
                if not line:
                    raise RuntimeError(f"serve exited early: {lines}; see {log_path}")
                lines.append(line.rstrip("\n"))
                found = re.search(r"listening on (ws://\S+)", line)
                if found:
                    url = found.group(1)
        return cls(process, url, lines)

    def descendants(self) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=True)

    async def wait(self, timeout_s: float = 20.0) -> int:
        async with asyncio.timeout(timeout_s):
            return await self.process.wait()

    async def kill(self) -> None:
        if self.process.returncode is None:
            self.process.kill()
            await self.process.wait()


class Session:
    """One WebSocket client session: send a request, read frames by message_id."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    @classmethod
    async def open(cls, url: str) -> Session:
        return cls(await connect(url))

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def next_for(self, message_id: str, timeout_s: float = 10.0) -> dict[str, Any]:
        async with asyncio.timeout(timeout_s):
            while True:
                frame: dict[str, Any] = json.loads(await self.ws.recv())
                if frame.get("message_id") == message_id:
                    return frame

    async def ask(self, message: dict[str, Any], timeout_s: float = 10.0) -> dict[str, Any]:
        await self.send(message)
        return await self.next_for(message["message_id"], timeout_s)

    async def close(self) -> None:
        await self.ws.close()
