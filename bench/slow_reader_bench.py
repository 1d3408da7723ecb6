"""A well-behaved client's pings while another client floods requests and never reads.

    python -m bench.slow_reader_bench [--rounds 5] [--quiet-pings 500]

A real ``greenroom serve`` with a send queue of 16 frames (``GREENROOM_SESSION_SEND_QUEUE``).
Each round connects a client with a 4 KiB receive buffer and a one-frame library queue that
sends pings as fast as it can and reads nothing, until the gateway closes it (1008, "not
reading fast enough"); meanwhile another, attached client pings in a loop and every round
trip is timed. The baseline is the same client's pings with nobody flooding, in the same run.
Goal: the slowest ping while flooded ≤ 1 s. ``tests/reliability/test_load.py`` proves the
behaviour (the other client is answered while the gateway's writes to the flooder are stuck,
the flooder is closed); this bench says how slow the other client's pings get meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import socket
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from bench.cancel_bench import samples_table
from bench.report import Row, machine_line, percentile, render_table
from tests.support.json_peer import JsonPeer, attach, open_peer
from tests.support.running_server import RunningServer, ServerConfig, running_server

CHARACTER = "f-serious"
SEND_QUEUE = 16
GOAL_S = 1.0
CLOSE_WAIT_S = 30.0


async def _ping_s(peer: JsonPeer) -> float:
    began = time.perf_counter()
    answer = await peer.request("ping_request")
    assert answer["message_type"] == "ping_response", answer
    return time.perf_counter() - began


async def _flooded_round(server: RunningServer, fast: JsonPeer) -> tuple[list[float], int]:
    """One flooder until it is closed; the fast client's ping times meanwhile, and how many
    frames the flooder sent."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", server.port or 0))
    async with connect(server.url, sock=sock, max_queue=1, compression=None,
                       close_timeout=0.5) as slow:
        closing = asyncio.create_task(server.wait_for_record(
            lambda r: r.get("event") == "session_closing" and r.get("code") == 1008,
            timeout_s=CLOSE_WAIT_S, start=len(server.records)))

        async def flood() -> int:
            sent = 0
            with contextlib.suppress(ConnectionClosed):
                while not closing.done():  # ~100 bytes answered per ping, never read
                    await slow.send(f'{{"message_type": "ping_request", "message_id": "s{sent}"}}')
                    sent += 1
                    if sent % 100 == 0:
                        await asyncio.sleep(0)  # let the fast client take its turns
            return sent

        flooding = asyncio.create_task(flood())
        times = []
        while not closing.done():
            times.append(await _ping_s(fast))
        record = closing.result()
        assert "not reading fast enough" in record["reason"], record
        return times, await flooding


async def measure(rounds: int, quiet_pings: int) -> tuple[dict[str, list[float]], int]:
    with tempfile.TemporaryDirectory(prefix="greenroom-bench-") as tmp:
        config = ServerConfig(data_dir=Path(tmp), characters=[CHARACTER],
                              env={"GREENROOM_SESSION_SEND_QUEUE": str(SEND_QUEUE)})
        async with running_server(config) as server, open_peer(server.url) as fast:
            await attach(fast, CHARACTER)
            quiet = [await _ping_s(fast) for _ in range(quiet_pings)]
            flooded: list[float] = []
            sent = 0
            for _ in range(rounds):
                times, frames = await _flooded_round(server, fast)
                flooded += times
                sent += frames
    return {"pings, nobody flooding": quiet, "pings while another client floods": flooded}, sent


async def run(rounds: int = 5, quiet_pings: int = 500) -> str:
    samples, sent = await measure(rounds, quiet_pings)
    quiet, flooded = samples.values()
    rows = [
        Row("slowest ping while flooded", max(flooded) * 1000, max(quiet) * 1000, "ms",
            f"≤ {GOAL_S * 1000:g} ms", max(flooded) <= GOAL_S),
        Row("ping p99 while flooded", percentile(flooded, 99) * 1000,
            percentile(quiet, 99) * 1000, "ms"),
        Row("ping p50 while flooded", percentile(flooded, 50) * 1000,
            percentile(quiet, 50) * 1000, "ms"),
    ]
    return (render_table("Slow reader: another client's pings while one floods without "
                         "reading", rows)
            + f"\nbaseline = the same client's pings with nobody flooding ({quiet_pings}). "
              f"{rounds} flooders, each closed with 1008 after its send queue of {SEND_QUEUE} "
              f"frames overflowed; {sent} frames flooded, {len(flooded)} pings meanwhile:\n\n"
              f"{samples_table(samples)}\n\n{machine_line()}\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--quiet-pings", type=int, default=500)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.rounds, args.quiet_pings)))


if __name__ == "__main__":
    main()
