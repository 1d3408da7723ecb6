"""The log file is removed or moved under a serving supervisor (``rm``, logrotate's
``create``): the server keeps serving every client, a killed worker comes back, the log
file is recreated and written again, and shutdown is clean."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any, TypeVar

import pytest

from tests.support.json_peer import Frame, JsonPeer, attach, open_peer
from tests.support.running_server import Launch

pytestmark = [pytest.mark.process, pytest.mark.slow]

CHARACTERS = ("m-playful", "zen-master")
VICTIM = CHARACTERS[1]
FILE_POLL_S = 0.02
"""How often the test reads the log file while it waits for a record (files send no event)."""
_T = TypeVar("_T")


def _matching(files: list[Path], predicate: Callable[[dict[str, Any]], bool]
              ) -> dict[str, Any] | None:
    for file in files:
        lines = file.read_text().splitlines() if file.exists() else []
        for record in map(json.loads, lines):
            if predicate(record):
                return dict(record)
    return None


def _inode(path: Path) -> int | None:
    return path.stat().st_ino if path.exists() else None


async def _poll(check: Callable[[], _T | None], what: str, timeout_s: float = 20.0) -> _T:
    deadline = time.monotonic() + timeout_s
    while (found := check()) is None:
        assert time.monotonic() < deadline, f"{what} did not happen in {timeout_s} s"
        await asyncio.sleep(FILE_POLL_S)
    return found


async def _record_in(path: Path, predicate: Callable[[dict[str, Any]], bool] = bool, *,
                     rotated_too: bool = False) -> dict[str, Any]:
    """The first record in the file at ``path`` (and its first backup when ``rotated_too``)
    matching ``predicate``."""
    files = [path, path.with_name(f"{path.name}.1")] if rotated_too else [path]
    return await _poll(lambda: _matching(files, predicate), f"a matching record in {files}")


async def _rotated(path: Path) -> None:
    """Wait until the file now at ``path`` has been rotated to ``path.1``."""
    inode = _inode(path)
    first_backup = path.with_name(f"{path.name}.1")
    await _poll(lambda: _inode(first_backup) == inode or None, f"rotating {path}")


async def _chat_until(stop: asyncio.Event, peer: JsonPeer, character: str,
                      answers: list[tuple[str, Frame]]) -> None:
    turn = 0
    while not stop.is_set():
        answer = await peer.request("chat_request", timeout_s=30, user_message=f"turn {turn}")
        answers.append((character, answer))
        turn += 1


def _refused_by_the_kill(character: str, answer: Frame) -> bool:
    return character == VICTIM and answer.get("error_code") in (
        "worker_crashed", "character_restarting")


async def test_removing_and_moving_the_log_file_under_load_never_hurts_serving(
    launch: Launch, tmp_path: Path
) -> None:
    data_dir = tmp_path / "data"
    log_file = data_dir / "logs" / "greenroom.jsonl"
    server = await launch(CHARACTERS, data_dir=data_dir, env={
        "GREENROOM_LOG_MAX_BYTES": "20000", "GREENROOM_LOG_BACKUPS": "3",
        "GREENROOM_LOG_LEVEL": "debug"})
    stop = asyncio.Event()
    answers: list[tuple[str, Frame]] = []
    async with AsyncExitStack() as stack:
        chatting = [(c, await stack.enter_async_context(open_peer(server.url)))
                    for c in (*CHARACTERS, CHARACTERS[0])]
        for character, peer in chatting:
            await attach(peer, character)
        async with asyncio.TaskGroup() as chatters:
            for character, peer in chatting:
                chatters.create_task(_chat_until(stop, peer, character, answers))
            await _record_in(log_file.with_name("greenroom.jsonl.1"))

            log_file.unlink()
            await _record_in(log_file)
            moved = log_file.with_name("greenroom.jsonl-20261201")
            log_file.rename(moved)  # logrotate's `create`: move, then create an empty file
            log_file.touch()
            await _record_in(log_file)
            await _rotated(log_file)

            old_pid = await server.worker_pid(VICTIM)
            os.kill(old_pid, signal.SIGKILL)
            workers = await server.wait_until(
                lambda ws: ws[VICTIM]["state"] == "ready" and ws[VICTIM]["pid"] != old_pid,
                timeout_s=20)
            new_pid = workers[VICTIM]["pid"]
            await _record_in(log_file, lambda r: (
                r.get("event") == "worker_ready" and r.get("worker_pid") == new_pid),
                              rotated_too=True)
            async with open_peer(server.url) as newcomer:
                await attach(newcomer, VICTIM)
                answer = await newcomer.request("chat_request", timeout_s=30,
                                                user_message="are you back?")
                assert answer["success"] is True, answer
            stop.set()
    refused = [(c, a) for c, a in answers
               if a.get("success") is not True and not _refused_by_the_kill(c, a)]
    assert refused == [], refused
    assert len(answers) > 20
    assert await server.stop() == 0
    assert not [line for line in server.lines if "Bad file descriptor" in line]
