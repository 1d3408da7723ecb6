"""``CharacterEngine.prompt``: the prompt a user's last turn sent, exactly as the backend got
it and kept across restarts; a dry run that changes nothing; the calibration and the budget
the next prompts are fitted to."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import structlog

from protocol.generation import GenerationSettings
from tests.engine.characters import character
from tests.engine.conftest import OpenEngine, RecordingBackend, chat, exported, regenerate
from tests.engine.test_keep_partial import CutOffBackend, cut_off
from worker.backends.base import (
    ContextOverflow,
    GenerationDone,
    GenerationOptions,
    GenerationRequest,
    TextDelta,
)
from worker.backends.context_window import ContextWindow
from worker.backends.scripted import ScriptedBackend
from worker.engine.errors import EngineError
from worker.engine.prompt import estimate_tokens
from worker.engine.prompt_budget import PromptLimits

OPTIONS = GenerationOptions(model="tiny", temperature=0.7, num_ctx=2048, max_tokens=256)


class CountingBackend(ScriptedBackend):
    """Reports ``tokens_per_estimate`` times the raw estimate as the prompt's token count,
    as a server with a hungrier tokenizer would, and says its context window."""

    name = "ollama"

    def __init__(self, *, tokens_per_estimate: float = 1.5, window: int = 2048) -> None:
        super().__init__()
        self.tokens_per_estimate = tokens_per_estimate
        self.window = window
        self.requests: list[GenerationRequest] = []

    def context_window(self, options: GenerationOptions) -> ContextWindow:
        return ContextWindow(self.window, "a test server")

    async def generate(self, request: GenerationRequest
                       ) -> AsyncIterator[TextDelta | GenerationDone]:
        self.requests.append(request)
        raw = sum(estimate_tokens(m.content) for m in request.messages)
        async for event in super().generate(request):
            if isinstance(event, GenerationDone):
                event = dataclasses.replace(
                    event, backend=self.name,
                    prompt_tokens=round(raw * self.tokens_per_estimate))
            yield event


async def test_the_last_turns_prompt_is_what_the_backend_got(open_engine: OpenEngine) -> None:
    backend = RecordingBackend()
    engine = open_engine(backend=backend, options=OPTIONS)
    await chat(engine, "Hello, I'm Sam", user="sam")
    await chat(engine, "What do you do all day?", user="sam")
    report = await engine.prompt(user="sam")
    assert report.built is not None and not report.dry_run
    assert report.built.messages == backend.prompts[-1]
    assert report.turn_id == 2
    assert report.options == OPTIONS
    assert report.backend == "scripted"
    assert report.generation is not None and report.generation.prompt_tokens is not None


async def test_the_kept_prompt_survives_a_restart(open_engine: OpenEngine, tmp_path: Path
                                                  ) -> None:
    engine = open_engine(options=OPTIONS)
    await chat(engine, "Remember this prompt", user="sam")
    before = await engine.prompt(user="sam")
    engine.close()
    after = await open_engine(options=OPTIONS).prompt(user="sam")
    assert after == before


async def test_each_user_has_their_own_last_prompt(open_engine: OpenEngine) -> None:
    backend = RecordingBackend()
    engine = open_engine(backend=backend)
    await chat(engine, "I am Sam", user="sam")
    sams = backend.prompts[-1]
    await chat(engine, "I am Bo", user="bo")
    report = await engine.prompt(user="sam")
    assert report.built is not None and report.built.messages == sams
    assert report.turn_id == 1


async def test_a_user_without_turns_has_no_prompt_and_is_told_how_to_get_one(
        open_engine: OpenEngine) -> None:
    report = await open_engine().prompt(user="sam")
    assert report.built is None
    assert report.note is not None and "dry run" in report.note


async def test_after_an_undo_the_older_turns_prompt_is_not_kept(open_engine: OpenEngine) -> None:
    engine = open_engine()
    await chat(engine, "one", user="sam")
    await chat(engine, "two", user="sam")
    engine.undo(user="sam")
    report = await engine.prompt(user="sam")
    assert report.built is None and report.turn_id == 1
    assert report.note is not None and "undo" in report.note


async def test_a_regenerated_turn_shows_the_prompt_of_its_new_reply(
        open_engine: OpenEngine) -> None:
    backend = RecordingBackend()
    engine = open_engine(backend=backend)
    await chat(engine, "Tell me about the river", user="sam")
    await regenerate(engine, user="sam")
    report = await engine.prompt(user="sam")
    assert report.built is not None and report.built.messages == backend.prompts[-1]
    engine.select_alternative(0, user="sam")  # the first reply again: not this prompt's
    assert (await engine.prompt(user="sam")).built is None


async def test_a_kept_cut_off_reply_sent_no_prompt(open_engine: OpenEngine) -> None:
    engine = open_engine(backend=CutOffBackend(cut_off=2))
    await cut_off(engine.chat("first", user="sam"))
    await cut_off(engine.chat("Tell me a story", user="sam"))
    async for _ in engine.chat("Tell me a story", user="sam", keep_partial=True):
        pass
    assert (await engine.prompt(user="sam")).built is None


async def test_a_dry_run_is_the_prompt_the_next_turn_sends(open_engine: OpenEngine) -> None:
    backend = RecordingBackend()
    engine = open_engine(backend=backend)
    await chat(engine, "Hello, I'm Sam and I restore maps", user="sam")
    dry = await engine.prompt("Do you remember what I restore?", user="sam")
    assert dry.dry_run and dry.turn_id is None and dry.built is not None
    await chat(engine, "Do you remember what I restore?", user="sam")
    assert dry.built.messages == backend.prompts[-1]


async def test_a_dry_run_commits_nothing_and_asks_no_model(open_engine: OpenEngine) -> None:
    backend = RecordingBackend()
    engine = open_engine(backend=backend)
    await chat(engine, "Hello", user="sam")
    before, kept = exported(engine), await engine.prompt(user="sam")
    await engine.prompt("You are wonderful and I adore you!", user="sam")
    assert exported(engine) == before
    assert len(backend.prompts) == 1
    assert await engine.prompt(user="sam") == kept


async def test_a_dry_run_applies_the_sessions_settings_as_the_turn_would(
        open_engine: OpenEngine) -> None:
    backend = RecordingBackend()
    engine = open_engine(backend=backend)
    settings = GenerationSettings(temperature=0.1, max_tokens=40)
    dry = await engine.prompt("Tell me a story", user="sam", settings=settings)
    async for _event in engine.chat("Tell me a story", user="sam", options=settings):
        pass
    assert (dry.options.temperature, dry.options.max_tokens) == (0.1, 40)
    assert dry.options == backend.options[-1]


async def test_a_dry_run_refuses_a_message_too_long_to_send(open_engine: OpenEngine) -> None:
    engine = open_engine(max_message_chars=10)
    with pytest.raises(EngineError) as refused:
        await engine.prompt("x" * 11, user="sam")
    assert refused.value.code == "message_too_long"


async def test_the_budget_is_the_backends_window_minus_the_reply(open_engine: OpenEngine
                                                                 ) -> None:
    engine = open_engine(backend=CountingBackend(window=2048), options=OPTIONS)
    report = await engine.prompt("hi", user="sam")
    assert report.budget.prompt_tokens == 2048 - 256
    assert report.budget.context_source == "a test server"


async def test_estimates_are_calibrated_against_the_servers_counts_and_kept(
        open_engine: OpenEngine) -> None:
    engine = open_engine(backend=CountingBackend(tokens_per_estimate=1.5), options=OPTIONS)
    for message in ("Hello there", "How is the river today?", "And the bridges?"):
        await chat(engine, message, user="sam")
    report = await engine.prompt("next", user="sam")
    assert report.budget.calibration.ratio == pytest.approx(1.5, rel=0.01)
    assert report.budget.calibration.turns == 3
    assert report.built is not None
    assert report.built.estimated_tokens == pytest.approx(report.built.raw_tokens * 1.5,
                                                          rel=0.01)
    engine.close()
    reopened = open_engine(backend=CountingBackend(), options=OPTIONS)
    assert (await reopened.prompt("next", user="sam")).budget.calibration.turns == 3


async def test_calibration_is_kept_per_model(open_engine: OpenEngine) -> None:
    engine = open_engine(backend=CountingBackend(tokens_per_estimate=2.0), options=OPTIONS)
    await chat(engine, "Hello there", user="sam")
    engine.close()
    other = open_engine(backend=CountingBackend(),
                        options=dataclasses.replace(OPTIONS, model="other"))
    assert (await other.prompt("next", user="sam")).budget.calibration.turns == 0


class OverflowingBackend(CountingBackend):
    async def generate(self, request: GenerationRequest
                       ) -> AsyncIterator[TextDelta | GenerationDone]:
        raise ContextOverflow("the prompt does not fit (5000 tokens, the window holds 1024)",
                              details={"prompt_tokens": 5000, "context_tokens": 1024})
        yield TextDelta("")  # pragma: no cover - makes this an async generator


async def test_a_context_overflow_names_the_budget_it_was_built_for(
        open_engine: OpenEngine) -> None:
    engine = open_engine(backend=OverflowingBackend(window=2048), options=OPTIONS)
    with pytest.raises(ContextOverflow) as caught:
        await chat(engine, "Hello", user="sam")
    assert caught.value.details is not None
    assert caught.value.details["budget_tokens"] == 2048 - 256
    assert caught.value.details["context_tokens"] == 1024  # the server's own figure stays
    assert "the server's window is 1024 tokens, not the 2048" in str(caught.value)
    assert engine.character_info()["turn_count"] == 0


def crowded_character() -> object:
    return character(id="crowded", name="Mara",
                     roleplay={"lorebook": {"token_budget": 5000, "entries": [
                         {"keys": [], "constant": True, "content": "lore " * 600}]}})


async def test_a_crowded_prompt_is_logged_once_per_character(open_engine: OpenEngine) -> None:
    engine = open_engine(crowded_character(), prompt_limits=PromptLimits(token_cap=900))
    with structlog.testing.capture_logs() as logs:
        for message in ("one", "two", "three"):
            await chat(engine, message, user="sam")
    warnings = [r for r in logs if r["event"] == "prompt_over_budget"]
    assert len(warnings) == 1
    assert warnings[0]["trimmed"] == ["lorebook"]
    assert "kept 0 of 0 exchanges" in warnings[0]["detail"]
    report = await engine.prompt(user="sam")
    assert report.built is not None and report.built.trimmed == ("lorebook",)
    assert report.built.history_kept == 2
