"""The answers to the requests that manage memories (``protocol.memories``): a page of
them, and one added, corrected or forgotten, each as the ``MemoryEntry`` a person sees."""

from __future__ import annotations

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
from worker.engine.character_engine import CharacterEngine
from worker.engine.memory_edits import REMEMBERED_TURN_ID
from worker.memory.models import StoredMemory


def memories_response(engine: CharacterEngine, message: MemoriesRequest) -> MemoriesResponse:
    """``memories_request``: one page, with the total the filters let through."""
    listed, total = engine.memories(message.offset, message.limit, user=message.user,
                                    kinds=message.kinds, memory_id=message.memory_id)
    end = message.offset + len(listed)
    return MemoriesResponse(message_id=message.message_id,
                            memories=[memory_entry(m) for m in listed], total=total,
                            next_offset=end if end < total else None)


async def add_memory_response(engine: CharacterEngine, message: AddMemoryRequest, *,
                              user: str) -> AddMemoryResponse:
    """``add_memory_request``, about ``message.user`` or else the session's ``user``."""
    added = await engine.add_memory(message.text, user=message.user or user,
                                    kind=message.kind, importance=message.importance)
    return AddMemoryResponse(message_id=message.message_id, memory=memory_entry(added))


async def update_memory_response(engine: CharacterEngine,
                                 message: UpdateMemoryRequest) -> UpdateMemoryResponse:
    changed = await engine.update_memory(message.memory_id, text=message.text,
                                         kind=message.kind, importance=message.importance)
    return UpdateMemoryResponse(message_id=message.message_id, memory=memory_entry(changed))


def delete_memory_response(engine: CharacterEngine,
                           message: DeleteMemoryRequest) -> DeleteMemoryResponse:
    gone = engine.delete_memory(message.memory_id)
    return DeleteMemoryResponse(message_id=message.message_id, memory=memory_entry(gone))


def memory_entry(memory: StoredMemory) -> MemoryEntry:
    """``memory`` as the protocol shows it: no vector, no turn for one a person added."""
    remembered = memory.turn_id == REMEMBERED_TURN_ID
    return MemoryEntry(id=memory.id, text=memory.text, kind=str(memory.kind),
                       importance=memory.importance, valence=memory.valence, user=memory.user,
                       created_at=memory.created_at,
                       turn_id=None if remembered else memory.turn_id, remembered=remembered)
