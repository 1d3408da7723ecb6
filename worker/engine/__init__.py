"""The character engine: what a character feels, how it answers, what it remembers.

Pure core: ``appraisal`` (message → stimulus, intent), ``vitals`` (levels, response, decay),
``mood``, ``relationship``, ``goals``, ``turn_prepare`` (one turn planned, its prompt),
``prompt`` (chat messages), ``report`` (status dicts). Stored records (msgspec Structs,
``canonical`` JSON): ``state``, ``turn_record``, ``turn_rows``, ``snapshot_content``.
Edges: ``database`` (the character's SQLite database, ``database_schema``),
``export_stream``. Steps over an ``open_character``: ``turn_stream`` (with
``turn_commit``), ``alternatives``, ``snapshots``, ``status``.
Facade: ``character_engine.CharacterEngine``.
"""
