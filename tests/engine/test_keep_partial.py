"""A reply the LLM server cut off: nothing committed, the text handed back, and kept as the
turn only when asked (``keep_partial``), marked incomplete."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.engine.conftest import OpenEngine, chat
from worker.backends.base import (
    GenerationDone,
    GenerationRequest,
    LLMIncomplete,
    TextDelta,
)
from worker.engine.errors import EngineError
from worker.engine.results import TurnResult


class CutOffBackend:
    """Streams two tokens, then ends the way llama-cpp-python does when interrupted."""

    name = "openai"

    def __init__(self, *, cut_off: int = 1_000) -> None:
        self.requests = 0
        self._cut_off = cut_off  # how many requests are cut off; later ones complete

    async def check(self) -> None:
        pass

    async def generate(self, request: GenerationRequest
                       ) -> AsyncIterator[TextDelta | GenerationDone]:
        self.requests += 1
        yield TextDelta("The only thing")
        yield TextDelta(" that is going")
        if self.requests > self._cut_off:
            yield GenerationDone(backend=self.name, model="m")
            return
        raise LLMIncomplete("the stream ended ([DONE]) after 2 token(s) without a finish_reason",
                            details={"tokens": 2})

    async def aclose(self) -> None:
        pass


async def cut_off(engine_chat: AsyncIterator[object]) -> LLMIncomplete:
    with pytest.raises(LLMIncomplete) as caught:
        async for _ in engine_chat:
            pass
    return caught.value


async def test_a_cut_off_reply_commits_nothing_and_carries_the_partial_text(
        open_engine: OpenEngine) -> None:
    engine = open_engine(backend=CutOffBackend())
    error = await cut_off(engine.chat("Tell me a story"))
    assert error.details == {"tokens": 2, "partial_text": "The only thing that is going"}
    assert engine.character_info()["turn_count"] == 0


async def test_keep_partial_commits_the_cut_off_text_marked_incomplete_without_the_llm(
        open_engine: OpenEngine) -> None:
    backend = CutOffBackend()
    engine = open_engine(backend=backend)
    await cut_off(engine.chat("Tell me a story"))
    events = [e async for e in engine.chat("Tell me a story", keep_partial=True)]
    result = events[-1]
    assert isinstance(result, TurnResult)
    assert result.response_text == "The only thing that is going"
    assert result.generation.finish_reason == "incomplete"
    assert backend.requests == 1
    history = engine.status(include_history=True).conversation_history
    assert history is not None and len(history) == 1


async def test_keep_partial_without_a_cut_off_reply_for_that_message_is_refused(
        open_engine: OpenEngine) -> None:
    engine = open_engine(backend=CutOffBackend())
    await cut_off(engine.chat("Tell me a story"))
    with pytest.raises(EngineError) as caught:
        async for _ in engine.chat("Something else", keep_partial=True):
            pass
    assert caught.value.code == "bad_request"
    assert engine.character_info()["turn_count"] == 0


async def test_another_turn_forgets_the_cut_off_reply(open_engine: OpenEngine) -> None:
    engine = open_engine(backend=CutOffBackend(cut_off=1))
    await cut_off(engine.chat("Tell me a story"))
    await chat(engine, "hello")
    with pytest.raises(EngineError, match="no cut-off reply to keep"):
        async for _ in engine.chat("Tell me a story", keep_partial=True):
            pass
