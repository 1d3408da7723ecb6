"""The one interface a chat front end talks to, remote or in-process.

``CharacterClient`` (over the gateway's WebSocket) and ``LocalCharacter`` (the worker's
``CharacterService`` in this process) both satisfy ``Character``, as one class
(``client.character.LinkedCharacter``) over two links; the REPL, the dashboard and
``--message`` are written once against it. Free-form payloads (``vitals``,
``character_summary``, memories) stay JSON objects: their inner shape belongs to the engine,
and ``client.vitals_view`` reads them tolerantly.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

from protocol.chat import GreetingResponse
from protocol.events import TurnEvent, VitalsEvent, WorkerStateEvent
from protocol.generation import GenerationSettings
from protocol.memories import MemoryEntry

if TYPE_CHECKING:
    from client.reply_stream import ReplyStream

JsonObject = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ChatReply:
    """A finished turn: the reply text and the state its answer carried — ``vitals`` the
    levels after the message, ``vitals_delta`` what the message changed, the mood (and the
    mood before, ``previous_mood``) — and
    ``metadata`` (turn id and index, generation, timings)."""

    text: str
    vitals: JsonObject | None = None
    mood: str | None = None
    metadata: JsonObject = field(default_factory=dict)
    vitals_delta: JsonObject | None = None
    mood_intensity: float | None = None
    previous_mood: str | None = None


@dataclass(frozen=True, slots=True)
class ReplyPhase:
    """Where a reply stands before its first token (a ``generation_status`` frame):
    ``queued``, ``reading_prompt`` or ``streaming``; ``elapsed_s`` as the server measured it."""

    phase: str
    elapsed_s: float = 0.0


@dataclass(frozen=True, slots=True)
class CharacterStatus:
    """The attached character's state; ``history``/``performance`` only when asked for
    (``history``: the newest 1000 turns at most, oldest first; one user's when the status
    named a ``history_user``)."""

    summary: JsonObject
    vitals: JsonObject
    history: list[JsonObject] | None = None
    performance: JsonObject | None = None


@dataclass(frozen=True, slots=True)
class TraceReport:
    """A turn and why it went as it did (``trace_response``): ``trace`` is the engine's
    trace of the turn's current reply (its layout: ``docs/engine.md``), ``None`` for a turn
    from before traces were stored."""

    turn_id: int
    turn_index: int
    user: str
    user_message: str
    created_at: str | None
    trace: JsonObject | None


@dataclass(frozen=True, slots=True)
class CharacterEntry:
    """One configured character and (remote only) its worker's state."""

    character_id: str
    name: str
    archetype: str | None = None
    description: str | None = None
    state: str = "stopped"


@dataclass(frozen=True, slots=True)
class PromptView:
    """A prompt as the backend got it for the user's last turn, or (``dry_run``) as their
    next message would send it. ``kept`` is ``False`` when there is none (``note`` says
    why). ``messages`` are ``{role, content}``; ``sections`` ``{name, tokens,
    message_index, trimmed, exchanges_kept, exchanges_available}``; ``budget`` the token
    budget and where its window came from; ``usage`` the server's counts for that turn;
    ``warnings`` ``{code, message}`` (``prompt_over_budget``); ``lorebook`` the entries that
    fired (``protocol.inspection.PromptLoreEntry``) within ``lorebook_budget_tokens``."""

    kept: bool
    dry_run: bool
    user: str | None = None
    turn_id: int | None = None
    backend: str | None = None
    model: str | None = None
    options: JsonObject = field(default_factory=dict)
    messages: list[JsonObject] = field(default_factory=list)
    sections: list[JsonObject] = field(default_factory=list)
    budget: JsonObject = field(default_factory=dict)
    usage: JsonObject | None = None
    warnings: list[JsonObject] = field(default_factory=list)
    note: str | None = None
    lorebook: list[JsonObject] = field(default_factory=list)
    lorebook_budget_tokens: int = 0


ConnectionPhase = Literal["connecting", "connected", "reconnecting", "back", "gone", "closed"]


@dataclass(frozen=True, slots=True)
class ConnectionEvent:
    """The client's own link to the server changed (never sent by a ``LocalCharacter``).

    ``attempt``/``max_attempts`` are set while ``connecting``/``reconnecting``; ``code`` is
    the error code of the failure that caused the change, when there was one.
    """

    phase: ConnectionPhase
    attempt: int = 0
    max_attempts: int = 0
    code: str | None = None
    detail: str | None = None


CharacterEvent = VitalsEvent | TurnEvent | WorkerStateEvent | ConnectionEvent
"""Everything ``Character.events()`` yields: the protocol's pushed events (for a local
character, ``vitals_event`` after each change it makes) and connection changes."""


class Character(Protocol):
    """A character to talk to. One chat or regenerate at a time per ``Character``.

    Every method raises ``client.errors.GreenroomError`` (or a subclass) with a stable code.
    """

    @property
    def character_id(self) -> str | None:
        """The attached character, ``None`` before ``attach``."""

    @property
    def mode(self) -> Literal["remote", "local"]: ...

    async def attach(self, character_id: str) -> JsonObject:
        """Attach to (or switch to) a character, never resetting it; returns its info."""

    async def list_characters(self) -> list[CharacterEntry]: ...

    async def chat(self, text: str, *, options: GenerationSettings | None = None) -> ChatReply:
        """One turn; returns the whole reply."""

    def chat_stream(self, text: str, *, keep_partial: bool = False,
                    options: GenerationSettings | None = None) -> ReplyStream:
        """One turn, streamed: iterate for text deltas. Nothing is sent until iteration
        starts; leaving the iteration early cancels the generation. ``keep_partial``:
        commit the cut-off reply of the last ``llm_incomplete`` answer to ``text`` instead.
        ``options``: this reply's generation settings over the character's (``/set``)."""

    def regenerate_stream(self, *, keep_partial: bool = False) -> ReplyStream:
        """Replace the last reply with a new one, streamed (``collect()`` for the whole);
        ``keep_partial`` as for ``chat_stream``."""

    async def cancel(self) -> bool:
        """Cancel the chat in flight; ``False`` when there was none."""

    async def undo(self) -> JsonObject:
        """Remove the last turn; returns the character info afterwards."""

    async def greet(self, index: int | None = None) -> GreetingResponse:
        """Open this user's conversation with the character's greeting ``index`` (``None``:
        its first message, and only when the conversation is empty), or replace the
        greeting that is all it holds; ``greeting`` is ``None`` when nothing was stored."""

    async def alternatives(self) -> list[JsonObject]:
        """The replies kept for the last turn, oldest first: ``index``, ``response_text``,
        ``created_at``, ``current``."""

    async def select_alternative(self, index: int) -> JsonObject:
        """Make reply ``index`` of the last turn the current one (state as it left it)."""

    async def status(
        self, *, include_history: bool = False, include_performance: bool = False,
        history_user: str | None = None, history_limit: int | None = None,
    ) -> CharacterStatus:
        """The character now; ``history_user`` keeps that user's turns alone in the
        history (their thread; ``None``: everyone's), ``history_limit`` the newest that
        many turns (``None``: the server's page size)."""

    async def search_memory(self, query: str, limit: int = 5) -> list[JsonObject]: ...

    async def memories(self, *, user: str | None = None,
                       kinds: Sequence[str] | None = None) -> list[MemoryEntry]:
        """Every memory of the character (only those about ``user``, of ``kinds``, when
        given), oldest first, fetched page by page."""

    async def memory(self, memory_id: int) -> MemoryEntry | None:
        """Memory ``memory_id``, ``None`` when there is none."""

    async def remember(self, text: str, *, kind: str = "fact",
                       importance: float | None = None) -> MemoryEntry:
        """Make the character remember ``text`` about this user; no undo removes it."""

    async def update_memory(self, memory_id: int, *, text: str | None = None,
                            kind: str | None = None,
                            importance: float | None = None) -> MemoryEntry:
        """Change the given fields of memory ``memory_id``; returns it as it now is."""

    async def forget(self, memory_id: int) -> MemoryEntry:
        """Delete memory ``memory_id``; returns it as it was (``memory_not_found`` when
        there is none)."""

    async def trace(self, turn_index: int | None = None) -> TraceReport:
        """Why turn ``turn_index`` (``None``: the newest) went as it did."""
    async def prompt(self, message: str | None = None, *,
                     options: GenerationSettings | None = None) -> PromptView:
        """The prompt this user's last turn sent, exactly as the backend got it; with
        ``message``, the prompt that message would send with the session's ``options``
        (a dry run: nothing is sent to the model, nothing changes)."""

    async def save(self, name: str | None = None) -> str:
        """Save a named snapshot; returns the name used."""

    async def load(self, name: str) -> JsonObject: ...

    async def reset(self, *, preserve_memories: bool = True) -> JsonObject: ...

    async def snapshots(self) -> list[JsonObject]: ...

    async def delete_snapshot(self, name: str) -> None: ...

    async def export(self, *, user: str | None = None) -> JsonObject:
        """The export document, decoded (held whole in memory; see ``export_text``)."""

    def export_text(self, *, user: str | None = None) -> AsyncIterator[str]:
        """The export document's JSON text in pieces, for any size of history: a streamed
        export checked chunk by chunk (``client.export_assembly``), remote and local alike.
        ``user``: that user's thread alone (their turns, relationship and memories, no
        snapshots)."""

    def events(self) -> AsyncIterator[CharacterEvent]:
        """Events from now on, until ``close()``. Each call is an independent subscriber."""

    async def close(self) -> None: ...
