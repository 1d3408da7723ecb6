"""Rewriting a user's first-person words in the third person (pure, best effort).

"my dog is called Biscuit" → "Sam's dog is called Biscuit" is easy and done; full grammar
is not attempted. Only the speaker's own pronouns change; the result is for memory text, and
the user's exact words are always kept next to it (``NewMemory.source``).
"""

from __future__ import annotations

import re

_PRONOUNS: dict[str, str] = {
    "i'm": "they're",
    "i've": "they've",
    "i'll": "they'll",
    "i'd": "they'd",
    "i": "they",
    "me": "them",
    "my": "their",
    "mine": "theirs",
    "myself": "themselves",
}
_PRONOUN = re.compile(r"\b(?:i'm|i've|i'll|i'd|i|me|my|mine|myself)\b", re.IGNORECASE)
_THEY_AGREEMENT = (
    (re.compile(r"\bthey am\b"), "they are"),
    (re.compile(r"\bthey was\b"), "they were"),
)

_SUBJECT_VERB = re.compile(r"^(?P<pronoun>i'm|i've|i'll|i'd|i)\b\s*(?P<verb>[\w']+)?", re.I)
_IRREGULAR = {"am": "is", "have": "has", "do": "does", "don't": "doesn't", "was": "was"}
_UNCHANGED = frozenset(
    {
        "can", "can't", "cannot", "could", "couldn't", "will", "won't", "would", "wouldn't",
        "should", "shouldn't", "might", "must", "did", "didn't", "had", "may", "shall",
    }
)


def possessive(subject: str) -> str:
    """``Sam`` → ``Sam's``."""
    return f"{subject}'s"


def swap_pronouns(text: str) -> str:
    """my → their, me → them, I → they, … everywhere in ``text`` (for objects of a verb)."""
    swapped = _PRONOUN.sub(lambda m: _PRONOUNS[m.group(0).lower()], text)
    for pattern, replacement in _THEY_AGREEMENT:
        swapped = pattern.sub(replacement, swapped)
    return swapped


def conjugate_third_person(verb: str) -> str:
    """``live`` → ``lives``, ``watch`` → ``watches``, ``study`` → ``studies``."""
    lowered = verb.lower()
    if lowered in _IRREGULAR:
        return _IRREGULAR[lowered]
    if lowered in _UNCHANGED or lowered.endswith("ed"):
        return verb
    if lowered.endswith(("s", "sh", "ch", "x", "z", "o")):
        return verb + "es"
    if lowered.endswith("y") and len(lowered) > 1 and lowered[-2] not in "aeiou":
        return verb[:-1] + "ies"
    return verb + "s"


def third_person(clause: str, subject: str) -> str:
    """A first-person clause told about ``subject``: "I have an exam" → "Sam has an exam"."""
    match = _SUBJECT_VERB.match(clause)
    if match is None:
        return swap_pronouns(clause)
    pronoun = match.group("pronoun").lower()
    verb = match.group("verb") or ""
    rest = swap_pronouns(clause[match.end():])
    if pronoun == "i'm":
        head = f"{subject} is {verb}"
    elif pronoun == "i've":
        head = f"{subject} has {verb}"
    elif pronoun == "i'll":
        head = f"{subject} will {verb}"
    elif pronoun == "i'd":
        head = f"{subject} would {verb}"
    else:
        head = f"{subject} {conjugate_third_person(verb)}" if verb else subject
    return (head.rstrip() + rest).strip()
