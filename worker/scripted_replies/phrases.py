"""The user's words cut into pieces a reply can reuse, each cut linear in the message's length.

Words, sentences, clause ends, pronouns flipped to the character's side, and the message's
most salient phrase. Every pattern here runs over a whole message of up to
``GREENROOM_MAX_MESSAGE_CHARS``: none may rescan what it has passed (see ``CLAUSE_END``).
"""

from __future__ import annotations

import re
from typing import Final

WORD_RE: Final = re.compile(r"[A-Za-z][A-Za-z'-]*")
SENTENCE_RE: Final = re.compile(r"[^.!?]+[.!?]*")
_PHRASE_TOKEN_RE: Final = re.compile(r"[A-Za-z][A-Za-z'-]*|[^\sA-Za-z]")

# One whitespace character before the conjunction, not ``\s+``: the lookahead runs at every
# character of a captured phrase, and ``\s+`` there rescans a run of spaces each time
# (8,000 spaces took 17 s). A longer run just ends the phrase at its last space.
CLAUSE_END: Final = r"(?=\s(?:and|but|because|so|though|while)\b|[.,!?;:]|$)"
"""Lookahead for where a captured phrase ends: a conjunction, a punctuation mark, the end."""

# Words that never make a topic: function words, fillers, greetings, chatty verbs.
_STOPWORD_TEXT: Final = (
    "the a an and or but if of to in on at for with about from into is are was were be been "
    "am do does did have has had what why how who where when which can could would should "
    "will you your yours me my mine we our us they them their it its this that these those "
    "there here just really very so too also not no yes hey hello hi hiya howdy please thanks "
    "thank tell know think like want get got some any much many more most i i'm you're it's "
    "don't ok okay oh well lol haha yeah yep nope good great nice bye goodbye sorry anything "
    "something everything today tonight now then one ever never always maybe say said"
)
STOPWORDS: Final = frozenset(_STOPWORD_TEXT.split())

_PRONOUN_FLIPS: Final = {
    "i": "you", "i'm": "you're", "i've": "you've", "i'll": "you'll", "i'd": "you'd",
    "me": "you", "my": "your", "mine": "yours", "myself": "yourself", "am": "are",
    "you": "me", "your": "my", "yours": "mine", "yourself": "myself", "you're": "I'm",
}
_PRONOUN_RE: Final = re.compile(
    r"\b(?:i'm|i've|i'll|i'd|i|me|my|mine|myself|am|you're|yourself|yours|your|you)\b",
    re.IGNORECASE)


def capitalised(text: str) -> str:
    """``text`` with its first character upper-cased (the rest untouched)."""
    return text[:1].upper() + text[1:]


def flip(text: str) -> str:
    """The user's words from the character's side: my → your, you → me (best effort)."""
    return _PRONOUN_RE.sub(lambda m: _PRONOUN_FLIPS[m.group(0).lower()], text)


def salient(sentence: str, ignore: frozenset[str]) -> str | None:
    """The sentence's most telling phrase: the last three words of the longest (in letters)
    run of consecutive content words, the later of equals (questions end on their object)."""
    skip = STOPWORDS | ignore
    runs: list[list[str]] = [[]]
    for token in _PHRASE_TOKEN_RE.findall(sentence):
        if token[0].isalpha() and len(token) > 2 and token.lower() not in skip:
            runs[-1].append(token)
        else:
            runs.append([])
    best = ""
    for run in runs:
        phrase = " ".join(run[-3:])
        if phrase and len(phrase) >= len(best):
            best = phrase
    return best or None
