"""Which engine call answers which request: the worker's dispatch table.

One ``case`` per message a worker answers (``Handling.TURN`` and ``Handling.DIRECT`` in the
declarations); a message the gateway answers itself is refused with ``bad_request``.
Requests that change the vitals send a ``vitals_event`` before their answer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

from protocol.chat import (
    AlternativesRequest,
    AlternativesResponse,
    ChatRequest,
    GreetingRequest,
    GreetingResponse,
    RegenerateRequest,
    SelectAlternativeRequest,
    SelectAlternativeResponse,
    UndoRequest,
    UndoResponse,
)
from protocol.inspection import PromptRequest
from protocol.memories import (
    AddMemoryRequest,
    DeleteMemoryRequest,
    MemoriesRequest,
    UpdateMemoryRequest,
)
from protocol.pipe import FromWorker, WorkerRequest
from protocol.queries import (
    MemorySearchRequest,
    MemorySearchResponse,
    StatusRequest,
    StatusResponse,
)
from protocol.session import InitRequest, InitResponse, PingRequest, PingResponse
from protocol.snapshots import (
    DeleteSnapshotRequest,
    DeleteSnapshotResponse,
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
from protocol.trace import TraceRequest
from protocol.unions import ClientMessage, ServerMessage, message_type_of
from worker.engine.character_engine import CharacterEngine
from worker.service.events import vitals_event
from worker.service.exports import Exports
from worker.service.failures import RequestFailed
from worker.service.memory_answers import (
    add_memory_response,
    delete_memory_response,
    memories_response,
    update_memory_response,
)
from worker.service.prompt_answer import prompt_response
from worker.service.trace_answers import trace_response
from worker.service.turn_replies import answer_turn

log = structlog.get_logger()


class RequestAnswers:
    """Answers one character's requests with its engine; ``send`` carries the frames sent
    before an answer (deltas, progress, export chunks, events)."""

    def __init__(self, engine: CharacterEngine, send: Callable[[FromWorker], None],
                 exports: Exports, *, keepalive_s: float) -> None:
        self._engine = engine
        self._send = send
        self._exports = exports
        self._keepalive_s = keepalive_s

    async def answer(self, request: WorkerRequest) -> ServerMessage:
        """The final answer to ``request``; raises what it fails with (``failures`` turns
        that into its ``error_response``)."""
        message: ClientMessage = request.message
        mid = message.message_id
        engine = self._engine
        match message:
            case ChatRequest():
                return await answer_turn(
                    request, engine.chat(message.user_message, user=message.user or request.user,
                                         keep_partial=message.keep_partial,
                                         options=message.options),
                    stream=message.stream, engine=engine, send=self._send,
                    keepalive_s=self._keepalive_s)
            case RegenerateRequest():
                return await answer_turn(
                    request, engine.regenerate(user=request.user,
                                               keep_partial=message.keep_partial),
                    stream=message.stream, engine=engine, send=self._send,
                    keepalive_s=self._keepalive_s)
            case StatusRequest():
                return self._status(message, user=request.user)
            case TraceRequest():
                return trace_response(engine, message)
            case PromptRequest():
                return prompt_response(mid, await engine.prompt(
                    message.user_message, user=message.user or request.user,
                    settings=message.options))
            case MemorySearchRequest():
                hits = await engine.search_memory(message.query, message.limit)
                memories = [_memory_dict(hit) for hit in hits]
                return MemorySearchResponse(message_id=mid, memories=memories,
                                            count=len(memories))
            case MemoriesRequest():
                return memories_response(engine, message)
            case AddMemoryRequest():
                return await add_memory_response(engine, message, user=request.user)
            case UpdateMemoryRequest():
                return await update_memory_response(engine, message)
            case DeleteMemoryRequest():
                return delete_memory_response(engine, message)
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
                self._send(vitals_event(engine, "load"))
                return LoadResponse(message_id=mid, character_info=info)
            case ResetRequest():
                info = engine.reset(preserve_memories=message.preserve_memories)
                self._send(vitals_event(engine, "reset"))
                return ResetResponse(message_id=mid, character_info=info)
            case UndoRequest():
                return self._undo(message, user=request.user)
            case GreetingRequest():
                greeted = engine.greet(user=request.user, index=message.index)
                if greeted.text is not None:
                    log.info("greeting_sent", turn_id=greeted.turn_id, index=greeted.index,
                             user=request.user, replaced=greeted.replaced)
                return GreetingResponse(
                    message_id=mid, greeting=greeted.text, index=greeted.index,
                    count=greeted.count, started=greeted.started, replaced=greeted.replaced,
                    turn_id=greeted.turn_id)
            case AlternativesRequest():
                return AlternativesResponse(message_id=mid,
                                            alternatives=engine.alternatives(user=request.user))
            case SelectAlternativeRequest():
                info = engine.select_alternative(message.index, user=request.user)
                self._send(vitals_event(engine, "select_alternative"))
                return SelectAlternativeResponse(message_id=mid, character_info=info)
            case SnapshotsRequest():
                return self._snapshots(message)
            case DeleteSnapshotRequest():
                engine.delete_snapshot(message.filename)
                return DeleteSnapshotResponse(message_id=mid, filename=message.filename)
            case ExportRequest(stream=True):
                return await self._exports.stream(request, user=message.user)
            case ExportRequest():
                return ExportResponse(message_id=mid,
                                      document=await self._exports.whole(user=message.user))
            case _:
                raise RequestFailed(
                    "bad_request",
                    f"{message_type_of(type(message))} is answered by the gateway, not by a "
                    "character's worker")

    def _status(self, message: StatusRequest, *, user: str) -> StatusResponse:
        engine = self._engine
        status = engine.status(
            include_vitals=message.include_vitals, include_history=message.include_history,
            include_performance=message.include_performance, user=user,
            history_offset=message.history_offset, history_limit=message.history_limit,
            history_user=message.history_user)
        vitals = status.vitals
        if vitals is None:  # the seed contract always fills vitals
            vitals = engine.status(include_vitals=True, user=user).vitals
        history = status.history_page
        return StatusResponse(
            message_id=message.message_id, character_summary=status.character_summary,
            vitals=vitals, conversation_history=status.conversation_history,
            performance_stats=status.performance_stats,
            history_total=None if history is None else history.total,
            history_offset=None if history is None else history.offset,
            history_next_offset=None if history is None else history.next_offset)

    def _undo(self, message: UndoRequest, *, user: str) -> UndoResponse:
        undone = self._engine.undo(user=user)
        log.info("turn_undone", turn_id=undone.turn_id, turn_index=undone.turn_index,
                 user=undone.user, vitals_restored=undone.vitals_restored,
                 reason=undone.reason)
        if undone.vitals_restored:
            self._send(vitals_event(self._engine, "undo"))
        return UndoResponse(message_id=message.message_id,
                            character_info=self._engine.character_info(),
                            vitals_restored=undone.vitals_restored, reason=undone.reason)

    def _snapshots(self, message: SnapshotsRequest) -> SnapshotsResponse:
        total = self._engine.snapshot_count()
        listed = self._engine.list_snapshots(message.offset, message.limit)
        end = message.offset + len(listed)
        return SnapshotsResponse(
            message_id=message.message_id,
            snapshots=[{"filename": s["name"], **s} for s in listed],
            total=total, next_offset=end if end < total else None)


def _memory_dict(hit: Any) -> dict[str, Any]:
    # ``content`` repeats ``text``: the seed's clients read a memory's words from it.
    return {"id": hit.id, "text": hit.text, "content": hit.text, "kind": str(hit.kind),
            "score": hit.score, "scores": dict(hit.scores), "importance": hit.importance,
            "created_at": hit.created_at, "turn_id": getattr(hit, "turn_id", None)}
