"""Background requests yield to replies on the same server
(``worker.backends.background_requests``): two guarded backends on one fake OpenAI server
and one lock directory stand for two characters' workers (locks belong to open files, so
they conflict in one process exactly as across processes)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.backends.fake_llm_servers import (
    NOTES_MARKER,
    FakeOpenAIServer,
    StreamScript,
    overlapping,
)
from tests.backends.helpers import HELLO, collect
from worker.backends.availability import AvailabilityGate, GuardedBackend
from worker.backends.background_requests import (
    BackgroundPatience,
    ServerBusy,
    answer_in_background,
    in_background,
)
from worker.backends.backoff import ExponentialBackoff
from worker.backends.base import ChatMessage, GenerationRequest
from worker.backends.http_transport import HTTPTimeouts
from worker.backends.openai import OpenAIBackend
from worker.backends.options import GenerationOptions
from worker.backends.server_claims import BackgroundClaim, ServerClaims

NOTES = GenerationRequest([ChatMessage("system", f"{NOTES_MARKER} a character talks with."),
                           ChatMessage("user", "Sam said: my sister lives in Lisbon.")])
QUICK = BackgroundPatience(backoff=ExponentialBackoff(initial_s=0.01, factor=2.0, max_s=0.05))


def character(server: FakeOpenAIServer, claims_dir: Path) -> GuardedBackend:
    inner = OpenAIBackend(server.base_url, GenerationOptions(model="local-model"),
                          timeouts=HTTPTimeouts(connect_s=2, first_token_s=5, silence_s=5))
    return GuardedBackend(inner, AvailabilityGate(lambda: 0.0),
                          claims=ServerClaims(claims_dir, server.base_url))


class NoticedSleep:
    """``asyncio.sleep`` that says when it was first called (the server was found busy)."""

    def __init__(self) -> None:
        self.called = asyncio.Event()

    async def __call__(self, seconds: float) -> None:
        self.called.set()
        await asyncio.sleep(seconds)


async def test_a_background_request_waits_until_the_reply_has_ended(tmp_path: Path) -> None:
    async with FakeOpenAIServer(interrupt_requests=True) as server:
        playful, serious = character(server, tmp_path), character(server, tmp_path)
        server.queue_script(StreamScript(tokens=("Once", " upon", " a time."), hold_after=1))
        reply = playful.generate(HELLO)
        await anext(reply)
        sleep = NoticedSleep()
        notes = asyncio.create_task(answer_in_background(
            serious, NOTES, character="f-serious", max_chars=8000, patience=QUICK, sleep=sleep))
        await sleep.called.wait()
        server.release()
        text, _ = await collect(reply)
        answer = await notes
        for backend in (playful, serious):
            await backend.aclose()
    assert (text, answer) == (" upon a time.", "Hello, world!")
    assert overlapping(server.spans) == []
    assert not any(span.interrupted for span in server.spans)


async def test_a_background_request_cut_short_by_a_reply_is_asked_again_whole(
        tmp_path: Path) -> None:
    async with FakeOpenAIServer(interrupt_requests=True) as server:
        playful, serious = character(server, tmp_path), character(server, tmp_path)
        server.queue_script(StreamScript(tokens=("{\"fact\":", " \"half\"}"), hold_after=1),
                            for_text=NOTES_MARKER)
        notes = asyncio.create_task(answer_in_background(
            serious, NOTES, character="f-serious", max_chars=8000, patience=QUICK))
        await server.holding.wait()
        text, _ = await collect(playful.generate(HELLO))
        answer = await notes
        for backend in (playful, serious):
            await backend.aclose()
    assert (text, answer) == ("Hello, world!", "Hello, world!")
    # The first request was cut by the reply's arrival, or closed by its owner just before.
    assert [span.label for span in server.spans] == ["notes", "reply", "notes"]
    assert [span.interrupted for span in server.spans[1:]] == [False, False]
    assert overlapping(server.spans) == []


async def test_on_a_queueing_server_the_background_request_gives_the_server_up(
        tmp_path: Path) -> None:
    async with FakeOpenAIServer(interrupt_requests=False) as server:
        playful, serious = character(server, tmp_path), character(server, tmp_path)
        server.queue_script(StreamScript(tokens=("{\"fact\":", " \"half\"}"), hold_after=1),
                            for_text=NOTES_MARKER)
        notes = asyncio.create_task(answer_in_background(
            serious, NOTES, character="f-serious", max_chars=8000, patience=QUICK))
        await server.holding.wait()
        server.queue_script(StreamScript(hold_after=1), for_text="Hello!")
        replying = asyncio.create_task(collect(playful.generate(HELLO)))
        await server.disconnected.wait()  # the background request closed its stream
        server.release()
        text, _ = await replying
        answer = await notes
        for backend in (playful, serious):
            await backend.aclose()
    assert (text, answer) == ("Hello, world!", "Hello, world!")
    assert [span.label for span in server.spans] == ["notes", "reply", "notes"]
    assert overlapping(server.spans) == []


async def test_a_background_request_gives_up_after_its_patience(tmp_path: Path) -> None:
    async with FakeOpenAIServer() as server:
        serious = character(server, tmp_path)
        async with ServerClaims(tmp_path, server.base_url).reply():
            with pytest.raises(ServerBusy, match=r"f-serious.*free of replies"):
                await answer_in_background(
                    serious, NOTES, character="f-serious", max_chars=8000,
                    patience=BackgroundPatience(backoff=QUICK.backoff, patience_s=0.05))
        await serious.aclose()
    assert server.spans == []


async def test_cancelling_a_background_request_releases_the_server(tmp_path: Path) -> None:
    async with FakeOpenAIServer() as server:
        serious = character(server, tmp_path)
        server.queue_script(StreamScript(hold_after=1), for_text=NOTES_MARKER)
        notes = asyncio.create_task(answer_in_background(
            serious, NOTES, character="f-serious", max_chars=8000))
        await server.holding.wait()
        notes.cancel()
        await asyncio.gather(notes, return_exceptions=True)
        await server.disconnected.wait()
        claim = ServerClaims(tmp_path, server.base_url).try_background("m-playful")
        assert isinstance(claim, BackgroundClaim)
        claim.release()
        await serious.aclose()


async def test_any_background_work_is_started_anew_when_a_reply_wants_the_server(
        tmp_path: Path) -> None:
    async with FakeOpenAIServer() as server:
        serious = character(server, tmp_path)
        attempts: list[str] = []
        first_running, first_closed = asyncio.Event(), asyncio.Event()

        async def embed(claim: BackgroundClaim | None) -> str:
            assert claim is not None
            attempts.append("started")
            claim.handed_over()  # its request reached the server
            if len(attempts) == 1:
                first_running.set()
                try:
                    await asyncio.sleep(3600)  # the server is still answering it
                finally:
                    first_closed.set()
            return "vectors"

        work = asyncio.create_task(in_background(serious, embed, character="f-serious",
                                                 patience=QUICK))
        await first_running.wait()
        async with ServerClaims(tmp_path, server.base_url).reply():
            await first_closed.wait()  # the reply is seen and the first attempt closed
        assert await work == "vectors"
        await serious.aclose()
    assert attempts == ["started", "started"]
