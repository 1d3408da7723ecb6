"""The memory requests (``protocol.memories``) answered by a worker's service in-process:
what each answers, its stable error codes, and that memory search and export see the
change."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from protocol.errors import ErrorResponse
from protocol.memories import (
    MAX_MEMORY_CHARS,
    AddMemoryRequest,
    AddMemoryResponse,
    DeleteMemoryRequest,
    DeleteMemoryResponse,
    MemoriesRequest,
    MemoriesResponse,
    UpdateMemoryRequest,
    UpdateMemoryResponse,
)
from protocol.queries import MemorySearchRequest, MemorySearchResponse
from protocol.snapshots import ExportRequest, ExportResponse
from schemas.loader import load_character
from tests.supervisor.test_service import Frames, request
from tests.support.paths import BUNDLED_CHARACTERS
from worker.backends.scripted import ScriptedBackend
from worker.engine.character_engine import CharacterEngine
from worker.service.character_service import CharacterService

Service = tuple[CharacterService, Frames]


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    character = load_character("m-playful", BUNDLED_CHARACTERS).character
    backend = ScriptedBackend()
    engine = CharacterEngine.open(character, data_dir=tmp_path, backend=backend)
    frames = Frames()
    svc = CharacterService(engine, backend, None, frames)
    yield svc, frames
    await svc.close()


async def ask(service: Service, request_id: int, message: Any) -> Any:
    svc, frames = service
    svc.submit(request(request_id, message))
    return await frames.reply(request_id)


async def test_an_added_memory_is_about_the_sessions_user_and_found_by_search(
        service: Service) -> None:
    added = await ask(service, 1, AddMemoryRequest(message_id="a", text=" Ana fears spiders. "))
    assert isinstance(added, AddMemoryResponse) and added.message_id == "a"
    memory = added.memory
    assert memory is not None
    assert (memory.text, memory.user, memory.kind, memory.importance) == (
        "Ana fears spiders.", "ana", "fact", 0.9)
    assert memory.remembered and memory.turn_id is None
    search = await ask(service, 2, MemorySearchRequest(query="spiders"))
    assert isinstance(search, MemorySearchResponse)
    assert [m["id"] for m in search.memories] == [memory.id]


async def test_the_list_pages_and_filters_by_user(service: Service) -> None:
    for number, user in enumerate(["ana", "bo", "ana"], start=1):
        await ask(service, number, AddMemoryRequest(text=f"memory {number}", user=user))
    page = await ask(service, 10, MemoriesRequest(limit=2))
    assert isinstance(page, MemoriesResponse)
    assert [m.text for m in page.memories] == ["memory 1", "memory 2"]
    assert (page.total, page.next_offset) == (3, 2)
    last = await ask(service, 11, MemoriesRequest(offset=2, limit=2))
    assert [m.text for m in last.memories] == ["memory 3"] and last.next_offset is None
    anas = await ask(service, 12, MemoriesRequest(user="ana"))
    assert [m.text for m in anas.memories] == ["memory 1", "memory 3"] and anas.total == 2


async def test_update_and_delete_answer_the_memory_and_search_follows(
        service: Service) -> None:
    added = (await ask(service, 1, AddMemoryRequest(text="Ana's cat is Tom."))).memory
    updated = await ask(service, 2, UpdateMemoryRequest(memory_id=added.id,
                                                        text="Ana's cat is Mog."))
    assert isinstance(updated, UpdateMemoryResponse) and updated.memory.text == "Ana's cat is Mog."
    assert (await ask(service, 3, MemorySearchRequest(query="Mog"))).count == 1
    deleted = await ask(service, 4, DeleteMemoryRequest(memory_id=added.id))
    assert isinstance(deleted, DeleteMemoryResponse) and deleted.memory == updated.memory
    assert (await ask(service, 5, MemorySearchRequest(query="Mog"))).count == 0
    export = await ask(service, 6, ExportRequest())
    assert isinstance(export, ExportResponse) and export.document is not None
    assert export.document["content"]["memories"] == []


@pytest.mark.parametrize(("message", "code"), [
    (DeleteMemoryRequest(memory_id=99), "memory_not_found"),
    (UpdateMemoryRequest(memory_id=99, text="x"), "memory_not_found"),
    (AddMemoryRequest(text="  "), "memory_empty"),
    (AddMemoryRequest(text="y" * (MAX_MEMORY_CHARS + 1)), "memory_too_long"),
    (AddMemoryRequest(text="z", kind="gossip"), "bad_request"),
])
async def test_refusals_carry_stable_codes(service: Service, message: Any, code: str) -> None:
    error = await ask(service, 1, message)
    assert isinstance(error, ErrorResponse) and error.error_code == code


async def test_too_long_a_text_says_the_limit_in_details(service: Service) -> None:
    error = await ask(service, 1, AddMemoryRequest(text="y" * (MAX_MEMORY_CHARS + 5)))
    assert error.details == {"max_chars": MAX_MEMORY_CHARS, "length": MAX_MEMORY_CHARS + 5}


async def test_an_added_memory_is_in_the_export(service: Service) -> None:
    added = (await ask(service, 1, AddMemoryRequest(text="Ana fears spiders."))).memory
    export = await ask(service, 2, ExportRequest())
    memories = export.document["content"]["memories"]
    assert [(m["id"], m["text"], m["turn_id"]) for m in memories] == [
        (added.id, "Ana fears spiders.", 0)]
    assert json.dumps(memories)  # plain JSON, as the export promises
