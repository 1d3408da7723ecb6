import asyncio
import json
import threading
from collections.abc import AsyncIterator, Sequence

import pytest

from schemas.model import MoodTrigger
from tests.engine.characters import sensitive_character
from tests.engine.clock import ManualClock
from tests.engine.conftest import OpenEngine, RecordingBackend, chat, exported
from worker.backends.base import (
    ChatMessage,
    GenerationDone,
    GenerationRequest,
    LLMUnavailable,
    TextDelta,
)
from worker.backends.scripted import ScriptedBackend
from worker.engine import turn_prepare
from worker.engine.appraisal import Appraisal, appraise
from worker.engine.errors import EngineError
from worker.engine.results import GenerationStarted, TurnResult


def content_bytes(engine) -> str:  # type: ignore[no-untyped-def]
    return json.dumps(exported(engine)["content"], sort_keys=True)


async def test_turn_result_carries_the_committed_turn(open_engine: OpenEngine) -> None:
    engine = open_engine()
    result = await chat(engine, "Hello there!", user="sam")
    assert (result.turn_id, result.turn_index, result.user, result.intent) == (
        1, 1, "sam", "greeting")
    assert result.response_text.startswith("Shoes off, sam.")
    assert set(result.vitals) == set(result.vitals_delta) == {
        "dopamine", "serotonin", "oxytocin", "endorphins", "cortisol", "adrenaline"}
    assert result.generation.backend == "scripted"
    assert {"appraisal", "memory_search", "prompt", "generation", "commit", "total"} <= set(
        result.timings_ms)
    history = engine.status(include_history=True).conversation_history
    assert history is not None
    assert history[0]["response"] == result.response_text


async def test_hostile_turn_raises_cortisol_and_lowers_trust(open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    result = await chat(engine, "You are a stupid useless idiot and I hate you")
    assert result.intent == "hostile"
    assert result.vitals_delta["cortisol"] > 0
    relationship = engine.status().character_summary["relationship"]
    assert relationship["trust"] < 0.5
    assert relationship["interaction_count"] == 1


async def test_status_shows_vitals_decaying_between_turns(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character(), half_life_s=100.0)
    result = await chat(engine, "You are a stupid useless idiot and I hate you")
    after = result.vitals["cortisol"]
    clock.advance(100.0)
    vitals = engine.status().vitals
    assert vitals is not None
    assert vitals["cortisol"] == pytest.approx(50.0 + (after - 50.0) / 2, abs=0.01)
    assert vitals["details"]["cortisol"]["last_turn_delta"] > 0


async def test_memory_formed_in_a_turn_is_found_and_used_later(open_engine: OpenEngine) -> None:
    engine = open_engine()
    first = await chat(engine, "My dog is called Biscuit and he loves the beach.", user="sam")
    assert first.memories_formed
    hits = await engine.search_memory("Biscuit the dog")
    assert hits and "Biscuit" in hits[0].text
    later = await chat(engine, "Do you remember my dog Biscuit?", user="sam")
    assert any("Biscuit" in m.text for m in later.memories_used)
    assert "Biscuit" in later.response_text


async def test_closing_the_stream_early_commits_nothing(open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    await chat(engine, "hello")
    before = content_bytes(engine)
    stream = engine.chat("You are a stupid useless idiot and I hate you")
    assert isinstance(await stream.__anext__(), GenerationStarted)
    first = await stream.__anext__()
    assert isinstance(first, TextDelta)
    await stream.aclose()
    assert content_bytes(engine) == before
    assert engine.status().character_summary["turn_count"] == 1


async def test_cancelling_the_task_commits_nothing(open_engine: OpenEngine) -> None:
    engine = open_engine(backend=ScriptedBackend(word_delay_s=0.01))
    before = content_bytes(engine)
    first_delta = asyncio.Event()

    async def consume() -> None:
        async for event in engine.chat("Tell me a long story about lighthouses"):
            if isinstance(event, TextDelta):
                first_delta.set()

    task = asyncio.create_task(consume())
    await first_delta.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert content_bytes(engine) == before
    await chat(engine, "hello")  # the engine is free again


async def test_second_chat_while_streaming_is_busy(open_engine: OpenEngine) -> None:
    engine = open_engine()
    stream = engine.chat("Hello there!")
    await stream.__anext__()
    with pytest.raises(EngineError) as error:
        await engine.chat("me too").__anext__()
    assert error.value.code == "busy"
    with pytest.raises(EngineError, match="busy"):
        engine.undo()
    await stream.aclose()


async def test_status_and_search_work_while_a_turn_streams(open_engine: OpenEngine) -> None:
    engine = open_engine()
    await chat(engine, "My dog is called Biscuit and he loves the beach.")
    stream = engine.chat("Hello there!")
    await stream.__anext__()
    assert engine.status().character_summary["turn_count"] == 1
    assert await engine.search_memory("Biscuit")
    events = [event async for event in stream]
    assert isinstance(events[-1], TurnResult)


class FailingBackend:
    """A backend whose server is down, as the real HTTP backends report it."""

    name = "failing"

    async def check(self) -> None:
        raise LLMUnavailable("no server at http://127.0.0.1:9")

    async def generate(self, request: GenerationRequest
                       ) -> AsyncIterator[TextDelta | GenerationDone]:
        yield TextDelta("Half a ")
        raise LLMUnavailable("connection to http://127.0.0.1:9 lost")

    async def aclose(self) -> None:
        pass


async def test_backend_error_propagates_with_its_code_and_commits_nothing(
        open_engine: OpenEngine) -> None:
    engine = open_engine(backend=FailingBackend())
    before = content_bytes(engine)
    with pytest.raises(LLMUnavailable) as error:
        async for _ in engine.chat("hello"):
            pass
    assert error.value.code == "llm_unavailable"
    assert content_bytes(engine) == before


async def test_reopened_engine_resumes_from_committed_state(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    result = await chat(engine, "I really appreciate you, friend, thank you")
    engine.close()
    reopened = open_engine(sensitive_character())
    vitals = reopened.status().vitals
    assert vitals is not None
    assert {k: vitals[k] for k in result.vitals} == {
        k: round(v, 2) for k, v in result.vitals.items()}
    assert reopened.character_info()["turn_count"] == 1


async def test_status_report_has_summary_goals_and_performance(open_engine: OpenEngine) -> None:
    engine = open_engine()
    await chat(engine, "hello")
    report = engine.status(include_history=True, include_performance=True)
    summary = report.character_summary
    assert summary["name"] == "Wren Alder"
    assert [g["description"] for g in summary["active_goals"]] == [
        "Find the missing folio", "Reopen the reading room"]
    assert summary["hidden_goal_count"] == 1
    assert "Burn" not in json.dumps(summary)
    assert report.performance_stats is not None
    assert report.performance_stats["turns_measured"] == 1
    json.dumps([report.vitals, report.conversation_history, report.performance_stats])


async def test_consecutive_turns_prompts_share_a_growing_prefix(open_engine: OpenEngine) -> None:
    """What a server's prompt cache needs: the same system message every turn, and turn n's
    messages before its new one are turn n−1's plus the exchange it made."""
    backend = RecordingBackend()
    engine = open_engine(backend=backend)
    said = ["Hi! My dog Biscuit loves the river.", "You are hopeless and rude.",
            "Sorry. Tell me about Biscuit's river?"]
    replies = [(await chat(engine, message)).response_text for message in said]
    first, second, third = backend.prompts
    assert first[0] == second[0] == third[0]
    assert third[:-1] == [*second[:-1], ChatMessage("user", said[1]),
                          ChatMessage("assistant", replies[1])]
    assert second[:-1] == [*first[:-1], ChatMessage("user", said[0]),
                           ChatMessage("assistant", replies[0])]
    # The state still reaches the model, in the final message: the recalled memory and
    # the relationship after two exchanges.
    assert third[-1].content.startswith(said[2] + "\n\n[Note for ")
    assert "Biscuit" in third[-1].content.split("## What you remember", 1)[1]
    assert "you have talked 2 times" in third[-1].content
async def test_a_message_over_the_limit_is_message_too_long_and_commits_nothing(
    open_engine: OpenEngine,
) -> None:
    engine = open_engine(max_message_chars=100)
    before = content_bytes(engine)
    with pytest.raises(EngineError) as refused:
        await chat(engine, "x" * 101)
    assert refused.value.code == "message_too_long"
    assert refused.value.details == {"max_chars": 100, "length": 101}
    assert "100" in refused.value.message
    assert content_bytes(engine) == before
    assert (await chat(engine, "x" * 100)).turn_index == 1


async def test_the_event_loop_runs_while_a_turn_appraises(
    open_engine: OpenEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = open_engine()
    loop = asyncio.get_running_loop()
    appraising, release = asyncio.Event(), threading.Event()

    def slow_appraise(text: str, triggers: Sequence[MoodTrigger] = ()) -> Appraisal:
        loop.call_soon_threadsafe(appraising.set)
        # Only the event loop can set ``release``: this times out if appraisal blocks it.
        if not release.wait(timeout=5):
            raise AssertionError("appraisal blocked the event loop")
        return appraise(text, triggers)

    monkeypatch.setattr(turn_prepare, "appraise", slow_appraise)
    pending = asyncio.create_task(chat(engine, "Hello there!"))
    await asyncio.wait_for(appraising.wait(), 5)
    assert engine.status().character_summary["turn_count"] == 0
    release.set()
    assert (await pending).turn_index == 1
