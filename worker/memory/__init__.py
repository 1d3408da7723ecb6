"""What a character remembers: formation from turns, and search over SQLite FTS5 (+ vectors).

Public API: ``form_memories`` (pure), ``MemoryStore`` (the SQLite shell; never commits),
the values ``NewMemory``, ``StoredMemory``, ``MemoryHit``, and ``Ranking`` for the score
formula's parameters. See ``docs/memory.md``.
"""

from worker.memory.errors import InvalidMemory
from worker.memory.formation import form_memories
from worker.memory.models import MemoryHit, MemoryKind, NewMemory, StoredMemory
from worker.memory.ranking import Ranking, RankingWeights
from worker.memory.store import MemoryStore

__all__ = [
    "InvalidMemory",
    "MemoryHit",
    "MemoryKind",
    "MemoryStore",
    "NewMemory",
    "Ranking",
    "RankingWeights",
    "StoredMemory",
    "form_memories",
]
