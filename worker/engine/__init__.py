"""The character engine: what a character feels, how it answers, what it remembers.

Pure core: ``appraisal`` (message → stimulus, intent), ``vitals`` (levels, response, decay),
``mood``, ``relationship``, ``goals``, ``turn`` (one turn planned), ``prompt`` (chat
messages), ``report`` (status dicts). Edges: ``database`` (the character's SQLite database),
``snapshot_content`` (snapshot names, snapshot and export content).
Facade: ``character_engine.CharacterEngine``.
"""
