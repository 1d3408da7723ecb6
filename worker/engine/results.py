"""What the engine hands back: a turn stream's events, turn results, undo results, status
reports. A turn result carries the turn's typed records (``turn_record``'s appraisal and
memories, the backend's ``GenerationDone``) for the service to shape into the protocol's
groups once; everything else is plain JSON-able values (dicts, lists, str, float, int,
None)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from worker.backends.base import GenerationDone, TextDelta
from worker.engine.turn_record import AppraisalRecord, MemoryUsed


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Where a page of ``conversation_history`` sits: ``total`` turns, the page's first at
    ``offset`` (from the oldest), the next page at ``next_offset`` (``None``: none after)."""

    total: int
    offset: int
    next_offset: int | None


@dataclass(frozen=True, slots=True)
class GenerationStarted:
    """Yielded by a turn stream the moment its request goes to the LLM (the prompt is built):
    from here until the first ``TextDelta`` the server is queueing and reading the prompt."""


@dataclass(frozen=True, slots=True)
class PartialReply:
    """What the last failed generation streamed before it was cut off, kept until the next
    turn (or undo/reset/load/select) so ``keep_partial`` can commit it as the reply."""

    user: str
    user_message: str
    regenerating_turn_id: int | None
    text: str
    backend: str


@dataclass(frozen=True, slots=True)
class TurnResult:
    """The committed turn: yielded only after its transaction has committed.

    ``turn_id`` is the database id (stable; what undo/regenerate act on); ``turn_index`` is
    the 1-based position in the conversation. ``appraisal`` is the message's, as the turn
    recorded it. ``vitals`` are the levels after the message, ``vitals_delta`` what this
    message changed (both by level name); ``previous_mood`` is the mood before it.
    ``generation`` is the backend's report.
    ``memories_used`` are the memories given to the prompt, ``memories_formed`` the texts
    this turn stored. ``timings_ms`` are wall-clock phase durations in milliseconds, the
    commit included.
    """

    response_text: str
    turn_id: int
    turn_index: int
    user: str
    appraisal: AppraisalRecord
    intent: str
    mood: str
    mood_intensity: float
    previous_mood: str
    vitals: dict[str, float]
    vitals_delta: dict[str, float]
    generation: GenerationDone
    memories_used: tuple[MemoryUsed, ...]
    memories_formed: tuple[str, ...]
    timings_ms: dict[str, float]
    regenerated: bool = False
    #: ``False`` for another reply to a turn others have answered after: the message kept its
    #: appraisal and the state was not touched (``vitals`` are the current ones, the delta
    #: empty).
    vitals_reappraised: bool = True


#: What a turn stream (``CharacterEngine.chat``/``regenerate``) yields.
TurnStreamEvent = GenerationStarted | TextDelta | TurnResult


@dataclass(frozen=True, slots=True)
class UndoResult:
    """The turn that was removed and the state the character is back in."""

    turn_id: int
    turn_index: int
    user: str
    user_message: str
    response_text: str
    memories_removed: int
    mood: str
    mood_intensity: float
    vitals: dict[str, float]
    #: ``False`` when others had spoken after the turn: the shared state was left as it is
    #: (``reason`` says why); ``True`` when it returned exactly to before the turn.
    vitals_restored: bool = True
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class StatusReport:
    """The ``status_response`` payload; a part not asked for is ``None``."""

    character_summary: dict[str, Any]
    vitals: dict[str, Any] | None
    conversation_history: list[dict[str, Any]] | None
    performance_stats: dict[str, Any] | None
    history_page: HistoryPage | None = None
