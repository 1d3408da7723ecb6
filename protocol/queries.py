"""Reading a character without changing it: status, memory search and the list of
configured characters.

Seed-era messages here (``PROTOCOL.md``) are a compatibility contract: their field names,
types and defaults are frozen by clients written for the seed. Response fields other than
``success`` are ``None`` where they do not apply and are still encoded (as ``null``), so a
seed-era client that indexes ``response["vitals"]`` never hits a missing key. Newer
messages are opt-in: nothing is sent to a client that did not ask for it.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from protocol.declaration import Handling, request, response
from protocol.envelope import Message
from protocol.fields import MAX_PAGE_SIZE, JsonObject, PageLimit, PageOffset
from protocol.states import WorkerState


@request(answer="status_response", handling=Handling.DIRECT, seed=True)
class StatusRequest(Message, tag="status_request"):
    """Read the attached character's state; the flags choose the optional parts.

    ``conversation_history`` is one page of turns, oldest first: ``history_limit`` turns
    (1..1000, default 1000) from ``history_offset``; without an offset, the newest page.
    ``history_user`` keeps one user's thread: only the turns that user wrote, and the
    offsets and totals count those turns alone (``None``: every user's turns). All three are
    opt-in additions (seed clients omit them and get the newest 1000 turns of everyone).
    """

    include_vitals: bool = True
    include_history: bool = False
    include_performance: bool = False
    history_offset: PageOffset | None = None
    history_limit: PageLimit = MAX_PAGE_SIZE
    history_user: str | None = None


@response(seed=True)
class StatusResponse(Message, tag="status_response"):
    """Answers ``status_request``; ``character_summary`` and ``vitals`` are always filled on
    success, ``conversation_history``/``performance_stats`` when asked for.

    With history: ``history_total`` counts every turn (of ``history_user``, when the
    request named one), ``history_offset`` is the offset of
    the page's first turn and ``history_next_offset`` that of the next page (``None`` when
    this page ends with the newest turn)."""

    success: bool = True
    character_summary: JsonObject | None = None
    vitals: JsonObject | None = None
    conversation_history: list[JsonObject] | None = None
    performance_stats: JsonObject | None = None
    history_total: int | None = None
    history_offset: int | None = None
    history_next_offset: int | None = None
    error: str | None = None


MemorySearchLimit = Annotated[int, msgspec.Meta(ge=1, le=1000)]


@request(answer="memory_search_response", handling=Handling.DIRECT, seed=True)
class MemorySearchRequest(Message, tag="memory_search_request"):
    """Search the character's memories; ``limit`` is 1..1000, default 5."""

    query: str
    limit: MemorySearchLimit = 5


@response(seed=True)
class MemorySearchResponse(Message, tag="memory_search_response"):
    """Answers ``memory_search_request``; ``count == len(memories)``, best match first."""

    success: bool = True
    memories: list[JsonObject] = msgspec.field(default_factory=list)
    count: int = 0
    error: str | None = None


class CharacterListing(msgspec.Struct, kw_only=True):
    """One configured character and its worker's state."""

    character_id: str
    name: str
    archetype: str | None = None
    description: str | None = None
    state: WorkerState = "stopped"


@request(answer="characters_response", handling=Handling.GATEWAY)
class CharactersRequest(Message, tag="characters_request"):
    """List the configured characters, sorted by ``character_id``, one page at a time
    (``limit`` at most 1000, the default, from ``offset``); needs no ``init_request``."""

    offset: PageOffset = 0
    limit: PageLimit = MAX_PAGE_SIZE


@response()
class CharactersResponse(Message, tag="characters_response"):
    """Answers ``characters_request``, sorted by ``character_id``; ``total`` counts every
    configured character, ``next_offset`` is the next page's offset (``None``: the last)."""

    success: bool = True
    characters: list[CharacterListing] = msgspec.field(default_factory=list)
    total: int | None = None
    next_offset: int | None = None
    error: str | None = None


def characters_page(request: CharactersRequest,
                    listed: list[CharacterListing]) -> CharactersResponse:
    """The page of ``listed`` (every configured character file, sorted; a broken one
    ``failed``) that ``request`` asks for: the gateway and local mode answer with it."""
    end = request.offset + request.limit
    return CharactersResponse(message_id=request.message_id,
                              characters=listed[request.offset:end], total=len(listed),
                              next_offset=end if end < len(listed) else None)
