"""Fixtures: a gateway on 127.0.0.1:0 over the in-process pool, and JSON WebSocket peers."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from runtime.settings import Settings
from supervisor.gateway.gateway import Gateway
from tests.gateway.in_process_pool import InProcessPool

KNOWN = {"alpha", "beta", "gamma"}
RECV_TIMEOUT_S = 10.0
_ids = itertools.count(1)


class Peer:
    """A raw WebSocket client speaking JSON frames, as any third-party client would."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws

    async def send(self, message_type: str, message_id: str | None = None, **fields: Any) -> str:
        message_id = message_id if message_id is not None else f"m{next(_ids)}"
        await self.ws.send(
            json.dumps({"message_type": message_type, "message_id": message_id, **fields})
        )
        return message_id

    async def recv(self) -> dict[str, Any]:
        async with asyncio.timeout(RECV_TIMEOUT_S):
            frame = await self.ws.recv()
        assert isinstance(frame, str), "the gateway sends text frames only"
        decoded: dict[str, Any] = json.loads(frame)
        return decoded

    async def recv_until(self, predicate: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Frames up to and including the first one matching ``predicate``."""
        frames = []
        while True:
            frame = await self.recv()
            frames.append(frame)
            if predicate(frame):
                return frames

    async def request(self, message_type: str, **fields: Any) -> dict[str, Any]:
        """Send and return the final answer (skipping deltas, statuses and events)."""
        message_id = await self.send(message_type, **fields)
        frames = await self.recv_until(
            lambda f: f.get("message_id") == message_id
            and f["message_type"] not in ("chat_delta", "generation_status")
        )
        return frames[-1]


PeerFactory = Callable[..., AbstractAsyncContextManager[Peer]]


async def start_held_chat(client: Peer, pool: InProcessPool, user_message: str) -> str:
    """Attach ``client`` to ``alpha`` and send a chat that the pool holds in flight after
    its first delta (until ``pool.release_chats()``); returns the chat's ``message_id`` once
    the pool has started it."""
    pool.hold_chats()
    await client.request("init_request", character_id="alpha")
    chat_id = await client.send("chat_request", user_message=user_message)
    await pool.chat_started.wait()
    return chat_id


def url_of(gateway: Gateway) -> str:
    return f"ws://127.0.0.1:{gateway.port}"


@asynccontextmanager
async def open_peer(gateway: Gateway, **kwargs: Any) -> AsyncIterator[Peer]:
    async with connect(url_of(gateway), open_timeout=5, **kwargs) as ws:
        yield Peer(ws)


GatewayFactory = Callable[..., Awaitable[tuple[Gateway, InProcessPool]]]


@pytest.fixture
async def make_gateway() -> AsyncIterator[GatewayFactory]:
    started: list[tuple[Gateway, InProcessPool]] = []

    async def factory(**overrides: Any) -> tuple[Gateway, InProcessPool]:
        settings = Settings.from_flat(host="127.0.0.1", port=0, **overrides)
        pool = InProcessPool(set(KNOWN))
        gateway = Gateway(settings, pool)
        pool.listener = gateway
        await gateway.start()
        started.append((gateway, pool))
        return gateway, pool

    yield factory
    for gateway, pool in started:
        await gateway.close(grace_s=0.5)
        await pool.close()


@pytest.fixture
async def gateway_and_pool(make_gateway: GatewayFactory) -> tuple[Gateway, InProcessPool]:
    return await make_gateway()


@pytest.fixture
def peer(gateway_and_pool: tuple[Gateway, InProcessPool]) -> PeerFactory:
    gateway, _ = gateway_and_pool
    return lambda **kwargs: open_peer(gateway, **kwargs)
