"""Several people talking to one character: one body (vitals, mood, turn count), one
conversation per user. A user's prompt holds only that user's exchanges; memories about a
user reach only that user's prompts, unless they are shared (about no one: ``user == ""``)."""

from __future__ import annotations

import json
from pathlib import Path

from tests.engine.characters import sensitive_character
from tests.engine.conftest import OpenEngine, RecordingBackend, chat, exported
from worker.backends.base import ChatMessage
from worker.engine.character_engine import CharacterEngine
from worker.engine.database import connect, database_path
from worker.memory.models import NewMemory
from worker.memory.store import MemoryStore


def history_texts(prompt: list[ChatMessage]) -> list[str]:
    """The messages between the system message and the final user message."""
    return [m.content for m in prompt[1:-1]]


def final_note(prompt: list[ChatMessage]) -> str:
    return prompt[-1].content


async def test_each_users_prompt_holds_only_their_own_exchanges(
        open_engine: OpenEngine) -> None:
    backend = RecordingBackend()
    engine = open_engine(sensitive_character(), backend=backend)
    await chat(engine, "Hello, I am Sam.", user="sam")
    await chat(engine, "You are a useless idiot.", user="bob")
    await chat(engine, "How are you today?", user="sam")
    sams_second = history_texts(backend.prompts[2])
    assert "Hello, I am Sam." in sams_second
    assert not any("idiot" in text for text in sams_second)
    await chat(engine, "Still here.", user="bob")
    bobs_second = history_texts(backend.prompts[3])
    assert "You are a useless idiot." in bobs_second
    assert not any("Sam" in text for text in bobs_second[::2])


async def test_the_body_is_shared_while_the_threads_are_not(open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "Hello, I am Sam.", user="sam")
    result = await chat(engine, "You are a useless idiot.", user="bob")
    assert result.turn_index == 2
    assert engine.status(user="sam").character_summary["turn_count"] == 2


def add_memory(data_dir: Path, character_id: str, text: str, *, user: str) -> None:
    """Store a memory the way an import or a ``/remember`` would: straight into the
    character's database, through a second connection."""
    conn = connect(database_path(data_dir, character_id))
    try:
        MemoryStore(conn).add(NewMemory(text=text, kind="fact", importance=0.9, valence=0.0,
                                        created_at=0.0, turn_id=0, user=user))
    finally:
        conn.close()


async def test_a_memory_about_sam_reaches_sams_prompt_but_never_bobs(
        open_engine: OpenEngine) -> None:
    backend = RecordingBackend()
    engine = open_engine(sensitive_character(), backend=backend)
    await chat(engine, "My dog is called Biscuit.", user="sam")
    await chat(engine, "Tell me about the dog Biscuit.", user="bob")
    await chat(engine, "Do you remember my dog Biscuit?", user="sam")
    assert "Sam's dog is called Biscuit" not in final_note(backend.prompts[1])
    assert "Sam's dog is called Biscuit" in final_note(backend.prompts[2])


async def test_bobs_trace_does_not_quote_sams_memory(open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "My dog is called Biscuit.", user="sam")
    await chat(engine, "Tell me about the dog Biscuit.", user="bob")
    trace = engine.trace().trace
    assert trace is not None
    assert all("Sam" not in c.text for c in trace.memories.candidates)


async def test_a_shared_memory_reaches_every_users_prompt(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    backend = RecordingBackend()
    character = sensitive_character()
    engine = open_engine(character, backend=backend)
    add_memory(tmp_path, character.id, "The lighthouse keeper retired in spring.", user="")
    await chat(engine, "Who keeps the lighthouse now?", user="sam")
    await chat(engine, "Is the lighthouse keeper still there?", user="bob")
    for prompt in backend.prompts:
        assert "The lighthouse keeper retired in spring." in final_note(prompt)
    trace = engine.trace().trace
    assert trace is not None
    assert [c.reason for c in trace.memories.candidates] == ["its words matched (shared)"]


async def test_the_users_own_memories_are_recalled_before_shared_ones_and_others_crowd_none(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    backend = RecordingBackend()
    character = sensitive_character()
    engine = open_engine(character, backend=backend)
    for n in range(40):  # far more memories about bob than the prompt takes
        add_memory(tmp_path, character.id, f"Bob's garden has {n} roses.", user="bob")
    add_memory(tmp_path, character.id, "The garden roses bloom in June.", user="")
    add_memory(tmp_path, character.id, "Sam's garden has one rose.", user="sam")
    await chat(engine, "How are the roses in the garden?", user="sam")
    note = final_note(backend.prompts[0])
    assert "Bob's garden" not in note
    assert note.index("Sam's garden has one rose.") < note.index("The garden roses bloom")


async def test_status_history_can_be_one_users_thread(open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    for user, message in (("sam", "Hello, I am Sam."), ("bob", "Hi."), ("sam", "Still me.")):
        await chat(engine, message, user=user)
    everyone = engine.status(include_history=True, user="sam")
    sams = engine.status(include_history=True, user="bob", history_user="sam")
    assert everyone.history_page is not None and everyone.history_page.total == 3
    assert sams.conversation_history is not None and sams.history_page is not None
    assert [t["user_message"] for t in sams.conversation_history] == [
        "Hello, I am Sam.", "Still me."]
    assert (sams.history_page.total, sams.history_page.next_offset) == (2, None)
    second = engine.status(include_history=True, history_user="sam", history_offset=1,
                           history_limit=1)
    assert second.conversation_history is not None
    assert [t["user_message"] for t in second.conversation_history] == ["Still me."]


async def test_an_export_can_be_one_users_thread(open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "My dog is called Biscuit.", user="sam")
    await chat(engine, "My cat is called Tom.", user="bob")
    engine.save("both")
    whole = exported(engine)
    sams = json.loads("".join(engine.export_text(user="sam")))
    assert "user" not in whole and sams["user"] == "sam"
    content = sams["content"]
    assert [t["user"] for t in content["turns"]] == ["sam"]
    assert [r["user"] for r in content["relationships"]] == ["sam"]
    assert content["memories"] and {m["user"] for m in content["memories"]} == {"sam"}
    assert content["state"] == whole["content"]["state"]
    assert sams["snapshots"] == [] and len(whole["snapshots"]) == 1


async def test_one_users_export_imports_as_a_character_that_heard_only_them(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    character = sensitive_character()
    engine = open_engine(character, data_dir=tmp_path / "first")
    await chat(engine, "My dog is called Biscuit.", user="sam")
    await chat(engine, "My cat is called Tom.", user="bob")
    CharacterEngine.import_document(json.loads("".join(engine.export_text(user="sam"))),
                                    data_dir=tmp_path / "second")
    imported = open_engine(character, data_dir=tmp_path / "second")
    assert [t["user"] for t in exported(imported)["content"]["turns"]] == ["sam"]
