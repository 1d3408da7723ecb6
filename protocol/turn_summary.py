"""What a ``chat_response`` tells about its turn, besides the reply: six typed groups under
the seed's field names (``character_insights``, ``response_metadata``, ``generation_info``,
``cognitive_summary``, ``character_state_summary``, ``performance_info``).

Every field is encoded, ``null`` where it does not apply. Decoding ignores fields it does not
know, so a client reads the answer of a newer server that reports more; enumerations
(``finish_reason``, ``intent``, a mood) are plain strings for the same reason.
"""

from __future__ import annotations

import msgspec


class CharacterInsights(msgspec.Struct, frozen=True, kw_only=True):
    """``character_insights``: the mood the character answered in (``mood_intensity`` 0…1)
    and the intent read in the user's message (``greeting``, ``question``, ``hostile``, …)."""

    mood: str
    mood_intensity: float
    intent: str


class ResponseMetadata(msgspec.Struct, frozen=True, kw_only=True):
    """``response_metadata``: which turn this is. ``turn_id`` is stable (what undo and
    regenerate act on), ``turn_index`` the 1-based position in the conversation; ``user`` the
    speaker. ``regenerated``: the answer replaced an earlier reply; ``incomplete``: a
    cut-off reply kept with ``keep_partial``; ``vitals_reappraised``: false for another reply
    to a turn others have answered after (the state was not touched)."""

    turn_id: int
    turn_index: int
    user: str
    regenerated: bool
    incomplete: bool
    vitals_reappraised: bool


class GenerationInfo(msgspec.Struct, frozen=True, kw_only=True):
    """``generation_info``: the LLM's report. ``finish_reason`` is ``stop``, ``length``,
    ``cancelled`` or ``incomplete``; ``usage_source`` ``reported`` (the server's counts) or
    ``counted`` (a server that sent none: ``completion_tokens`` is the number of streamed
    deltas). Counts and durations (seconds) are ``null`` when not known; ``extra`` holds what
    a backend reports beyond them (Ollama's load and eval durations, its ``done_reason``)."""

    backend: str
    model: str
    finish_reason: str
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    duration_s: float | None = None
    tokens_per_s: float | None = None
    usage_source: str
    extra: dict[str, float | int | str] = msgspec.field(default_factory=dict)


class MessageAppraisal(msgspec.Struct, frozen=True, kw_only=True):
    """How the user's message was read: the stimulus axes (``valence`` −1…1, the rest 0…1),
    the intent and the sentiment analyser's raw compound score (−1…1)."""

    valence: float
    arousal: float
    warmth: float
    threat: float
    curiosity: float
    humour: float
    intent: str
    sentiment: float


class PromptMemory(msgspec.Struct, frozen=True, kw_only=True):
    """A memory the turn's prompt was given: its id, text, search score and the turn that
    formed it."""

    id: int
    text: str
    score: float
    turn_id: int


class CognitiveSummary(msgspec.Struct, frozen=True, kw_only=True):
    """``cognitive_summary``: the message's appraisal, the memories the prompt was given and
    the texts of the memories this turn formed."""

    appraisal: MessageAppraisal
    memories_used: list[PromptMemory]
    memories_formed: list[str]


class CharacterStateSummary(msgspec.Struct, frozen=True, kw_only=True):
    """``character_state_summary``: the six vitals levels (0–100, by name) after the
    message, what the message changed (``vitals_delta``, by name; empty when the state was
    not touched), the mood, and ``previous_mood``, the mood before the message (an
    addition: ``None`` from a server that predates it)."""

    vitals: dict[str, float]
    vitals_delta: dict[str, float]
    mood: str
    previous_mood: str | None = None


class PerformanceInfo(msgspec.Struct, frozen=True, kw_only=True):
    """``performance_info``: the turn's phases in milliseconds of wall-clock time
    (``appraisal``, ``memory_search``, ``prompt``, ``first_token``, ``generation``,
    ``commit``, ``total``; a phase the turn did not go through is absent)."""

    timings_ms: dict[str, float]
