"""The status report of an open character: the vitals decayed to the clock's time, the
summary, one page of history and the performance figures (``status_response``).

Reads only: it changes nothing, so it works while a reply streams (the streaming turn is
not in it until it commits). The pure shaping is ``worker.engine.report``'s.
"""

from __future__ import annotations

from typing import Final

from worker.engine import report
from worker.engine.open_character import OpenCharacter
from worker.engine.relationship import Relationship
from worker.engine.results import HistoryPage, StatusReport
from worker.engine.turn_prepare import current_mood, current_vitals

#: Turns the performance figures are computed over, the newest.
PERFORMANCE_WINDOW: Final = 100


def status_report(c: OpenCharacter, *, include_vitals: bool, include_history: bool,
                  include_performance: bool, user: str, history_offset: int | None,
                  history_limit: int, history_user: str | None = None) -> StatusReport:
    """The character as of now, as ``user`` sees it. The history is ``history_limit``
    turns from ``history_offset`` (counted from the oldest), or the newest
    ``history_limit`` without an offset — of ``history_user``'s thread alone when one is
    named (offsets and total then count that user's turns); a part not asked for is
    ``None``."""
    now = c.clock()
    current = current_vitals(c.model, c.state, now)
    mood = current_mood(c.model, c.state, now)
    summary = report.character_summary(
        c.character, mood, c.db.relationship(user) or Relationship(user=user),
        turn_count=c.state.turn_count, memory_count=c.memory.count(), backend=c.backend.name,
        relationships=c.db.relationships(),
    )
    history = page = None
    if include_history:
        total = c.db.turn_count(user=history_user)
        start = max(total - history_limit, 0) if history_offset is None else history_offset
        turns = c.db.turns_page(start, history_limit, user=history_user)
        history = report.conversation_history(
            turns, c.db.alternative_counts([t.id for t in turns]))
        end = start + len(turns)
        page = HistoryPage(total=total, offset=start, next_offset=end if end < total else None)
    return StatusReport(
        character_summary=summary,
        vitals=(report.vitals_report(c.model, c.state, current, mood, now=now)
                if include_vitals else None),
        conversation_history=history,
        performance_stats=(report.performance_stats(c.db.recent_turns(PERFORMANCE_WINDOW))
                           if include_performance else None),
        history_page=page,
    )
