"""Index words: what a memory is found under besides its own words."""

from __future__ import annotations

import pytest

from worker.memory.index_terms import (
    ANSWER_NUMBER,
    ANSWER_WHEN,
    ANSWER_WHERE,
    ANSWER_WHO,
    ANSWER_WHY,
    index_terms,
)


def terms(text: str) -> list[str]:
    return index_terms(text).split()


@pytest.mark.parametrize(("said", "base"), [
    ("I grew up in a small village.", "grow"),
    ("The children loved it.", "child"),
    ("We bought tickets.", "buy"),
    ("He taught maths.", "teach"),
])
def test_irregular_forms_are_indexed_under_their_lemma(said: str, base: str) -> None:
    assert base in terms(said)


@pytest.mark.parametrize(("said", "category"), [
    ("My son is learning the violin.", "instrument"),
    ("I'm allergic to peanuts.", "food"),
    ("I speak Portuguese at home.", "language"),
    ("Our hamster escaped last night.", "rodent"),
    ("She works as an electrician.", "job"),
])
def test_a_thing_is_indexed_under_what_it_is(said: str, category: str) -> None:
    assert category in terms(said)


@pytest.mark.parametrize(("said", "marker"), [
    ("My birthday is on the 3rd of August.", ANSWER_WHEN),
    ("We met last spring.", ANSWER_WHEN),
    ("My sister moved to Lisbon.", ANSWER_WHERE),
    ("My office is next to the station.", ANSWER_WHERE),
    ("My colleague Priya hums all day.", ANSWER_WHO),
    ("My grandmother turned ninety.", ANSWER_NUMBER),
    ("I moved here in 2015.", ANSWER_NUMBER),
    ("I quit coffee because of my heart.", ANSWER_WHY),
])
def test_a_sentence_is_marked_with_the_questions_it_answers(said: str, marker: str) -> None:
    assert marker in terms(said)


def test_small_talk_gets_no_marker() -> None:
    assert not {ANSWER_WHEN, ANSWER_WHERE, ANSWER_WHO, ANSWER_NUMBER, ANSWER_WHY} & set(
        terms("That's a good point, I like it."))


def test_a_capitalised_first_word_or_i_is_not_a_name() -> None:
    assert ANSWER_WHO not in terms("Spiders make my skin crawl, I admit.")


def test_index_terms_are_deterministic_and_listed_once() -> None:
    said = "My sister Ophelia moved to Lisbon and my brother moved to Lisbon too."
    assert index_terms(said) == index_terms(said)
    assert len(terms(said)) == len(set(terms(said)))
