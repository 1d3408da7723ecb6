"""The ``prompt_response`` for an engine's ``PromptReport``: one translation, used by the
worker's request dispatch (``worker.service``)."""

from __future__ import annotations

import dataclasses
from typing import Any, Final

import msgspec

from protocol.inspection import (
    PromptBudget,
    PromptLoreEntry,
    PromptMessage,
    PromptResponse,
    PromptSection,
    PromptWarning,
)
from worker.engine.prompt_inspection import PromptReport

PROMPT_OVER_BUDGET: Final = "prompt_over_budget"


def prompt_response(message_id: str | None, report: PromptReport) -> PromptResponse:
    """``report`` as the protocol says it (``protocol.inspection``)."""
    built, budget, done = report.built, report.budget, report.generation
    options: dict[str, Any] = {**dataclasses.asdict(report.options),
                               "stop": list(report.options.stop)}
    warning = None if built is None else built.over_budget_warning()
    return PromptResponse(
        message_id=message_id, kept=built is not None, dry_run=report.dry_run,
        user=report.user, turn_id=report.turn_id, backend=report.backend,
        model=report.options.model, options=options, note=report.note,
        messages=[] if built is None else [PromptMessage(role=m.role, content=m.content)
                                           for m in built.messages],
        sections=[] if built is None else [
            PromptSection(name=s.name, tokens=s.tokens, message_index=s.message,
                          trimmed=s.trimmed, exchanges_kept=s.exchanges_kept,
                          exchanges_available=s.exchanges_available)
            for s in built.sections],
        budget=PromptBudget(
            budget_tokens=budget.prompt_tokens,
            estimated_tokens=0 if built is None else built.estimated_tokens,
            context_tokens=budget.context_tokens, context_source=budget.context_source,
            reply_reserve_tokens=budget.reply_reserve, prompt_token_cap=budget.token_cap,
            min_exchanges=budget.min_exchanges, token_ratio=budget.calibration.ratio,
            calibration_turns=budget.calibration.turns),
        lorebook=[] if built is None else [
            PromptLoreEntry(**{**msgspec.structs.asdict(f), "secondary": list(f.secondary)})
            for f in built.lorebook],
        lorebook_budget_tokens=0 if built is None else built.lorebook_budget_tokens,
        usage=None if done is None else {
            "prompt_tokens": done.prompt_tokens, "completion_tokens": done.completion_tokens,
            "usage_source": done.usage_source, "model": done.model},
        warnings=[] if warning is None else [PromptWarning(code=PROMPT_OVER_BUDGET,
                                                           message=warning)],
    )
