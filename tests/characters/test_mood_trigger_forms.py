"""Mood triggers in each form the seed's authors write them, and the mood words greenroom
reads."""

from __future__ import annotations

from pathlib import Path

import pytest

from schemas.moods import MOOD_LABELS, mood_label
from tests.characters.conftest import WriteCharacter, load


def triggers_of(write_character: WriteCharacter, characters_dir: Path, body: str
                ) -> list[tuple[str, str | None, float]]:
    write_character("t", "name: T\narchetype: t\nmood_baseline:\n" + body)
    character = load("t", characters_dir).character
    return [(t.trigger, t.mood, t.strength) for t in character.mood_baseline.triggers]


def test_word_to_mood_pairs_are_read_either_way_round(write_character: WriteCharacter,
                                                      characters_dir: Path) -> None:
    assert triggers_of(write_character, characters_dir,
                       "  mood_triggers: {deadlines: anxious, sad: funerals}\n") == [
        ("deadlines", "anxious", 0.6), ("funerals", "sad", 0.6)]


def test_a_comma_separated_list_of_words_is_one_trigger_per_word(
        write_character: WriteCharacter, characters_dir: Path) -> None:
    assert triggers_of(write_character, characters_dir,
                       "  mood_triggers: {happy: 'jazz, rain on the roof'}\n") == [
        ("jazz", "happy", 0.6), ("rain on the roof", "happy", 0.6)]


def test_an_item_with_several_words_and_an_emotion_key(write_character: WriteCharacter,
                                                       characters_dir: Path) -> None:
    assert triggers_of(write_character, characters_dir,
                       "  mood_triggers: [{keywords: [exam, test], emotion: nervous,"
                       " strength: 0.9}]\n") == [
        ("exam", "nervous", 0.9), ("test", "nervous", 0.9)]


def test_triggers_from_both_fields_are_kept_together(write_character: WriteCharacter,
                                                     characters_dir: Path) -> None:
    assert triggers_of(write_character, characters_dir,
                       "  current_state: calm\n  triggered_by: [tea]\n"
                       "  mood_triggers: ['noise: irritated']\n") == [
        ("noise", "irritated", 0.6), ("tea", "calm", 0.6)]


def test_a_trigger_naming_no_mood_is_kept_with_a_warning(write_character: WriteCharacter,
                                                         characters_dir: Path) -> None:
    write_character("t", "name: T\narchetype: t\nmood_baseline: {mood_triggers: [criticism]}\n")
    loaded = load("t", characters_dir)
    assert [(t.trigger, t.mood) for t in loaded.character.mood_baseline.triggers] == [
        ("criticism", None)]
    [warning] = loaded.warnings
    assert (warning.field_path, warning.code) == ("mood_baseline.mood_triggers.0", "no-mood")


def test_a_mood_greenroom_does_not_know_is_kept_with_a_warning(
        write_character: WriteCharacter, characters_dir: Path) -> None:
    write_character("t", "name: T\narchetype: t\n"
                         "mood_baseline: {mood_triggers: ['thunder -> like a Tuesday']}\n")
    loaded = load("t", characters_dir)
    [warning] = loaded.warnings
    assert (warning.field_path, warning.code) == ("mood_baseline.mood_triggers.0",
                                                  "unknown-mood")
    assert '"like a Tuesday"' in warning.message


def test_an_item_without_a_trigger_key_takes_its_other_text(write_character: WriteCharacter,
                                                            characters_dir: Path) -> None:
    write_character("t", "name: T\narchetype: t\n"
                         "mood_baseline: {mood_triggers: [{when: losing at chess, mood: sad}]}\n")
    loaded = load("t", characters_dir)
    assert [(t.trigger, t.mood) for t in loaded.character.mood_baseline.triggers] == [
        ("losing at chess", "sad")]
    assert [w.code for w in loaded.warnings] == ["coerced"]


def test_the_normalised_form_is_read_back_unchanged(write_character: WriteCharacter,
                                                    characters_dir: Path) -> None:
    assert triggers_of(write_character, characters_dir,
                       "  triggers: [{trigger: rain, mood: sad, strength: 0.3}]\n") == [
        ("rain", "sad", 0.3)]


@pytest.mark.parametrize(("word", "label"), [
    ("Frustrated", "irritated"), ("wistful", "sad"), ("on_edge", "anxious"),
    ("quietly pleased", "happy"), ("very  anxious", "anxious"), ("burnt-out", "stressed"),
    *((label, label) for label in MOOD_LABELS),
])
def test_mood_words_are_read_as_the_engines_moods(word: str, label: str) -> None:
    assert mood_label(word) == label


def test_a_word_for_no_mood_is_none() -> None:
    assert mood_label("like a Tuesday") is None
