"""Memories the model writes after a turn: facts about the user (Mem0-style extraction) and,
every few turns, a reflection (a ``summary`` memory) over their recent exchanges.

Promises:

* **Linked to the turn.** Every memory written here carries the ``turn_id`` of the turn
  that triggered it and that turn's user, so undo, another reply and choosing a kept reply —
  which act on a turn's memories by its id — remove or keep them with the turn's own. A fact
  the model updates or deletes is first kept as it was under the turn's id
  (``turn_memories.revise``), and the same acts put it back (``turn_memories.take_back``).
* **Never for a turn that is gone.** The model is asked with no transaction open; its
  answer is written only if, at that moment, the turn is still its user's last with the
  same reply, and no other turn is streaming (``idle``). The check and the write run with
  no ``await`` between them, so an undo cannot slip in.
* **Never beside a reply** of any character on the same server: every request is
  ``answer_in_background``'s (it waits while replies stream, gives the server up to a reply
  that starts, and is asked again; a cut answer is never used), since llama.cpp's
  ``--interrupt_requests`` would end the reply otherwise. So are the embeddings of what it
  wrote (``in_background``).
* **Bounded.** One request per step, at most ``MAX_ANSWER_CHARS`` read, at most
  ``ANSWER_TOKENS`` asked for; parsing is ``model_memory_text``'s. Only the model's own
  facts about the user (``model_facts``) are shown, so only those can be changed.

Failures are exceptions (``BackendError`` from the backend); the caller logs them and the
turn stays as committed.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Final

import structlog

from worker.backends.background_requests import ServerBusy, answer_in_background, in_background
from worker.backends.base import ChatMessage, GenerationRequest
from worker.engine.model_memory_text import (
    MAX_ANSWER_CHARS,
    MAX_KNOWN_FACTS,
    extraction_messages,
    parse_fact_changes,
    parse_summary,
    reflection_messages,
)
from worker.engine.open_character import OpenCharacter
from worker.engine.turn_memories import revise
from worker.engine.turn_rows import Exchange
from worker.memory.models import NewMemory

#: Tokens asked for one answer: five facts of a sentence each, or one reflection.
ANSWER_TOKENS: Final = 400
FACT_IMPORTANCE: Final = 0.7
SUMMARY_IMPORTANCE: Final = 0.8

log = structlog.get_logger()


@dataclass(frozen=True, slots=True)
class ModelMemories:
    """What the model wrote for turn ``turn_id``: the facts added, the ids of the facts it
    updated and deleted, and the reflection — stored (``written``), or found but dropped
    because the turn was gone or another was streaming (``written`` False)."""

    turn_id: int
    facts: tuple[str, ...]
    summary: str | None
    written: bool
    updated: tuple[int, ...] = ()
    deleted: tuple[int, ...] = ()


async def write_model_memories(c: OpenCharacter, turn_id: int, user: str, *, reflect_over: int,
                               idle: Callable[[], bool]) -> ModelMemories:
    """Ask the model about ``user``'s turn ``turn_id`` (which must be their last) and store
    what it answered — new facts, and updates and deletions of the facts it wrote before
    (each revised fact kept as it was, under ``turn_id``, for undo:
    ``turn_memories.revise``); with ``reflect_over`` > 0 also ask for a reflection over that
    many of their newest exchanges. ``idle()`` says no turn is streaming now."""
    exchange = _last_exchange(c, user)
    if exchange is None or exchange.id != turn_id:
        return ModelMemories(turn_id, (), None, written=False)
    known = model_facts(c, user)
    answer = await _ask(c, extraction_messages(user=user, user_message=exchange.user_message,
                                               reply=exchange.reply, known=known))
    changes = parse_fact_changes(answer, known=known)
    summary = None
    if reflect_over > 0:
        recent = c.db.recent_exchanges(reflect_over, user=user)
        summary = parse_summary(await _ask(c, reflection_messages(
            user=user, exchanges=[(e.user_message, e.reply) for e in recent])))
    # From here to the commit: no await, so the turn checked is the turn written for.
    now_last = _last_exchange(c, user)
    if not idle() or now_last is None or now_last.id != turn_id \
            or now_last.reply != exchange.reply:
        return ModelMemories(turn_id, changes.added, summary, written=False)
    now = c.clock()
    memories = [NewMemory(text=fact, kind="fact", importance=FACT_IMPORTANCE, valence=0.0,
                          created_at=now, turn_id=turn_id, user=user) for fact in changes.added]
    if summary is not None:
        memories.append(NewMemory(text=summary, kind="summary", importance=SUMMARY_IMPORTANCE,
                                  valence=0.0, created_at=now, turn_id=turn_id, user=user))
    updated: list[int] = []
    deleted: list[int] = []
    with c.db.transaction():
        if memories:
            c.memory.add_many(memories)
        # A fact a person forgot meanwhile is left alone (revise finds nothing).
        for memory_id, text in changes.updated:
            if revise(c.db.conn, turn_id, memory_id, text=text, now=now):
                updated.append(memory_id)
        for memory_id in changes.deleted:
            if revise(c.db.conn, turn_id, memory_id, text=None, now=now):
                deleted.append(memory_id)
    if c.memory.embedder is not None and (memories or updated):
        await _embed_in_background(c)
    return ModelMemories(turn_id, changes.added, summary, written=True,
                         updated=tuple(updated), deleted=tuple(deleted))


async def _embed_in_background(c: OpenCharacter) -> None:
    """Embed what was just written, as background work too (the embeddings may come from
    the chat server). A failure is logged by the store; a server that stays busy, here:
    the vectors are filled in by a later ``embed_missing``."""
    try:
        await in_background(c.backend, lambda _claim: c.memory.embed_missing(), character=c.id)
    except ServerBusy as busy:
        log.warning("memory_embedding_deferred", character=c.id, error=str(busy),
                    hint="the notes are stored and found by text; their vectors come later")


def _last_exchange(c: OpenCharacter, user: str) -> Exchange | None:
    newest = c.db.recent_exchanges(1, user=user)
    return newest[0] if newest else None


def model_facts(c: OpenCharacter, user: str) -> dict[int, str]:
    """The newest ``MAX_KNOWN_FACTS`` facts the model wrote about ``user``, by id, oldest
    first: ``fact`` memories of a turn (``turn_id`` > 0) with no ``source`` — the formation
    rules always keep the sentence a fact came from, and a person's have ``turn_id`` 0."""
    rows = c.db.conn.execute(
        "SELECT id, text FROM memories WHERE user_name = ? AND kind = 'fact' AND turn_id > 0"
        " AND source = '' ORDER BY id DESC LIMIT ?", (user, MAX_KNOWN_FACTS)).fetchall()
    return {int(row[0]): str(row[1]) for row in reversed(rows)}


async def _ask(c: OpenCharacter, messages: Sequence[ChatMessage]) -> str:
    """The model's whole answer to ``messages`` (its first ``MAX_ANSWER_CHARS``), asked as
    background work that yields to every character's replies on the server."""
    options = replace(c.options, temperature=0.0, max_tokens=ANSWER_TOKENS)
    return await answer_in_background(c.backend, GenerationRequest(messages, options),
                                      character=c.id, max_chars=MAX_ANSWER_CHARS)
