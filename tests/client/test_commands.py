"""The slash-command parser and the multi-line input folder (pure)."""

from __future__ import annotations

import pytest

from client.commands import COMMANDS, Command, Invalid, MultilineInput, Say, parse_line


def test_blank_line_is_nothing() -> None:
    assert parse_line("   ") is None


def test_plain_text_is_a_message() -> None:
    assert parse_line("  hello there ") == Say("hello there")


def test_double_slash_sends_a_literal_slash() -> None:
    assert parse_line("//shrug") == Say("/shrug")


@pytest.mark.parametrize("spec", COMMANDS, ids=lambda spec: spec.name)
def test_every_command_without_argument_parses_or_asks_for_its_argument(spec: object) -> None:
    name = spec.name  # type: ignore[attr-defined]
    parsed = parse_line(f"/{name}")
    if spec.argument == "required":  # type: ignore[attr-defined]
        assert isinstance(parsed, Invalid) and parsed.message.startswith("Usage: ")
    else:
        assert parsed == Command(name)


def test_memory_keeps_the_whole_query() -> None:
    assert parse_line("/memory  where did we  meet ") == Command("memory", "where did we  meet")


def test_save_name_is_optional() -> None:
    assert parse_line("/save before-party") == Command("save", "before-party")
    assert parse_line("/save") == Command("save", None)


def test_reset_accepts_only_the_wipe_flag() -> None:
    assert parse_line("/reset --wipe-memories").wipe_memories  # type: ignore[union-attr]
    assert not Command("reset").wipe_memories
    assert isinstance(parse_line("/reset everything"), Invalid)


def test_command_names_are_case_insensitive_and_have_aliases() -> None:
    assert parse_line("/QUIT") == Command("quit")
    assert parse_line("/exit") == Command("quit")
    assert parse_line("/regenerate") == Command("regen")


def test_unknown_command_says_how_to_find_the_right_one() -> None:
    parsed = parse_line("/dance")
    assert isinstance(parsed, Invalid)
    assert "/dance" in parsed.message and "/help" in parsed.message


def test_argument_to_a_command_that_takes_none_is_refused() -> None:
    assert isinstance(parse_line("/undo twice"), Invalid)


def test_single_line_passes_through_the_multiline_folder() -> None:
    assert MultilineInput().feed("hi") == "hi"


def test_fenced_block_becomes_one_message() -> None:
    block = MultilineInput()
    assert block.feed('"""') is None
    assert block.open
    assert block.feed("first") is None
    assert block.feed("second") is None
    assert block.feed('"""') == "first\nsecond"
    assert not block.open


def test_fence_with_text_on_the_same_lines() -> None:
    block = MultilineInput()
    assert block.feed('"""dear Toby,') is None
    assert block.feed('yours"""') == "dear Toby,\nyours"


def test_one_line_block() -> None:
    assert MultilineInput().feed('"""just this"""') == "just this"


def test_abandoned_block_starts_over() -> None:
    block = MultilineInput()
    block.feed('"""')
    block.feed("half typed")
    block.abandon()
    assert not block.open
    assert block.feed("fresh") == "fresh"
