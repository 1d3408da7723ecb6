"""The lock files by which replies and background requests to one model server see each
other (``worker.backends.server_claims``). Locks belong to open files, so two claims in one
process conflict exactly as two processes' do."""

from __future__ import annotations

import asyncio
import os
import stat
from pathlib import Path

from worker.backends.server_claims import (
    HANDOFF_S,
    BackgroundClaim,
    ServerBusyWith,
    ServerClaims,
    server_key,
)


def test_one_server_has_one_key_however_its_url_is_written() -> None:
    same = {server_key(url) for url in (
        "http://localhost:8080/v1", "http://127.0.0.1:8080/v1/", "HTTP://LOCALHOST:8080",
        "http://[::1]:8080/v1")}
    assert len(same) == 1
    assert server_key("http://localhost:11434") == server_key("http://localhost:11434/v1")
    assert server_key("http://localhost:8080") != server_key("http://localhost:8081")
    assert server_key("http://gpu-box:8080") != server_key("http://localhost:8080")
    assert server_key("https://api.example.com/v1") == server_key("https://api.example.com:443")


async def test_no_background_claim_while_a_reply_streams(tmp_path: Path) -> None:
    claims = ServerClaims(tmp_path, "http://127.0.0.1:8080/v1")
    async with claims.reply() as reply:
        assert reply.waited_for is None and not reply.went_ahead
        assert claims.try_background("f-serious") == ServerBusyWith("a reply")
    claim = claims.try_background("f-serious")
    assert isinstance(claim, BackgroundClaim)
    claim.release()


async def test_background_requests_to_one_server_go_one_at_a_time(tmp_path: Path) -> None:
    claims = ServerClaims(tmp_path, "http://127.0.0.1:8080/v1")
    first = claims.try_background("m-playful")
    assert isinstance(first, BackgroundClaim)
    first.handed_over()
    assert claims.try_background("f-serious") == ServerBusyWith(
        "m-playful's background request")
    first.release()
    second = claims.try_background("f-serious")
    assert isinstance(second, BackgroundClaim)
    second.release()


async def test_other_servers_are_not_held(tmp_path: Path) -> None:
    async with ServerClaims(tmp_path, "http://127.0.0.1:8080/v1").reply():
        claim = ServerClaims(tmp_path, "http://127.0.0.1:9090/v1").try_background("zen-master")
        assert isinstance(claim, BackgroundClaim)
        claim.release()


async def test_a_reply_waits_for_the_hand_over_and_then_holds_the_server(
        tmp_path: Path) -> None:
    claims = ServerClaims(tmp_path, "http://127.0.0.1:8080/v1")
    background = claims.try_background("m-playful")
    assert isinstance(background, BackgroundClaim)
    reply_held = asyncio.Event()

    async def reply() -> None:
        async with claims.reply() as taken:
            assert taken.waited_for == "m-playful" and not taken.went_ahead
            reply_held.set()
            await asyncio.sleep(3600)

    replying = asyncio.create_task(reply())
    await asyncio.sleep(0)
    assert not background.reply_waiting()  # before the hand-over no reply can hold it
    background.handed_over()
    await reply_held.wait()
    assert background.reply_waiting()
    replying.cancel()
    await asyncio.gather(replying, return_exceptions=True)
    assert not background.reply_waiting()
    background.release()


async def test_a_reply_goes_ahead_if_the_hand_over_never_comes(tmp_path: Path) -> None:
    claims = ServerClaims(tmp_path, "http://127.0.0.1:8080/v1")
    background = claims.try_background("m-playful")
    assert isinstance(background, BackgroundClaim)
    async with claims.reply() as taken:
        assert taken.went_ahead and taken.waited_s >= HANDOFF_S
        background.handed_over()
        async with asyncio.timeout(5):  # it takes its lock as soon as it is free
            # A kernel lock has no event to await: poll it, as the claims do.
            while not background.reply_waiting():  # noqa: ASYNC110
                await asyncio.sleep(0.005)
    background.release()


def test_the_lock_files_are_private(tmp_path: Path) -> None:
    directory = tmp_path / "run" / "llm-servers"
    claims = ServerClaims(directory, "http://127.0.0.1:8080/v1")
    claim = claims.try_background("m-playful")
    assert isinstance(claim, BackgroundClaim)
    claim.release()
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    for name in os.listdir(directory):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600
    assert claims.background_holder() == "m-playful"
