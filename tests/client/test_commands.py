"""The slash-command parser and the multi-line input folder (pure)."""

from __future__ import annotations

import pytest

from client.commands import (
    COMMANDS,
    Command,
    Invalid,
    MultilineInput,
    Say,
    SetOption,
    parse_line,
    parse_setting,
    parse_turn,
)


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


@pytest.mark.parametrize(("argument", "expected"), [
    ("temperature 0.7", SetOption("temperature", 0.7)),
    ("top_p 0.9", SetOption("top_p", 0.9)),
    ("max_tokens 200", SetOption("max_tokens", 200)),
    ("model llama3.2:latest", SetOption("model", "llama3.2:latest")),
    ("Temperature default", SetOption("temperature", None)),
    ("parameter num_predict 64", SetOption("max_tokens", 64)),  # ollama run's spelling
])
def test_set_reads_a_setting_and_its_value(argument: str, expected: SetOption) -> None:
    assert parse_setting(argument) == expected


@pytest.mark.parametrize(("argument", "says"), [
    ("temperature hot", "/set temperature: expected a number from 0 to 2, got 'hot'"),
    ("temperature 2.5", "/set temperature: expected a number from 0 to 2, got '2.5'"),
    ("temperature nan", "/set temperature: expected a number from 0 to 2"),
    ("top_p -0.1", "/set top_p: expected a number from 0 to 1"),
    ("max_tokens 1.5", "/set max_tokens: expected a whole number from 1 to"),
    ("max_tokens 0", "/set max_tokens: expected a whole number from 1 to"),
    ("seed 4", "/set knows temperature, top_p, max_tokens, model; not 'seed'"),
    ("temperature", "Usage: /set NAME VALUE"),
    ("temperature 0.7 please", "Usage: /set NAME VALUE"),
])
def test_set_refuses_what_a_chat_request_would_refuse_and_says_why(argument: str,
                                                                    says: str) -> None:
    parsed = parse_setting(argument)
    assert isinstance(parsed, Invalid) and parsed.message.startswith(says)


def test_why_takes_an_optional_turn_number() -> None:
    assert parse_line("/why") == Command("why")
    assert parse_turn(None) is None and parse_turn(" 12 ") == 12
    for wrong in ("0", "-1", "last"):
        parsed = parse_turn(wrong)
        assert isinstance(parsed, Invalid) and parsed.message.startswith("Usage: /why [N]")


def test_set_needs_an_argument_and_show_takes_none() -> None:
    assert parse_line("/set") == Invalid("Usage: /set NAME VALUE")
    assert parse_line("/set temperature 0.7") == Command("set", "temperature 0.7")
    assert isinstance(parse_line("/show everything"), Invalid)
