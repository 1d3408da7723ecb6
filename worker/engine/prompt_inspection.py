"""The prompt of a user's last turn as the backend got it, or the one their next message
would send (a dry run): what ``prompt_request`` answers.

The last turn's prompt is read from ``prompt_store``, so it is byte for byte what was sent,
with the budget and calibration of that moment and the server's usage figures. A dry run
prepares a turn exactly as ``turn_stream.run_turn`` does — the same start, appraisal,
memory recall and budget — and stops before the backend: it commits nothing, changes no
state and asks the chat model nothing (with ``GREENROOM_EMBEDDING_MODEL`` set, the memory
recall embeds the message, as the turn would).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from protocol.generation import GenerationSettings
from worker.backends.base import GenerationDone, GenerationOptions
from worker.backends.options import merge_options, request_options
from worker.engine.open_character import OpenCharacter
from worker.engine.prompt import BuiltPrompt
from worker.engine.prompt_budget import PromptBudget
from worker.engine.turn_prepare import plan_turn, prompt_for
from worker.engine.turn_stream import recall, turn_start


@dataclass(frozen=True, slots=True)
class PromptReport:
    """A prompt and what it was made of. ``built`` is ``None`` when no prompt is kept for
    the user's last turn (``note`` says why); ``turn_id`` is the turn it was sent for
    (``None`` for a dry run); ``generation`` the server's figures for it (``None`` for a dry
    run). ``budget`` is the one it was fitted to, or today's when nothing is kept."""

    user: str
    dry_run: bool
    backend: str
    options: GenerationOptions
    budget: PromptBudget
    built: BuiltPrompt | None = None
    turn_id: int | None = None
    generation: GenerationDone | None = None
    note: str | None = None


def last_prompt(c: OpenCharacter, user: str) -> PromptReport:
    """The prompt sent for ``user``'s last turn, or a report saying why there is none."""
    turn = c.db.last_turn_of(user)
    if turn is None:
        return PromptReport(
            user=user, dry_run=False, backend=c.backend.name, options=c.options,
            budget=c.budget(c.options),
            note=f"user {user!r} has not talked with character {c.id!r} yet: send a message,"
                 " or ask with a message for the prompt it would send (a dry run)")
    sent = c.prompts.last_of(turn)
    if sent is None:
        return PromptReport(
            user=user, dry_run=False, backend=c.backend.name, options=c.options,
            budget=c.budget(c.options), turn_id=turn.id,
            note=f"no prompt is kept for turn {turn.id}, the last of user {user!r}: only the"
                 " last prompt sent for each user is, and this turn's reply came another way"
                 " (a kept cut-off reply, an undo, an older reply chosen, a snapshot loaded,"
                 " or a turn from before greenroom kept prompts)")
    return PromptReport(user=user, dry_run=False, backend=sent.backend, options=sent.options,
                        budget=sent.budget, built=sent.built, turn_id=sent.turn_id,
                        generation=sent.generation)


async def next_prompt(c: OpenCharacter, user_message: str, user: str,
                      settings: GenerationSettings | None = None) -> PromptReport:
    """The prompt ``user_message`` from ``user`` would send now, with the session's
    ``settings`` on top of the character's options (see the module docstring)."""
    options = merge_options(c.options, request_options(settings))
    start = turn_start(c, user_message, user=user, regenerating=None)
    plan = await asyncio.to_thread(plan_turn, c.model, start.state, start.relationship,
                                   user_message, now=start.now)
    _, relevant = await recall(c, start)
    budget = c.budget(options)
    built, _context = await asyncio.to_thread(prompt_for, c.character, start, plan, relevant,
                                              budget=budget, world_info=c.world_info)
    return PromptReport(user=user, dry_run=True, backend=c.backend.name, options=options,
                        budget=budget, built=built)
