"""Memories the model writes after a turn (``CharacterEngine.write_model_memories``):
linked to the turn, found by search, removed by undo, never written for a turn gone."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.engine.conftest import OpenEngine, chat, exported, regenerate
from tests.memory.embedders import HashedTrigramEmbedder
from worker.backends.base import GenerationDone, GenerationRequest, LLMUnavailable, TextDelta
from worker.backends.scripted import ScriptedBackend
from worker.engine.character_engine import CharacterEngine
from worker.memory.models import StoredMemory

FACT = '{"fact": "User\'s sister Ophelia lives in Lisbon."}\n'
SUMMARY = '{"summary": "User misses their sister, who moved abroad."}'


class NotesBackend(ScriptedBackend):
    """The scripted backend, answering the model-memory prompts with ``answer``; with
    ``hold`` set, it waits for ``release`` before answering them."""

    def __init__(self, answer: str = FACT, *, hold: bool = False) -> None:
        super().__init__()
        self.answer = answer
        self.asked: list[str] = []
        self.bodies: list[str] = []
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
        self.bodies.append(request.messages[1].content)
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


PORTO = '{"fact": "User lives in Porto."}\n{"fact": "User has a cat called Miso."}'


def facts_of(engine: CharacterEngine) -> list[StoredMemory]:
    """The facts written by the model or a person (the formation rules' keep a source)."""
    return [m for m in engine.memories(limit=500)[0] if m.kind == "fact" and not m.source]


async def noted(engine: CharacterEngine, backend: NotesBackend, message: str,
                answer: str) -> tuple[int, list[StoredMemory]]:
    """A turn, the model's notes on it answered with ``answer``; its id and the facts after."""
    backend.answer = answer
    turn = await chat(engine, message)
    assert (await engine.write_model_memories(turn.turn_id, "user")).written
    return turn.turn_id, facts_of(engine)


async def moved(engine: CharacterEngine, backend: NotesBackend
                ) -> tuple[list[StoredMemory], list[StoredMemory]]:
    """Turn 1 notes two facts; turn 2 updates the first and deletes the second. The facts
    after turn 1 and after turn 2."""
    _, before = await noted(engine, backend, "I live in Porto with my cat.", PORTO)
    porto, miso = before
    _, after = await noted(engine, backend, "I moved to Lisbon; Miso ran away.",
                           f'{{"update": {porto.id}, "fact": "User lives in Lisbon."}}\n'
                           f'{{"delete": {miso.id}}}')
    return before, after


async def test_the_model_updates_and_deletes_the_facts_it_wrote(
        open_engine: OpenEngine) -> None:
    backend = NotesBackend()
    engine = open_engine(backend=backend)
    before, after = await moved(engine, backend)
    assert [(m.id, m.text, m.turn_id) for m in after] == [
        (before[0].id, "User lives in Lisbon.", before[0].turn_id)]
    assert f"[{before[0].id}] User lives in Porto." in backend.bodies[-1]
    found = [hit.text for hit in await engine.search_memory("where does the user live", 10)]
    assert "User lives in Lisbon." in found and "User lives in Porto." not in found


async def test_undoing_the_turn_puts_back_exactly_what_its_notes_changed(
        open_engine: OpenEngine) -> None:
    backend = NotesBackend()
    engine = open_engine(backend=backend)
    before, _ = await moved(engine, backend)
    engine.undo()
    assert facts_of(engine) == before
    engine.undo()
    assert facts_of(engine) == []


async def test_another_reply_takes_back_what_the_notes_changed(
        open_engine: OpenEngine) -> None:
    backend = NotesBackend()
    engine = open_engine(backend=backend)
    before, _ = await moved(engine, backend)
    await regenerate(engine)
    assert facts_of(engine) == before


async def test_only_the_models_own_facts_are_shown_to_it(open_engine: OpenEngine) -> None:
    backend = NotesBackend()
    engine = open_engine(backend=backend)
    _, [porto, miso] = await noted(engine, backend, "I live in Porto with my cat.", PORTO)
    remembered = await engine.add_memory("User's birthday is in May.")
    await noted(engine, backend, "My favourite colour is green.", "")
    shown = backend.bodies[-1].split("\n\n")[0]
    assert shown == (f"Known facts about user, by id:\n[{porto.id}] User lives in Porto.\n"
                     f"[{miso.id}] User has a cat called Miso.")
    assert remembered.text not in shown


async def test_a_persons_correction_is_not_undone_with_the_models_note(
        open_engine: OpenEngine) -> None:
    backend = NotesBackend()
    engine = open_engine(backend=backend)
    _, [lisbon] = await moved(engine, backend)
    await engine.update_memory(lisbon.id, text="User lives in Faro.")
    engine.undo()
    assert [m.text for m in facts_of(engine)] == [
        "User lives in Faro.", "User has a cat called Miso."]


async def test_a_fact_a_person_forgot_stays_forgotten_after_undo(
        open_engine: OpenEngine) -> None:
    backend = NotesBackend()
    engine = open_engine(backend=backend)
    _, [lisbon] = await moved(engine, backend)
    engine.delete_memory(lisbon.id)
    engine.undo()
    assert [m.text for m in facts_of(engine)] == ["User has a cat called Miso."]


async def test_a_snapshot_keeps_what_undo_needs_to_put_back(open_engine: OpenEngine) -> None:
    backend = NotesBackend()
    engine = open_engine(backend=backend)
    before, _ = await moved(engine, backend)
    engine.save("moved")
    engine.undo()
    engine.load("moved")
    engine.undo()
    assert facts_of(engine) == before


async def test_an_export_keeps_what_undo_needs_to_put_back(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    backend = NotesBackend()
    source = open_engine(backend=backend, data_dir=tmp_path / "a")
    before, _ = await moved(source, backend)
    document = json.loads(json.dumps(exported(source)))
    revised = document["content"]["turns"][-1]["revised"]
    assert [m["text"] for m in revised] == [m.text for m in before]
    CharacterEngine.import_document(document, data_dir=tmp_path / "b")
    copy = open_engine(backend=NotesBackend(), data_dir=tmp_path / "b")
    assert exported(copy)["content"] == exported(source)["content"]
    copy.undo()
    assert facts_of(copy) == before


async def test_an_updated_fact_is_embedded_again(open_engine: OpenEngine) -> None:
    backend, embedder = NotesBackend(), HashedTrigramEmbedder()
    engine = open_engine(backend=backend, embedder=embedder)
    await moved(engine, backend)
    assert ["User lives in Lisbon."] in embedder.calls


async def test_an_imported_character_never_gives_a_deleted_facts_id_to_a_new_memory(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    backend = NotesBackend()
    source = open_engine(backend=backend, data_dir=tmp_path / "a")
    _, before = await noted(source, backend, "I live in Porto with my cat.", PORTO)
    newest = before[-1]
    await noted(source, backend, "Miso ran away.", f'{{"delete": {newest.id}}}')
    for later in source.memories(limit=500)[0]:  # the deleted fact's id is now the highest
        if later.id > newest.id:
            source.delete_memory(later.id)
    CharacterEngine.import_document(json.loads(json.dumps(exported(source))),
                                    data_dir=tmp_path / "b")
    copy = open_engine(backend=NotesBackend(), data_dir=tmp_path / "b")
    added = await copy.add_memory("User's birthday is in May.")
    assert added.id > newest.id
    copy.undo()
    assert newest in facts_of(copy)
