"""Query rewriting: a question becomes the terms of the statements that answer it."""

from __future__ import annotations

import pytest

from worker.memory.index_terms import (
    ANSWER_NUMBER,
    ANSWER_WHEN,
    ANSWER_WHERE,
    ANSWER_WHO,
    ANSWER_WHY,
)
from worker.memory.lemmas import lemma
from worker.memory.query import MAX_QUERY_TERMS
from worker.memory.rewriting import rewrite_query


def test_where_does_my_sister_live_also_looks_for_moves_and_places() -> None:
    terms = rewrite_query("Where does my sister live now?")
    assert terms.words == ("sister", "live")
    assert {"moved", "home", "city", "sibling"} <= set(terms.expansions)
    assert terms.cues == (ANSWER_WHERE,)


@pytest.mark.parametrize(("question", "cue"), [
    ("When is my operation?", ANSWER_WHEN),
    ("What date is the gig?", ANSWER_WHEN),
    ("Which Scottish city did I study in?", ANSWER_WHERE),
    ("Who is the coworker that hums?", ANSWER_WHO),
    ("Which singer do I like most?", ANSWER_WHO),
    ("What's the name of my cat?", ANSWER_WHO),
    ("How many kids do I have?", ANSWER_NUMBER),
    ("Why did I quit caffeine?", ANSWER_WHY),
])
def test_the_form_of_a_question_becomes_a_marker_of_its_answer(question: str, cue: str) -> None:
    assert cue in rewrite_query(question).cues


def test_how_old_also_looks_for_birthdays_and_turning_an_age() -> None:
    terms = rewrite_query("How old is my grandma?")
    assert {ANSWER_NUMBER, "turn"} <= set(terms.cues)
    assert {"birthday", "born", "age"} <= set(terms.all_terms)


def test_what_happened_looks_for_events_and_does_not_search_happened() -> None:
    terms = rewrite_query("What happened to our puppy?")
    assert "happened" not in terms.all_terms
    assert {"die", "lose", "escape"} <= set(terms.cues)
    assert "dog" in terms.expansions


def test_next_week_places_the_question_in_time_instead_of_being_searched() -> None:
    terms = rewrite_query("Where will I be working next week?")
    assert "next" not in terms.all_terms and "week" not in terms.all_terms
    assert {ANSWER_WHERE, ANSWER_WHEN} <= set(terms.cues)


def test_an_irregular_word_brings_its_lemma() -> None:
    assert "grow" in rewrite_query("Where did I grew up?").expansions


def test_a_word_is_searched_in_one_form_only() -> None:
    lemmas = [lemma(term) for term in rewrite_query("Am I going to leave my work?").all_terms]
    assert len(lemmas) == len(set(lemmas))


def test_cues_count_in_the_any_term_query_and_as_one_more_concept() -> None:
    terms = rewrite_query("When is my surgery?")
    assert f'"{ANSWER_WHEN}"' in (terms.fts_query() or "")
    assert terms.fts_all_concepts_query() == (
        '("surgery" OR "operation" OR "procedure") AND ("answerwhen")')


def test_rewritten_terms_stay_bounded() -> None:
    question = "When and where and why " + " ".join(f"word{i} love job pet" for i in range(50))
    assert len(rewrite_query(question).all_terms) <= MAX_QUERY_TERMS


def test_a_question_without_content_or_form_has_nothing_to_search() -> None:
    assert rewrite_query("is it?").fts_query() is None
