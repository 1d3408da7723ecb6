"""Seed-era requests and responses: the compatibility contract of ``PROTOCOL.md``.

Field names, types and defaults here are frozen by clients written for the seed. Response
fields other than ``success`` are ``None`` where they do not apply and are still encoded (as
``null``), so a seed-era client that indexes ``response["vitals"]`` never hits a missing key.
The seed's free-form objects (``character_info``, ``vitals``, ...) stay ``dict[str, Any]``:
their inner shape belongs to the engine, not to the envelope.
"""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from protocol.envelope import Message, utc_now_iso

JsonObject = dict[str, Any]

MemorySearchLimit = Annotated[int, msgspec.Meta(ge=1, le=1000)]


class PingRequest(Message, tag="ping_request"):
    """Is the server there? Answered by ``ping_response``; needs no character."""


class PingResponse(Message, tag="ping_response"):
    """Answers ``ping_request``; ``server_time`` is the server's clock when it answered."""

    success: bool = True
    server_time: str = msgspec.field(default_factory=utc_now_iso)


class InitRequest(Message, tag="init_request"):
    """Attach this session to a character, starting its worker if needed.

    Never resets the character and never replaces it for other clients. ``character_config``
    and ``agent_config`` are accepted for seed compatibility but are not trusted to define a
    character.
    """

    character_id: str
    character_config: JsonObject | None = None
    agent_config: JsonObject | None = None


class InitResponse(Message, tag="init_response"):
    """Answers ``init_request``; ``character_info`` is filled on success."""

    success: bool = True
    character_name: str | None = None
    character_info: JsonObject | None = None
    error: str | None = None


class ChatRequest(Message, tag="chat_request"):
    """One user turn. ``stream`` and ``user`` are opt-in additions (seed clients omit them).

    With ``stream: true`` the server first sends ``chat_delta`` frames carrying this request's
    ``message_id``, then the final ``chat_response``. ``user`` names the speaker for per-user
    relationship state; ``None`` means the session's user (from ``hello``) or ``"user"``.

    ``keep_partial: true`` asks nothing of the LLM: it commits, as the reply to this same
    ``user_message``, the text that the previous answer's ``llm_incomplete`` (or
    ``timeout``) error carried in ``details.partial_text``. The kept turn says
    ``finish_reason: "incomplete"`` in ``generation_info`` and ``incomplete: true`` in
    ``response_metadata``. Without such a text it answers ``bad_request``.
    """

    user_message: str
    context: JsonObject | None = None
    stream: bool = False
    user: str | None = None
    keep_partial: bool = False


class ChatResponse(Message, tag="chat_response"):
    """Answers ``chat_request`` and ``regenerate_request``; ``response_text`` is the reply."""

    success: bool = True
    response_text: str | None = None
    character_insights: JsonObject | None = None
    response_metadata: JsonObject | None = None
    generation_info: JsonObject | None = None
    orchestration_summary: JsonObject | None = None
    cognitive_summary: JsonObject | None = None
    character_state_summary: JsonObject | None = None
    performance_info: JsonObject | None = None
    error: str | None = None


class StatusRequest(Message, tag="status_request"):
    """Read the attached character's state; the flags choose the optional parts."""

    include_vitals: bool = True
    include_history: bool = False
    include_performance: bool = False


class StatusResponse(Message, tag="status_response"):
    """Answers ``status_request``; ``character_summary`` and ``vitals`` are always filled on
    success, ``conversation_history``/``performance_stats`` when asked for."""

    success: bool = True
    character_summary: JsonObject | None = None
    vitals: JsonObject | None = None
    conversation_history: list[JsonObject] | None = None
    performance_stats: JsonObject | None = None
    error: str | None = None


class SaveRequest(Message, tag="save_request"):
    """Save a named snapshot. ``filename`` is a *name*, never a path (see ``check_snapshot_name``);
    ``None`` lets the server pick a timestamped name."""

    filename: str | None = None


class SaveResponse(Message, tag="save_response"):
    """Answers ``save_request``; ``filename`` is the snapshot name actually used."""

    success: bool = True
    filename: str | None = None
    error: str | None = None


class LoadRequest(Message, tag="load_request"):
    """Restore the attached character from the named snapshot."""

    filename: str


class LoadResponse(Message, tag="load_response"):
    """Answers ``load_request``; ``character_info`` describes the restored character."""

    success: bool = True
    character_info: JsonObject | None = None
    error: str | None = None


class ResetRequest(Message, tag="reset_request"):
    """Reset the character's state (vitals, relationships, turns); memories kept by default."""

    preserve_memories: bool = True


class ResetResponse(Message, tag="reset_response"):
    """Answers ``reset_request``; ``character_info`` describes the character after the reset."""

    success: bool = True
    character_info: JsonObject | None = None
    error: str | None = None


class MemorySearchRequest(Message, tag="memory_search_request"):
    """Search the character's memories; ``limit`` is 1..1000, default 5."""

    query: str
    limit: MemorySearchLimit = 5


class MemorySearchResponse(Message, tag="memory_search_response"):
    """Answers ``memory_search_request``; ``count == len(memories)``, best match first."""

    success: bool = True
    memories: list[JsonObject] = msgspec.field(default_factory=list)
    count: int = 0
    error: str | None = None


class ErrorResponse(Message, tag="error_response"):
    """Any failure. ``error_code`` is one of ``ErrorCode`` (kept ``str`` so a client decodes
    codes added later); ``error`` is text for a human; ``success`` is always false."""

    error: str
    error_code: str
    details: JsonObject | None = None
    success: bool = False
