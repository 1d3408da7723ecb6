"""Question-to-statement query rewriting: what to look for when asked (pure, deterministic).

People ask "where does my sister live now?" about what they said as "my sister moved to
Lisbon". ``rewrite_query`` turns the question into the terms of the statements that answer
it (a ``SearchTerms``, which ``worker.memory.query`` writes as a safe FTS5 query):

* the **question's form** becomes cues: "when …", "what date …" → a date marker; "where …",
  "which city …" → a place marker; "who …", "what's the name …" → a name marker; "how
  old/many/long …" → a number marker (and, for age, "born", "birthday", "turn"); "why …" →
  a reason marker; "what happened …" → event words (died, lost, broke …); "for a living" →
  work words. The markers are the ones ``worker.memory.index_terms`` puts on statements;
* each **content word** brings its lemma ("grew" → "grow") and its related terms
  (``worker.memory.related_terms``: sister → sibling, live → moved/home/city …); words that
  only shape the question ("kind", "get", "happened") are left out.

Stopwords, bounds (``MAX_QUERY_WORDS``, ``MAX_QUERY_TERMS``) and safety (every term is
letters and digits, quoted) are ``worker.memory.query``'s.
"""

from __future__ import annotations

from collections.abc import Sequence

from worker.memory.index_terms import (
    ANSWER_NUMBER,
    ANSWER_WHEN,
    ANSWER_WHERE,
    ANSWER_WHO,
    ANSWER_WHY,
)
from worker.memory.lemmas import lemma
from worker.memory.query import MAX_QUERY_TERMS, MAX_QUERY_WORDS, STOPWORDS, SearchTerms, tokenize
from worker.memory.related_terms import RELATED_TERMS

_TIME_NOUNS = ("time", "date", "day", "year", "month", "week")
_PLACE_NOUNS = ("city", "town", "country", "place", "street", "village", "address", "area")
_PERSON_NOUNS = (
    "person", "people", "one", "singer", "artist", "actor", "actress", "author", "writer",
    "director", "musician", "player", "band", "friend", "colleague", "coworker", "teacher",
    "doctor", "neighbour", "neighbor", "guy", "girl", "boy", "man", "woman",
)

QUESTION_FORMS: tuple[tuple[tuple[str, ...], tuple[str, ...]], ...] = (
    (("when",), (ANSWER_WHEN,)),
    *((("what", noun), (ANSWER_WHEN,)) for noun in _TIME_NOUNS),
    *((("which", noun), (ANSWER_WHEN,)) for noun in _TIME_NOUNS),
    (("how", "soon"), (ANSWER_WHEN,)),
    (("where",), (ANSWER_WHERE,)),
    *((("what", noun), (ANSWER_WHERE,)) for noun in _PLACE_NOUNS),
    *((("which", noun), (ANSWER_WHERE,)) for noun in _PLACE_NOUNS),
    (("who",), (ANSWER_WHO,)),
    *((("which", noun), (ANSWER_WHO,)) for noun in _PERSON_NOUNS),
    (("whom",), (ANSWER_WHO,)),
    (("whose",), (ANSWER_WHO,)),
    (("name",), (ANSWER_WHO,)),
    (("how", "old"), (ANSWER_NUMBER, "age", "born", "birthday", "turn")),
    (("how", "many"), (ANSWER_NUMBER,)),
    (("how", "much"), (ANSWER_NUMBER,)),
    (("how", "long"), (ANSWER_NUMBER,)),
    (("how", "often"), (ANSWER_NUMBER,)),
    (("how", "far"), (ANSWER_NUMBER,)),
    (("why",), (ANSWER_WHY,)),
    (("happened",), ("die", "pass", "lose", "break", "escape", "accident")),
    (("happen",), ("die", "pass", "lose", "break", "escape", "accident")),
    (("for", "a", "living"), ("work", "job")),
)
"""(words of the question, the cues they bring): the words in this order, each within
``MAX_FORM_GAP`` words of the one before ("which *Scottish* city"). Data: extend it in one
place."""

MAX_FORM_GAP = 2

MAX_FORM_TOKENS = 64
"""Words of the text looked at for its question's form (a long message is searched with its
first words, like ``MAX_QUERY_WORDS``); bounds the work per query."""

RELATIVE_TIMES: frozenset[str] = frozenset({"next", "last", "this", "coming", "past"})
TIME_UNITS: frozenset[str] = frozenset({"week", "month", "year", "weekend", "time"})
"""A question's "next week", "last year" only place it in time: they become the date marker,
not words to match ("where will I work next week?" is not about other things said of
"next" or "week")."""

QUESTION_WORDS: frozenset[str] = frozenset({
    "kind", "sort", "type", "get", "gets", "got", "getting", "go", "goes", "going", "went",
    "make", "makes", "making", "made", "happen", "happened", "happens", "living", "ever",
    "still", "currently", "recently", "lately", "now", "again", "already", "from",
})
"""Content words that only shape a question ("what *kind* of …", "what *happened* to …",
"what do I do for a *living*", "where do they come *from*"): not searched for themselves."""


def rewrite_query(text: str) -> SearchTerms:
    """The terms to search for to answer ``text`` (see the module docstring)."""
    tokens = tokenize(text)
    cues = _cues(tokens[:MAX_FORM_TOKENS])
    timed = _relative_times(tokens[:MAX_FORM_TOKENS])
    if timed and ANSWER_WHEN not in cues:
        cues.append(ANSWER_WHEN)
    words: list[str] = []
    for position, token in enumerate(tokens):
        if (token not in STOPWORDS and token not in QUESTION_WORDS and position not in timed
                and token not in words):
            words.append(token)
        if len(words) == MAX_QUERY_WORDS:
            break
    # One term per lemma: "work" and "works" are one word to the index, and a word counted
    # twice would outweigh the others.
    used = {lemma(word) for word in words}
    budget = MAX_QUERY_TERMS - len(words)
    concepts: list[tuple[str, ...]] = []
    for word in words:
        base = lemma(word)
        expansions = [base] if base != word else []
        for term in sorted(RELATED_TERMS.get(word, frozenset())
                           | RELATED_TERMS.get(base, frozenset())):
            if lemma(term) not in used:
                used.add(lemma(term))
                expansions.append(term)
        expansions = expansions[: max(0, budget)]
        budget -= len(expansions)
        concepts.append((word, *expansions))
    kept_cues = tuple(cue for cue in cues if cue not in used)[: max(0, budget)]
    return SearchTerms(concepts=tuple(concepts), cues=kept_cues)


def _cues(tokens: Sequence[str]) -> list[str]:
    cues: list[str] = []
    for run, brings in QUESTION_FORMS:
        if _contains(tokens, run):
            cues.extend(cue for cue in brings if cue not in cues)
    return cues


def _contains(tokens: Sequence[str], run: tuple[str, ...]) -> bool:
    """Whether ``run``'s words are in ``tokens`` in order, each within ``MAX_FORM_GAP``
    words of the one before."""
    for start, token in enumerate(tokens):
        if token != run[0]:
            continue
        position = start
        for word in run[1:]:
            window = tokens[position + 1 : position + 2 + MAX_FORM_GAP]
            if word not in window:
                break
            position += 1 + window.index(word)
        else:
            return True
    return False


def _relative_times(tokens: Sequence[str]) -> set[int]:
    """Positions of "next week"-like pairs (``RELATIVE_TIMES`` then ``TIME_UNITS``)."""
    return {
        position
        for i in range(len(tokens) - 1)
        if tokens[i] in RELATIVE_TIMES and tokens[i + 1] in TIME_UNITS
        for position in (i, i + 1)
    }
