"""``LinkedCharacter``: every ``Character`` method, written once over a ``client.link.Link``.

Each method is a protocol request and the translation of its answer into a client value
(``ChatResponse`` → ``ChatReply``, ``status_response`` → ``CharacterStatus``, ...). Remote
(``client.remote.CharacterClient``) and local (``client.local.LocalCharacter``) are this class
over a different link, so both answer in the same shapes.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Sequence
from typing import Literal, TypeVar

import msgspec

from client.errors import PROTOCOL_VIOLATION, GreenroomError, error_for
from client.event_hub import EventHub
from client.export_assembly import ExportAssembly, decode_export
from client.interface import (
    CharacterEntry,
    CharacterEvent,
    CharacterStatus,
    ChatReply,
    JsonObject,
    PromptView,
    ReplyPhase,
    TraceReport,
)
from client.link import Link, call, expect
from client.reply_stream import ReplyStream
from protocol.chat import (
    AlternativesRequest,
    AlternativesResponse,
    CancelRequest,
    CancelResponse,
    ChatDelta,
    ChatRequest,
    ChatResponse,
    GenerationStatus,
    GreetingRequest,
    GreetingResponse,
    RegenerateRequest,
    SelectAlternativeRequest,
    SelectAlternativeResponse,
    UndoRequest,
    UndoResponse,
)
from protocol.errors import ErrorCode, ErrorResponse
from protocol.generation import GenerationSettings
from protocol.inspection import PromptRequest, PromptResponse
from protocol.memories import (
    AddMemoryRequest,
    AddMemoryResponse,
    DeleteMemoryRequest,
    DeleteMemoryResponse,
    MemoriesRequest,
    MemoriesResponse,
    MemoryEntry,
    UpdateMemoryRequest,
    UpdateMemoryResponse,
)
from protocol.queries import (
    CharactersRequest,
    CharactersResponse,
    MemorySearchRequest,
    MemorySearchResponse,
    StatusRequest,
    StatusResponse,
)
from protocol.snapshots import (
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
from protocol.trace import TraceRequest, TraceResponse
from protocol.unions import message_type_of

P = TypeVar("P", CharactersResponse, SnapshotsResponse, MemoriesResponse)
Paged = CharactersResponse | SnapshotsResponse | MemoriesResponse


class LinkedCharacter:
    """A ``client.interface.Character`` whose requests travel over ``link``; events the link
    publishes reach ``events()`` through ``hub``. One chat or regenerate at a time."""

    def __init__(self, link: Link, hub: EventHub) -> None:
        self._link = link
        self._hub = hub
        self._replying = False
        self._inflight_chat: str | None = None

    @property
    def character_id(self) -> str | None:
        return self._link.character_id

    @property
    def mode(self) -> Literal["remote", "local"]:
        return self._link.mode

    @property
    def user(self) -> str | None:
        return self._link.user

    async def attach(self, character_id: str) -> JsonObject:
        return (await self._link.attach(character_id)).character_info or {}

    async def list_characters(self) -> list[CharacterEntry]:
        """Every configured character, fetched page by page."""
        return [
            CharacterEntry(character_id=c.character_id, name=c.name, archetype=c.archetype,
                           description=c.description, state=c.state)
            async for page in self._pages(CharactersRequest, CharactersResponse)
            for c in page.characters
        ]

    async def chat(self, text: str, *, options: GenerationSettings | None = None) -> ChatReply:
        return await self.chat_stream(text, options=options).collect()

    def chat_stream(self, text: str, *, keep_partial: bool = False,
                    options: GenerationSettings | None = None) -> ReplyStream:
        request = ChatRequest(user_message=text, stream=True, user=self._link.user,
                              keep_partial=keep_partial, options=options)
        return ReplyStream(lambda: self._stream_reply(request))

    def regenerate_stream(self, *, keep_partial: bool = False) -> ReplyStream:
        request = RegenerateRequest(stream=True, keep_partial=keep_partial)
        return ReplyStream(lambda: self._stream_reply(request))

    async def cancel(self) -> bool:
        target = self._inflight_chat
        if target is None:
            return False
        # success is false when the reply finished before the cancel arrived: not an error.
        response = await call(self._link, CancelRequest(target_message_id=target),
                              CancelResponse, failure_ok=True)
        return response.success

    async def undo(self) -> JsonObject:
        return (await call(self._link, UndoRequest(), UndoResponse)).character_info or {}

    async def greet(self, index: int | None = None) -> GreetingResponse:
        return await call(self._link, GreetingRequest(index=index), GreetingResponse)

    async def alternatives(self) -> list[JsonObject]:
        return (await call(self._link, AlternativesRequest(), AlternativesResponse)).alternatives

    async def select_alternative(self, index: int) -> JsonObject:
        response = await call(self._link, SelectAlternativeRequest(index=index),
                              SelectAlternativeResponse)
        return response.character_info or {}

    async def status(
        self, *, include_history: bool = False, include_performance: bool = False,
        history_user: str | None = None, history_limit: int | None = None,
    ) -> CharacterStatus:
        request = StatusRequest(include_vitals=True, include_history=include_history,
                                include_performance=include_performance,
                                history_user=history_user)
        if history_limit is not None:
            request = msgspec.structs.replace(request, history_limit=history_limit)
        response = await call(self._link, request, StatusResponse)
        return CharacterStatus(
            summary=response.character_summary or {},
            vitals=response.vitals or {},
            history=response.conversation_history,
            performance=response.performance_stats,
        )

    async def search_memory(self, query: str, limit: int = 5) -> list[JsonObject]:
        request = MemorySearchRequest(query=query, limit=limit)
        return (await call(self._link, request, MemorySearchResponse)).memories

    async def memories(self, *, user: str | None = None,
                       kinds: Sequence[str] | None = None) -> list[MemoryEntry]:
        """Every memory (only ``user``'s, of ``kinds``, when given), fetched page by page."""
        request = functools.partial(MemoriesRequest, user=user,
                                    kinds=list(kinds) if kinds is not None else None)
        return [memory async for page in self._pages(request, MemoriesResponse)
                for memory in page.memories]

    async def memory(self, memory_id: int) -> MemoryEntry | None:
        page = await call(self._link, MemoriesRequest(memory_id=memory_id), MemoriesResponse)
        return page.memories[0] if page.memories else None

    async def remember(self, text: str, *, kind: str = "fact",
                       importance: float | None = None) -> MemoryEntry:
        request = (AddMemoryRequest(text=text, kind=kind, user=self._link.user)
                   if importance is None else
                   AddMemoryRequest(text=text, kind=kind, importance=importance,
                                    user=self._link.user))
        return _memory_of(await call(self._link, request, AddMemoryResponse))

    async def update_memory(self, memory_id: int, *, text: str | None = None,
                            kind: str | None = None,
                            importance: float | None = None) -> MemoryEntry:
        request = UpdateMemoryRequest(memory_id=memory_id, text=text, kind=kind,
                                      importance=importance)
        return _memory_of(await call(self._link, request, UpdateMemoryResponse))

    async def forget(self, memory_id: int) -> MemoryEntry:
        request = DeleteMemoryRequest(memory_id=memory_id)
        return _memory_of(await call(self._link, request, DeleteMemoryResponse))

    async def trace(self, turn_index: int | None = None) -> TraceReport:
        response = await call(self._link, TraceRequest(turn_index=turn_index), TraceResponse)
        return TraceReport(
            turn_id=response.turn_id or 0, turn_index=response.turn_index or 0,
            user=response.user or "", user_message=response.user_message or "",
            created_at=response.created_at, trace=response.trace)
    async def prompt(self, message: str | None = None, *,
                     options: GenerationSettings | None = None) -> PromptView:
        request = PromptRequest(user_message=message, user=self._link.user, options=options)
        return prompt_view(await call(self._link, request, PromptResponse))

    async def save(self, name: str | None = None) -> str:
        response = await call(self._link, SaveRequest(filename=name), SaveResponse)
        return response.filename or (name or "")

    async def load(self, name: str) -> JsonObject:
        response = await call(self._link, LoadRequest(filename=name), LoadResponse)
        return response.character_info or {}

    async def reset(self, *, preserve_memories: bool = True) -> JsonObject:
        request = ResetRequest(preserve_memories=preserve_memories)
        return (await call(self._link, request, ResetResponse)).character_info or {}

    async def snapshots(self) -> list[JsonObject]:
        """Every snapshot, fetched page by page (a server without pages sends one)."""
        return [entry async for page in self._pages(SnapshotsRequest, SnapshotsResponse)
                for entry in page.snapshots]

    async def delete_snapshot(self, name: str) -> None:
        await call(self._link, DeleteSnapshotRequest(filename=name), DeleteSnapshotResponse)

    async def export(self, *, user: str | None = None) -> JsonObject:
        return await decode_export(self.export_text(user=user))

    async def export_text(self, *, user: str | None = None) -> AsyncGenerator[str, None]:
        """A streamed export (``export_request`` with ``stream: true``, and ``user`` for
        one user's thread), checked by ``ExportAssembly``; leaving early cancels it. A
        server that predates streaming answers with the whole document, which is yielded as
        one piece."""
        async with self._link.exchange(ExportRequest(stream=True, user=user)) as exchange:
            assembly = ExportAssembly(self._link.character_id)
            answered = False
            try:
                while True:
                    arrival = await exchange.receive()
                    if isinstance(arrival, ExportChunk):
                        yield assembly.add(arrival)
                        continue
                    answered = True
                    response = expect(arrival, ExportResponse)
                    if response.document is not None and assembly.chunks == 0:
                        yield json.dumps(response.document, ensure_ascii=False) + "\n"
                    else:
                        assembly.finish(response)
                    return
            finally:
                if not answered:
                    await exchange.abandon()

    def events(self) -> AsyncIterator[CharacterEvent]:
        return self._hub.subscribe()

    async def close(self) -> None:
        """Close the link (requests in flight fail) and end every event iterator;
        idempotent."""
        await self._link.close()
        self._hub.close()

    async def _pages(self, request: Callable[..., CharactersRequest | SnapshotsRequest
                                             | MemoriesRequest],
                     expected: type[P]) -> AsyncIterator[P]:
        """Every page of a paged list, from offset 0 until ``next_offset`` is ``None``."""
        offset: int | None = 0
        while offset is not None:
            page = await call(self._link, request(offset=offset), expected)
            yield page
            offset = _next_page(offset, page)

    async def _stream_reply(
        self, request: ChatRequest | RegenerateRequest
    ) -> AsyncGenerator[str | ReplyPhase | ChatReply, None]:
        """The reply's deltas and phases, then the ``ChatReply``. A turn refused with
        ``character_restarting`` before its first delta is sent once more when the worker
        is back."""
        if self._replying:
            raise error_for(
                ErrorCode.BUSY,
                "A reply is already being generated; wait for it or cancel it first.",
            )
        self._replying = True
        try:
            for attempt in (1, 2):
                async with self._link.exchange(request) as exchange:
                    self._inflight_chat = exchange.message_id
                    answered = delivered_any = False
                    try:
                        while True:
                            arrival = await exchange.receive()
                            if isinstance(arrival, ChatDelta):
                                delivered_any = True
                                yield arrival.delta
                                continue
                            if isinstance(arrival, GenerationStatus):
                                yield ReplyPhase(arrival.phase, arrival.elapsed_s)
                                continue
                            answered = True
                            if (
                                attempt == 1
                                and not delivered_any
                                and isinstance(arrival, ErrorResponse)
                                and arrival.error_code == ErrorCode.CHARACTER_RESTARTING
                            ):
                                break
                            yield reply_from(expect(arrival, ChatResponse))
                            return
                    finally:
                        self._inflight_chat = None
                        if not answered:
                            await exchange.abandon()
                await self._link.worker_ready()
        finally:
            self._replying = False


def reply_from(response: ChatResponse) -> ChatReply:
    """The client's view of a committed turn: the reply, the state it left (levels, what
    the message changed, mood) and the turn's metadata, generation and timings merged."""
    state = response.character_state_summary
    insights = response.character_insights
    metadata: JsonObject = {}
    for part in (response.response_metadata, response.generation_info, response.performance_info):
        if part is not None:
            metadata.update(msgspec.to_builtins(part))
    return ChatReply(
        text=response.response_text or "",
        vitals=None if state is None else dict(state.vitals),
        mood=None if state is None else state.mood,
        metadata=metadata,
        vitals_delta=None if state is None else dict(state.vitals_delta),
        mood_intensity=None if insights is None else insights.mood_intensity,
        previous_mood=None if state is None else state.previous_mood,
    )


def prompt_view(response: PromptResponse) -> PromptView:
    """The client's view of a ``prompt_response``: the same fields, as plain JSON values."""
    plain = msgspec.to_builtins
    return PromptView(
        kept=response.kept, dry_run=response.dry_run, user=response.user,
        turn_id=response.turn_id, backend=response.backend, model=response.model,
        options=response.options or {}, messages=plain(response.messages),
        sections=plain(response.sections),
        budget=plain(response.budget) if response.budget is not None else {},
        usage=response.usage, warnings=plain(response.warnings), note=response.note,
        lorebook=plain(response.lorebook), lorebook_budget_tokens=response.lorebook_budget_tokens,
    )


def _memory_of(response: AddMemoryResponse | UpdateMemoryResponse | DeleteMemoryResponse
               ) -> MemoryEntry:
    """The memory a successful answer carries (a server always sends it)."""
    if response.memory is None:
        raise GreenroomError(
            PROTOCOL_VIOLATION,
            f"The server's {message_type_of(type(response))} carries no memory (a server bug:"
            " report it with the server's version).")
    return response.memory


def _next_page(offset: int, page: Paged) -> int | None:
    """The offset of the page after ``page`` (asked for at ``offset``), ``None`` after the
    last; a ``next_offset`` that does not advance would loop forever: a protocol violation."""
    next_offset = page.next_offset
    if next_offset is not None and next_offset <= offset:
        raise GreenroomError(
            PROTOCOL_VIOLATION,
            f"The server's {message_type_of(type(page))} for offset {offset} gave next_offset "
            f"{next_offset}, which does not advance; stopped paging (a server bug: report it "
            "with the server's version).",
        )
    return next_offset
