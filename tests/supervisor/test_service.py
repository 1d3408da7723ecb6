"""Worker dispatch (``worker.service``) over a real engine and the scripted backend, in-process."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import structlog

from protocol.chat import (
    AlternativesRequest,
    AlternativesResponse,
    ChatDelta,
    ChatRequest,
    ChatResponse,
    GenerationStatus,
    RegenerateRequest,
    SelectAlternativeRequest,
    SelectAlternativeResponse,
)
from protocol.errors import ErrorResponse
from protocol.events import TurnEvent, VitalsEvent
from protocol.frame_codec import encode_frame
from protocol.generation import GenerationSettings
from protocol.pipe import (
    EXPORT_CHUNK_WINDOW,
    FromWorker,
    WorkerEvent,
    WorkerReply,
    WorkerRequest,
)
from protocol.queries import StatusRequest, StatusResponse
from protocol.session import PingRequest
from protocol.snapshots import ExportChunk, ExportRequest, ExportResponse, LoadRequest, SaveRequest
from protocol.trace import TraceRequest, TraceResponse
from schemas.loader import load_character
from tests.support.long_history import build_long_history
from tests.support.paths import BUNDLED_CHARACTERS
from worker.backends.scripted import ScriptedBackend
from worker.engine.character_engine import CharacterEngine
from worker.service.character_service import CharacterService


class Frames:
    def __init__(self) -> None:
        self.sent: list[FromWorker] = []
        self._changed = asyncio.Event()

    def __call__(self, frame: FromWorker) -> None:
        self.sent.append(frame)
        self._changed.set()

    async def reply(self, request_id: int, *, final: bool = True) -> Any:
        async with asyncio.timeout(10):
            while True:
                for frame in self.sent:
                    if (isinstance(frame, WorkerReply) and frame.request_id == request_id
                            and frame.final is final):
                        return frame.message
                self._changed.clear()
                await self._changed.wait()

    def index_of_final(self, request_id: int) -> int:
        return next(i for i, f in enumerate(self.sent)
                    if isinstance(f, WorkerReply) and f.request_id == request_id and f.final)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[tuple[CharacterService, Frames]]:
    character = load_character("m-playful", BUNDLED_CHARACTERS).character
    backend = ScriptedBackend(word_delay_s=0.02)
    engine = CharacterEngine.open(character, data_dir=tmp_path, backend=backend)
    frames = Frames()
    svc = CharacterService(engine, backend, None, frames)
    yield svc, frames
    await svc.close()


def request(request_id: int, message: Any) -> WorkerRequest:
    return WorkerRequest(session_id="s1", request_id=request_id, user="ana", message=message)


def chat(message_id: str = "c") -> ChatRequest:
    return ChatRequest(message_id=message_id, user_message="Hi! Tell me about your day.",
                       stream=True)


async def test_a_streamed_chat_sends_deltas_then_the_response_and_events(service) -> None:
    svc, frames = service
    svc.submit(request(1, chat()))
    response = await frames.reply(1)
    assert isinstance(response, ChatResponse) and response.message_id == "c"
    deltas = [f.message for f in frames.sent
              if isinstance(f, WorkerReply) and isinstance(f.message, ChatDelta)]
    assert "".join(d.delta for d in deltas) == response.response_text
    assert [d.index for d in deltas] == list(range(len(deltas)))
    events = [f.message for f in frames.sent if isinstance(f, WorkerEvent)]
    assert any(isinstance(e, TurnEvent) and e.session_id == "s1" for e in events)
    assert any(isinstance(e, VitalsEvent) and e.cause == "turn" for e in events)


async def test_status_is_answered_while_a_chat_streams(service) -> None:
    svc, frames = service
    svc.submit(request(1, chat()))
    await frames.reply(1, final=False)
    svc.submit(request(2, StatusRequest(message_id="s")))
    assert isinstance(await frames.reply(2), StatusResponse)
    await frames.reply(1)
    assert frames.index_of_final(2) < frames.index_of_final(1)


async def test_a_cancelled_chat_answers_cancelled_and_commits_nothing(service) -> None:
    svc, frames = service
    svc.submit(request(1, chat()))
    await frames.reply(1, final=False)
    svc.cancel(1)
    error = await frames.reply(1)
    assert isinstance(error, ErrorResponse) and error.error_code == "cancelled"
    svc.submit(request(2, StatusRequest(message_id="s", include_history=True)))
    status = await frames.reply(2)
    assert status.conversation_history == []


async def test_turns_arriving_together_run_one_after_another_and_a_waiting_one_can_go(
        service) -> None:
    """Several gateways share one actor under ``--placement ray``: their turns line up here
    instead of the second answering ``busy``."""
    svc, frames = service
    svc.submit(request(1, chat("first")))
    await frames.reply(1, final=False)
    svc.submit(request(2, chat("second")))
    svc.submit(request(3, chat("third")))
    assert isinstance(await frames.reply(2, final=False), GenerationStatus)
    svc.cancel(3)
    assert (await frames.reply(3)).error_code == "cancelled"
    first, second = await frames.reply(1), await frames.reply(2)
    assert isinstance(first, ChatResponse) and isinstance(second, ChatResponse)
    assert first.response_metadata is not None and second.response_metadata is not None
    assert (first.response_metadata.turn_id, second.response_metadata.turn_id) == (1, 2)
    of_second = [f.message for f in frames.sent
                 if isinstance(f, WorkerReply) and f.request_id == 2]
    assert isinstance(of_second[0], GenerationStatus) and of_second[0].phase == "queued"
    first_delta = next(i for i, f in enumerate(frames.sent) if isinstance(f, WorkerReply)
                       and f.request_id == 2 and isinstance(f.message, ChatDelta))
    assert first_delta > frames.index_of_final(1)  # it started once the first had finished


async def test_drain_without_grace_cancels_in_flight_turns(service) -> None:
    svc, frames = service
    svc.submit(request(1, chat()))
    await frames.reply(1, final=False)
    await svc.drain(grace_s=0.0)
    assert (await frames.reply(1)).error_code == "cancelled"
    svc.submit(request(2, StatusRequest(message_id="s")))
    assert (await frames.reply(2)).error_code == "shutting_down"


async def test_engine_errors_keep_their_stable_codes(service) -> None:
    svc, frames = service
    svc.submit(request(1, LoadRequest(message_id="l", filename="never-saved")))
    svc.submit(request(2, SaveRequest(message_id="v", filename="../escape")))
    assert (await frames.reply(1)).error_code == "snapshot_not_found"
    assert (await frames.reply(2)).error_code == "invalid_name"


async def test_alternatives_are_listed_and_an_earlier_reply_can_be_selected(service) -> None:
    svc, frames = service
    svc.submit(request(1, chat("first")))
    first = await frames.reply(1)
    svc.submit(request(2, RegenerateRequest(message_id="regen")))
    second = await frames.reply(2)
    assert first.response_text != second.response_text

    svc.submit(request(3, AlternativesRequest(message_id="alts")))
    listing = await frames.reply(3)
    assert isinstance(listing, AlternativesResponse)
    assert [a["current"] for a in listing.alternatives] == [False, True]

    svc.submit(request(4, SelectAlternativeRequest(message_id="pick", index=0)))
    picked = await frames.reply(4)
    assert isinstance(picked, SelectAlternativeResponse) and picked.success
    svc.submit(request(5, StatusRequest(message_id="st", include_history=True)))
    status = await frames.reply(5)
    assert status.conversation_history[-1]["response"] == first.response_text


async def test_a_trace_request_answers_the_stored_trace_of_a_turn(service) -> None:
    svc, frames = service
    options = GenerationSettings(temperature=0.4)
    svc.submit(request(1, ChatRequest(message_id="c1", user_message="Hi!", options=options)))
    await frames.reply(1)
    svc.submit(request(2, chat("c2")))
    await frames.reply(2)
    svc.submit(request(3, TraceRequest(message_id="t", turn_index=1)))
    answer = await frames.reply(3)
    assert isinstance(answer, TraceResponse) and answer.message_id == "t"
    assert (answer.turn_index, answer.user_message) == (1, "Hi!")
    assert answer.trace is not None and answer.trace["format"] == 1
    assert answer.trace["generation"]["session"] == {"temperature": 0.4}
    assert answer.trace["generation"]["options"]["temperature"] == 0.4
    svc.submit(request(4, TraceRequest(message_id="newest")))
    assert (await frames.reply(4)).turn_index == 2


async def test_a_trace_of_a_turn_that_does_not_exist_is_a_bad_request(service) -> None:
    svc, frames = service
    svc.submit(request(1, TraceRequest(message_id="t", turn_index=3)))
    error = await frames.reply(1)
    assert isinstance(error, ErrorResponse) and error.error_code == "bad_request"
    assert "no turns yet" in error.error


async def test_a_committed_turn_logs_its_trace_at_debug_level(service) -> None:
    svc, frames = service
    with structlog.testing.capture_logs() as records:
        svc.submit(request(1, chat()))
        await frames.reply(1)
    traced = [r for r in records if r["event"] == "turn_trace"]
    assert len(traced) == 1 and traced[0]["log_level"] == "debug"
    assert traced[0]["turn_index"] == 1 and traced[0]["trace"]["format"] == 1


async def test_no_trace_record_is_made_when_debug_records_are_filtered(service) -> None:
    svc, frames = service
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(20))
    try:
        with structlog.testing.capture_logs() as records:
            svc.submit(request(1, chat()))
            await frames.reply(1)
    finally:
        structlog.reset_defaults()
    assert "turn_committed" in [r["event"] for r in records]
    assert "turn_trace" not in [r["event"] for r in records]


@pytest.fixture
async def long_service(tmp_path: Path) -> AsyncIterator[tuple[CharacterService, Frames]]:
    """A service over a 600-turn character whose replies go through the real pipe encoder
    with a 128 KiB frame limit (as if the pipe were that small)."""
    await build_long_history(tmp_path, "m-playful", turns=600)
    character = load_character("m-playful", BUNDLED_CHARACTERS).character
    backend = ScriptedBackend()
    engine = CharacterEngine.open(character, data_dir=tmp_path, backend=backend)
    frames = Frames()

    def send(frame: FromWorker) -> None:
        encode_frame(frame, max_frame_bytes=128 * 1024)
        frames(frame)

    svc = CharacterService(engine, backend, None, send)
    yield svc, frames
    await svc.close()


def _chunks(frames: Frames, request_id: int) -> list[ExportChunk]:
    return [f.message for f in frames.sent
            if isinstance(f, WorkerReply) and f.request_id == request_id
            and isinstance(f.message, ExportChunk)]


async def test_a_streamed_export_waits_for_credit_after_its_window(
    long_service: tuple[CharacterService, Frames],
) -> None:
    svc, frames = long_service
    svc.submit(WorkerRequest(session_id="s", request_id=1, user="user",
                             message=ExportRequest(message_id="e", stream=True)))
    for request_id in range(2, 2 + EXPORT_CHUNK_WINDOW + 2):  # each ping: a loop pass or more
        svc.submit(WorkerRequest(session_id="s", request_id=request_id, user="user",
                                 message=PingRequest(message_id="p")))
        await frames.reply(request_id)
    assert len(_chunks(frames, 1)) == EXPORT_CHUNK_WINDOW
    for _ in range(100):  # more than the rest of the export needs
        svc.grant_export_credit(1)
    final = await frames.reply(1)
    chunks = _chunks(frames, 1)
    assert isinstance(final, ExportResponse) and final.chunks == len(chunks) > EXPORT_CHUNK_WINDOW
    assert [c.seq for c in chunks] == list(range(len(chunks)))
    text = "".join(c.data for c in chunks)
    assert final.sha256 == hashlib.sha256(text.encode()).hexdigest()
    assert len(json.loads(text)["content"]["turns"]) == 600


async def test_an_answer_over_the_frame_limit_answers_answer_too_large(
    long_service: tuple[CharacterService, Frames],
) -> None:
    svc, frames = long_service
    svc.submit(WorkerRequest(session_id="s", request_id=1, user="user",
                             message=StatusRequest(message_id="s1", include_history=True)))
    answer = await frames.reply(1)
    assert isinstance(answer, ErrorResponse) and answer.error_code == "answer_too_large"
    assert answer.details is not None and answer.details["max_bytes"] == 128 * 1024
    assert "history_limit" in answer.error
    svc.submit(WorkerRequest(session_id="s", request_id=2, user="user", message=StatusRequest(
        message_id="s2", include_history=True, history_limit=20)))
    page = await frames.reply(2)
    assert isinstance(page, StatusResponse) and page.history_total == 600
    assert page.conversation_history is not None and len(page.conversation_history) == 20


async def test_a_whole_export_is_measured_in_utf8_bytes_not_characters(tmp_path: Path) -> None:
    """The export's JSON keeps non-ASCII text as is (3 bytes for each of these characters):
    counting characters let an export of twice the frame limit through the early check, to
    be built whole in memory and fail only when encoded."""
    character = load_character("m-playful", BUNDLED_CHARACTERS).character
    backend = ScriptedBackend()
    engine = CharacterEngine.open(character, data_dir=tmp_path, backend=backend)
    async for _ in engine.chat("日本語の手紙を書きました。" * 1500):
        pass
    with contextlib.closing(engine.export_text()) as pieces:
        text = "".join(pieces)
    chars, size = len(text), len(text.encode())
    limit = (chars + size) // 2  # more than the export's characters, less than its bytes
    assert chars < limit < size
    frames = Frames()

    def send(frame: FromWorker) -> None:
        encode_frame(frame, max_frame_bytes=limit)
        frames(frame)

    svc = CharacterService(engine, backend, None, send, max_frame_bytes=limit)
    try:
        with structlog.testing.capture_logs() as logs:
            svc.submit(request(1, ExportRequest(message_id="e")))
            answer = await frames.reply(1)
    finally:
        await svc.close()
    assert isinstance(answer, ErrorResponse) and answer.error_code == "answer_too_large"
    assert answer.details == {"max_bytes": limit} and "stream" in answer.error
    # Refused before the document was built, not when its encoded frame was too large.
    assert [r for r in logs if r["event"] == "answer_too_large"] == []
