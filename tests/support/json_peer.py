"""``JsonPeer``: a raw WebSocket client speaking greenroom's JSON frames, as any third-party
client would — used by the reliability tests and the benchmarks.

One owned reader task routes every incoming frame: a frame whose ``message_id`` matches a
request in flight completes it (``chat_delta`` frames are collected on the way), anything
else (events, unmatched frames) goes to ``events``. It deliberately uses no greenroom client
code, so a bug in the client library cannot hide a bug in the server, and the same code path
talks to the bare echo server the benchmarks compare against.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

Frame = dict[str, Any]

_ids = itertools.count(1)


@dataclass(eq=False)
class PendingRequest:
    """One request in flight. ``final`` resolves with the last frame (anything but a
    ``chat_delta`` or ``generation_status``, which are collected in ``deltas`` and
    ``statuses``); ``first_delta_at`` is the ``perf_counter`` reading when the first
    ``chat_delta`` arrived (None until then)."""

    message_id: str
    sent_at: float
    final: asyncio.Future[Frame]
    deltas: list[str] = field(default_factory=list)
    first_delta: asyncio.Event = field(default_factory=asyncio.Event)
    first_delta_at: float | None = None
    statuses: list[Frame] = field(default_factory=list)
    status_seen: asyncio.Event = field(default_factory=asyncio.Event)


class PeerClosed(Exception):
    """The connection closed while a request was in flight."""


class JsonPeer:
    """A connected peer; build it with ``open_peer``."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.events: asyncio.Queue[Frame] = asyncio.Queue()
        self._pending: dict[str, PendingRequest] = {}
        self._reader = asyncio.create_task(self._read(), name="json-peer-reader")

    async def send_frame(self, message_type: str, message_id: str | None = None,
                         **fields: Any) -> PendingRequest:
        """Send one request frame; the returned ``PendingRequest`` completes with its answer."""
        message_id = message_id if message_id is not None else f"m{next(_ids)}"
        loop = asyncio.get_running_loop()
        pending = PendingRequest(message_id, time.perf_counter(), loop.create_future())
        self._pending[message_id] = pending
        await self.ws.send(json.dumps(
            {"message_type": message_type, "message_id": message_id, **fields}))
        return pending

    async def request(self, message_type: str, *, timeout_s: float = 10.0,
                      **fields: Any) -> Frame:
        """Send a request and return its final answer (``error_response`` included)."""
        pending = await self.send_frame(message_type, **fields)
        async with asyncio.timeout(timeout_s):
            return await pending.final

    async def send_text(self, text: str | bytes) -> None:
        """Send anything, unchecked (fuzzing)."""
        await self.ws.send(text)

    async def next_event(self, predicate: Callable[[Frame], bool],
                         timeout_s: float = 10.0) -> Frame:
        """The next unmatched frame (event) satisfying ``predicate``; others are dropped."""
        async with asyncio.timeout(timeout_s):
            while True:
                frame = await self.events.get()
                if predicate(frame):
                    return frame

    async def _read(self) -> None:
        try:
            async for data in self.ws:
                frame: Frame = json.loads(data)
                pending = self._pending.get(str(frame.get("message_id")))
                if pending is None:
                    self.events.put_nowait(frame)
                elif frame.get("message_type") == "chat_delta":
                    if pending.first_delta_at is None:
                        pending.first_delta_at = time.perf_counter()
                        pending.first_delta.set()
                    pending.deltas.append(str(frame.get("delta", "")))
                elif frame.get("message_type") == "generation_status":
                    pending.statuses.append(frame)
                    pending.status_seen.set()
                else:
                    del self._pending[pending.message_id]
                    if not pending.final.done():
                        pending.final.set_result(frame)
        except ConnectionClosed:
            pass
        finally:
            for pending in self._pending.values():
                if not pending.final.done():
                    pending.final.set_exception(PeerClosed(pending.message_id))
            self._pending.clear()

    async def close(self) -> None:
        await self.ws.close()
        self._reader.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._reader


@asynccontextmanager
async def open_peer(url: str, **connect_kwargs: Any) -> AsyncIterator[JsonPeer]:
    """Connect to ``url`` (compression off, as the gateway configures it) and yield a peer."""
    connect_kwargs.setdefault("open_timeout", 10)
    connect_kwargs.setdefault("compression", None)
    ws = await connect(url, **connect_kwargs)
    peer = JsonPeer(ws)
    try:
        yield peer
    finally:
        await peer.close()


async def attach(peer: JsonPeer, character_id: str, *, subscribe: tuple[str, ...] = (),
                 timeout_s: float = 20.0) -> Frame:
    """Attach ``peer`` to a character: ``hello`` with subscriptions when any are asked for
    (a seed-era ``init_request`` otherwise). Raises ``AssertionError`` when refused."""
    if subscribe:
        answer = await peer.request("hello", timeout_s=timeout_s, protocol_version=1,
                                    subscribe=list(subscribe), character_id=character_id)
    else:
        answer = await peer.request("init_request", timeout_s=timeout_s,
                                    character_id=character_id)
    assert answer.get("success") is True, f"attach to {character_id} refused: {answer}"
    return answer
