"""A turn and what can be done with it: chat, streamed deltas, generation status,
cancel, undo, regenerate and the alternatives of a reply.

Seed-era messages here (``PROTOCOL.md``) are a compatibility contract: their field names,
types and defaults are frozen by clients written for the seed. Response fields other than
``success`` are ``None`` where they do not apply and are still encoded (as ``null``), so a
seed-era client that indexes ``response["vitals"]`` never hits a missing key. Newer
messages are opt-in: nothing is sent to a client that did not ask for it.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from protocol.declaration import Handling, request, response, stream_frame
from protocol.envelope import Message
from protocol.fields import JsonObject, NonNegativeInt
from protocol.generation import GenerationSettings
from protocol.turn_summary import (
    CharacterInsights,
    CharacterStateSummary,
    CognitiveSummary,
    GenerationInfo,
    PerformanceInfo,
    ResponseMetadata,
)


@request(answer="chat_response", handling=Handling.TURN, seed=True)
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

    ``options`` (opt-in) are this request's generation settings — temperature, top_p,
    max_tokens, model — over the character's own, for this reply only (``/set`` in the
    chat sends them with every message of the session).
    """

    user_message: str
    context: JsonObject | None = None
    stream: bool = False
    user: str | None = None
    keep_partial: bool = False
    options: GenerationSettings | None = None


@response(seed=True)
class ChatResponse(Message, tag="chat_response"):
    """Answers ``chat_request`` and ``regenerate_request``; ``response_text`` is the reply.

    A committed turn fills the six groups (``protocol.turn_summary``);
    ``orchestration_summary`` is the seed's and stays ``null``."""

    success: bool = True
    response_text: str | None = None
    character_insights: CharacterInsights | None = None
    response_metadata: ResponseMetadata | None = None
    generation_info: GenerationInfo | None = None
    orchestration_summary: JsonObject | None = None
    cognitive_summary: CognitiveSummary | None = None
    character_state_summary: CharacterStateSummary | None = None
    performance_info: PerformanceInfo | None = None
    error: str | None = None


@stream_frame
class ChatDelta(Message, tag="chat_delta"):
    """A piece of a streamed reply, ``message_id`` = the chat request's id.

    ``index`` counts deltas of one reply from 0; concatenating ``delta`` in index order gives
    the final ``chat_response.response_text``.
    """

    delta: str
    index: NonNegativeInt


GenerationPhase = Literal["queued", "reading_prompt", "streaming"]


@stream_frame
class GenerationStatus(Message, tag="generation_status"):
    """Where a streamed reply stands before its text arrives, ``message_id`` = the chat
    request's id; sent only for ``stream: true`` requests, at each change of ``phase``:

    * ``queued``: the turn waits behind another turn of the same character (the gateway);
    * ``reading_prompt``: the request went to the LLM server, which is queueing it, loading
      the model or reading the prompt (no token yet);
    * ``streaming``: the first token came (sent once, right after the first ``chat_delta``,
      so that it never delays it).

    ``elapsed_s``: seconds since the server started on the request (``queued``: 0).
    """

    phase: GenerationPhase
    elapsed_s: float = 0.0


@request(answer="cancel_response", handling=Handling.GATEWAY)
class CancelRequest(Message, tag="cancel_request"):
    """Cancel the in-flight chat/regenerate whose ``message_id`` is ``target_message_id``.

    The cancelled request itself answers ``error_response`` with code ``cancelled``.
    """

    target_message_id: str


@response()
class CancelResponse(Message, tag="cancel_response"):
    """Answers ``cancel_request``; ``success`` false (with ``error``) when nothing matched."""

    success: bool = True
    target_message_id: str | None = None
    error: str | None = None


@request(answer="undo_response", handling=Handling.TURN)
class UndoRequest(Message, tag="undo_request"):
    """Remove this session's user's last turn (user message and reply) from the character."""


@response()
class UndoResponse(Message, tag="undo_response"):
    """Answers ``undo_request``; ``character_info`` describes the character afterwards.
    ``vitals_restored`` is false when other users had chatted after the turn: the shared
    vitals and mood were left as they are, and ``reason`` says so."""

    success: bool = True
    character_info: JsonObject | None = None
    vitals_restored: bool = True
    reason: str | None = None
    error: str | None = None


@request(answer="greeting_response", handling=Handling.TURN)
class GreetingRequest(Message, tag="greeting_request"):
    """Open this session's user's conversation with the character's greeting (a card's
    ``first_mes``; ``index`` n: its n-th alternate greeting), stored as the first turn of
    the user's thread so it is in the history the model reads.

    Without ``index`` (a client starting a conversation) greeting 0 is stored only when the
    user's thread is empty, and nothing happens otherwise. With ``index`` the greeting is
    stored, or replaces the greeting when that is all the thread holds; ``bad_request``
    when the conversation has gone further or there is no such greeting."""

    index: NonNegativeInt | None = None


@response()
class GreetingResponse(Message, tag="greeting_response"):
    """Answers ``greeting_request``. ``greeting`` is the text now opening the user's thread
    (macros expanded), ``None`` when nothing was stored; ``index`` its number; ``count``
    how many greetings the character has (0: none); ``started`` true when the user's
    thread already held more than a greeting; ``replaced`` true when it took the place of
    an earlier greeting; ``turn_id`` the greeting's turn."""

    success: bool = True
    greeting: str | None = None
    index: int | None = None
    count: int = 0
    started: bool = False
    replaced: bool = False
    turn_id: int | None = None
    error: str | None = None


@request(answer="chat_response", handling=Handling.TURN)
class RegenerateRequest(Message, tag="regenerate_request"):
    """Replace this session's last reply with a new one; answered exactly like a chat
    (``chat_delta`` frames when ``stream``, then ``chat_response``). ``keep_partial`` as for
    ``chat_request``: the cut-off text of the last failed regenerate becomes the reply."""

    stream: bool = False
    keep_partial: bool = False


@request(answer="alternatives_response", handling=Handling.DIRECT)
class AlternativesRequest(Message, tag="alternatives_request"):
    """List every reply the attached character's last turn has had (it gains one per
    ``regenerate_request``), to pick one with ``select_alternative_request``."""


@response()
class AlternativesResponse(Message, tag="alternatives_response"):
    """Answers ``alternatives_request``. Each entry: ``index`` (int, 0 = the first reply, in
    the order produced), ``response_text``, ``created_at`` (ISO-8601) and ``current`` (bool;
    exactly one is true). Empty when there is no turn whose reply can change."""

    success: bool = True
    alternatives: list[JsonObject] = msgspec.field(default_factory=list)
    error: str | None = None


@request(answer="select_alternative_response", handling=Handling.TURN)
class SelectAlternativeRequest(Message, tag="select_alternative_request"):
    """Make reply ``index`` (from ``alternatives_response``) the last turn's current reply;
    the character's state, vitals, relationship and memories become exactly what they were
    when that reply was produced."""

    index: NonNegativeInt


@response()
class SelectAlternativeResponse(Message, tag="select_alternative_response"):
    """Answers ``select_alternative_request``; ``character_info`` describes the character
    afterwards."""

    success: bool = True
    character_info: JsonObject | None = None
    error: str | None = None
