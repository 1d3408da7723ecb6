"""What a character remembers: every sentence said (episodes) and what the rules made of it,
found again over SQLite FTS5 (+ vectors) by questions in other words.

Public API: ``form_memories`` (pure), ``MemoryStore`` (the SQLite shell; never commits),
``migrate_memories`` (older memory tables → current), ``rewrite_query`` (pure), the values
``NewMemory``, ``StoredMemory``, ``MemoryHit``, and ``Ranking`` for the score formula's
parameters. See ``docs/memory.md``.
"""
