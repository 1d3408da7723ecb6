"""The ``/why`` view (``render.trace_plain``) and ``/show`` (``render.settings_plain``): pure,
from the trace's JSON as a server sends it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

from client import render
from client.interface import TraceReport
from protocol.generation import GenerationSettings
from tests.engine.characters import sensitive_character
from worker.backends.scripted import ScriptedBackend
from worker.engine.character_engine import CharacterEngine


def report(trace: dict[str, Any] | None, *, turn: int = 3) -> TraceReport:
    return TraceReport(turn_id=turn, turn_index=turn, user="sam", user_message="You idiot!",
                       created_at=None, trace=trace)


def test_a_turn_from_before_traces_says_so() -> None:
    text = render.trace_plain(report(None))
    assert text.splitlines()[0] == "why turn 3 — sam: 'You idiot!'"
    assert "before traces were recorded" in text


def test_a_mood_held_by_hysteresis_says_which_was_nearer_and_by_how_much() -> None:
    mood = {"before": "calm", "before_intensity": 0.2, "after": {
        "label": "calm", "intensity": 0.3, "nearest": "stressed", "nearest_distance": 21.5,
        "previous": "calm", "previous_distance": 24.1, "held": True, "hysteresis_points": 4.0}}
    line = render.trace_plain(report({"mood": mood})).splitlines()[1]
    assert line == ("mood       calm → calm (30%): held by hysteresis: stressed was nearer "
                    "(21.5 vs 24.1 points) but not by more than 4")


def test_a_clamped_level_is_marked_and_no_negative_zero_is_shown() -> None:
    vitals = {"elapsed_s": 750.0, "half_life_s": 600.0, "gain": 1.4, "levels": [
        {"name": "cortisol", "committed": 99.0, "decay": -0.00001, "sensitivity": 2.0,
         "impulse": {"threat": 20.0, "valence": 3.0}, "delta": 1.0, "after": 100.0}]}
    lines = render.trace_plain(report({"vitals": vitals})).splitlines()
    assert lines[1].startswith("vitals     12m30s since the last turn (half-life 10m00s)")
    assert lines[3] == ("  cortisol     99.0   +0.0   +1.0  100.0  threat +20.0, valence +3.0"
                        " (clamped to 0–100)")


def test_a_kept_reply_says_nothing_was_generated_or_searched() -> None:
    text = render.trace_plain(report({
        "memories": {"searched": False},
        "generation": {"backend": "openai", "kept_partial": True}}))
    assert "not searched" in text and "cut-off reply of openai was kept" in text


def test_parts_a_trace_lacks_are_skipped_not_guessed() -> None:
    assert render.trace_plain(report({"format": 1})).splitlines() == [
        "why turn 3 — sam: 'You idiot!'", "lorebook   none"]


def test_show_marks_what_the_session_set() -> None:
    last = report({"generation": {"backend": "ollama", "options": {
        "model": "llama3.2", "temperature": 0.7, "top_p": None, "stop": []}}})
    text = render.settings_plain(GenerationSettings(temperature=0.7), last)
    assert "  temperature  0.7  (set)" in text and "  model        —" in text
    assert text.splitlines()[-1] == "turn 3 ran on ollama with: model llama3.2, temperature 0.7"


async def test_a_trace_built_in_process_renders_as_its_json_does(tmp_path: Path) -> None:
    engine = CharacterEngine.open(sensitive_character(), data_dir=tmp_path,
                                  backend=ScriptedBackend())
    try:
        async for _ in engine.chat("My dog is called Biscuit!"):
            pass
        found = engine.trace()
    finally:
        engine.close()
    built = msgspec.to_builtins(found.trace)  # tuples, as the engine's values hold them
    decoded = json.loads(json.dumps(built))  # lists, as a server's answer has them
    views = [render.trace_plain(report(trace)) for trace in (built, decoded)]
    assert views[0] == views[1] and "dopamine" in views[0] and "memories " in views[0]
