"""The prompt budget and the token calibration, as plain functions (``prompt_budget``)."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from runtime.settings import Settings, load_settings
from worker.backends.base import ContextOverflow, GenerationOptions
from worker.backends.context_window import ContextWindow
from worker.engine.prompt_budget import (
    CALIBRATION_WINDOW,
    DEFAULT_REPLY_RESERVE,
    FALLBACK_SOURCE,
    MAX_RATIO,
    MIN_RATIO,
    NEUTRAL,
    Calibration,
    PromptLimits,
    budget_for,
    calibrated,
    sized_overflow,
)

OLLAMA_WINDOW = ContextWindow(8192, "num_ctx 8192 sent to Ollama")


def test_the_budget_is_the_context_window_minus_the_reply_reserve() -> None:
    budget = budget_for(PromptLimits(), OLLAMA_WINDOW, GenerationOptions(max_tokens=512),
                        NEUTRAL)
    assert budget.prompt_tokens == 8192 - 512
    assert (budget.context_tokens, budget.context_source) == (8192, OLLAMA_WINDOW.source)


def test_an_unknown_window_is_the_configured_context_tokens() -> None:
    budget = budget_for(PromptLimits(context_tokens=2048), None,
                        GenerationOptions(max_tokens=256), NEUTRAL)
    assert budget.prompt_tokens == 2048 - 256
    assert budget.context_source == FALLBACK_SOURCE


def test_a_request_without_max_tokens_still_reserves_room_for_the_reply() -> None:
    budget = budget_for(PromptLimits(), OLLAMA_WINDOW, GenerationOptions(), NEUTRAL)
    assert budget.reply_reserve == DEFAULT_REPLY_RESERVE
    assert budget.prompt_tokens == 8192 - DEFAULT_REPLY_RESERVE


def test_the_token_cap_only_ever_lowers_the_budget() -> None:
    options = GenerationOptions(max_tokens=512)
    assert budget_for(PromptLimits(token_cap=3000), OLLAMA_WINDOW, options,
                      NEUTRAL).prompt_tokens == 3000
    small = ContextWindow(2048, "llama.cpp GET /props default_generation_settings.n_ctx")
    assert budget_for(PromptLimits(token_cap=3000), small, options,
                      NEUTRAL).prompt_tokens == 2048 - 512


def test_a_reserve_larger_than_the_window_leaves_a_budget_of_zero() -> None:
    budget = budget_for(PromptLimits(), ContextWindow(256, "x"),
                        GenerationOptions(max_tokens=512), NEUTRAL)
    assert budget.prompt_tokens == 0


def test_the_first_reported_count_replaces_the_neutral_ratio() -> None:
    first = calibrated(NEUTRAL, reported=1300, estimated=1000)
    assert first == Calibration(ratio=1.3, turns=1)


@pytest.mark.parametrize("true_ratio", [0.6, 1.0, 1.3, 2.5])
def test_estimates_converge_to_the_servers_tokenizer(true_ratio: float) -> None:
    """A server whose tokenizer counts ``true_ratio`` tokens per estimated token, over
    prompts of varying size: the calibrated estimate ends within 1% of its count."""
    calibration = NEUTRAL
    for turn in range(20):
        estimated = 800 + 37 * turn
        updated = calibrated(calibration, reported=round(estimated * true_ratio),
                             estimated=estimated)
        assert updated is not None
        calibration = updated
    estimate = 5000
    assert math.isclose(estimate * calibration.ratio, estimate * true_ratio, rel_tol=0.01)


def test_later_turns_move_the_ratio_by_at_most_one_window_share() -> None:
    settled = Calibration(ratio=1.0, turns=50)
    moved = calibrated(settled, reported=2000, estimated=1000)
    assert moved is not None
    assert moved.ratio == pytest.approx(1.0 + (2.0 - 1.0) / CALIBRATION_WINDOW)


@pytest.mark.parametrize(("reported", "estimated"), [
    (0, 1000), (1000, 0), (round(1000 * MIN_RATIO) - 1, 1000),
    (round(1000 * MAX_RATIO) + 1, 1000),
])
def test_unbelievable_counts_leave_the_calibration_as_it_is(reported: int,
                                                           estimated: int) -> None:
    """Some Ollama versions count only the part of a prompt they did not have cached."""
    assert calibrated(Calibration(ratio=1.2, turns=3), reported=reported,
                      estimated=estimated) is None


def test_a_context_overflow_names_greenrooms_sizes_and_the_setting_to_fix() -> None:
    budget = budget_for(PromptLimits(context_tokens=4096), None,
                        GenerationOptions(max_tokens=512), NEUTRAL)
    server = ContextOverflow("the prompt does not fit (1131 tokens, the window holds 1024)",
                             details={"prompt_tokens": 1131, "context_tokens": 1024})
    error = sized_overflow(server, budget, estimated_tokens=1100)
    assert error.code == "context_overflow"
    assert error.details == {
        "prompt_tokens": 1131, "context_tokens": 1024, "estimated_prompt_tokens": 1100,
        "budget_tokens": 3584, "reply_reserve_tokens": 512, "assumed_context_tokens": 4096,
        "context_source": FALLBACK_SOURCE}
    text = str(error)
    assert "~1100 tokens against a budget of 3584 tokens = context 4096" in text
    assert "the server's window is 1024 tokens" in text
    assert "set GREENROOM_CONTEXT_TOKENS" in text


def test_a_context_overflow_without_server_sizes_carries_the_assumed_window() -> None:
    budget = budget_for(PromptLimits(), OLLAMA_WINDOW, GenerationOptions(max_tokens=512),
                        NEUTRAL)
    error = sized_overflow(ContextOverflow("too long"), budget, estimated_tokens=9000)
    assert error.details is not None
    assert error.details["context_tokens"] == 8192
    assert "server's window" not in str(error)


def test_the_limits_come_from_their_variables(tmp_path: Path) -> None:
    settings = load_settings(environ={"GREENROOM_CONTEXT_TOKENS": "8192",
                                      "GREENROOM_PROMPT_TOKEN_BUDGET": "2500",
                                      "GREENROOM_PROMPT_MIN_EXCHANGES": "1"},
                             dotenv_path=tmp_path / "none")
    assert PromptLimits.of(settings.engine) == PromptLimits(context_tokens=8192,
                                                            token_cap=2500, min_exchanges=1)
    assert PromptLimits.of(Settings().engine) == PromptLimits()  # no cap unless set
