"""The World Info rules (``worker.engine.world_info``), one behaviour per test, with plain
values: books in, a scan of messages (newest first) out."""

from __future__ import annotations

import math
from typing import Any

import pytest

from schemas.lorebook import Lorebook
from worker.engine.world_info import LoreSelection, WorldInfo, seeded_roll


def book(*entries: dict[str, Any], **settings: Any) -> Lorebook:
    return Lorebook(entries=list(entries), **settings)


def entry(content: str, *keys: str, **fields: Any) -> dict[str, Any]:
    return {"content": content, "keys": list(keys), **fields}


def scan(lorebook: Lorebook, *messages: str, budget: int = 10_000, roll: float = 0.0,
         user: str = "sam") -> LoreSelection:
    info = WorldInfo.compile([("character", lorebook)], char="Mara")
    return info.scan(list(messages), user=user, budget_tokens=budget,
                     cost=lambda text: math.ceil(len(text) / 4),
                     roll=lambda book, index: roll)


def fired(selection: LoreSelection) -> list[str]:
    return [f.entry for f in selection.included]


def test_an_entry_fires_when_a_key_occurs_in_the_new_message() -> None:
    result = scan(book(entry("Harbour lore.", "harbour")), "Tell me about the Harbour.")
    assert fired(result) == ["harbour"]
    assert (result.firings[0].key, result.firings[0].where) == ("harbour", "message 0")
    assert result.before == ("Harbour lore.",)


def test_nothing_fires_when_no_key_is_said() -> None:
    assert scan(book(entry("Harbour lore.", "harbour")), "Hi").firings == ()


def test_only_the_last_scan_depth_messages_are_read() -> None:
    lore = book(entry("Harbour lore.", "harbour"), scan_depth=2)
    assert fired(scan(lore, "ok", "yes", "the harbour")) == []
    assert scan(lore, "ok", "the harbour").firings[0].where == "message 1"


def test_an_entrys_own_scan_depth_overrides_the_books() -> None:
    lore = book(entry("Harbour lore.", "harbour", scan_depth=3), scan_depth=1)
    assert fired(scan(lore, "ok", "yes", "the harbour")) == ["harbour"]


def test_keys_are_case_insensitive_unless_the_entry_says_otherwise() -> None:
    assert fired(scan(book(entry("L.", "Lanthe")), "lanthe")) == ["Lanthe"]
    assert fired(scan(book(entry("L.", "Lanthe", case_sensitive=True)), "lanthe")) == []
    assert fired(scan(book(entry("L.", "Lanthe"), case_sensitive=True), "lanthe")) == []


def test_whole_words_match_a_word_not_part_of_one() -> None:
    lore = book(entry("Cat lore.", "cat", match_whole_words=True))
    assert fired(scan(lore, "a concatenation")) == []
    assert fired(scan(lore, "the cat, sleeping")) == ["cat"]
    assert fired(scan(book(entry("Cat lore.", "cat")), "a concatenation")) == ["cat"]


def test_a_slash_delimited_key_is_a_regular_expression_with_its_own_flags() -> None:
    lore = book(entry("Bridge lore.", r"/brid(ge|ges)\b/i"))
    assert fired(scan(lore, "Seven BRIDGES")) == [r"/brid(ge|ges)\b/i"]
    assert fired(scan(book(entry("B.", "/BRIDGE/")), "bridge")) == []


def test_a_key_re2_cannot_run_is_reported_and_never_matches() -> None:
    info = WorldInfo.compile([("character", book(entry("L.", "/a(?=b)/")))], char="Mara")
    assert [(p.key, "look-ahead" in p.why) for p in info.problems] == [("/a(?=b)/", True)]


def test_a_catastrophic_pattern_runs_in_linear_time() -> None:
    # (a+)+$ takes exponential time on a backtracking engine; RE2 answers at once.
    result = scan(book(entry("A.", "/(a+)+$/")), "a" * 50_000 + "!")
    assert fired(result) == []


def test_name_macros_in_keys_are_filled_in() -> None:
    lore = book(entry("About the user.", "{{user}}"), entry("About Mara.", "{{char}}"))
    assert fired(scan(lore, "sam and mara", user="sam")) == ["{{user}}", "{{char}}"]
    assert fired(scan(lore, "sam", user="alex")) == []


@pytest.mark.parametrize(("logic", "message", "fires"), [
    ("and_any", "the harbour at night", True),
    ("and_any", "the harbour", False),
    ("and_all", "the harbour at night in winter", True),
    ("and_all", "the harbour at night", False),
    ("not_any", "the harbour", True),
    ("not_any", "the harbour in winter", False),
    ("not_all", "the harbour at night", True),
    ("not_all", "the harbour at night in winter", False),
])
def test_secondary_keys_combine_by_the_entrys_logic(logic: str, message: str,
                                                    fires: bool) -> None:
    lore = book(entry("H.", "harbour", secondary_keys=["night", "winter"], logic=logic))
    assert bool(fired(scan(lore, message))) is fires


def test_secondary_keys_are_ignored_when_the_entry_is_not_selective() -> None:
    lore = book(entry("H.", "harbour", secondary_keys=["night"], selective=False))
    assert fired(scan(lore, "the harbour")) == ["harbour"]


def test_constant_entries_fire_without_a_key_and_disabled_ones_never() -> None:
    lore = book(entry("Always.", comment="rules", constant=True),
                entry("Never.", "harbour", enabled=False))
    result = scan(lore, "the harbour")
    assert fired(result) == ["rules"] and result.firings[0].reason == "constant"


def test_decorators_force_or_forbid_an_entry_and_are_not_in_the_prompt() -> None:
    lore = book(entry("@@activate\nForced.", "zzz"), entry("@@dont_activate\nNo.", "harbour"))
    result = scan(lore, "the harbour")
    assert result.before == ("Forced.",) and result.firings[0].reason == "decorator"


def test_probability_keeps_an_entry_whose_roll_is_under_it() -> None:
    lore = book(entry("H.", "harbour", probability=30))
    assert fired(scan(lore, "harbour", roll=29.9)) == ["harbour"]
    dropped = scan(lore, "harbour", roll=30.0).firings[0]
    assert not dropped.included and dropped.dropped == "its 30% roll failed (rolled 30.0)"


def test_seeded_rolls_repeat_for_a_turn_and_change_for_another_reply() -> None:
    first = seeded_roll(character="mara", turn_id=4, variant=0)
    assert first("character", 2) == seeded_roll(character="mara", turn_id=4,
                                                 variant=0)("character", 2)
    assert first("character", 2) != seeded_roll(character="mara", turn_id=4,
                                                variant=1)("character", 2)
    assert 0.0 <= first("character", 2) < 100.0


def test_the_budget_drops_the_lowest_orders_first() -> None:
    lore = book(entry("a" * 40, "x", comment="low", order=1),
                entry("b" * 40, "x", comment="high", order=50),
                entry("c" * 40, "x", comment="mid", order=10))
    result = scan(lore, "x", budget=25)  # room for two entries of 10 tokens, not three
    assert fired(result) == ["high", "mid"]
    low = next(f for f in result.firings if f.entry == "low")
    assert low.dropped == "over the lorebook budget of 25 tokens"


def test_included_entries_are_placed_lowest_order_first_in_their_position() -> None:
    lore = book(entry("Second.", "x", order=20), entry("First.", "x", order=5),
                entry("After.", "x", position="after_character"),
                entry("Deep.", "x", position="at_depth", depth=3))
    result = scan(lore, "x")
    assert result.before == ("First.", "Second.") and result.after == ("After.",)
    assert [(t.depth, t.texts) for t in result.at_depth] == [(3, ("Deep.",))]


def chain(length: int, **settings: Any) -> Lorebook:
    """Entry n's content says the key of entry n + 1; the user says entry 0's."""
    return book(*[entry(f"step{n + 1}", f"step{n}", comment=f"e{n}") for n in range(length)],
                **settings)


def test_without_recursive_scanning_content_triggers_nothing() -> None:
    assert fired(scan(chain(3), "step0")) == ["e0"]


def test_recursive_scanning_lets_content_trigger_entries_up_to_its_step_limit() -> None:
    result = scan(chain(6, recursive_scanning=True, max_recursion_steps=2), "step0")
    assert fired(result) == ["e0", "e1", "e2"]
    e1 = next(f for f in result.firings if f.entry == "e1")
    assert (e1.reason, e1.step, e1.where) == ("recursion", 1, "the content of entry 'e0'")


def test_prevent_and_exclude_recursion() -> None:
    prevented = book(entry("step1", "step0", comment="e0", prevent_recursion=True),
                     entry("x", "step1", comment="e1"), recursive_scanning=True)
    assert fired(scan(prevented, "step0")) == ["e0"]
    excluded = book(entry("step1", "step0", comment="e0"),
                    entry("x", "step1", comment="e1", exclude_recursion=True),
                    recursive_scanning=True)
    assert fired(scan(excluded, "step0")) == ["e0"]


def test_delay_until_recursion_fires_only_from_a_later_step() -> None:
    lore = book(entry("x", "harbour", comment="late", delay_until_recursion=True),
                entry("y", "harbour", comment="now"))
    result = scan(lore, "harbour")
    late = next(f for f in result.firings if f.entry == "late")
    assert fired(result) == ["now", "late"] and late.step == 1
