"""A minimal Debug Adapter Protocol client: JSON bodies behind Content-Length headers."""

from __future__ import annotations

import asyncio
import itertools
import json
from typing import Any


class DapClient:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer
        self._seq = itertools.count(1)
        self.received: list[dict[str, Any]] = []

    @classmethod
    async def connect(cls, port: int) -> DapClient:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def send(self, command: str, arguments: dict[str, Any] | None = None) -> int:
        seq = next(self._seq)
        body = json.dumps({"seq": seq, "type": "request", "command": command,
                           "arguments": arguments or {}}).encode()
        self._writer.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        await self._writer.drain()
        return seq

    async def read(self) -> dict[str, Any]:
        length = None
        while True:
            line = (await self._reader.readline()).strip()
            if not line:
                if length is not None:
                    break
                continue
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        message: dict[str, Any] = json.loads(await self._reader.readexactly(length))
        self.received.append(message)
        return message

    async def until(self, kind: str, name: str, request_seq: int | None = None
                    ) -> dict[str, Any]:
        """Read until a ``response`` to ``name`` (``request_seq``) or an ``event`` ``name``."""
        for message in self.received:
            if _matches(message, kind, name, request_seq):
                return message
        while True:
            message = await self.read()
            if _matches(message, kind, name, request_seq):
                return message

    async def close(self) -> None:
        self._writer.close()
        await self._writer.wait_closed()


def _matches(message: dict[str, Any], kind: str, name: str, request_seq: int | None) -> bool:
    if message.get("type") != kind:
        return False
    if kind == "event":
        return bool(message.get("event") == name)
    return bool(message.get("command") == name
                and (request_seq is None or message.get("request_seq") == request_seq))
