import json
from pathlib import Path

import pytest

from tests.engine.characters import sensitive_character
from tests.engine.clock import ManualClock
from tests.engine.conftest import OpenEngine, chat, exported, regenerate
from worker.engine.character_engine import CharacterEngine
from worker.engine.errors import EngineError

MESSAGES = [
    "Hello there!",
    "My dog is called Biscuit and he loves the beach.",
    "You are a stupid useless idiot and I hate you",
    "Sorry, I was rude earlier",
    "Why does the moon glow at night?",
    "lol that joke was hilarious haha",
    "I promise I will bring you a book tomorrow.",
    "I really appreciate you, friend, thank you",
    "The train leaves at five",
    "I live in Lisbon and I work as a nurse.",
    "Bye, see you tomorrow",
]


def content(engine: CharacterEngine) -> str:
    """The live history and state, canonically encoded."""
    return json.dumps(exported(engine)["content"], sort_keys=True, ensure_ascii=False)


def tree(path: Path) -> list[Path]:
    return sorted(path.rglob("*"))


def db_files(data_dir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(data_dir)): p.read_bytes()
            for p in sorted(data_dir.rglob("*")) if p.is_file() and p.suffix == ".db"}


async def test_save_ten_turns_load_gives_byte_identical_state(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    for message in MESSAGES[:3]:
        await chat(engine, message, user="sam")
        clock.advance(30)
    saved = content(engine)
    name = engine.save("before the rest")
    for message in MESSAGES[1:11]:
        await chat(engine, message, user="sam")
        clock.advance(30)
    assert content(engine) != saved
    info = engine.load(name)
    assert content(engine) == saved
    assert info["turn_count"] == 3
    assert await engine.search_memory("Biscuit")


async def test_save_without_name_uses_the_time_and_never_overwrites(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine()
    first = engine.save()
    second = engine.save()
    assert first == "2027-01-15T08-00-00"
    assert second == "2027-01-15T08-00-00-2"
    assert [s["name"] for s in engine.list_snapshots()] == [first, second]


@pytest.mark.parametrize("name", ["../x", "/etc/passwd", "a/b", "", "a\x00b", "a\\b", "..",
                                  ".hidden", "x" * 129, "tab\tname", "\x1b[31m"])
async def test_path_like_snapshot_names_are_refused_and_nothing_is_written(
        open_engine: OpenEngine, tmp_path: Path, name: str) -> None:
    engine = open_engine()
    await chat(engine, "hello")
    files_before = tree(tmp_path)
    content_before = content(engine)
    snapshots_before = engine.list_snapshots()
    with pytest.raises(EngineError) as error:
        engine.save(name)
    assert error.value.code == "invalid_name"
    assert engine.list_snapshots() == snapshots_before
    assert content(engine) == content_before
    assert tree(tmp_path) == files_before
    with pytest.raises(EngineError, match="invalid_name"):
        engine.load(name)


@pytest.mark.parametrize("name", ["日本語", "é", "a:b", " padded ", "CON", "x" * 128,
                                  "名" * 42])
async def test_any_other_name_up_to_128_bytes_saves_loads_and_deletes_without_a_file(
        open_engine: OpenEngine, tmp_path: Path, name: str) -> None:
    engine = open_engine()
    await chat(engine, "hello")
    saved = content(engine)
    files_before = tree(tmp_path)
    assert engine.save(name) == name
    assert tree(tmp_path) == files_before  # a row in the database, not a file
    assert [s["name"] for s in engine.list_snapshots()] == [name]
    await chat(engine, "and again")
    engine.load(name)
    assert content(engine) == saved
    engine.delete_snapshot(name)
    assert engine.list_snapshots() == []


async def test_loading_an_unknown_snapshot_is_snapshot_not_found(open_engine: OpenEngine) -> None:
    with pytest.raises(EngineError) as error:
        open_engine().load("never-saved")
    assert error.value.code == "snapshot_not_found"


async def test_snapshots_can_be_deleted(open_engine: OpenEngine) -> None:
    engine = open_engine()
    engine.save("one")
    engine.delete_snapshot("one")
    assert engine.list_snapshots() == []
    with pytest.raises(EngineError, match="snapshot_not_found"):
        engine.delete_snapshot("one")


async def test_undo_restores_state_relationship_and_memories_exactly(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "Hello there!", user="sam")
    clock.advance(60)
    before = content(engine)
    await chat(engine, "My dog is called Biscuit and he loves the beach.", user="sam")
    assert await engine.search_memory("Biscuit")
    result = engine.undo(user="sam")
    assert result.turn_index == 2
    assert result.memories_removed >= 1
    assert content(engine) == before
    assert await engine.search_memory("Biscuit") == []


async def test_undo_of_a_first_meeting_forgets_the_user(open_engine: OpenEngine) -> None:
    engine = open_engine()
    await chat(engine, "hello", user="newcomer")
    engine.undo(user="newcomer")
    assert exported(engine)["content"]["relationships"] == []


async def test_undo_with_no_turn_is_nothing_to_undo(open_engine: OpenEngine) -> None:
    with pytest.raises(EngineError) as error:
        open_engine().undo()
    assert error.value.code == "nothing_to_undo"


async def test_regenerate_rolls_back_and_keeps_earlier_reply_as_alternative(
        open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "Hello there!")
    original = await chat(engine, "Why does the moon glow at night?")
    again = await regenerate(engine)
    assert again.regenerated
    assert (again.turn_id, again.turn_index) == (original.turn_id, original.turn_index)
    assert again.vitals == original.vitals  # same message from the same state
    turns = exported(engine)["content"]["turns"]
    assert len(turns) == 2
    assert [a["reply"] for a in turns[1]["alternatives"]] == [original.response_text]
    assert engine.character_info()["turn_count"] == 2


async def test_undo_after_regenerate_after_undo_is_consistent(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    states = [content(engine)]
    for message in MESSAGES[:3]:
        await chat(engine, message, user="sam")
        clock.advance(20)
        states.append(content(engine))
    engine.undo(user="sam")             # back to after turn 2
    assert content(engine) == states[2]
    await regenerate(engine, user="sam") # turn 2 answered again from the state after turn 1
    engine.undo(user="sam")             # turn 2 gone: exactly the state after turn 1
    assert content(engine) == states[1]
    engine.undo(user="sam")
    assert content(engine) == states[0]
    with pytest.raises(EngineError, match="nothing_to_undo"):
        engine.undo(user="sam")


async def test_reset_preserving_memories_keeps_history_and_memories(
        open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "My dog is called Biscuit and he loves the beach.", user="sam")
    await chat(engine, "You are a stupid useless idiot and I hate you", user="sam")
    info = engine.reset(preserve_memories=True)
    export = exported(engine)["content"]
    assert len(export["turns"]) == 2
    assert export["memories"]
    assert export["relationships"] == []
    assert export["state"]["levels"] == sensitive_character().neurochemistry.baseline.as_dict()
    assert info["turn_count"] == 2
    with pytest.raises(EngineError, match="nothing_to_undo"):
        engine.undo(user="sam")  # the history was kept, the states it came from were not
    third = await chat(engine, "hello", user="sam")
    assert third.turn_index == 3


async def test_reset_without_memories_erases_history_and_memories(
        open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "My dog is called Biscuit and he loves the beach.", user="sam")
    engine.save("keep")
    info = engine.reset(preserve_memories=False)
    export = exported(engine)
    assert export["content"]["turns"] == []
    assert export["content"]["memories"] == []
    assert info["turn_count"] == 0
    assert [s["name"] for s in export["snapshots"]] == ["keep"]
    assert (await chat(engine, "hello")).turn_index == 1


async def test_export_import_reproduces_state_and_search(
        open_engine: OpenEngine, clock: ManualClock, tmp_path: Path) -> None:
    source = open_engine(sensitive_character(), data_dir=tmp_path / "a")
    for message in MESSAGES[:6]:
        await chat(source, message, user="sam")
        clock.advance(15)
    source.save("midway")
    await regenerate(source, user="sam")
    document = json.loads(json.dumps(exported(source)))  # through real JSON text
    CharacterEngine.import_document(document, data_dir=tmp_path / "b")
    copy = open_engine(sensitive_character(), data_dir=tmp_path / "b")
    assert content(copy) == content(source)
    assert copy.list_snapshots() == source.list_snapshots()
    assert copy.status().vitals == source.status().vitals
    assert await copy.search_memory("Biscuit dog") == await source.search_memory("Biscuit dog")
    copy.load("midway")
    source.load("midway")
    assert content(copy) == content(source)


async def test_import_refuses_a_newer_format_and_writes_nothing(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    document = exported(open_engine(data_dir=tmp_path / "a"))
    document["format_version"] = 99
    with pytest.raises(EngineError) as error:
        CharacterEngine.import_document(document, data_dir=tmp_path / "b")
    assert error.value.code == "unsupported_format"
    assert "99" in error.value.message
    assert not (tmp_path / "b").exists()


async def test_import_refuses_an_existing_character(
        open_engine: OpenEngine, tmp_path: Path) -> None:
    engine = open_engine(data_dir=tmp_path / "a")
    await chat(engine, "hello")
    before = db_files(tmp_path / "a")
    with pytest.raises(EngineError, match="already_exists"):
        CharacterEngine.import_document(exported(engine), data_dir=tmp_path / "a")
    assert before.keys() == db_files(tmp_path / "a").keys()


async def test_import_of_a_malformed_document_leaves_no_database(tmp_path: Path) -> None:
    document = {"format": "greenroom.character-history", "format_version": 1,
                "character_id": "broken", "content": {"state": None}}
    with pytest.raises(EngineError, match="bad_request"):
        CharacterEngine.import_document(document, data_dir=tmp_path)
    assert tree(tmp_path) == []
