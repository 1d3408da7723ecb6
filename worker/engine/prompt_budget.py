"""How many tokens a prompt may take, and how the estimates learn the server's tokenizer.
Pure: plain values in, plain values out.

The budget of one generation::

    prompt tokens = min(context window − reply reserve, GREENROOM_PROMPT_TOKEN_BUDGET if set)

* the **context window** is what the backend says its model takes (``worker.backends.
  context_window``: Ollama's ``num_ctx`` within the model's trained length, llama.cpp's
  ``/props``, ``/v1/models`` metadata), else ``GREENROOM_CONTEXT_TOKENS``;
* the **reply reserve** is the request's ``max_tokens`` (``GREENROOM_LLM_MAX_TOKENS``, the
  character's ``llm.max_tokens``), ``DEFAULT_REPLY_RESERVE`` when it sets none: the servers
  count the reply against the same window;
* ``GREENROOM_PROMPT_TOKEN_BUDGET``, when set, only ever lowers the budget.

Token counts are estimates (``worker.engine.prompt.estimate_tokens``: ``ceil(chars / 4) + 4``
per message) scaled by a per-model **ratio**: after each turn the server's count of the
prompt (``prompt_tokens``) is compared with the raw estimate of the very messages it got,
and the ratio moves towards ``reported / estimated`` — the first turn replaces the neutral
1.0, later turns average in with weight ``1 / min(turns, CALIBRATION_WINDOW)``, so the ratio
settles within a few turns and still follows a change (another model, another language).
An observation outside ``[MIN_RATIO, MAX_RATIO]`` is ignored: it is not a tokenizer but a
server counting only the part of the prompt it did not have cached (some Ollama versions).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import msgspec

from worker.backends.base import ContextOverflow, GenerationOptions
from worker.backends.context_window import ContextWindow

if TYPE_CHECKING:
    from runtime.settings import EngineSettings

DEFAULT_REPLY_RESERVE: Final = 512
"""Tokens kept for the reply when a request sets no ``max_tokens``."""
MIN_RATIO: Final = 0.25
MAX_RATIO: Final = 4.0
CALIBRATION_WINDOW: Final = 8
"""After this many turns a new observation moves the ratio by 1/8 of the difference."""
FALLBACK_SOURCE: Final = "GREENROOM_CONTEXT_TOKENS (the backend did not say)"


@dataclass(frozen=True, slots=True)
class PromptLimits:
    """The settings the budget is made from: ``context_tokens`` (``GREENROOM_CONTEXT_TOKENS``,
    the window when the backend does not say), ``token_cap`` (``GREENROOM_PROMPT_TOKEN_BUDGET``,
    ``None``: no cap) and ``min_exchanges`` (``GREENROOM_PROMPT_MIN_EXCHANGES``, the newest
    exchanges every prompt keeps)."""

    context_tokens: int = 4096
    token_cap: int | None = None
    min_exchanges: int = 3

    @classmethod
    def of(cls, engine: EngineSettings) -> PromptLimits:
        """The limits the engine's settings name."""
        return cls(context_tokens=engine.context_tokens, token_cap=engine.prompt_token_budget,
                   min_exchanges=engine.prompt_min_exchanges)


class Calibration(msgspec.Struct, frozen=True):
    """How one model's token counts compare with the estimates: ``ratio`` = server tokens per
    estimated token, learnt from ``turns`` turns (stored with the character, see
    ``worker.engine.prompt_store``)."""

    ratio: float = 1.0
    turns: int = 0


def calibrated(current: Calibration, *, reported: int, estimated: int) -> Calibration | None:
    """``current`` after a turn whose prompt was ``estimated`` raw tokens and that the server
    counted as ``reported``; ``None`` when the observation is not believable (see the module
    docstring) and the calibration stays as it is."""
    if reported <= 0 or estimated <= 0:
        return None
    observed = reported / estimated
    if not MIN_RATIO <= observed <= MAX_RATIO:
        return None
    turns = current.turns + 1
    weight = 1.0 / min(turns, CALIBRATION_WINDOW)
    return Calibration(ratio=current.ratio + (observed - current.ratio) * weight, turns=turns)


NEUTRAL: Final = Calibration()
"""A model not calibrated yet: estimates are taken as they are."""


@dataclass(frozen=True, slots=True)
class PromptBudget:
    """The budget of one generation and what it was made from (see the module docstring)."""

    context_tokens: int
    context_source: str
    reply_reserve: int
    token_cap: int | None
    min_exchanges: int
    calibration: Calibration = NEUTRAL

    @property
    def prompt_tokens(self) -> int:
        room = max(0, self.context_tokens - self.reply_reserve)
        return room if self.token_cap is None else min(room, self.token_cap)

    def describe(self) -> str:
        """``3584 tokens = context 4096 (num_ctx 4096 sent to Ollama) − 512 for the reply``."""
        text = (f"{self.prompt_tokens} tokens = context {self.context_tokens}"
                f" ({self.context_source}) − {self.reply_reserve} for the reply")
        if self.token_cap is not None and self.token_cap < self.context_tokens - self.reply_reserve:
            text += f", capped by GREENROOM_PROMPT_TOKEN_BUDGET={self.token_cap}"
        return text


def budget_for(limits: PromptLimits, window: ContextWindow | None,
               options: GenerationOptions, calibration: Calibration) -> PromptBudget:
    """The budget of a request with ``options`` to a model whose window is ``window``
    (``None``: unknown, ``limits.context_tokens`` is used)."""
    if window is None:
        window = ContextWindow(limits.context_tokens, FALLBACK_SOURCE)
    reserve = options.max_tokens if options.max_tokens is not None else DEFAULT_REPLY_RESERVE
    return PromptBudget(context_tokens=window.tokens, context_source=window.source,
                        reply_reserve=reserve, token_cap=limits.token_cap,
                        min_exchanges=limits.min_exchanges, calibration=calibration)


def scaled(raw_tokens: int, ratio: float) -> int:
    """A raw estimate in calibrated tokens."""
    return math.ceil(raw_tokens * ratio)


def sized_overflow(error: ContextOverflow, budget: PromptBudget, *,
                   estimated_tokens: int) -> ContextOverflow:
    """``error`` (the server refused the prompt as too long) with greenroom's side of the
    sizes added to its message and ``details``: the estimate, the budget and the window it
    came from — and, when the server named a window other than the one assumed, which
    setting to correct."""
    details: dict[str, Any] = dict(error.details or {})
    server_window = details.get("context_tokens")
    details.update(estimated_prompt_tokens=estimated_tokens, budget_tokens=budget.prompt_tokens,
                   reply_reserve_tokens=budget.reply_reserve,
                   assumed_context_tokens=budget.context_tokens,
                   context_source=budget.context_source)
    details.setdefault("context_tokens", budget.context_tokens)
    text = (f"{error} [greenroom estimated the prompt at ~{estimated_tokens} tokens against a"
            f" budget of {budget.describe()}]")
    if isinstance(server_window, int) and server_window != budget.context_tokens:
        setting = ("GREENROOM_CONTEXT_TOKENS" if budget.context_source == FALLBACK_SOURCE
                   else "GREENROOM_PROMPT_TOKEN_BUDGET")
        text += (f"; the server's window is {server_window} tokens, not the"
                 f" {budget.context_tokens} greenroom assumed: set {setting} to fit it")
    return ContextOverflow(text, retryable=error.retryable, details=details)
