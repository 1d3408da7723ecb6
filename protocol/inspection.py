"""Looking inside a character's turns: the prompt a turn sent to the model.

Opt-in messages (no seed-era client sends them). They read, and never change, the
character.
"""

from __future__ import annotations

import msgspec

from protocol.declaration import Handling, request, response
from protocol.envelope import Message
from protocol.fields import JsonObject
from protocol.generation import GenerationSettings


@request(answer="prompt_response", handling=Handling.DIRECT)
class PromptRequest(Message, tag="prompt_request"):
    """The prompt of the last turn of ``user`` (``None``: the session's user), exactly as
    the backend got it. With ``user_message`` a dry run: the prompt that message would send
    now, built as the turn would build it; nothing is committed and no model is asked to
    reply. Answered also while a reply streams (a dry run then sees the state before it).
    ``options`` are the session's settings a dry run applies, as ``chat_request.options``
    would (opt-in; ignored without ``user_message``: a kept prompt shows what it ran with)."""

    user_message: str | None = None
    user: str | None = None
    options: GenerationSettings | None = None


class PromptMessage(msgspec.Struct, kw_only=True):
    """One chat message of the prompt, as sent: ``role`` is ``system``, ``user`` or
    ``assistant``."""

    role: str
    content: str


class PromptSection(msgspec.Struct, kw_only=True):
    """One named part of the prompt and its estimated tokens (calibrated, see
    ``PromptBudget.token_ratio``). ``message_index`` is the message holding it (``None``:
    ``trimmed`` to fit the budget; ``tokens`` is then what it would have cost).
    ``exchanges_kept`` of ``exchanges_available`` are set for ``history``."""

    name: str
    tokens: int
    message_index: int | None = None
    trimmed: bool = False
    exchanges_kept: int | None = None
    exchanges_available: int | None = None


class PromptBudget(msgspec.Struct, kw_only=True):
    """What the prompt was fitted to: ``budget_tokens`` = ``min(context_tokens −
    reply_reserve_tokens, prompt_token_cap)``, where ``context_source`` says where the
    window was read; ``estimated_tokens`` is the prompt's estimate, ``token_ratio`` the
    calibration (server tokens per estimated token) learnt from ``calibration_turns`` turns;
    the newest ``min_exchanges`` exchanges are kept whatever the budget."""

    budget_tokens: int
    estimated_tokens: int
    context_tokens: int
    context_source: str
    reply_reserve_tokens: int
    prompt_token_cap: int | None = None
    min_exchanges: int = 0
    token_ratio: float = 1.0
    calibration_turns: int = 0


class PromptLoreEntry(msgspec.Struct, kw_only=True):
    """A lorebook entry that fired for the prompt: its ``book`` (``character``, ``card``,
    ``shared:<name>``) and ``entry`` (its comment, name or first key; ``index`` in the
    book); ``reason`` ``key`` (``key`` found in ``where``: ``message 0`` is the user's new
    message), ``constant``, ``decorator`` or ``recursion`` (found in another entry's
    content, at scan ``step`` ≥ 1); where it went (``position``, ``depth``) at ``order``,
    its ``tokens``, and ``included`` — or ``dropped`` and why."""

    book: str
    entry: str
    index: int
    reason: str
    position: str
    order: int
    tokens: int
    included: bool
    step: int = 0
    key: str | None = None
    where: str | None = None
    secondary: list[str] = msgspec.field(default_factory=list)
    depth: int | None = None
    probability: float | None = None
    roll: float | None = None
    dropped: str | None = None


class PromptWarning(msgspec.Struct, kw_only=True):
    """Something the prompt's reader should know: ``code`` is stable (``prompt_over_budget``:
    the character's fixed parts crowd out the conversation; sections were trimmed)."""

    code: str
    message: str


@response()
class PromptResponse(Message, tag="prompt_response"):
    """Answers ``prompt_request``. ``kept`` is ``false`` when no prompt is kept for the
    user's last turn (none yet, or its reply came another way): ``note`` says why and the
    lists are empty. ``turn_id`` is the turn the prompt was sent for (``null`` for a dry
    run); ``options`` the generation options sent (model, temperature, top_p, num_ctx,
    max_tokens, stop, keep_alive); ``usage`` what the server reported for that turn
    (``prompt_tokens``, ``completion_tokens``, ``usage_source``); ``lorebook`` the
    lorebook entries that fired, included or dropped, against ``lorebook_budget_tokens``."""

    success: bool = True
    kept: bool = True
    dry_run: bool = False
    user: str | None = None
    turn_id: int | None = None
    backend: str | None = None
    model: str | None = None
    options: JsonObject | None = None
    messages: list[PromptMessage] = msgspec.field(default_factory=list)
    sections: list[PromptSection] = msgspec.field(default_factory=list)
    budget: PromptBudget | None = None
    lorebook: list[PromptLoreEntry] = msgspec.field(default_factory=list)
    lorebook_budget_tokens: int = 0
    usage: JsonObject | None = None
    warnings: list[PromptWarning] = msgspec.field(default_factory=list)
    note: str | None = None
    error: str | None = None
