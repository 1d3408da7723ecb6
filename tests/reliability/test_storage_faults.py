"""The character's storage fails under it — disk full, files made read-only — while it
serves: the client gets a clear error, nothing is corrupted, and the character keeps its
last good state and serves again once the storage is back.

Tests run as root, so ``chmod`` cannot make anything read-only; these use what does bind
root: a size-limited tmpfs (``mount -t tmpfs -o size=…``) for a full disk, and the ext4
immutable attribute (``chattr +i``, the ``immutable`` fixture of tests/conftest.py) for
read-only files. Where the machine allows neither (no ``CAP_SYS_ADMIN``, a filesystem
without attributes), the test is skipped, saying why.
"""

from __future__ import annotations

import asyncio
import errno
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.json_peer import Frame, JsonPeer, attach, open_peer
from tests.support.running_server import Launch
from worker.engine.database import database_path

pytestmark = [pytest.mark.process, pytest.mark.slow]

CHARACTER = "f-serious"


def _run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(argv, capture_output=True, text=True, check=False)


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 6 MiB tmpfs, unmounted afterwards."""
    mount_point = tmp_path / "small-disk"
    mount_point.mkdir()
    mounted = _run("mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mount_point))
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a size-limited tmpfs here: {mounted.stderr.strip()}")
    yield mount_point
    _run("umount", "-l", str(mount_point))


def _fill(disk: Path) -> Path:
    """Write a filler file until the disk is full; returns it. Unbuffered: a buffered file
    would try again to write what the full disk refused when it is closed, and fail there."""
    filler = disk / "filler"
    chunk = b"\0" * (64 * 1024)
    with filler.open("wb", buffering=0) as out:
        try:
            while True:
                out.write(chunk)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
    return filler


def _integrity(database: Path) -> tuple[str, int]:
    """(``PRAGMA integrity_check`` result, turns stored) read with a fresh connection."""
    with sqlite3.connect(database) as conn:
        check = conn.execute("PRAGMA integrity_check").fetchone()[0]
        turns = conn.execute("SELECT COUNT(*) FROM turns").fetchone()[0]
    return str(check), int(turns)


async def _turn(peer: JsonPeer, text: str) -> Frame:
    return await peer.request("chat_request", timeout_s=30, user_message=text)


async def _history(peer: JsonPeer) -> list[str]:
    status = await peer.request("status_request", include_history=True)
    assert status["success"] is True, status
    return [str(t.get("user_message")) for t in status["conversation_history"]]


async def test_disk_full_fails_the_turn_clearly_and_the_character_keeps_its_last_good_state(
    launch: Launch, small_disk: Path, tmp_path: Path
) -> None:
    # Only the character's storage fills up here; the log file lives on the big disk (a full
    # log disk is the next test).
    (small_disk / "data").mkdir()
    (small_disk / "data" / "logs").symlink_to(tmp_path)
    server = await launch([CHARACTER], data_dir=small_disk / "data")
    async with open_peer(server.url) as peer:
        await attach(peer, CHARACTER)
        assert (await _turn(peer, "first, while there is room"))["success"] is True
        pid = await server.worker_pid(CHARACTER)
        filler = await asyncio.to_thread(_fill, small_disk)

        failed = await _turn(peer, "second, on a full disk")
        assert failed["message_type"] == "error_response", failed
        assert failed["error_code"] == "storage_error", failed
        assert CHARACTER in failed["error"], failed
        assert "full" in failed["error"].lower(), failed
        assert await _history(peer) == ["first, while there is room"]

        filler.unlink()
        assert (await _turn(peer, "third, with room again"))["success"] is True
        assert await _history(peer) == ["first, while there is room", "third, with room again"]
        assert await server.worker_pid(CHARACTER) == pid, "the worker crashed on a full disk"
    await server.stop()
    assert _integrity(database_path(small_disk / "data", CHARACTER)) == ("ok", 2)


async def test_a_full_log_disk_never_stops_the_answers(launch: Launch, small_disk: Path) -> None:
    server = await launch([CHARACTER], data_dir=small_disk / "data")
    async with open_peer(server.url) as peer:
        await attach(peer, CHARACTER)
        assert (await _turn(peer, "first, while there is room"))["success"] is True
        filler = await asyncio.to_thread(_fill, small_disk)
        try:
            answer = await peer.request("chat_request", timeout_s=10,
                                        user_message="second, on a full disk")
            assert answer["message_type"] in ("chat_response", "error_response"), answer
        finally:
            filler.unlink()
        assert (await _turn(peer, "third, with room again"))["success"] is True


async def test_read_only_storage_fails_the_turn_clearly_and_the_character_keeps_its_state(
    launch: Launch, tmp_path: Path, immutable: list[Path]
) -> None:
    data_dir = tmp_path / "data"
    server = await launch([CHARACTER], data_dir=data_dir)
    database = database_path(data_dir, CHARACTER)
    async with open_peer(server.url) as peer:
        await attach(peer, CHARACTER)
        assert (await _turn(peer, "first, while writable"))["success"] is True
        pid = await server.worker_pid(CHARACTER)
        # The WAL index (-shm) is shared memory SQLite maps; an immutable one turns its
        # next store into SIGBUS, which no program survives. A read-only directory and
        # read-only database and log files are what this test is about.
        locked = [database.parent, *(p for p in database.parent.iterdir()
                                     if not p.name.endswith("-shm"))]
        for path in locked:
            assert _run("chattr", "+i", str(path)).returncode == 0
            immutable.append(path)

        failed = await _turn(peer, "second, read-only")
        assert failed["message_type"] == "error_response", failed
        assert failed["error_code"] == "storage_error", failed
        # SQLite reports EPERM on a write as "disk I/O error" (or "readonly database").
        assert CHARACTER in failed["error"], failed
        assert any(w in failed["error"].lower() for w in ("i/o", "read")), failed
        assert await _history(peer) == ["first, while writable"]

        for path in locked:
            _run("chattr", "-i", str(path))
        assert (await _turn(peer, "third, writable again"))["success"] is True
        assert await _history(peer) == ["first, while writable", "third, writable again"]
        assert await server.worker_pid(CHARACTER) == pid, "the worker crashed on read-only files"
    await server.stop()
    assert _integrity(database) == ("ok", 2)
