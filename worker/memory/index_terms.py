"""The extra words a memory is indexed under, besides its own (pure, deterministic).

A question rarely uses the words of the sentence that answers it. ``index_terms`` adds to a
memory's index (the ``terms`` column of ``memories_fts``):

* **lemmas** of its words that differ from them ("grew" → "grow", "children" → "child");
* **category names** of the things it names (``worker.memory.categories``: "violin" →
  "instrument", "peanuts" → "food");
* **answer markers**, one token per kind of question the sentence can answer: a date or
  time ("on the 3rd of August", "last spring") → ``ANSWER_WHEN``; a place named after a
  preposition ("to Lisbon", "near Porto") or a place word → ``ANSWER_WHERE``; a name
  ("my colleague Priya") → ``ANSWER_WHO``; a number or number word → ``ANSWER_NUMBER``; a
  reason ("because", "since") → ``ANSWER_WHY``. ``worker.memory.rewriting`` turns "when",
  "where", "who", "how many" and "why" questions into the same markers.

Markers are made-up words no one types, so they only ever match each other.
"""

from __future__ import annotations

import re

from worker.memory.categories import CATEGORY_NAMES
from worker.memory.formation_rules import DATE_EXPRESSION
from worker.memory.lemmas import lemma
from worker.memory.query import STOPWORDS

ANSWER_WHEN = "answerwhen"
ANSWER_WHERE = "answerwhere"
ANSWER_WHO = "answerwho"
ANSWER_NUMBER = "answernumber"
ANSWER_WHY = "answerwhy"

MAX_INDEXED_WORDS = 200
"""Words of a memory looked at for lemmas and categories (the index holds all of its words
anyway); bounds the work per memory."""

_WORD = re.compile(r"[^\W_]+")
_TIME_WORDS = frozenset({
    "ago", "yesterday", "tomorrow", "tonight", "today", "spring", "summer", "autumn",
    "winter", "weekend", "christmas", "easter", "eve", "midnight", "noon", "morning",
    "evening", "afternoon", "birthday", "anniversary", "o'clock", "week", "month", "year",
    "decade", "century",
})
_MONTHS_AND_DAYS = frozenset({
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "monday", "tuesday", "wednesday", "thursday",
    "friday", "saturday", "sunday",
})
_PLACE_PREPOSITIONS = frozenset({
    "in", "at", "to", "from", "near", "into", "outside", "across", "around", "towards",
    "toward", "on", "by", "through", "via",
})
_PLACE_WORDS = frozenset(
    member for member, names in CATEGORY_NAMES.items()
    if {"place", "home", "business"} & set(names)
)
_NUMBER_WORDS = frozenset({
    "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen",
    "nineteen", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety",
    "hundred", "thousand", "million", "dozen", "half", "twice", "once", "first", "second",
    "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth", "twentieth",
    "thirtieth", "fortieth", "fiftieth", "sixtieth", "seventieth", "eightieth",
    "ninetieth", "hundredth",
})
_REASON_WORDS = frozenset({"because", "since", "cause", "reason", "due", "therefore"})


def index_terms(text: str) -> str:
    """The extra index words of a memory whose words are ``text`` (space-separated, each
    once, in a fixed order); ``""`` when there are none."""
    words = _WORD.findall(text)[:MAX_INDEXED_WORDS]
    lowered = [word.lower() for word in words]
    terms: dict[str, None] = {}
    for word in lowered:
        if word in STOPWORDS:
            continue
        base = lemma(word)
        if base != word:
            terms[base] = None
        for form in (word, base):
            for name in CATEGORY_NAMES.get(form, ()):
                terms[name] = None
    for marker in _markers(words, lowered, text):
        terms[marker] = None
    return " ".join(terms)


def _markers(words: list[str], lowered: list[str], text: str) -> list[str]:
    found = set(lowered)
    markers: list[str] = []
    if found & (_TIME_WORDS | _MONTHS_AND_DAYS) or DATE_EXPRESSION.search(text):
        markers.append(ANSWER_WHEN)
    names = [i for i in range(1, len(words)) if _is_name(words[i], lowered[i])]
    if found & _PLACE_WORDS or any(lowered[i - 1] in _PLACE_PREPOSITIONS for i in names):
        markers.append(ANSWER_WHERE)
    if names:
        markers.append(ANSWER_WHO)
    if found & _NUMBER_WORDS or any(word.isdigit() for word in words):
        markers.append(ANSWER_NUMBER)
    if found & _REASON_WORDS:
        markers.append(ANSWER_WHY)
    return markers


def _is_name(word: str, lowered: str) -> bool:
    """A capitalised word that is not "I", a month or a weekday (not checked at the start of
    the text, where every word is capitalised)."""
    return (word[:1].isupper() and lowered != "i" and lowered not in _MONTHS_AND_DAYS
            and not word.isupper())
