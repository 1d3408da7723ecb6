"""The bare echo baseline as a server process of its own: ``python -m bench.echo_server``.

A websockets server (same library, compression off, as the gateway configures it) on
127.0.0.1, port chosen by the OS, that sends every text frame straight back. It prints its
port on one line of stdout once listening, and exits when its stdin reaches EOF, so it never
outlives the benchmark that started it (even one that was killed).

Why a process of its own: greenroom's gateway is one, so every round trip to it pays a
switch from the client's process to the server's and back. An echo server on the client's
own event loop pays none of that and would make the baseline faster than any real server
could be (measured: 0.12 ms against 0.23 ms for the same echo in its own process).
"""

from __future__ import annotations

import asyncio
import sys

from websockets.asyncio.server import ServerConnection, serve


async def echo(connection: ServerConnection) -> None:
    async for frame in connection:
        await connection.send(frame)


async def serve_until_stdin_closes() -> None:
    async with serve(echo, "127.0.0.1", 0, compression=None) as server:
        print(server.sockets[0].getsockname()[1], flush=True)
        await asyncio.to_thread(sys.stdin.read)


if __name__ == "__main__":
    asyncio.run(serve_until_stdin_closes())
