"""How much of a question a memory answers: the share of its concepts the memory matches
(pure).

BM25 sums what matched, and its length normalisation lets a short sentence matching one
rare word of the question outscore a longer one matching all of it ("where do I love going"
→ "I adore Hitchcock" over "my favourite place is a beach in Crete"). ``Coverage`` counts the
question's concept groups (``SearchTerms.groups``: each content word with its related terms,
and the cues as one more) that a memory matches in its text, its words as said or its index
words (which hold its words' lemmas; the question's terms are taken with theirs); the store
scales a memory's BM25 by ``COVERAGE_FLOOR + (1 - COVERAGE_FLOOR) * share``.
"""

from __future__ import annotations

from dataclasses import dataclass

from worker.memory.lemmas import lemma
from worker.memory.query import SearchTerms, tokenize

COVERAGE_FLOOR = 0.5
"""The share of its BM25 a memory keeps however little of the question it covers (all of it
when it covers everything)."""


@dataclass(frozen=True, slots=True)
class Coverage:
    """The concept groups of one question, as word forms (each term and its lemma)."""

    groups: tuple[frozenset[str], ...]

    @classmethod
    def of(cls, terms: SearchTerms) -> Coverage:
        return cls(tuple(
            frozenset(form for term in group for form in (term, lemma(term)))
            for group in terms.groups if group
        ))

    def share(self, indexed: str) -> float:
        """The share (0..1) of the groups matched by a word of ``indexed`` — a memory's
        text, words as said and index words, which hold the lemmas of its words already."""
        if not self.groups:
            return 0.0
        words = set(tokenize(indexed))
        return sum(1 for group in self.groups if not group.isdisjoint(words)) / len(self.groups)

    def scale(self, indexed: str) -> tuple[float, float]:
        """``(share, the factor BM25 is scaled by)`` for a memory whose indexed words are
        ``indexed``."""
        share = self.share(indexed)
        return share, COVERAGE_FLOOR + (1.0 - COVERAGE_FLOOR) * share
