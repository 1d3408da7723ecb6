"""What a status tells about everyone talking to a character: the relationships of the
people who have spoken, the most recent first, and the levels each turn left (for the
chat's sparklines) — never a relationship for a user who never spoke."""

from __future__ import annotations

from tests.engine.characters import sensitive_character
from tests.engine.clock import ManualClock
from tests.engine.conftest import OpenEngine, chat
from worker.engine.report import RELATIONSHIPS_LISTED


async def test_the_summary_lists_the_people_talking_most_recent_first(
        open_engine: OpenEngine, clock: ManualClock) -> None:
    engine = open_engine(sensitive_character())
    for user in ("ann", "bob", "ann", "cyd"):
        await chat(engine, f"Hello, I am {user}.", user=user)
        clock.advance(5.0)
    summary = engine.status(user="dashboard").character_summary
    people = summary["relationships"]
    assert [p["user"] for p in people] == ["cyd", "ann", "bob"]
    assert [p["interaction_count"] for p in people] == [1, 2, 1]
    assert summary["relationship"]["user"] == "dashboard"  # as before: the asker's own
    assert RELATIONSHIPS_LISTED >= 3


async def test_each_turn_of_the_history_carries_the_levels_it_left(
        open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    first = await chat(engine, "You are wonderful!", user="ann")
    second = await chat(engine, "You stupid idiot.", user="bob")
    history = engine.status(include_history=True).conversation_history
    assert history is not None
    assert [turn["vitals"] for turn in history] == [
        {name: round(value, 2) for name, value in first.vitals.items()},
        {name: round(value, 2) for name, value in second.vitals.items()}]
    assert history[1]["mood_intensity"] == second.mood_intensity


async def test_a_turns_result_says_the_mood_before_it(open_engine: OpenEngine) -> None:
    engine = open_engine(sensitive_character())
    first = await chat(engine, "Hello!", user="ann")
    second = await chat(engine, "You stupid useless idiot, I hate you.", user="ann")
    assert second.previous_mood == first.mood
