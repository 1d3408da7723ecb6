"""What a character remembers: formation from turns, and search over SQLite FTS5 (+ vectors).

Public API: ``form_memories`` (pure), ``MemoryStore`` (the SQLite shell; never commits),
the values ``NewMemory``, ``StoredMemory``, ``MemoryHit``, and ``Ranking`` for the score
formula's parameters. See ``docs/memory.md``.
"""
