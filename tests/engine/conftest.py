from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from schemas.model import Character
from tests.engine.characters import full_character
from tests.engine.clock import ManualClock
from worker.backends.base import (
    Backend,
    ChatMessage,
    GenerationDone,
    GenerationOptions,
    GenerationRequest,
    TextDelta,
)
from worker.backends.scripted import ScriptedBackend
from worker.engine.character_engine import CharacterEngine
from worker.engine.results import TurnResult

OpenEngine = Callable[..., CharacterEngine]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def open_engine(tmp_path: Path, clock: ManualClock) -> Iterator[OpenEngine]:
    """Opens engines on ``tmp_path`` with the scripted backend; closes them afterwards."""
    opened: list[CharacterEngine] = []

    def open_(character: Character | None = None, *, data_dir: Path = tmp_path,
              backend: Backend | None = None, **kwargs: object) -> CharacterEngine:
        engine = CharacterEngine.open(
            character or full_character(), data_dir=data_dir,
            backend=backend or ScriptedBackend(), clock=clock, **kwargs)  # type: ignore[arg-type]
        opened.append(engine)
        return engine

    yield open_
    for engine in opened:
        engine.close()


async def chat(engine: CharacterEngine, message: str, *, user: str = "user") -> TurnResult:
    """One whole turn; returns its result after checking the streamed text matches it."""
    text, result = [], None
    async for event in engine.chat(message, user=user):
        if isinstance(event, TurnResult):
            result = event
        elif isinstance(event, TextDelta):
            text.append(event.text)
    assert result is not None
    assert "".join(text) == result.response_text
    return result


async def regenerate(engine: CharacterEngine, *, user: str = "user") -> TurnResult:
    result = None
    async for event in engine.regenerate(user=user):
        if isinstance(event, TurnResult):
            result = event
    assert result is not None
    return result


def exported(engine: CharacterEngine) -> dict[str, Any]:
    """The engine's whole export document, read through ``export_text`` as every caller
    of the engine reads it."""
    document: dict[str, Any] = json.loads("".join(engine.export_text()))
    return document


class RecordingBackend(ScriptedBackend):
    """The scripted backend, keeping every request's messages and options."""

    def __init__(self) -> None:
        super().__init__()
        self.prompts: list[list[ChatMessage]] = []
        self.options: list[GenerationOptions] = []

    async def generate(self, request: GenerationRequest
                       ) -> AsyncIterator[TextDelta | GenerationDone]:
        self.prompts.append(list(request.messages))
        self.options.append(request.options)
        async for event in super().generate(request):
            yield event
