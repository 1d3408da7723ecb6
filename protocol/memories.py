"""People managing what a character remembers: list its memories, add one, correct one,
forget one.

All opt-in (no seed-era client sends them). Adding, updating and deleting change the
character, so the gateway queues them behind its turns (``Handling.TURN``); listing only
reads and is answered at once. A memory someone added (``add_memory_request``) belongs to no
turn (``turn_id`` ``None``, ``remembered`` true): no undo, regenerate or reply choice removes
it — only ``delete_memory_request``, a reset that wipes memories, or loading a snapshot
taken before it. Snapshots and exports carry every memory, added ones included.

Errors: ``memory_not_found`` (no memory has that id), ``memory_empty`` (a text that is only
whitespace), ``memory_too_long`` (over ``MAX_MEMORY_CHARS``; ``details.max_chars`` and
``details.length``); an unknown ``kind`` is a ``bad_request``.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec

from protocol.declaration import Handling, request, response
from protocol.envelope import Message
from protocol.fields import MAX_PAGE_SIZE, PageLimit, PageOffset

MAX_MEMORY_CHARS: Final = 2000
"""The longest memory text a person may add or write (characters, after stripping)."""

MemoryId = Annotated[int, msgspec.Meta(ge=1)]
Importance = Annotated[float, msgspec.Meta(ge=0.0, le=1.0)]


class MemoryEntry(msgspec.Struct, kw_only=True):
    """One memory as a person sees it.

    ``kind`` is ``fact``, ``preference``, ``promise``, ``question``, ``emotion`` or
    ``summary`` (the engine may know more; a client shows what it gets). ``importance`` is in
    0..1, ``valence`` in -1..1, ``created_at`` in unix seconds. ``turn_id`` is the turn that
    formed it, ``None`` when a person added it (then ``remembered`` is true)."""

    id: int
    text: str
    kind: str
    importance: float
    valence: float
    user: str
    created_at: float
    turn_id: int | None
    remembered: bool


@request(answer="memories_response", handling=Handling.DIRECT)
class MemoriesRequest(Message, tag="memories_request"):
    """List the attached character's memories, oldest first, one page at a time: entries
    ``offset`` .. ``offset + limit - 1`` (``limit`` at most 1000, the default). ``user``:
    only the memories about that user. ``kinds``: only memories of those kinds (e.g.
    ``["fact", "preference"]``; ``message`` and ``reply`` are the sentences said word for
    word; an unknown kind is a ``bad_request``). ``memory_id``: only that memory (an empty
    page when there is none)."""

    offset: PageOffset = 0
    limit: PageLimit = MAX_PAGE_SIZE
    user: str | None = None
    kinds: Annotated[list[str], msgspec.Meta(max_length=16)] | None = None
    memory_id: MemoryId | None = None


@response()
class MemoriesResponse(Message, tag="memories_response"):
    """Answers ``memories_request``; ``total`` counts every memory the filters let through,
    ``next_offset`` is the next page's ``offset`` (``None``: this page is the last)."""

    success: bool = True
    memories: list[MemoryEntry] = msgspec.field(default_factory=list)
    total: int | None = None
    next_offset: int | None = None
    error: str | None = None


@request(answer="add_memory_response", handling=Handling.TURN)
class AddMemoryRequest(Message, tag="add_memory_request"):
    """Make the character remember ``text`` (stored as written, stripped), about ``user``
    (``None``: this session's user), of ``kind`` (default ``fact``) and ``importance``
    (default 0.9: someone asked for it to be kept). Found by ``memory_search_request`` at
    once."""

    text: str
    kind: str = "fact"
    importance: Importance = 0.9
    user: str | None = None


@response()
class AddMemoryResponse(Message, tag="add_memory_response"):
    """Answers ``add_memory_request`` with the memory as stored (its new ``id``)."""

    success: bool = True
    memory: MemoryEntry | None = None
    error: str | None = None


@request(answer="update_memory_response", handling=Handling.TURN)
class UpdateMemoryRequest(Message, tag="update_memory_request"):
    """Change memory ``memory_id``: each field given replaces the stored one, ``None`` keeps
    it. A new text is searched from then on (and embedded anew when there is an embedder).
    The memory keeps its id, its turn and its time, so undoing the turn that formed it still
    removes it."""

    memory_id: MemoryId
    text: str | None = None
    kind: str | None = None
    importance: Importance | None = None


@response()
class UpdateMemoryResponse(Message, tag="update_memory_response"):
    """Answers ``update_memory_request`` with the memory as it now is."""

    success: bool = True
    memory: MemoryEntry | None = None
    error: str | None = None


@request(answer="delete_memory_response", handling=Handling.TURN)
class DeleteMemoryRequest(Message, tag="delete_memory_request"):
    """Forget memory ``memory_id``: it is no longer searched, listed or put in a prompt, and
    stays gone after a restart. Snapshots taken before keep it (loading one brings it back)."""

    memory_id: MemoryId


@response()
class DeleteMemoryResponse(Message, tag="delete_memory_response"):
    """Answers ``delete_memory_request`` with the memory that was forgotten."""

    success: bool = True
    memory: MemoryEntry | None = None
    error: str | None = None
