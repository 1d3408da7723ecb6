"""``CharacterEngine``: the character as a worker hosts it — the facade over the pure core
(appraisal, vitals, mood, relationship, prompt) and its two edges (the SQLite database and
the LLM backend).

Promises:

* **Acknowledged ⇒ durable.** A turn (user message, reply, appraisal, vitals after, memories
  formed) and the new state are committed in one transaction *before* its ``TurnResult`` is
  yielded. Closing or cancelling a ``chat`` stream before that commits nothing: the vitals,
  relationship and memories are exactly as before.
* **One turn at a time.** A second ``chat``/``regenerate`` (or ``undo``/
  ``select_alternative``/``load``/``reset``/``add_memory``/``update_memory``/
  ``delete_memory``) while a turn streams raises ``EngineError("busy")``; ``status``,
  ``trace``, ``search_memory``, ``memories``, ``alternatives``, ``save``,
  ``list_snapshots`` and ``character_info`` work meanwhile (``save`` stores the last
  committed state: the streaming turn is not in it), and so does ``prompt``. The engine
  lives on one asyncio loop and no database transaction spans an ``await``.
* **Undo is per user.** ``undo``, ``regenerate``, ``alternatives`` and
  ``select_alternative`` act on the last turn *of the user who asks* (their thread), never
  on another user's, also when other users have spoken since. The vitals and mood are one
  body: they are rolled back (or re-appraised) only when that turn is also the character's
  last one; after a turn that others have answered after, they stay as they are (later
  turns built on them) and only the turn, its memories, its alternatives and the user's
  own relationship change.
* **Resumes.** ``open`` continues from the last committed state.
* **Bounded turns.** ``chat`` refuses a message over ``max_message_chars`` with
  ``EngineError("message_too_long")`` before touching anything, and every step of a turn
  costs time linear in the message's length. The pure steps (appraisal, prompt, memory
  formation) run in a thread, so the worker's event loop answers heartbeats and other
  requests while they compute; database work stays on the loop's thread.

The steps live in their own modules: ``turn_stream`` (a turn: ``turn_prepare`` then
``turn_commit``), ``alternatives`` (undo, replies, select), ``snapshots`` (save, load,
reset, export, import). The engine does not own the backend: ``close()`` closes the
database, the caller closes the backend it passed in.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable, Generator, Sequence
from pathlib import Path
from typing import Any

import structlog

from protocol.fields import MAX_PAGE_SIZE
from protocol.generation import GenerationSettings
from protocol.message_limit import check_message_length
from runtime.settings import DEFAULT_MAX_MESSAGE_CHARS, ModelMemoryMode
from schemas.lorebook import Lorebook
from schemas.lorebook_formats import character_lorebooks
from schemas.model import Character
from worker.backends.base import Backend, Embedder, GenerationOptions
from worker.engine import (
    alternatives,
    greetings,
    memory_edits,
    model_memory,
    prompt_inspection,
    snapshots,
)
from worker.engine.database import CharacterDatabase, connect, database_path
from worker.engine.errors import BAD_REQUEST, BUSY, MESSAGE_TOO_LONG, EngineError
from worker.engine.greetings import GreetingResult
from worker.engine.model_memory import ModelMemories
from worker.engine.model_memory_text import ModelMemoryPlan, plan_model_memory
from worker.engine.open_character import OpenCharacter
from worker.engine.prompt_budget import PromptLimits
from worker.engine.prompt_inspection import PromptReport
from worker.engine.prompt_store import PromptStore
from worker.engine.results import StatusReport, TurnStreamEvent, UndoResult
from worker.engine.snapshot_content import validate_snapshot_name
from worker.engine.state import EngineState
from worker.engine.status import status_report
from worker.engine.trace_lookup import StoredTrace, trace_of
from worker.engine.turn_stream import run_turn
from worker.engine.vitals import VitalsModel
from worker.engine.world_info import WorldInfo
from worker.memory.models import MemoryHit, StoredMemory
from worker.memory.store import MemoryStore

log = structlog.get_logger()


class CharacterEngine:
    """One character: its state, history, memories and the backend that voices it."""

    def __init__(self, character: Character, *, max_message_chars: int,
                 parts: OpenCharacter) -> None:
        """Use ``open``; this wires an already-opened character."""
        self.character = character
        self._c = parts
        self._max_message_chars = max_message_chars
        self._turn_in_progress = False

    # -- lifecycle -----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        character: Character,
        *,
        data_dir: Path,
        backend: Backend,
        clock: Callable[[], float] = time.time,
        half_life_s: float = 600.0,
        prompt_limits: PromptLimits = PromptLimits(),  # noqa: B008 - frozen, shared safely
        options: GenerationOptions = GenerationOptions(),  # noqa: B008 - frozen, shared safely
        embedder: Embedder | None = None,
        max_message_chars: int = DEFAULT_MAX_MESSAGE_CHARS,
        shared_lorebooks: Sequence[tuple[str, Lorebook]] = (),
    ) -> CharacterEngine:
        """Open (or create) the character's database under ``data_dir`` and resume from its
        last committed state. ``clock`` returns unix seconds; ``half_life_s`` is the vitals
        decay half-life; ``prompt_limits`` the settings of the prompt budget (see
        ``worker.engine.prompt_budget``); ``max_message_chars`` is the longest ``chat``
        message accepted; ``shared_lorebooks`` the shared books (name, book) the character
        file names under ``lorebooks:``, compiled with its own (``world_info``)."""
        world_info = WorldInfo.compile(character_lorebooks(character, shared_lorebooks),
                                       char=character.name)
        for problem in world_info.problems:
            log.warning("lorebook_key_unusable", book=problem.book, entry=problem.index,
                        key=problem.key, detail=problem.why)
        conn = connect(database_path(data_dir, character.id))
        try:
            db = CharacterDatabase(conn, character_id=character.id)
            memory = MemoryStore(conn, embedder=embedder)
            model = VitalsModel.for_character(character, half_life_s=half_life_s)
            state = db.read_state()
            if state is None:
                state = EngineState.initial(character, now=clock())
                with db.transaction():
                    db.write_state(state)
            prompts = PromptStore(conn)
            parts = OpenCharacter(character=character, db=db, memory=memory, backend=backend,
                                  clock=clock, model=model, limits=prompt_limits,
                                  options=options, state=state, prompts=prompts,
                                  calibrations=prompts.calibrations(),
                                  world_info=world_info)
            return cls(character, max_message_chars=max_message_chars, parts=parts)
        except BaseException:
            conn.close()
            raise

    def close(self) -> None:
        """Close the database. Committed turns are already durable; nothing is flushed here."""
        self._c.db.conn.close()

    # -- turns ---------------------------------------------------------------------------

    async def chat(self, user_message: str, *, user: str = "user", keep_partial: bool = False,
                   options: GenerationSettings | None = None,
                   ) -> AsyncGenerator[TurnStreamEvent, None]:
        """Stream the reply to ``user_message``: ``GenerationStarted`` when the request goes
        to the LLM, ``TextDelta``s, then one ``TurnResult`` after the turn is committed.
        Raises ``EngineError("busy")`` when a turn is already in progress,
        ``EngineError("message_too_long")`` for a message over ``max_message_chars``,
        ``BackendError`` (``.code``) when the backend fails — then nothing is committed, and
        what streamed before the failure is in ``details["partial_text"]``.

        ``keep_partial``: do not ask the LLM; commit what the last failed generation of this
        same message (and user) streamed as the reply, marked ``finish_reason: incomplete``
        in its generation record. ``EngineError("bad_request")`` when there is no such text.

        ``options``: this reply's generation settings over the character's (a session's
        ``/set``); recorded in the turn's trace, never written to the character file.
        """
        too_long = check_message_length(user_message, self._max_message_chars)
        if too_long is not None:
            raise EngineError(MESSAGE_TOO_LONG, too_long.text(self.character.id),
                              too_long.details())
        self._begin_turn()
        try:
            async for event in run_turn(self._c, user_message, user=user, regenerating=None,
                                        keep_partial=keep_partial, settings=options):
                yield event
        finally:
            self._turn_in_progress = False

    async def regenerate(self, *, user: str = "user", keep_partial: bool = False
                         ) -> AsyncGenerator[TurnStreamEvent, None]:
        """Answer ``user``'s last turn's message again.

        The turn keeps its id, index, user and message; its earlier reply is kept as an
        alternative together with what it left behind (state, relationship, memories), so
        ``select_alternative`` can bring it back exactly. Memories the old reply formed are
        replaced. The backend is asked for the next ``ReplyContext.variant`` (the number of
        replies the turn already has); the prompt has the history before the turn.
        ``keep_partial`` as for ``chat``: the cut-off text of the last failed regenerate of
        this turn becomes its new reply. The new reply runs with the session settings the
        current one ran with (its trace's ``generation.session``).

        When the turn is the character's last, the state is rolled back to before it and the
        message appraised again now. When others have spoken since, the turn is appraised
        again at its own time (``created_at``, which the new reply keeps) — the same
        appraisal, vitals and mood it had — and the character's state now is not touched:
        the result carries the current vitals, an empty ``vitals_delta`` and
        ``vitals_reappraised=False``. Raises ``EngineError("nothing_to_undo")`` when
        ``user`` has no turn to regenerate.
        """
        self._begin_turn()
        try:
            last = self._c.users_turn(user, "regenerate")
            if last.record.greeting is not None:
                raise EngineError(
                    BAD_REQUEST,
                    f"user {user!r}'s last turn with character {self.character.id!r} is its "
                    "greeting, which no model wrote: choose another with a greeting_request "
                    "(/greeting N in the chat)")
            async for event in run_turn(self._c, last.user_message, user=last.user,
                                        regenerating=last, keep_partial=keep_partial):
                yield event
        finally:
            self._turn_in_progress = False

    def greet(self, *, user: str = "user", index: int | None = None) -> GreetingResult:
        """Open ``user``'s thread with the card's greeting ``index`` (``None``: the first
        message, and only if the thread is empty), or replace the greeting that is all the
        thread holds (``worker.engine.greetings``). ``EngineError``: ``bad_request`` (no
        such greeting, or the conversation has gone further), ``busy`` while a reply
        streams."""
        self._ensure_idle("greet with")
        return greetings.greet(self._c, user, index)

    def _begin_turn(self) -> None:
        if self._turn_in_progress:
            raise EngineError(
                BUSY,
                f"character {self.character.id!r} is already answering a message; wait for "
                "that reply (or cancel it) and try again",
            )
        self._turn_in_progress = True

    def _ensure_idle(self, what: str) -> None:
        if self._turn_in_progress:
            raise EngineError(
                BUSY,
                f"cannot {what} character {self.character.id!r} while it is answering a "
                "message; wait for the reply (or cancel it) and try again",
            )

    # -- memories the model writes -------------------------------------------------------

    def model_memory_plan(self, user: str, *, mode: ModelMemoryMode,
                          reflect_every: int) -> ModelMemoryPlan:
        """Whether ``user``'s turn just committed gets facts extracted by the model, and a
        reflection (``model_memory_text.plan_model_memory``)."""
        return plan_model_memory(mode, backend=self._c.backend.name,
                                 users_turns=self._c.db.turn_count(user=user),
                                 reflect_every=reflect_every)

    async def write_model_memories(self, turn_id: int, user: str, *,
                                   reflect_over: int = 0) -> ModelMemories:
        """Ask the backend for facts about ``user`` in their turn ``turn_id`` (and, with
        ``reflect_over`` > 0, a reflection over that many of their newest turns) and store
        them linked to that turn — unless, when the answer comes, the turn is gone or
        changed, or a turn streams (see ``worker.engine.model_memory``). Raises
        ``BackendError`` when the backend fails; nothing is written then. Run it after the
        turn is acknowledged, and cancel it before the next turn of this character."""
        return await model_memory.write_model_memories(
            self._c, turn_id, user, reflect_over=reflect_over,
            idle=lambda: not self._turn_in_progress)

    def undo(self, *, user: str = "user") -> UndoResult:
        """Remove ``user``'s last turn (its row, alternatives and memories) and give
        ``user``'s relationship back its value from before it — exact, because only
        ``user``'s own turns change it and this was the last of them.

        When the turn is the character's last, the state (vitals, mood, turn count) returns
        exactly to before it too. When others have spoken since, the state stays as it is —
        the feelings happened and their turns built on them — and the result says so
        (``vitals_restored=False`` and a ``reason``). Raises
        ``EngineError("nothing_to_undo")`` when ``user`` has no turn (since the last reset).
        """
        self._ensure_idle("undo a turn of")
        return alternatives.undo(self._c, user)

    def alternatives(self, *, user: str = "user") -> list[dict[str, Any]]:
        """Every reply ``user``'s last turn has had, in the order they were produced:
        ``{index, response_text, created_at (ISO), current}``; exactly one is ``current``.
        A turn never regenerated has one entry. Empty when ``user`` has no turn that undo
        could remove (none yet, or only turns from before a ``reset`` that kept them),
        because such a turn's replies cannot be selected."""
        return alternatives.replies(self._c, user)

    def select_alternative(self, index: int, *, user: str = "user") -> dict[str, Any]:
        """Make reply ``index`` (see ``alternatives``) of ``user``'s last turn its current
        reply; returns ``character_info()``.

        The user's relationship and the turn's memories become exactly (byte for byte,
        memory ids and vectors included) what they were when that reply was produced, and so
        do the state, vitals and mood when the turn is the character's last; when others
        have spoken since, the state stays as it is (see ``undo``). The reply that was
        current is kept as an alternative with what it left behind, so selecting it back is
        exact too. Selecting the current reply changes nothing. A reply kept by an older
        greenroom (no stored outcome) is re-derived from the turn's before-state at the
        reply's time — equal as long as the vitals settings are; its memories get fresh ids.

        Raises ``EngineError``: ``nothing_to_undo`` when ``user`` has no turn whose reply can
        change, ``bad_request`` when the turn has no reply ``index``, ``busy`` while a reply
        streams.
        """
        self._ensure_idle("choose another reply of")
        alternatives.select(self._c, index, user)
        return self.character_info()

    # -- reading -------------------------------------------------------------------------

    def status(self, *, include_vitals: bool = True, include_history: bool = False,
               include_performance: bool = False, user: str = "user",
               history_offset: int | None = None,
               history_limit: int = MAX_PAGE_SIZE,
               history_user: str | None = None) -> StatusReport:
        """The character as of now (vitals decayed to the clock's current time), as ``user``
        sees it; works while a reply streams. The history is one page: ``history_limit``
        turns from ``history_offset`` (counted from the oldest turn), or the newest
        ``history_limit`` without an offset; with ``history_user``, of that user's turns
        alone (their thread)."""
        return status_report(self._c, include_vitals=include_vitals,
                             include_history=include_history,
                             include_performance=include_performance, user=user,
                             history_offset=history_offset, history_limit=history_limit,
                             history_user=history_user)

    def trace(self, turn_index: int | None = None) -> StoredTrace:
        """Turn ``turn_index`` (``None``: the newest) and the trace of its current reply
        (``None`` for one committed before traces were stored); works while a reply
        streams. ``EngineError("bad_request")`` when there is no such turn."""
        return trace_of(self._c, turn_index)

    async def search_memory(self, query: str, limit: int = 5) -> list[MemoryHit]:
        """The character's memories ranked for ``query`` (see ``worker.memory.ranking``)."""
        return await self._c.memory.search_hybrid(query, limit, now=self._c.clock())

    def character_info(self) -> dict[str, Any]:
        """Who the character is and where it stands: the ``character_info`` of responses."""
        return self._c.info()

    async def prompt(self, user_message: str | None = None, *, user: str = "user",
                     settings: GenerationSettings | None = None) -> PromptReport:
        """Without ``user_message``: the prompt ``user``'s last turn sent, exactly as the
        backend got it (messages, options, budget, the server's usage), kept with the turn
        (``worker.engine.prompt_store``). With it: a dry run — the prompt that message would
        send now, with the session's ``settings``; nothing is committed and the chat model
        is not asked. Works while a reply
        streams (a dry run then sees the state before it). Refuses a message over
        ``max_message_chars`` with ``EngineError("message_too_long")``."""
        if user_message is None:
            return prompt_inspection.last_prompt(self._c, user)
        too_long = check_message_length(user_message, self._max_message_chars)
        if too_long is not None:
            raise EngineError(MESSAGE_TOO_LONG, too_long.text(self.character.id),
                              too_long.details())
        return await prompt_inspection.next_prompt(self._c, user_message, user, settings)

    # -- memories people manage -------------------------------------------------------

    def memories(self, offset: int = 0, limit: int = MAX_PAGE_SIZE, *, user: str | None = None,
                 kinds: Sequence[str] | None = None, memory_id: int | None = None
                 ) -> tuple[list[StoredMemory], int]:
        """One page of memories by id, oldest first (only ``user``'s, of ``kinds``, or
        only ``memory_id``, when given) and how many there are in all; works while a reply
        streams. Vectors are left out. ``EngineError`` ``bad_request``: an unknown kind."""
        return memory_edits.page(self._c, offset, limit, user=user, kinds=kinds,
                                 memory_id=memory_id)

    async def add_memory(self, text: str, *, user: str = "user", kind: str = "fact",
                         importance: float = 0.9) -> StoredMemory:
        """Remember ``text`` about ``user``, as a memory no turn formed (``turn_id`` 0): no
        undo removes it. ``EngineError``: ``memory_empty``, ``memory_too_long``,
        ``bad_request`` (an unknown kind), ``busy`` while a reply streams."""
        self._ensure_idle("add a memory to")
        return await memory_edits.add(self._c, text, kind=kind, importance=importance,
                                      user=user)

    async def update_memory(self, memory_id: int, *, text: str | None = None,
                            kind: str | None = None,
                            importance: float | None = None) -> StoredMemory:
        """Replace the given fields of memory ``memory_id`` (its id, turn and time stay).
        ``EngineError``: ``memory_not_found`` and those of ``add_memory``."""
        self._ensure_idle("change a memory of")
        return await memory_edits.update(self._c, memory_id, text=text, kind=kind,
                                         importance=importance)

    def delete_memory(self, memory_id: int) -> StoredMemory:
        """Forget memory ``memory_id`` (durably); returns it as it was.
        ``EngineError``: ``memory_not_found``, ``busy`` while a reply streams."""
        self._ensure_idle("forget a memory of")
        return memory_edits.delete(self._c, memory_id)

    # -- snapshots, export, import -------------------------------------------------------

    def save(self, name: str | None = None) -> str:
        """Store the whole history and state under ``name`` (replacing a snapshot of that
        name) and return the name. Works while a turn streams: the snapshot holds every
        turn committed so far, not the one in progress. Without a name: the UTC time, like
        ``2026-11-25T19-40-03`` (with ``-2``, ``-3``… if taken). Raises
        ``EngineError("invalid_name")`` before writing anything."""
        return snapshots.save(self._c, name)

    def load(self, name: str) -> dict[str, Any]:
        """Restore state, vitals, relationships, history and memories exactly as saved under
        ``name``; returns ``character_info()``. Snapshots themselves are kept."""
        validate_snapshot_name(name, character_id=self.character.id)
        self._ensure_idle("load a snapshot into")
        snapshots.load(self._c, name)
        return self.character_info()

    def reset(self, *, preserve_memories: bool = True) -> dict[str, Any]:
        """Back to the character's initial state (baseline vitals, default mood, no
        relationships). ``preserve_memories`` keeps memories and history (which undo can then
        no longer cross); otherwise both are erased too. Snapshots are kept."""
        self._ensure_idle("reset")
        snapshots.reset(self._c, preserve_memories=preserve_memories)
        return self.character_info()

    def list_snapshots(self, offset: int = 0, limit: int | None = None) -> list[dict[str, Any]]:
        """``{name, created_at (ISO), turn_count}`` for snapshots ``offset`` ..
        ``offset + limit - 1`` (every one from ``offset`` without a limit), oldest first."""
        return snapshots.list_snapshots(self._c, offset, limit)

    def snapshot_count(self) -> int:
        return self._c.db.snapshot_count()

    def delete_snapshot(self, name: str) -> None:
        """Delete a snapshot; ``EngineError("snapshot_not_found")`` when there is none."""
        snapshots.delete(self._c, name)

    def export_text(self, *, user: str | None = None) -> Generator[str, None, None]:
        """The whole history as one JSON document (``format_version`` 1: the live
        ``content`` — state, turns with alternatives, relationships, memories — and every
        snapshot's content), as text in pieces, read from a consistent snapshot of the
        database (turns committed while it is read are not in it); linear in the history,
        holding one record at a time (see ``worker.engine.export_stream``). Close the
        iterator when stopping early.

        With ``user``: that user's thread — their turns, relationship and the memories
        about them (not shared ones), the shared state, no snapshots — and a top-level
        ``"user"``. It imports as a character that has heard only that user."""
        return snapshots.export_text(self._c, user=user)

    @classmethod
    def import_document(cls, document: dict[str, Any], *, data_dir: Path) -> None:
        """Write an ``export_text()`` document (decoded) into ``data_dir`` (which must not
        yet hold that character). Refuses a newer ``format_version`` with
        ``unsupported_format``, a character already there with ``already_exists``, a
        malformed document with ``bad_request``; in every refusal nothing is written."""
        snapshots.import_document(document, data_dir=data_dir)
