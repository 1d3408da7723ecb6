"""Memories the model writes after a turn (``CharacterEngine.write_model_memories``):
linked to the turn, found by search, removed by undo, never written for a turn gone."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.engine.conftest import OpenEngine, chat
from worker.backends.base import GenerationDone, GenerationRequest, LLMUnavailable, TextDelta
from worker.backends.scripted import ScriptedBackend

FACT = '{"fact": "User\'s sister Ophelia lives in Lisbon."}\n'
SUMMARY = '{"summary": "User misses their sister, who moved abroad."}'


class NotesBackend(ScriptedBackend):
    """The scripted backend, answering the model-memory prompts with ``answer``; with
    ``hold`` set, it waits for ``release`` before answering them."""

    def __init__(self, answer: str = FACT, *, hold: bool = False) -> None:
        super().__init__()
        self.answer = answer
        self.asked: list[str] = []
        self.holding = asyncio.Event()
        self.release = asyncio.Event()
        if not hold:
            self.release.set()

    async def generate(self, request: GenerationRequest
                       ) -> AsyncIterator[TextDelta | GenerationDone]:
        system = request.messages[0].content
        if not system.startswith("You keep notes"):
            async for event in super().generate(request):
                yield event
            return
        self.asked.append(system)
        self.holding.set()
        await self.release.wait()
        if self.answer == "DOWN":
            raise LLMUnavailable("the server is down")
        yield TextDelta(SUMMARY if "reflection" in system else self.answer)
        yield GenerationDone(backend="notes", model="notes")


async def test_a_fact_the_model_extracts_is_found_by_search_and_linked_to_its_turn(
        open_engine: OpenEngine) -> None:
    engine = open_engine(backend=NotesBackend())
    turn = await chat(engine, "My sister moved away last spring.")
    written = await engine.write_model_memories(turn.turn_id, "user")
    assert written.written and written.facts == ("User's sister Ophelia lives in Lisbon.",)
    [hit, *_] = await engine.search_memory("Ophelia Lisbon")
    assert (hit.text, hit.kind, hit.turn_id, hit.user) == (
        "User's sister Ophelia lives in Lisbon.", "fact", turn.turn_id, "user")


async def test_undo_removes_what_the_model_wrote_for_the_turn(open_engine: OpenEngine) -> None:
    engine = open_engine(backend=NotesBackend())
    turn = await chat(engine, "My sister moved away last spring.")
    await engine.write_model_memories(turn.turn_id, "user")
    engine.undo()
    assert not [hit for hit in await engine.search_memory("Ophelia Lisbon")
                if hit.kind == "fact"]


async def test_nothing_is_written_for_a_turn_undone_while_the_model_was_asked(
        open_engine: OpenEngine) -> None:
    backend = NotesBackend(hold=True)
    engine = open_engine(backend=backend)
    turn = await chat(engine, "My sister moved away last spring.")
    step = asyncio.ensure_future(engine.write_model_memories(turn.turn_id, "user"))
    await backend.holding.wait()
    engine.undo()
    backend.release.set()
    assert not (await step).written
    assert engine.character_info()["memory_count"] == 0


async def test_a_reflection_is_a_summary_memory_of_the_turn(open_engine: OpenEngine) -> None:
    engine = open_engine(backend=NotesBackend())
    for message in ("I miss my sister.", "She lives far away now."):
        turn = await chat(engine, message)
    written = await engine.write_model_memories(turn.turn_id, "user", reflect_over=2)
    assert written.summary == "User misses their sister, who moved abroad."
    [summary] = [m for m in (await engine.search_memory("misses sister abroad", limit=10))
                 if m.kind == "summary"]
    assert summary.turn_id == turn.turn_id


async def test_a_failing_backend_raises_and_writes_nothing(open_engine: OpenEngine) -> None:
    engine = open_engine(backend=NotesBackend("DOWN"))
    turn = await chat(engine, "My sister moved away last spring.")
    before = engine.character_info()["memory_count"]
    with pytest.raises(LLMUnavailable):
        await engine.write_model_memories(turn.turn_id, "user")
    assert engine.character_info()["memory_count"] == before


async def test_garbage_from_the_model_writes_nothing(open_engine: OpenEngine) -> None:
    engine = open_engine(backend=NotesBackend("Sure! Here are some facts: she is nice."))
    turn = await chat(engine, "My sister moved away last spring.")
    before = engine.character_info()["memory_count"]
    written = await engine.write_model_memories(turn.turn_id, "user")
    assert written.written and written.facts == ()
    assert engine.character_info()["memory_count"] == before


def test_the_scripted_backend_gets_no_extraction_by_default(open_engine: OpenEngine) -> None:
    engine = open_engine()
    assert not engine.model_memory_plan("user", mode="auto", reflect_every=10).extract
