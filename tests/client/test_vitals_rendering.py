"""Reading the engine's status objects into a vitals view, and drawing it (pure)."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from client.interface import ChatReply
from client.render import arrow, bar, vitals_panel, vitals_plain
from client.vitals_view import (
    NEUROCHEMICALS,
    VitalsView,
    view_from_event,
    view_from_reply,
    view_from_status,
)
from protocol.events import VitalsEvent


def _engine_vitals(level: float, baseline: float, delta: float) -> dict[str, Any]:
    """The shape ``worker.engine.report.vitals_report`` produces."""
    details = {
        name: {"level": level, "baseline": baseline, "last_turn_delta": delta}
        for name in NEUROCHEMICALS
    }
    return {**{name: level for name in NEUROCHEMICALS}, "mood": "happy",
            "mood_intensity": 0.75, "details": details}


SUMMARY = {
    "name": "Toby",
    "relationship": {"user": "ann", "trust": 0.6, "affinity": 0.2, "interaction_count": 3},
    "active_goals": [{"description": "make ann laugh"}, {"description": "open a restaurant"}],
    "turn_count": 3,
}


def test_engine_report_becomes_six_levels_with_baselines_and_changes() -> None:
    view = view_from_status(SUMMARY, _engine_vitals(70.0, 64.0, 6.0))
    assert [level.name for level in view.levels] == list(NEUROCHEMICALS)
    assert view.levels[0].value == 70.0
    assert view.levels[0].baseline == 64.0
    assert view.levels[0].change == 6.0
    assert (view.mood, view.mood_intensity) == ("happy", 0.75)


def test_summary_gives_relationship_goals_and_turns() -> None:
    view = view_from_status(SUMMARY, _engine_vitals(70.0, 64.0, 6.0))
    assert view.relationship is not None and view.relationship.trust == 0.6
    assert view.goals == ("make ann laugh", "open a restaurant")
    assert view.turn_count == 3
    assert view.character == "Toby"


def test_flat_levels_without_changes_are_compared_to_the_previous_view() -> None:
    before = view_from_status({}, {"dopamine": 50.0})
    after = view_from_status({}, {"dopamine": 57.5}, previous=before)
    level = after.level("dopamine")
    assert level is not None and level.change == 7.5


def test_a_turns_answer_gives_levels_its_own_changes_and_mood() -> None:
    before = view_from_status(SUMMARY, _engine_vitals(70.0, 64.0, 6.0))
    reply = ChatReply(text="hi", vitals={"dopamine": 75.0, "cortisol": 30.0},
                      vitals_delta={"dopamine": 2.5, "cortisol": -1.0}, mood="playful",
                      mood_intensity=0.5)
    after = view_from_reply(reply, before)
    dopamine = after.level("dopamine")
    assert dopamine is not None and (dopamine.value, dopamine.change) == (75.0, 2.5)
    assert dopamine.baseline == 64.0
    assert (after.mood, after.mood_intensity) == ("playful", 0.5)
    assert after.relationship == before.relationship and after.goals == before.goals


def test_vitals_event_keeps_relationship_and_goals_from_before() -> None:
    before = view_from_status(SUMMARY, _engine_vitals(70.0, 64.0, 6.0))
    after = view_from_event(VitalsEvent(character_id="m", vitals={"dopamine": 40.0},
                                        mood="anxious"), before)
    assert after.mood == "anxious"
    assert after.goals == before.goals
    level = after.level("dopamine")
    assert level is not None and level.change == -30.0 and level.baseline == 64.0


def test_garbage_fields_are_left_out_not_fatal() -> None:
    view = view_from_status({"relationship": 5, "active_goals": "x"}, {"dopamine": "high"})
    assert view == VitalsView()


def test_bar_fills_proportionally_and_marks_the_baseline() -> None:
    assert bar(50.0, None, 10, ascii_only=True) == "#####-----"
    assert bar(50.0, 80.0, 10, ascii_only=True) == "#####---|-"
    assert bar(100.0, 0.0, 4, ascii_only=True) == "|###"


def test_bar_clamps_out_of_range_levels() -> None:
    assert bar(140.0, None, 4, ascii_only=True) == "####"
    assert bar(-3.0, None, 4, ascii_only=True) == "----"


def test_arrow_shows_direction_size_and_steadiness() -> None:
    assert arrow(3.24) == "▲ +3.2"
    assert arrow(-1.0, ascii_only=True) == "v -1.0"
    assert arrow(0.2) == "·"
    assert arrow(None) == ""


def test_plain_panel_has_one_line_per_level_then_mood_relationship_goals() -> None:
    text = vitals_plain(view_from_status(SUMMARY, _engine_vitals(70.0, 64.0, 6.0)))
    lines = text.splitlines()
    assert lines[0] == "[vitals Toby]"
    assert lines[1].startswith("dopamine ") and "(base 64)" in lines[1] and "^ +6.0" in lines[1]
    assert lines[7] == "mood: happy (75%)"
    assert lines[8] == "relationship: with ann: trust 0.60 affinity +0.20 3 interactions"
    assert lines[9] == "goals: make ann laugh; open a restaurant"


def test_one_interaction_is_singular() -> None:
    summary = {**SUMMARY, "relationship": {**SUMMARY["relationship"], "interaction_count": 1}}
    text = vitals_plain(view_from_status(summary, _engine_vitals(70.0, 64.0, 6.0)))
    assert "affinity +0.20 1 interaction\n" in text


def test_rich_panel_renders_every_level_name() -> None:
    console = Console(width=100, record=True, color_system=None)
    console.print(vitals_panel(view_from_status(SUMMARY, _engine_vitals(70.0, 64.0, -6.0))))
    text = console.export_text()
    for name in NEUROCHEMICALS:
        assert name in text
    assert "▼ -6.0" in text and "mood: happy (75%)" in text


def test_a_turns_vitals_event_gives_the_servers_intensity_and_changes_not_its_own() -> None:
    before = view_from_status(SUMMARY, _engine_vitals(70.0, 64.0, 6.0))
    event = VitalsEvent(character_id="m", vitals={"dopamine": 66.7, "mood_intensity": 0.1},
                        mood="anxious", cause="turn", mood_intensity=0.6,
                        previous_mood="happy", vitals_delta={"dopamine": -3.0}, user="bob")
    after = view_from_event(event, before)
    dopamine = after.level("dopamine")
    # Against what this client saw last it would be -3.3; the server says -3.0.
    assert dopamine is not None and dopamine.change == -3.0
    assert (after.mood, after.mood_intensity) == ("anxious", 0.6)


def test_bars_draw_eighths_of_a_cell_so_small_changes_show() -> None:
    assert bar(64.0, None, 20) != bar(69.4, None, 20)
    assert bar(50.0, None, 4) == "██░░"
    assert bar(56.25, None, 4) == "██▎░"
    assert bar(100.0, None, 3) == "███"
    assert bar(0.0, None, 3) == "░░░"
    assert bar(50.0, 75.0, 4) == "██░│"


def test_the_plain_panel_with_history_ends_each_level_with_its_sparkline() -> None:
    view = view_from_status(SUMMARY, _engine_vitals(70.0, 64.0, 6.0))
    text = vitals_plain(view, {"dopamine": (60.0, 65.0, 70.0)})
    dopamine = text.splitlines()[1]
    assert dopamine.endswith(" .=#")


def test_the_dashboard_lists_everyone_talking_most_recent_first() -> None:
    summary = {**SUMMARY, "relationship": None, "relationships": [
        {"user": "bob", "trust": 0.55, "affinity": 0.1, "interaction_count": 2},
        {"user": "ann", "trust": 0.6, "affinity": 0.2, "interaction_count": 3}]}
    lines = vitals_plain(view_from_status(summary, _engine_vitals(70.0, 64.0, 6.0))
                         ).splitlines()
    at = lines.index("relationships (most recent first):")
    assert lines[at + 1].startswith("  with bob:") and lines[at + 2].startswith("  with ann:")
    assert not any("with user" in line for line in lines)


def test_the_goals_line_is_cut_with_an_ellipsis_to_the_width() -> None:
    goals = {**SUMMARY, "active_goals": ["make ann laugh " * 6, "open a restaurant"]}
    console = Console(width=60, record=True, color_system=None)
    console.print(vitals_panel(view_from_status(goals, _engine_vitals(70.0, 64.0, 6.0))))
    goal_line = next(line for line in console.export_text().splitlines() if "goals:" in line)
    assert "…" in goal_line and len(goal_line) <= 60
