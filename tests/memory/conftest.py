from __future__ import annotations

import sqlite3
from collections.abc import Iterator

import pytest

# The engine's fixtures, for the memory tests that go through whole turns.
from tests.engine.conftest import clock, open_engine  # noqa: F401
from worker.memory.models import MemoryKind, NewMemory
from worker.memory.store import MemoryStore

NOW = 1_700_000_000.0
DAY = 86_400.0


def memory(
    text: str,
    *,
    kind: MemoryKind = "fact",
    importance: float = 0.5,
    valence: float = 0.0,
    created_at: float = NOW,
    turn_id: int = 1,
    user: str = "Sam",
    source: str = "",
) -> NewMemory:
    return NewMemory(
        text=text, kind=kind, importance=importance, valence=valence, created_at=created_at,
        turn_id=turn_id, user=user, source=source,
    )


@pytest.fixture
def conn() -> Iterator[sqlite3.Connection]:
    connection = sqlite3.connect(":memory:")
    yield connection
    connection.close()


@pytest.fixture
def store(conn: sqlite3.Connection) -> MemoryStore:
    return MemoryStore(conn)
