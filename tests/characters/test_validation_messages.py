"""Every mistake in a file is reported at once, each as `file: field.path: expected, found`."""

from __future__ import annotations

from pathlib import Path

from tests.characters.conftest import WriteCharacter, load, problems_of

FIVE_MISTAKES = """\
    name: Five Mistakes
    personality:
      big_five: {openness: 1.5}
      behavioral_traits: [{trait: bold, intensity: high}]
    neurochemical_baseline: {dopamine: 150}
    initial_goals:
      - {goal_type: someday, description: win}
"""


def test_five_distinct_mistakes_give_five_precise_messages(write_character: WriteCharacter,
                                                           characters_dir: Path) -> None:
    path = write_character("five", FIVE_MISTAKES)
    rendered = sorted(p.render() for p in problems_of("five", characters_dir))
    assert rendered == sorted([
        f"{path}: archetype: expected non-empty text, found nothing (this field is required)",
        f"{path}: personality.big_five.openness: expected a number from 0 to 1, found 1.5",
        f"{path}: personality.behavioral_traits.0.intensity: "
        'expected a number from 0 to 1, found "high"',
        f"{path}: neurochemical_baseline.dopamine: expected a number from 0 to 100, found 150",
        f"{path}: initial_goals.0.goal_type: "
        'expected one of short_term, long_term, hidden, found "someday"',
    ])


def test_paths_use_the_dialect_b_names_the_author_wrote(write_character: WriteCharacter,
                                                        characters_dir: Path) -> None:
    write_character("b", """\
        name: B
        archetype: t
        neurochemical_profile: {baseline_sensitivities: {cortisol: -1}}
        mood_baseline: {current_state: [sad]}
    """)
    paths = sorted(p.field_path for p in problems_of("b", characters_dir))
    assert paths == ["mood_baseline.current_state",
                     "neurochemical_profile.baseline_sensitivities.cortisol"]


def test_a_goal_that_is_a_number_becomes_its_text_with_a_warning_in_place(
    write_character: WriteCharacter, characters_dir: Path
) -> None:
    write_character("g", "name: G\narchetype: t\ninitial_goals: [fine, 42]\n")
    loaded = load("g", characters_dir)
    assert [g.description for g in loaded.character.goals] == ["fine", "42"]
    [problem] = loaded.warnings
    assert (problem.field_path, problem.code) == ("initial_goals.1", "coerced")
    assert problem.message == (
        "expected a mapping with description, found 42; kept as initial_goals.1.description")


def test_a_fractional_priority_is_refused(write_character: WriteCharacter,
                                          characters_dir: Path) -> None:
    write_character("p", """\
        name: P
        archetype: t
        initial_goals: [{description: d, priority: 9.5}]
    """)
    [problem] = problems_of("p", characters_dir)
    assert problem.render().endswith(
        "initial_goals.0.priority: expected a whole number from 1 to 10, found 9.5")


def test_two_spellings_of_the_same_field_conflict(write_character: WriteCharacter,
                                                  characters_dir: Path) -> None:
    write_character("c", """\
        name: C
        archetype: t
        initial_goals: [a]
        goals: [b]
    """)
    [problem] = problems_of("c", characters_dir)
    assert problem.code == "conflicting-fields"
    assert problem.message == (
        "expected only one of initial_goals / goals (they mean the same thing), found both")


def test_an_id_line_that_differs_from_the_file_name_is_an_error(
    write_character: WriteCharacter, characters_dir: Path
) -> None:
    write_character("real", "id: other\nname: R\narchetype: t\n")
    [problem] = problems_of("real", characters_dir)
    assert problem.code == "id-mismatch"


def test_unknown_fields_are_kept_under_extensions_by_dotted_path(
    write_character: WriteCharacter, characters_dir: Path
) -> None:
    write_character("u", """\
        name: U
        archetype: t
        favourite_colour: teal
        demographics: {age: 30, star_sign: libra}
        neurochemical_profile: {baseline_sensitivities: {dopamine: 1.2}, half_life: 30}
    """)
    loaded = load("u", characters_dir)
    assert loaded.character.extensions == {
        "favourite_colour": "teal",
        "demographics.star_sign": "libra",
        "neurochemical_profile.half_life": 30,
    }


def test_unknown_fields_come_back_as_warnings_not_errors(write_character: WriteCharacter,
                                                         characters_dir: Path) -> None:
    path = write_character("u", "name: U\narchetype: t\nfavourite_colour: teal\n")
    [warning] = load("u", characters_dir).warnings
    assert warning.severity == "warning"
    assert warning.render() == (
        f"{path}: favourite_colour: unknown field, kept under "
        "extensions['favourite_colour'] (the prompt shows it under \"Other notes\")"
    )


def test_errors_and_warnings_are_reported_together(write_character: WriteCharacter,
                                                   characters_dir: Path) -> None:
    write_character("w", "name: W\nfavourite_colour: teal\n")
    problems = problems_of("w", characters_dir)
    assert sorted((p.severity, p.field_path) for p in problems) == [
        ("error", "archetype"), ("warning", "favourite_colour")]
