"""Reload: new code under 20 characters with a session chatting to each, vs stop + start.

    python -m bench.reload_bench [--characters 20] [--runs 3] [--think-ms 100]

``greenroom serve`` runs from a temporary copy of the project (``tests/support/project_copy``)
with ``--characters`` copies of a bundled character preloaded, one session attached to each,
chatting in a loop (scripted engine), ``--think-ms`` between an answer and the next chat (a
fast typist; 0 saturates two cores, and then every figure measures the queue). Each run edits
the scripted backend of the copy (every reply gets a new prefix) and sends one
``reload_request``:

* **until every worker runs the new code**: from sending the request to its answer — the
  new fork server's preload and rehearsal, then the roll, one worker at a time — checked
  afterwards with ``workers_request`` (every worker on the new code generation) and by each
  session's next reply (it carries the new prefix);
* **longest a session waited**: the longest time any chat took from being sent to its
  successful answer, retries included — a chat refused ``character_restarting`` while its
  worker is replaced waits for the ``worker_state_event`` ``ready`` and is sent again, as the
  client library does. Also reported: the p50 chat before the reload, and chats lost
  (answered with anything but the reply or a retryable refusal; must be 0).

Baseline, in the same run: what a developer does without reload — SIGTERM the supervisor
(graceful: in-flight turns finish), start it again with the same characters, and reconnect.
Its "every worker on the new code" is SIGTERM → all ``ready`` on the new server; its longest
wait is SIGTERM → the last of the sessions reconnected, attached and answered (all
concurrently).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bench.report import Row, machine_line, percentile, render_table
from tests.support.character_copies import character_copies
from tests.support.json_peer import JsonPeer, attach, open_peer
from tests.support.project_copy import ProjectCopy, copy_project
from tests.support.running_server import (
    RunningServer,
    ServerConfig,
    running_server,
    start_server,
)

RETRYABLE = ("character_restarting", "worker_crashed")


@dataclass
class Chatter:
    """One session chatting to one character until ``stop``; every chat's wait is kept."""

    peer: JsonPeer
    character_id: str
    think_s: float = 0.0
    waits: list[tuple[float, float]] = field(default_factory=list)
    """(sent at, seconds until answered) of every successful chat."""
    lost: int = 0
    last_reply: str = ""

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            sent = time.perf_counter()
            while True:
                answer = await self.peer.request("chat_request", user_message="How are you?",
                                                 timeout_s=60)
                if answer.get("message_type") == "chat_response":
                    self.waits.append((sent, time.perf_counter() - sent))
                    self.last_reply = str(answer["response_text"])
                    await asyncio.sleep(self.think_s)
                    break
                if answer.get("error_code") not in RETRYABLE:
                    self.lost += 1
                    break
                await self.peer.next_event(
                    lambda e: e.get("message_type") == "worker_state_event"
                    and e.get("state") == "ready", timeout_s=60)

    def longest_wait_between(self, start: float, end: float) -> float:
        """The longest wait of a chat sent before ``end`` and answered after ``start``."""
        return max((wait for sent, wait in self.waits
                    if sent <= end and sent + wait >= start), default=0.0)


@dataclass
class ReloadRun:
    all_new_s: float
    longest_wait_s: float
    quiet_p50_s: float
    lost: int


async def one_reload(server: RunningServer, admin: JsonPeer, project: ProjectCopy,
                     chatters: list[Chatter], prefix: str, generation: int) -> ReloadRun:
    stop = asyncio.Event()
    tasks = [asyncio.create_task(c.run(stop)) for c in chatters]
    try:
        await asyncio.sleep(0.5)  # the chats settle into their pace
        quiet = [w for c in chatters for _, w in c.waits]
        project.replace("worker/backends/scripted.py", "_WORD_RE.findall(",
                        f"_WORD_RE.findall({prefix!r} + ' ' + ")
        began = time.perf_counter()
        answer = await admin.request("reload_request", timeout_s=300)
        ended = time.perf_counter()
        assert answer.get("success") is True, answer
        await asyncio.sleep(0.3)  # every session makes a turn on the new code
    finally:
        stop.set()
        await asyncio.gather(*tasks)
    workers = (await admin.request("workers_request"))["workers"]
    assert {w["code_generation"] for w in workers} == {generation}, workers
    assert all(c.last_reply.startswith(prefix) for c in chatters), [
        c.last_reply[:30] for c in chatters]
    return ReloadRun(
        all_new_s=ended - began,
        longest_wait_s=max(c.longest_wait_between(began, ended) for c in chatters),
        quiet_p50_s=percentile(quiet, 50), lost=sum(c.lost for c in chatters))


async def measure_reload(config: ServerConfig, ids: list[str], project: ProjectCopy,
                         runs: int, think_s: float) -> list[ReloadRun]:
    results = []
    async with running_server(config) as server, contextlib.AsyncExitStack() as stack:
        admin = await stack.enter_async_context(open_peer(server.url))
        chatters = []
        for character_id in ids:
            peer = await stack.enter_async_context(open_peer(server.url))
            await attach(peer, character_id, subscribe=("worker_state",))
            chatters.append(Chatter(peer, character_id, think_s))
        for run_index in range(runs):
            for chatter in chatters:
                chatter.waits.clear()
                while not chatter.peer.events.empty():  # events of the previous run
                    chatter.peer.events.get_nowait()
            results.append(await one_reload(server, admin, project, chatters,
                                            f"RELOADED-{run_index + 2}", run_index + 2))
    return results


async def reconnect_and_answer(url: str, character_id: str) -> None:
    async with open_peer(url) as peer:
        await attach(peer, character_id)
        answer = await peer.request("chat_request", user_message="Back?", timeout_s=60)
        assert answer.get("message_type") == "chat_response", answer


async def measure_restart(config: ServerConfig, ids: list[str], runs: int
                          ) -> list[tuple[float, float]]:
    """(SIGTERM → all ready on the new server, SIGTERM → every session answered again)."""
    results = []
    server = await start_server(config)
    try:
        await server.wait_ready()
        for _ in range(runs):
            began = time.perf_counter()
            await server.stop()
            server = await start_server(config)
            await server.wait_ready()
            all_ready = time.perf_counter() - began
            await asyncio.gather(*(reconnect_and_answer(server.url, cid) for cid in ids))
            results.append((all_ready, time.perf_counter() - began))
    finally:
        await server.stop()
    return results


async def measure(characters: int, runs: int, think_s: float) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="greenroom-bench-") as tmp:
        root = Path(tmp)
        project = copy_project(root / "project")
        ids = character_copies(root / "characters", characters)
        config = ServerConfig(data_dir=root / "data", characters=ids,
                              characters_dir=root / "characters", env=project.env(),
                              ready_timeout_s=60)
        reloads = await measure_reload(config, ids, project, runs, think_s)
        restarts = await measure_restart(config, ids, runs)
    all_new = statistics.median(r.all_new_s for r in reloads)
    longest = statistics.median(r.longest_wait_s for r in reloads)
    base_all = statistics.median(r[0] for r in restarts)
    base_wait = statistics.median(r[1] for r in restarts)
    return [
        Row(f"reload of {characters} characters → every worker on the new code", all_new,
            base_all, "s"),
        Row("longest wait of a chatting session during the reload", longest * 1000,
            base_wait * 1000, "ms", "< stop + start", longest < base_wait),
        Row("worst run: longest session wait", max(r.longest_wait_s for r in reloads) * 1000,
            max(r[1] for r in restarts) * 1000, "ms"),
        Row("chat p50 outside a reload (reference)",
            statistics.median(r.quiet_p50_s for r in reloads) * 1000, None, "ms"),
        Row("chats lost during reloads", float(sum(r.lost for r in reloads)), None, "",
            "0", sum(r.lost for r in reloads) == 0),
    ]


async def run(characters: int = 20, runs: int = 3, think_ms: float = 100.0) -> str:
    rows = await measure(characters, runs, think_ms / 1000)
    return (render_table(f"Reload: new code under {characters} chatting sessions vs "
                         "stop + start", rows)
            + f"\nmedian of {runs} reloads (one edit of the scripted backend each) and "
              f"{runs} stop + start cycles; each session chats with {think_ms:g} ms between "
              f"an answer and its next chat; baseline = SIGTERM the supervisor, start it "
              f"again, reconnect every session; {machine_line()}\n")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--characters", type=int, default=20)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--think-ms", type=float, default=100.0)
    args = parser.parse_args(argv)
    print(asyncio.run(run(args.characters, args.runs, args.think_ms)))


if __name__ == "__main__":
    main()
