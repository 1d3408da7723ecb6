"""Character databases with a long past, built in seconds instead of 20,000 chats.

One real turn goes through the engine (so every column holds what a turn really writes);
then copies of it, each with its own id, index and message, are inserted through the store's
own API (``CharacterDatabase.insert_turn``, ``put_snapshot``, ``write_state``) in one
transaction — the rows are exactly the kind the engine reads back, only many more of them.
"""

from __future__ import annotations

from pathlib import Path

import msgspec

from schemas.loader import load_character
from tests.support.paths import BUNDLED_CHARACTERS
from worker.backends.scripted import ScriptedBackend
from worker.engine import snapshot_content as hist
from worker.engine.character_engine import CharacterEngine
from worker.engine.database import CharacterDatabase, connect, database_path
from worker.engine.results import TurnResult
from worker.memory.store import MemoryStore

FIRST_MESSAGE = "Hello there! I spent the whole morning hiking up to the old lighthouse."


async def build_long_history(data_dir: Path, character_id: str, *, turns: int,
                             snapshots: int = 0) -> None:
    """Give ``character_id`` (a bundled character) ``turns`` turns and ``snapshots``
    snapshots (each holding the one-turn history, ``snap-00000``… in creation order)."""
    character = load_character(character_id, BUNDLED_CHARACTERS).character
    backend = ScriptedBackend()
    engine = CharacterEngine.open(character, data_dir=data_dir, backend=backend)
    try:
        results = [event async for event in engine.chat(FIRST_MESSAGE)
                   if isinstance(event, TurnResult)]
        assert len(results) == 1
    finally:
        engine.close()
        await backend.aclose()
    conn = connect(database_path(data_dir, character_id))
    try:
        db = CharacterDatabase(conn, character_id=character_id)
        template, state = db.last_turn(), db.read_state()
        assert template is not None and state is not None
        one_turn = hist.dumps_content(db, MemoryStore(conn))
        with db.transaction():
            for index in range(2, turns + 1):
                db.insert_turn(msgspec.structs.replace(
                    template, id=index, turn_index=index,
                    user_message=f"{index}: {template.user_message}",
                    created_at=template.created_at + index))
            db.write_state(msgspec.structs.replace(state, turn_count=turns))
            for number in range(snapshots):
                db.put_snapshot(f"snap-{number:05d}", created_at=template.created_at + number,
                                content=one_turn)
    finally:
        conn.close()
