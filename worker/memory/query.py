"""Turning free user text into a safe FTS5 query (pure).

User text is never handed to FTS5 as query syntax: it is split into word tokens the way
FTS5's ``unicode61`` tokenizer splits them (letters and digits; everything else separates),
stopwords are dropped, each word is expanded with its related terms, and every term is
written as a double-quoted string, the terms joined with ``OR``. A quoted string can only
ever be a phrase of plain tokens, so operators (``AND``, ``NEAR(``, ``*``, ``-``, ``^``,
column filters) typed by a user are just words, and characters FTS5 would choke on are gone
before the query is built.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.memory.related_terms import RELATED_TERMS

MAX_QUERY_WORDS = 16
"""Words kept from the user's text (in order of first appearance); the rest are ignored."""

MAX_QUERY_TERMS = 48
"""Terms in the FTS5 query after expansion; bounds the cost of one search."""

_WORD = re.compile(r"[^\W_]+")

_STOPWORD_LIST = """
    a about above after again against all am an and any are aren as at be because been
    before being below between both but by can cannot could couldn did didn do does doesn
    doing don during each few for further had hadn has hasn have haven having he her
    here hers herself him himself his how i if in into is isn it its itself just ll let me
    more most mustn my myself no nor not now of off on once only or other ought our ours
    ourselves out over own re s same shan she should shouldn so some such t than that the
    their theirs them themselves then there these they this those through to too under
    until up ve very was wasn we were weren what when where which while who whom why will
    with won would wouldn you your yours yourself yourselves d m o y ain tell know
    remember please hey hi hello ok okay yes yeah also really much thing things something
    anything everything
"""

STOPWORDS: frozenset[str] = frozenset(_STOPWORD_LIST.split())
"""Words that carry no search meaning. ``down`` and ``from`` are *not* here: the related-term
table uses them. ``remember``/``know``/``tell`` are here because "do you remember…" and
"what do you know about…" wrap nearly every memory question."""


@dataclass(frozen=True, slots=True)
class SearchTerms:
    """The words taken from a query and what they were expanded to."""

    words: tuple[str, ...]
    """Content words of the user's text, lower-cased, in order, without duplicates."""
    expansions: tuple[str, ...]
    """Related terms added for those words (see ``related_terms``), without duplicates."""

    @property
    def all_terms(self) -> tuple[str, ...]:
        return (self.words + self.expansions)[:MAX_QUERY_TERMS]

    def fts_query(self) -> str | None:
        """The FTS5 MATCH string, or ``None`` when the text had no searchable word."""
        terms = self.all_terms
        if not terms:
            return None
        # A term is only letters and digits (see _WORD), so it cannot contain a double quote.
        return " OR ".join(f'"{term}"' for term in terms)


def tokenize(text: str) -> list[str]:
    """Lower-cased letter/digit runs, split like FTS5's unicode61 tokenizer splits."""
    return _WORD.findall(text.lower())


def _lookup_forms(word: str) -> tuple[str, ...]:
    """The word and crude singular/base forms, for finding it in the related-term table."""
    forms = [word]
    for suffix in ("ies", "es", "s", "ed", "ing"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            forms.append(stem + "y" if suffix == "ies" else stem)
    return tuple(forms)


def search_terms(text: str) -> SearchTerms:
    """Content words of ``text`` plus their related terms."""
    words: list[str] = []
    for token in tokenize(text):
        if token not in STOPWORDS and token not in words:
            words.append(token)
        if len(words) == MAX_QUERY_WORDS:
            break
    expansions: list[str] = []
    for word in words:
        related: set[str] = set()
        for form in _lookup_forms(word):
            related |= RELATED_TERMS.get(form, frozenset())
        for term in sorted(related):
            if term not in words and term not in expansions:
                expansions.append(term)
    return SearchTerms(words=tuple(words), expansions=tuple(expansions))
