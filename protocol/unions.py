"""The message unions per direction, and which response answers which request.

``ClientMessage`` is everything a client may send, ``ServerMessage`` everything a server may
send; each is a msgspec tagged union on ``message_type``, so one decoder per direction
dispatches on the tag without trying members in turn.
"""

from __future__ import annotations

from typing import Final

from protocol.admin import (
    DebugRequest,
    DebugResponse,
    RestartRequest,
    RestartResponse,
    WorkersRequest,
    WorkersResponse,
)
from protocol.chat import (
    AlternativesRequest,
    AlternativesResponse,
    CancelRequest,
    CancelResponse,
    ChatDelta,
    ChatRequest,
    ChatResponse,
    GenerationStatus,
    RegenerateRequest,
    SelectAlternativeRequest,
    SelectAlternativeResponse,
    UndoRequest,
    UndoResponse,
)
from protocol.envelope import Message
from protocol.errors import ErrorResponse
from protocol.events import TurnEvent, VitalsEvent, WorkerStateEvent
from protocol.queries import (
    CharactersRequest,
    CharactersResponse,
    MemorySearchRequest,
    MemorySearchResponse,
    StatusRequest,
    StatusResponse,
)
from protocol.session import (
    Hello,
    HelloResponse,
    InitRequest,
    InitResponse,
    PingRequest,
    PingResponse,
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

SeedRequest = (
    PingRequest
    | InitRequest
    | ChatRequest
    | StatusRequest
    | SaveRequest
    | LoadRequest
    | ResetRequest
    | MemorySearchRequest
)

ClientMessage = (
    SeedRequest
    | Hello
    | CancelRequest
    | UndoRequest
    | RegenerateRequest
    | AlternativesRequest
    | SelectAlternativeRequest
    | CharactersRequest
    | SnapshotsRequest
    | DeleteSnapshotRequest
    | ExportRequest
    | WorkersRequest
    | RestartRequest
    | DebugRequest
)

EventMessage = VitalsEvent | TurnEvent | WorkerStateEvent

ServerMessage = (
    PingResponse
    | InitResponse
    | ChatResponse
    | StatusResponse
    | SaveResponse
    | LoadResponse
    | ResetResponse
    | MemorySearchResponse
    | ErrorResponse
    | HelloResponse
    | ChatDelta
    | GenerationStatus
    | CancelResponse
    | UndoResponse
    | AlternativesResponse
    | SelectAlternativeResponse
    | CharactersResponse
    | SnapshotsResponse
    | DeleteSnapshotResponse
    | ExportChunk
    | ExportResponse
    | WorkersResponse
    | RestartResponse
    | DebugResponse
    | EventMessage
)

RESPONSE_TYPES: Final[dict[type[Message], type[Message]]] = {
    PingRequest: PingResponse,
    InitRequest: InitResponse,
    ChatRequest: ChatResponse,
    StatusRequest: StatusResponse,
    SaveRequest: SaveResponse,
    LoadRequest: LoadResponse,
    ResetRequest: ResetResponse,
    MemorySearchRequest: MemorySearchResponse,
    Hello: HelloResponse,
    CancelRequest: CancelResponse,
    UndoRequest: UndoResponse,
    RegenerateRequest: ChatResponse,
    AlternativesRequest: AlternativesResponse,
    SelectAlternativeRequest: SelectAlternativeResponse,
    CharactersRequest: CharactersResponse,
    SnapshotsRequest: SnapshotsResponse,
    DeleteSnapshotRequest: DeleteSnapshotResponse,
    ExportRequest: ExportResponse,
    WorkersRequest: WorkersResponse,
    RestartRequest: RestartResponse,
    DebugRequest: DebugResponse,
}
"""The success response class of each request class (any request may also get
``error_response``; streamed chats get ``chat_delta`` frames first)."""


def message_type_of(cls: type[Message]) -> str:
    """The wire tag (``message_type``) of a message class."""
    tag = cls.__struct_config__.tag
    if not isinstance(tag, str):
        raise TypeError(f"{cls.__name__} is not a tagged message class")
    return tag


CLIENT_MESSAGE_TYPES: Final[frozenset[str]] = frozenset(
    message_type_of(cls) for cls in RESPONSE_TYPES
)
"""Every ``message_type`` a client may send (what ``hello_response.capabilities`` lists)."""

SEED_MESSAGE_TYPES: Final[frozenset[str]] = frozenset(
    message_type_of(cls)
    for cls in (
        PingRequest,
        InitRequest,
        ChatRequest,
        StatusRequest,
        SaveRequest,
        LoadRequest,
        ResetRequest,
        MemorySearchRequest,
        PingResponse,
        InitResponse,
        ChatResponse,
        StatusResponse,
        SaveResponse,
        LoadResponse,
        ResetResponse,
        MemorySearchResponse,
        ErrorResponse,
    )
)
"""Every ``message_type`` of the seed-era contract; a seed-era client sees only these."""

_RESPONSE_TAGS: Final[dict[str, str]] = {
    message_type_of(request): message_type_of(response)
    for request, response in RESPONSE_TYPES.items()
}


def response_type_for(request_type: str) -> str:
    """The ``message_type`` of the success response to ``request_type``.

    Raises ``KeyError`` for a type that is not a client request.
    """
    return _RESPONSE_TAGS[request_type]
