"""SillyTavern's core macros, case-insensitive, with an injected clock and random source."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from worker.engine.macros import MacroContext, expand

NOW = dt.datetime(2026, 12, 2, 14, 5, tzinfo=dt.UTC)  # a Wednesday


def ctx(seed: int = 0, original: str = "") -> MacroContext:
    return MacroContext(char="Seraphina", user="Sam", now=NOW, rng=random.Random(seed),
                        original=original)


@pytest.mark.parametrize("text", ["{{char}} and {{user}}", "{{CHAR}} and {{User}}",
                                  "<BOT> and <USER>", "<bot> and <user>", "<CHAR> and <USER>"])
def test_names_are_replaced_whatever_the_case(text: str) -> None:
    assert expand(text, ctx()) == "Seraphina and Sam"


def test_time_date_and_weekday_come_from_the_injected_clock() -> None:
    assert expand("{{time}} {{date}} {{weekday}} {{isotime}} {{isodate}}", ctx()) == (
        "2:05 PM December 2, 2026 Wednesday 14:05 2026-12-02")
    assert expand("{{TIME}}", MacroContext("a", "b", NOW.replace(hour=0))) == "12:05 AM"


def test_random_with_commas_picks_a_trimmed_item() -> None:
    picks = {expand("{{random: red, green ,blue}}", ctx(seed)) for seed in range(40)}
    assert picks == {"red", "green", "blue"}


def test_random_with_double_colons_keeps_commas_inside_items() -> None:
    picks = {expand("{{random::a, b::c}}", ctx(seed)) for seed in range(40)}
    assert picks == {"a, b", "c"}


def test_random_escaped_comma_stays_in_its_item() -> None:
    picks = {expand(r"{{Random:x\,y,z}}", ctx(seed)) for seed in range(40)}
    assert picks == {"x,y", "z"}


def test_the_same_seed_gives_the_same_text() -> None:
    text = "{{random:a,b,c,d,e}} {{roll:d100}}"
    assert expand(text, ctx(7)) == expand(text, ctx(7))


@pytest.mark.parametrize(("formula", "low", "high"), [
    ("d20", 1, 20), ("20", 1, 20), ("D6", 1, 6), ("2d6+1", 3, 13), ("3d4-2", 1, 10),
    ("1d1", 1, 1)])
def test_rolls_stay_within_their_dice(formula: str, low: int, high: int) -> None:
    rolls = {int(expand(f"{{{{roll:{formula}}}}}", ctx(seed))) for seed in range(60)}
    assert min(rolls) >= low and max(rolls) <= high
    assert len(rolls) > 1 or low == high


def test_roll_with_a_space_works_like_sillytaverns() -> None:
    assert expand("{{roll 1d1}}", ctx()) == "1"


@pytest.mark.parametrize("formula", ["banana", "0d6", "101d6", "d0", "1d2000000"])
def test_an_invalid_roll_gives_nothing(formula: str) -> None:
    assert expand(f"[{{{{roll:{formula}}}}}]", ctx()) == "[]"


def test_comments_vanish_even_across_lines() -> None:
    assert expand("a{{// a note\nstill the note}}b{{//}}", ctx()) == "ab"


def test_original_is_what_the_context_says() -> None:
    assert expand("{{original}} Also: be brief.", ctx(original="Be kind.")) == (
        "Be kind. Also: be brief.")
    assert expand("{{original}}x", ctx()) == "x"


def test_unknown_macros_and_plain_angle_brackets_are_left_alone() -> None:
    assert expand("{{lastMessage}} 3 < 4 <b>", ctx()) == "{{lastMessage}} 3 < 4 <b>"


def test_replacement_text_is_literal() -> None:
    weird = MacroContext(char=r"\1 \g<0>", user="u", now=NOW)
    assert expand("{{char}}", weird) == r"\1 \g<0>"
