"""The character engine: what a character feels, how it answers, what it remembers.

Pure core: ``appraisal`` (message → stimulus, intent), ``vitals`` (levels, response, decay),
``mood``, ``relationship``, ``goals``, ``turn`` (one turn planned), ``prompt`` (chat
messages), ``report`` (status dicts). Edges: ``store`` (SQLite), ``history`` (snapshot and
export content). Facade: ``character_engine.CharacterEngine``.
"""

from worker.engine.character_engine import CharacterEngine
from worker.engine.errors import EngineError
from worker.engine.results import StatusReport, TurnResult, UndoResult

__all__ = ["CharacterEngine", "EngineError", "StatusReport", "TurnResult", "UndoResult"]
