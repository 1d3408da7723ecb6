"""YAML's surprises (dates, floats for versions, yes/no, numbers as text) load as meant."""

from __future__ import annotations

from pathlib import Path

from tests.characters.conftest import WriteCharacter, load, problems_of


def test_version_written_as_a_float_keeps_its_text(write_character: WriteCharacter,
                                                    characters_dir: Path) -> None:
    write_character("v", "name: V\narchetype: t\nversion: 1.10\n")
    assert load("v", characters_dir).character.version == "1.10"


def test_numbers_given_as_text_are_read_as_numbers(write_character: WriteCharacter,
                                                   characters_dir: Path) -> None:
    write_character("n", """\
        name: N
        archetype: t
        demographics: {age: "28"}
        personality: {big_five: {openness: "0.8"}}
        initial_goals: [{description: d, priority: "7"}]
    """)
    character = load("n", characters_dir).character
    assert character.demographics.age == 28
    assert character.personality.big_five.openness == 0.8
    assert character.goals[0].priority == 7


def test_yes_and_no_stay_text_in_text_fields(write_character: WriteCharacter,
                                             characters_dir: Path) -> None:
    write_character("y", """\
        name: Y
        archetype: t
        communication_style: {humor_style: no, formality_level: yes}
        demographics: {location: NO}
    """)
    character = load("y", characters_dir).character
    assert character.communication_style.humor_style == "no"
    assert character.communication_style.formality_level == "yes"
    assert character.demographics.location == "NO"


def test_numbers_and_dates_in_text_fields_become_text(write_character: WriteCharacter,
                                                      characters_dir: Path) -> None:
    write_character("x", """\
        name: 1984
        archetype: t
        tags: [2025-01-01, 3.50, true]
    """)
    character = load("x", characters_dir).character
    assert character.name == "1984"
    assert character.tags == ["2025-01-01", "3.50", "true"]


def test_empty_values_mean_not_given(write_character: WriteCharacter,
                                     characters_dir: Path) -> None:
    write_character("e", """\
        name: E
        archetype: t
        description:
        personality:
          quirks:
          strengths: []
        backstory:
    """)
    character = load("e", characters_dir).character
    assert (character.description, character.backstory) == ("", "")
    assert character.personality.quirks == []


def test_a_key_given_twice_is_reported_with_both_lines(write_character: WriteCharacter,
                                                       characters_dir: Path) -> None:
    path = write_character("d", "name: D\narchetype: t\nname: Other\n")
    [problem] = problems_of("d", characters_dir)
    assert problem.code == "duplicate-key"
    assert problem.render() == (
        f"{path}: name: expected each key once per mapping, found it twice (lines 1 and 3); "
        "YAML would silently keep only the later value"
    )


def test_a_yaml_syntax_error_gives_line_and_column(write_character: WriteCharacter,
                                                   characters_dir: Path) -> None:
    write_character("s", "name: S\narchetype: [unclosed\n")
    [problem] = problems_of("s", characters_dir)
    assert problem.code == "yaml-syntax"
    assert "expected valid YAML, found a syntax error at line 3, column 1" in problem.message


def test_a_file_that_is_not_a_mapping_is_refused(write_character: WriteCharacter,
                                                 characters_dir: Path) -> None:
    write_character("l", "- just\n- a list\n")
    [problem] = problems_of("l", characters_dir)
    assert problem.message == (
        "expected a mapping of fields (name: …, archetype: …), found a list of 2 items"
    )
