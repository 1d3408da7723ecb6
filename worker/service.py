"""A worker's request dispatch: protocol requests in, engine calls, protocol replies out.

Every ``WorkerRequest`` runs in its own task, owned by ``CharacterService`` (which awaits or
cancels all of them before closing), so ``status``, ``ping`` and memory search are answered
while a chat streams. The engine itself refuses a second turn with ``busy``.

Each request gets exactly one final reply: its response, or an ``error_response`` with a
stable code (``EngineError.code``, ``BackendError.code``, ``cancelled``, ``shutting_down``,
``internal``). A response that cannot be sent — larger than the pipe's frame limit, or not
encodable — is answered at once with ``answer_too_large`` (what to ask for instead) or
``internal``, never left to the gateway's timeout. A streamed chat sends ``chat_delta``
replies first, a streamed export ``export_chunk`` replies (paced by ``ExportCredit``). After a
committed turn the worker emits a ``turn_event`` and a ``vitals_event`` for the gateway to
fan out.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator, Callable
from typing import Any, Final

import structlog

from protocol.chat import (
    AlternativesRequest,
    AlternativesResponse,
    ChatDelta,
    ChatRequest,
    ChatResponse,
    GenerationPhase,
    GenerationStatus,
    RegenerateRequest,
    SelectAlternativeRequest,
    SelectAlternativeResponse,
    UndoRequest,
    UndoResponse,
)
from protocol.errors import ErrorCode, ErrorResponse, ProtocolError
from protocol.events import TurnEvent, VitalsEvent
from protocol.frame_codec import MAX_FRAME_BYTES
from protocol.pipe import (
    EXPORT_CHUNK_WINDOW,
    FromWorker,
    WorkerEvent,
    WorkerProgress,
    WorkerReply,
    WorkerRequest,
)
from protocol.queries import (
    MemorySearchRequest,
    MemorySearchResponse,
    StatusRequest,
    StatusResponse,
)
from protocol.session import InitRequest, InitResponse, PingRequest, PingResponse
from protocol.snapshots import (
    EXPORT_CHUNK_CHARS,
    DeleteSnapshotRequest,
    DeleteSnapshotResponse,
    ExportChunk,
    ExportRequest,
    ExportResponse,
    LoadRequest,
    LoadResponse,
    ResetRequest,
    ResetResponse,
    SaveRequest,
    SaveResponse,
    SnapshotsRequest,
    SnapshotsResponse,
)
from protocol.unions import ClientMessage, ServerMessage, message_type_of
from runtime.settings import Settings
from schemas.loader import load_character
from worker.backends.base import Backend, BackendError, Embedder, TextDelta
from worker.backends.factory import make_backend, make_embedder
from worker.backends.options import default_options
from worker.engine.character_engine import CharacterEngine
from worker.engine.errors import EngineError
from worker.engine.results import TurnResult, TurnStreamEvent
from worker.text_chunks import text_chunks

SendFrame = Callable[[FromWorker], None]
#: The longest gap between two ``WorkerProgress`` frames of a running turn, in seconds.
MAX_KEEPALIVE_S = 5.0

log = structlog.get_logger()


class RequestFailed(Exception):
    """A request ends with this ``error_response`` code, text and details."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details


class CharacterService:
    """One character's engine behind the pipe protocol. Lives on the worker's event loop.

    ``max_frame_bytes`` is the pipe's frame limit that ``send`` enforces: an unstreamed
    export larger than that is refused before it is built."""

    def __init__(
        self,
        engine: CharacterEngine,
        backend: Backend,
        embedder: Embedder | None,
        send: SendFrame,
        *,
        keepalive_s: float = MAX_KEEPALIVE_S,
        max_frame_bytes: int = MAX_FRAME_BYTES,
    ) -> None:
        """``keepalive_s``: seconds between two ``WorkerProgress`` frames of a running turn;
        well below the gateway's request timeout (``open`` derives it from the settings)."""
        self._engine = engine
        self._keepalive_s = keepalive_s
        self._max_frame_bytes = max_frame_bytes
        self._backend = backend
        self._embedder = embedder
        self._send = send
        self._tasks: dict[int, asyncio.Task[None]] = {}
        self._export_credits: dict[int, asyncio.Semaphore] = {}
        self._accepting = True
        self._backend_check: asyncio.Task[None] | None = None

    @property
    def character_id(self) -> str:
        return self._engine.character.id

    @classmethod
    async def open(
        cls, character_id: str, settings: Settings, send: SendFrame
    ) -> CharacterService:
        """Load the character file, open its engine (database, backend) and start probing
        the LLM server in the background (see ``_check_backend``).

        Raises whatever prevents the character from running (a missing or broken character
        file, an unusable database): the worker reports it as ``Fatal``. An unreachable LLM
        server or missing model is not among them.
        """
        character = load_character(character_id, settings.characters_dir).character
        backend = make_backend(settings.engine, character.llm)
        embedder = make_embedder(settings.engine, backend)
        try:
            engine = CharacterEngine.open(
                character, data_dir=settings.data_dir, backend=backend,
                half_life_s=settings.engine.decay_half_life_s,
                token_budget=settings.engine.prompt_token_budget,
                max_message_chars=settings.engine.max_message_chars,
                options=default_options(settings.engine, character.llm), embedder=embedder,
            )
        except BaseException:
            await _aclose(backend, embedder)
            raise
        service = cls(engine, backend, embedder, send,
                      keepalive_s=keepalive_interval(settings.gateway.request_timeout_s))
        service._backend_check = asyncio.get_running_loop().create_task(
            service._check_backend(), name="llm-health-check")
        return service

    async def _check_backend(self) -> None:
        """Probe the LLM server once (Ollama ``GET /api/tags``, OpenAI ``GET /models``).

        Runs beside the worker's start rather than before ``Ready``: an unreachable server
        may take the whole connect timeout to fail, and a worker must not be slow to start
        (or fail) because of it. A missing server or model is logged as ``llm_check_failed``
        and makes chats answer ``llm_unavailable`` at once until the re-check backoff has
        passed (``worker/backends/availability.py``); status, memory and snapshots are
        served regardless.
        """
        try:
            await self._backend.check()
        except BackendError as exc:
            log.warning("llm_check_failed", code=exc.code, error=str(exc))
            return
        log.info("llm_check_passed")

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    def submit(self, request: WorkerRequest) -> None:
        """Start handling ``request`` in its own task; the task sends the replies."""
        if not self._accepting:
            self._reply_error(request, "shutting_down",
                              f"character {self.character_id!r} is shutting down; retry later")
            return
        task = asyncio.get_running_loop().create_task(self._handle(request))
        self._tasks[request.request_id] = task
        task.add_done_callback(lambda done: self._finished(request, done))

    def _finished(self, request: WorkerRequest, task: asyncio.Task[None]) -> None:
        self._tasks.pop(request.request_id, None)
        problem = None if task.cancelled() else task.exception()
        if problem is not None:
            # ``_handle`` answers every failure of the request itself; only the channel
            # failing while it sends gets here. Nobody can be told: the record says so.
            log.error("reply_not_sent", request=message_type_of(type(request.message)),
                      message_id=request.message.message_id,
                      error=f"{type(problem).__name__}: {problem}")

    def cancel(self, request_id: int) -> None:
        """Cancel one request; its task answers ``cancelled`` and commits nothing.
        A request already finished is left alone (its reply was sent)."""
        task = self._tasks.get(request_id)
        if task is not None:
            task.cancel()

    def grant_export_credit(self, request_id: int) -> None:
        """The gateway wrote one chunk of streamed export ``request_id`` to its client: one
        more may be sent. A credit for an export already finished is ignored."""
        credit = self._export_credits.get(request_id)
        if credit is not None:
            credit.release()

    async def drain(self, grace_s: float) -> None:
        """Refuse new requests; let in-flight ones finish for ``grace_s`` seconds, then
        cancel the rest and wait until every one has sent its final reply."""
        self._accepting = False
        pending = list(self._tasks.values())
        if not pending:
            return
        _done, still_running = await asyncio.wait(pending, timeout=grace_s)
        for task in still_running:
            task.cancel()
        if still_running:
            log.warning("requests_cancelled_at_shutdown", count=len(still_running))
            await asyncio.wait(still_running)

    async def close(self) -> None:
        """Drain nothing more; close the engine (everything acknowledged is committed) and
        the backend."""
        for task in list(self._tasks.values()):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()))
        if self._backend_check is not None:
            self._backend_check.cancel()
            await asyncio.wait([self._backend_check])
        self._engine.close()
        await _aclose(self._backend, self._embedder)

    async def _handle(self, request: WorkerRequest) -> None:
        message = request.message
        with structlog.contextvars.bound_contextvars(
            session=request.session_id, message_id=message.message_id
        ):
            try:
                response = await self._dispatch(request)
            except asyncio.CancelledError:
                self._reply_error(request, "cancelled",
                                  f"request to character {self.character_id!r} was cancelled; "
                                  "nothing was committed for it")
                log.info("request_cancelled", request=message_type_of(type(message)))
                return
            except RequestFailed as exc:
                self._reply_error(request, exc.code, exc.message, details=exc.details)
                return
            except EngineError as exc:
                self._reply_error(request, exc.code, exc.message, details=exc.details)
                return
            except BackendError as exc:
                self._reply_error(request, exc.code,
                                  f"character {self.character_id!r}: {exc}", details=exc.details)
                log.warning("llm_failed", code=exc.code, error=str(exc))
                return
            except (sqlite3.Error, OSError) as exc:
                log.exception("storage_failed", request=message_type_of(type(message)))
                self._reply_error(request, "storage_error",
                                  f"character {self.character_id!r} could not read or write its "
                                  f"database ({type(exc).__name__}: {exc}); nothing of this "
                                  "request was committed and the last good state is kept. Check "
                                  "free disk space and that the data directory is writable.")
                return
            except Exception as exc:
                log.exception("request_failed", request=message_type_of(type(message)))
                self._reply_error(request, "internal",
                                  f"character {self.character_id!r} failed on "
                                  f"{message_type_of(type(message))}: {type(exc).__name__}: "
                                  f"{exc}. The worker log has the traceback.")
                return
            self._send_response(request, response)

    def _send_response(self, request: WorkerRequest, response: ServerMessage) -> None:
        """Send the final reply; if it cannot go, say so to the client at once instead."""
        try:
            self._send(WorkerReply(request_id=request.request_id, message=response))
            return
        except ProtocolError as exc:
            problem = exc
        what = message_type_of(type(response))
        asked = message_type_of(type(request.message))
        if problem.code is ErrorCode.PAYLOAD_TOO_LARGE:
            log.error("answer_too_large", response=what, **(problem.details or {}))
            self._reply_error(
                request, ErrorCode.ANSWER_TOO_LARGE,
                f"character {self.character_id!r}: the {what} to this {asked} is "
                f"{(problem.details or {}).get('size', '?')} bytes, over the worker pipe's "
                f"frame limit, so it cannot be sent. {_SMALLER_ANSWER.get(asked, _PAGES)}",
                details=problem.details)
        else:
            log.error("answer_unencodable", response=what, error=problem.message)
            self._reply_error(
                request, ErrorCode.INTERNAL,
                f"character {self.character_id!r} could not encode its {what} to this {asked} "
                f"({problem.message}): the request was carried out but its answer is lost. This "
                "is a bug: the worker log has the record (answer_unencodable); report it.")

    async def _dispatch(self, request: WorkerRequest) -> ServerMessage:
        message: ClientMessage = request.message
        mid = message.message_id
        engine = self._engine
        match message:
            case ChatRequest():
                return await self._stream_turn(
                    request, engine.chat(message.user_message, user=message.user or request.user,
                                         keep_partial=message.keep_partial),
                    stream=message.stream)
            case RegenerateRequest():
                return await self._stream_turn(
                    request, engine.regenerate(user=request.user,
                                               keep_partial=message.keep_partial),
                    stream=message.stream)
            case StatusRequest():
                status = engine.status(
                    include_vitals=message.include_vitals,
                    include_history=message.include_history,
                    include_performance=message.include_performance, user=request.user,
                    history_offset=message.history_offset,
                    history_limit=message.history_limit)
                vitals = status.vitals
                if vitals is None:  # the seed contract always fills vitals
                    vitals = engine.status(include_vitals=True, user=request.user).vitals
                history = status.history_page
                return StatusResponse(
                    message_id=mid, character_summary=status.character_summary,
                    vitals=vitals, conversation_history=status.conversation_history,
                    performance_stats=status.performance_stats,
                    history_total=None if history is None else history.total,
                    history_offset=None if history is None else history.offset,
                    history_next_offset=None if history is None else history.next_offset)
            case MemorySearchRequest():
                hits = await engine.search_memory(message.query, message.limit)
                memories = [_memory_dict(hit) for hit in hits]
                return MemorySearchResponse(message_id=mid, memories=memories,
                                            count=len(memories))
            case InitRequest():
                info = engine.character_info()
                return InitResponse(message_id=mid, character_name=engine.character.name,
                                    character_info=info)
            case PingRequest():
                return PingResponse(message_id=mid)
            case SaveRequest():
                return SaveResponse(message_id=mid, filename=engine.save(message.filename))
            case LoadRequest():
                info = engine.load(message.filename)
                self._vitals_event("load")
                return LoadResponse(message_id=mid, character_info=info)
            case ResetRequest():
                info = engine.reset(preserve_memories=message.preserve_memories)
                self._vitals_event("reset")
                return ResetResponse(message_id=mid, character_info=info)
            case UndoRequest():
                undone = engine.undo(user=request.user)
                log.info("turn_undone", turn_id=undone.turn_id, turn_index=undone.turn_index,
                         user=undone.user, vitals_restored=undone.vitals_restored,
                         reason=undone.reason)
                if undone.vitals_restored:
                    self._vitals_event("undo")
                return UndoResponse(message_id=mid, character_info=engine.character_info(),
                                    vitals_restored=undone.vitals_restored,
                                    reason=undone.reason)
            case AlternativesRequest():
                return AlternativesResponse(message_id=mid,
                                            alternatives=engine.alternatives(user=request.user))
            case SelectAlternativeRequest():
                info = engine.select_alternative(message.index, user=request.user)
                self._vitals_event("select_alternative")
                return SelectAlternativeResponse(message_id=mid, character_info=info)
            case SnapshotsRequest():
                total = engine.snapshot_count()
                listed = engine.list_snapshots(message.offset, message.limit)
                end = message.offset + len(listed)
                return SnapshotsResponse(
                    message_id=mid, snapshots=[{"filename": s["name"], **s} for s in listed],
                    total=total, next_offset=end if end < total else None)
            case DeleteSnapshotRequest():
                engine.delete_snapshot(message.filename)
                return DeleteSnapshotResponse(message_id=mid, filename=message.filename)
            case ExportRequest(stream=True):
                return await self._stream_export(request)
            case ExportRequest():
                return ExportResponse(message_id=mid, document=await self._whole_export())
            case _:
                raise RequestFailed(
                    "bad_request",
                    f"{message_type_of(type(message))} is answered by the gateway, not by a "
                    "character's worker")

    async def _stream_turn(
        self,
        request: WorkerRequest,
        events: AsyncIterator[TurnStreamEvent],
        *,
        stream: bool,
    ) -> ChatResponse:
        mid = request.message.message_id
        request_id = request.request_id
        result: TurnResult | None = None
        index = 0
        progress = _TurnProgress(self._send, request_id, mid, stream=stream,
                                 interval_s=self._keepalive_s)
        # aclosing: a cancelled turn closes the engine's generator at once, so it commits
        # nothing and frees the engine for the next turn.
        try:
            async with contextlib.aclosing(events) as turn:  # type: ignore[type-var]
                async for event in turn:
                    if isinstance(event, TextDelta):
                        if not stream or not event.text:
                            continue
                        delta = ChatDelta(message_id=mid, delta=event.text, index=index)
                        self._send(WorkerReply(request_id=request_id, message=delta,
                                               final=False))
                        if index == 0:  # after the delta: the first token is never delayed
                            progress.enter("streaming")
                        progress.quiet = False
                        index += 1
                    elif isinstance(event, TurnResult):
                        result = event
                    else:
                        progress.enter_soon("reading_prompt")
        finally:
            progress.stop()
        if result is None:
            raise RequestFailed("internal", f"character {self.character_id!r} ended a turn "
                                "without a result")
        self._send(WorkerEvent(message=TurnEvent(
            character_id=self.character_id, user=result.user,
            user_message=_user_message(request), response_text=result.response_text,
            turn_index=result.turn_index, session_id=request.session_id)))
        self._vitals_event("turn")
        log.info("turn_committed", turn_id=result.turn_id, turn_index=result.turn_index,
                 regenerated=result.regenerated, timings_ms=result.timings_ms)
        return _chat_response(mid, result)

    async def _stream_export(self, request: WorkerRequest) -> ExportResponse:
        """Send the export's text as ``export_chunk`` replies, at most
        ``EXPORT_CHUNK_WINDOW`` ahead of the gateway's credits, then the totals. The engine
        reads one record at a time, so memory stays bounded whatever the history's size;
        between chunks the loop serves heartbeats and other requests."""
        mid = request.message.message_id
        credit = asyncio.Semaphore(EXPORT_CHUNK_WINDOW)
        self._export_credits[request.request_id] = credit
        digest = hashlib.sha256()
        total_bytes = seq = 0
        try:
            with contextlib.closing(self._engine.export_text()) as pieces:
                for data in text_chunks(pieces, EXPORT_CHUNK_CHARS):
                    await credit.acquire()
                    encoded = data.encode()
                    digest.update(encoded)
                    total_bytes += len(encoded)
                    chunk = ExportChunk(message_id=mid, seq=seq, data=data)
                    self._send(WorkerReply(request_id=request.request_id, message=chunk,
                                           final=False))
                    seq += 1
                    await asyncio.sleep(0)
        finally:
            del self._export_credits[request.request_id]
        log.info("export_streamed", chunks=seq, total_bytes=total_bytes)
        return ExportResponse(message_id=mid, chunks=seq, total_bytes=total_bytes,
                              sha256=digest.hexdigest())

    async def _whole_export(self) -> dict[str, Any]:
        """The export as one document for an unstreamed ``export_request``. Refused with
        ``answer_too_large`` as soon as its text outgrows a pipe frame, before anything that
        could not be sent is built; reads chunk by chunk, serving the loop in between. The
        text keeps non-ASCII characters as they are (up to 4 bytes each): bytes are counted."""
        held: list[str] = []
        size = 0
        with contextlib.closing(self._engine.export_text()) as pieces:
            for chunk in text_chunks(pieces, EXPORT_CHUNK_CHARS):
                size += len(chunk.encode("utf-8"))
                if size > self._max_frame_bytes:
                    raise RequestFailed(
                        ErrorCode.ANSWER_TOO_LARGE,
                        f"character {self.character_id!r}: its export is over the worker "
                        f"pipe's {self._max_frame_bytes}-byte frame limit, too large to send "
                        f"whole. {_SMALLER_ANSWER['export_request']}",
                        details={"max_bytes": self._max_frame_bytes})
                held.append(chunk)
                await asyncio.sleep(0)
        document: dict[str, Any] = json.loads("".join(held))
        return document

    def _vitals_event(self, cause: str) -> None:
        """The ``vitals_event`` of every cause: the full current set, as a status reports it
        (levels, mood, per-level baselines and last-turn changes)."""
        vitals = self._engine.status(include_vitals=True).vitals or {}
        mood = vitals.get("mood")
        self._send(WorkerEvent(message=VitalsEvent(
            character_id=self.character_id, vitals=vitals,
            mood=mood if isinstance(mood, str) else None, cause=cause)))

    def _reply_error(self, request: WorkerRequest, code: str, text: str, *,
                     details: dict[str, Any] | None = None) -> None:
        error = ErrorResponse(message_id=request.message.message_id, error=text,
                              error_code=code, details=details)
        self._send(WorkerReply(request_id=request.request_id, message=error))


_PAGES: Final = ("Ask for less at a time: list answers take `offset`/`limit` "
                 "(`history_offset`/`history_limit` for a status' history).")
_SMALLER_ANSWER: Final[dict[str, str]] = {
    "export_request": "Export it streamed instead: `export_request` with `stream: true` "
                      "(`/export FILE` in `greenroom chat` does).",
    "status_request": "Ask for the history in smaller pages (`history_limit`).",
    "memory_search_request": "Ask for fewer memories (a smaller `limit`).",
}


def keepalive_interval(request_timeout_s: float) -> float:
    """A third of the gateway's request timeout (so two frames may be late before it
    fires), at most ``MAX_KEEPALIVE_S``."""
    return min(MAX_KEEPALIVE_S, request_timeout_s / 3)


class _TurnProgress:
    """What a running turn tells the gateway besides its deltas.

    ``enter(phase)`` sends a ``generation_status`` (only for a ``stream: true`` request; the
    gateway forwards it). Every ``interval_s`` a timer (a loop callback, no task) sends a
    keepalive: the current ``generation_status`` again when the client was sent nothing
    since the last one (a long prompt, a stalled stream), else a ``WorkerProgress`` frame
    for the gateway alone. Either keeps the gateway's request deadline from expiring while
    the worker is working; a blocked event loop sends nothing, as it should.
    """

    def __init__(self, send: SendFrame, request_id: int, message_id: str | None, *,
                 stream: bool, interval_s: float) -> None:
        self._send = send
        self._request_id = request_id
        self._message_id = message_id
        self._stream = stream
        self._progress = WorkerProgress(request_id=request_id)
        self._interval_s = interval_s
        self._loop = asyncio.get_running_loop()
        self._started = self._loop.time()
        self._phase: GenerationPhase | None = None
        #: Nothing was sent to the client since the last tick (the turn's owner clears it).
        self.quiet = True
        self._handle = self._loop.call_later(interval_s, self._tick)

    def enter(self, phase: GenerationPhase) -> None:
        self._phase = phase
        if self._stream:
            self._send_status(phase)

    def enter_soon(self, phase: GenerationPhase) -> None:
        """``enter`` once the turn's task next waits — for ``reading_prompt``, when the HTTP
        request has been written — so the frame never delays the request itself. Skipped if
        another phase was entered meanwhile (a backend that answered without waiting)."""
        self._phase = phase
        self._loop.call_soon(self._enter_if_still, phase)

    def _enter_if_still(self, phase: GenerationPhase) -> None:
        if self._phase == phase and self._stream:
            self._send_status(phase)

    def _send_status(self, phase: GenerationPhase) -> None:
        status = GenerationStatus(message_id=self._message_id, phase=phase,
                                  elapsed_s=round(self._loop.time() - self._started, 3))
        self._send(WorkerReply(request_id=self._request_id, message=status, final=False))
        self.quiet = False

    def _tick(self) -> None:
        if self._stream and self._phase is not None and self.quiet:
            self._send_status(self._phase)
        else:
            self._send(self._progress)
        self.quiet = True
        self._handle = self._loop.call_later(self._interval_s, self._tick)

    def stop(self) -> None:
        self._handle.cancel()


def _user_message(request: WorkerRequest) -> str:
    message = request.message
    return message.user_message if isinstance(message, ChatRequest) else ""


def _chat_response(message_id: str | None, result: TurnResult) -> ChatResponse:
    return ChatResponse(
        message_id=message_id,
        response_text=result.response_text,
        character_insights={"mood": result.mood, "mood_intensity": result.mood_intensity,
                            "intent": result.intent},
        response_metadata={"turn_id": result.turn_id, "turn_index": result.turn_index,
                           "user": result.user, "regenerated": result.regenerated,
                           "incomplete": result.generation.get("finish_reason") == "incomplete",
                           "vitals_reappraised": result.vitals_reappraised},
        generation_info=result.generation,
        cognitive_summary={"appraisal": result.appraisal,
                           "memories_used": result.memories_used,
                           "memories_formed": result.memories_formed},
        character_state_summary={"vitals": result.vitals, "vitals_delta": result.vitals_delta,
                                 "mood": result.mood},
        performance_info={"timings_ms": result.timings_ms},
    )


def _memory_dict(hit: Any) -> dict[str, Any]:
    # ``content`` repeats ``text``: the seed's clients read a memory's words from it.
    return {"id": hit.id, "text": hit.text, "content": hit.text, "kind": str(hit.kind),
            "score": hit.score, "scores": dict(hit.scores), "importance": hit.importance,
            "created_at": hit.created_at, "turn_id": getattr(hit, "turn_id", None)}


async def _aclose(backend: Backend, embedder: Embedder | None) -> None:
    for closable in (backend, embedder):
        aclose = getattr(closable, "aclose", None)
        if aclose is not None:
            try:
                await aclose()
            except Exception:
                log.exception("close_failed", what=type(closable).__name__)

