"""A turn's cost against the length of its message: linear, with a bounded appraisal.

Run: ``python -m bench.long_message_bench`` (under a minute). For messages of 1,000, 8,000
and 64,000 words (``"hello friend "`` repeated: every other word is in VADER's lexicon,
its worst case) it measures, in one process:

* ``appraise``: greenroom's appraisal (VADER on the message's excerpt), beside VADER on the
  whole message — what appraisal did before, quadratic in words (64,000 words are not run:
  minutes);
* a whole turn of an in-process ``CharacterEngine`` with the scripted backend (the message
  limit raised for the purpose), beside the 1,000-word turn scaled linearly: the goal is a
  turn within twice its linear extrapolation.

Figures are the best of ``REPEATS`` runs, in milliseconds.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bench.report import Row, machine_line, render_table
from runtime.settings import Settings
from schemas.loader import load_character
from worker.backends.scripted import ScriptedBackend
from worker.engine.appraisal import appraise
from worker.engine.character_engine import CharacterEngine
from worker.engine.errors import EngineError
from worker.engine.results import TurnResult

WORDS = (1_000, 8_000, 64_000)
WHOLE_VADER_UP_TO = 8_000
REPEATS = 3
CHARACTER = "m-playful"


def _message(words: int) -> str:
    return "hello friend " * (words // 2)


def _best_ms(run: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        started = time.perf_counter()
        run()
        best = min(best, time.perf_counter() - started)
    return best * 1000.0


def _turn_ms(engine: CharacterEngine, message: str) -> float:
    async def turn() -> None:
        async for event in engine.chat(message):
            if isinstance(event, TurnResult):
                return
        raise EngineError("internal", "the turn ended without a result")

    return _best_ms(lambda: asyncio.run(turn()))


def measure() -> list[Row]:
    rows: list[Row] = []
    vader = SentimentIntensityAnalyzer()
    for words in WORDS:
        message = _message(words)
        whole = (_best_ms(partial(vader.polarity_scores, message))
                 if words <= WHOLE_VADER_UP_TO else None)
        rows.append(Row(f"appraise, {words:,} words", _best_ms(partial(appraise, message)),
                        whole, "ms", "baseline: VADER on the whole message"))
    character = load_character(CHARACTER, Settings().characters_dir).character
    with tempfile.TemporaryDirectory() as scratch:
        engine = CharacterEngine.open(character, data_dir=Path(scratch), backend=ScriptedBackend(),
                                      max_message_chars=10**9)
        try:
            unit = _turn_ms(engine, _message(WORDS[0])) / WORDS[0]
            for words in WORDS:
                took = _turn_ms(engine, _message(words))
                linear = unit * words
                rows.append(Row(f"whole turn, {words:,} words", took, linear, "ms",
                                "≤ 2× linear (baseline: 1k-word turn scaled)",
                                took <= 2 * linear))
        finally:
            engine.close()
    return rows


async def run() -> str:
    rows = await asyncio.to_thread(measure)
    return render_table("Long messages: cost per turn against message length", rows)


def main() -> None:
    print(machine_line())
    print(asyncio.run(run()))


if __name__ == "__main__":
    main()
