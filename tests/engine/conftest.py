from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.engine.characters import full_character
from tests.engine.clock import ManualClock
from worker.backends.base import Backend, TextDelta
from worker.backends.scripted import ScriptedBackend
from worker.characters.model import Character
from worker.engine import CharacterEngine, TurnResult

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


async def regenerate(engine: CharacterEngine) -> TurnResult:
    result = None
    async for event in engine.regenerate():
        if isinstance(event, TurnResult):
            result = event
    assert result is not None
    return result
