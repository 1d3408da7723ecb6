"""Query building: user text becomes quoted, OR-ed terms, never FTS5 syntax."""

from __future__ import annotations

import sqlite3

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.memory.conftest import NOW, memory
from worker.memory.query import MAX_QUERY_TERMS, matched_terms, search_terms
from worker.memory.store import MemoryStore

HOSTILE_QUERIES = [
    '"', '""', '"dog', "*", "dog*", "NEAR(", "NEAR(dog called, 2)", "AND OR", "AND", "OR NOT",
    "-", "- dog", "dog -cat", "^dog", "text:dog", "{text source}: dog", "(", ")", "dog)",
    "'; DROP TABLE memories; --", "\x00", "dog\x00called", "🐶 dog", "Bíscuit", "犬の名前",
    "\u0301", "   ", "", "+", "dog + cat", ":", "a:b", "[x]", "\\", "%", "_", "dog's",
]


def test_stopwords_are_dropped_and_content_words_kept_in_order() -> None:
    assert search_terms("What is the name of my dog?").words == ("name", "dog")


def test_related_terms_expand_common_paraphrases() -> None:
    expansions = search_terms("my puppy's name").expansions
    assert {"dog", "called", "named"} <= set(expansions)


def test_plural_and_inflected_words_find_their_related_terms() -> None:
    assert "job" in search_terms("works").expansions
    assert "sibling" in search_terms("sisters").expansions


def test_every_term_is_a_quoted_string_joined_by_or() -> None:
    assert search_terms("Biscuit NEAR walks").fts_query() == '"biscuit" OR "near" OR "walks"'


def test_a_query_of_only_stopwords_or_punctuation_has_no_fts_query() -> None:
    assert search_terms("what is it?!").fts_query() is None
    assert search_terms('" * ( -').fts_query() is None


def test_terms_are_bounded() -> None:
    terms = search_terms(" ".join(f"word{i}" for i in range(200)) + " like love pet job")
    assert len(terms.all_terms) <= MAX_QUERY_TERMS


@pytest.mark.parametrize("query", HOSTILE_QUERIES)
def test_hostile_query_text_searches_without_error(store: MemoryStore, query: str) -> None:
    store.add(memory("Sam's dog is called Biscuit.", source="my dog is called Biscuit"))
    hits = store.search(query, now=NOW)
    assert isinstance(hits, list)


def test_fts_operators_typed_by_a_user_are_searched_as_words(store: MemoryStore) -> None:
    store.add(memory("Sam said NEAR and AND are odd words."))
    store.add(memory("Sam's dog is called Biscuit."))
    [hit] = [h for h in store.search("NEAR(", now=NOW) if h.scores["relevance"] > 0]
    assert "NEAR" in hit.text


@settings(max_examples=150, deadline=None)
@given(query=st.text(max_size=60))
def test_any_unicode_text_is_a_safe_query(query: str) -> None:
    conn = sqlite3.connect(":memory:")
    try:
        store = MemoryStore(conn)
        store.add(memory("Sam's dog is called Biscuit."))
        store.search(query, now=NOW)
    finally:
        conn.close()


def test_matched_terms_are_the_query_terms_found_in_a_text_by_rough_stem() -> None:
    terms = search_terms("Do you remember my dog hiking at the café?")
    assert matched_terms(terms, "Sam hikes with the dogs near the cafe.") == (
        "dog", "hiking", "café")
    assert matched_terms(terms, "Nothing in common.") == ()
    assert matched_terms(terms, "", "the dog") == ("dog",)  # the source counts too
