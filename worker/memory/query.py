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
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

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
    """The words taken from a query, each with the related terms it brought in.

    ``concepts[i]`` is one content word of the user's text followed by its expansions (a
    term appears in one concept only, the first that brought it); at most
    ``MAX_QUERY_TERMS`` terms in all, the user's own words first. ``cues`` are terms the
    question's form implies rather than its words ("when …?" → a date marker, see
    ``worker.memory.rewriting``): any of them helps a match, none is required.
    """

    concepts: tuple[tuple[str, ...], ...]
    cues: tuple[str, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        """Content words of the user's text, lower-cased, in order, without duplicates."""
        return tuple(concept[0] for concept in self.concepts)

    @property
    def expansions(self) -> tuple[str, ...]:
        """Related terms added for those words (see ``related_terms``)."""
        return tuple(term for concept in self.concepts for term in concept[1:])

    @property
    def all_terms(self) -> tuple[str, ...]:
        return self.words + self.expansions + self.cues

    def fts_query(self) -> str | None:
        """Any term: ``"a" OR "b" OR …``; ``None`` when the text had no searchable word."""
        if not self.all_terms:
            return None
        return " OR ".join(_quoted(term) for term in self.all_terms)

    def fts_all_concepts_query(self) -> str | None:
        """Every concept: ``("a" OR "a2") AND ("b" OR …)``, the cues (any of them) one more
        concept; ``None`` for fewer than two.

        Same terms as ``fts_query``, so FTS5's ``bm25()`` gives a row the same value under
        both (it sums over the query's phrases, whatever the operators between them).
        """
        groups = self.groups
        if len(groups) < 2:
            return None
        return " AND ".join(
            "(" + " OR ".join(_quoted(term) for term in group) + ")" for group in groups
        )

    @property
    def groups(self) -> tuple[tuple[str, ...], ...]:
        """The concepts, then the cues as one more (when there are any): what a memory
        answering the whole question matches one term of each."""
        return (*self.concepts, self.cues) if self.cues else self.concepts


def _quoted(term: str) -> str:
    # A term is only letters and digits (see _WORD), so it cannot contain a double quote.
    return f'"{term}"'


def tokenize(text: str) -> list[str]:
    """Lower-cased letter/digit runs, split like FTS5's unicode61 tokenizer splits."""
    return _WORD.findall(text.lower())


def matched_terms(terms: SearchTerms, *texts: str) -> tuple[str, ...]:
    """The terms of ``terms`` found among the words of ``texts``, in the query's order:
    which words made a memory match, for a turn's trace. Words are compared by a crude stem
    with accents folded (``_rough_stem``), close to but not exactly FTS5's porter stemmer,
    which may match a word this misses."""
    present = {_rough_stem(token) for text in texts for token in tokenize(text)}
    return tuple(term for term in terms.all_terms if _rough_stem(term) in present)


@lru_cache(maxsize=4096)  # the same few hundred words recur turn after turn
def _rough_stem(word: str) -> str:
    folded = "".join(c for c in unicodedata.normalize("NFKD", word)
                     if not unicodedata.combining(c))
    return min(_lookup_forms(folded), key=len)


def _lookup_forms(word: str) -> tuple[str, ...]:
    """The word and crude singular/base forms, for finding it in the related-term table."""
    forms = [word]
    for suffix in ("ies", "es", "s", "ed", "ing"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            stem = word[: -len(suffix)]
            forms.append(stem + "y" if suffix == "ies" else stem)
    return tuple(forms)


def search_terms(text: str) -> SearchTerms:
    """Content words of ``text``, each with its related terms."""
    words: list[str] = []
    for token in tokenize(text):
        if token not in STOPWORDS and token not in words:
            words.append(token)
        if len(words) == MAX_QUERY_WORDS:
            break
    used = set(words)
    budget = MAX_QUERY_TERMS - len(words)
    concepts: list[tuple[str, ...]] = []
    for word in words:
        related: set[str] = set()
        for form in _lookup_forms(word):
            related |= RELATED_TERMS.get(form, frozenset())
        added = [term for term in sorted(related - used)][: max(0, budget)]
        used.update(added)
        budget -= len(added)
        concepts.append((word, *added))
    return SearchTerms(concepts=tuple(concepts))
