"""What a user can say that is worth remembering, as a table of clause rules (data).

Each rule is a regular expression over one clause of the user's message and a template for
the memory text. Templates use ``{subject}`` (the user's name, or ``User``),
``{subject_s}`` (its possessive), ``{verb3}`` (the captured ``verb`` in the third person)
and the rule's named groups, whose first-person words are rewritten ("my" → "their").
Rules are tried in order and the first that matches a clause wins, so specific rules
("my favourite X is Y") come before general ones ("my X is Y").

Importance, by what was said (0..1; see ``docs/memory.md``):

==========================================  ==========  ==========
what                                        kind        importance
==========================================  ==========  ==========
the user's name                             fact        0.9
names of people/pets, birthday, birth date  fact        0.8
reminders the user asked for                promise     0.8
explicit promises ("I promise …")           promise     0.8
plans ("I'll …", "I'm going to …")          promise     0.6
where they live / are from, their work      fact        0.7
what they study; "I'm a …"                  fact        0.6
strong likes/dislikes (love, hate), faves   preference  0.6
likes, dislikes, "I'm into …"               preference  0.5
"my X is Y", dated plans ("… on Friday")    fact        0.5
==========================================  ==========  ==========
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from worker.memory.models import MemoryKind


@dataclass(frozen=True, slots=True)
class ClauseRule:
    name: str
    kind: MemoryKind
    importance: float
    pattern: re.Pattern[str]
    template: str
    in_questions: bool = False
    """Also applies inside a question ("can you remind me to …?")."""


def _rule(
    name: str,
    kind: MemoryKind,
    importance: float,
    pattern: str,
    template: str,
    *,
    in_questions: bool = False,
) -> ClauseRule:
    # Case-insensitive except where a rule scopes case itself with (?-i:…).
    return ClauseRule(
        name, kind, importance, re.compile(pattern, re.IGNORECASE), template, in_questions
    )


_THING = r"(?P<thing>(?:[\w'-]+ ){0,2}?[\w'-]+)"
_NAME = r"(?P<name>[^\W\d_][\w'-]*(?: (?-i:[A-Z])[\w'-]*)?)"
_I_AM = r"i(?:'m| am)"

CLAUSE_RULES: tuple[ClauseRule, ...] = (
    _rule(
        "reminder", "promise", 0.8,
        r"\b(?:remind me|don't let me forget|do not let me forget)\s+"
        r"(?P<conn>to|about|that|of)?\s*(?P<what>.+)",
        "{subject} asked to be reminded {conn} {what}.", in_questions=True,
    ),
    _rule(
        "promise", "promise", 0.8,
        r"\bi (?:promise|swear)(?: (?:to|that))?(?: i(?:'ll| will))?\s+(?P<what>.+)",
        "{subject} promised to {what}.",
    ),
    _rule(
        "plan", "promise", 0.6,
        r"\bi(?:'ll| will|'m going to| am going to| plan to| intend to)\s+(?P<what>.+)",
        "{subject} said they will {what}.",
    ),
    _rule(
        "own_name", "fact", 0.9,
        rf"\b(?:my name is|my name's|call me|{_I_AM} called|they call me)\s+{_NAME}",
        "{subject}'s name is {name}.",
    ),
    _rule(
        "favourite", "preference", 0.6,
        rf"\bmy (?:all[- ]time )?favou?rite {_THING} (?:is|are) (?P<what>.+)",
        "{subject_s} favourite {thing} is {what}.",
    ),
    _rule(
        "named_thing", "fact", 0.8,
        rf"\bmy {_THING}(?:'s name is| is called| is named| goes by| are called)\s+(?P<what>.+)",
        "{subject_s} {thing} is called {what}.",
    ),
    _rule(
        "has_named", "fact", 0.8,
        rf"\bi (?:have|own|got|'ve got) (?P<det>an?|one|two|three|\w+) {_THING} "
        r"(?:called|named)\s+(?P<what>.+)",
        "{subject} has {det} {thing} called {what}.",
    ),
    _rule(
        "birthday", "fact", 0.8,
        r"\bmy birthday is (?:on )?(?P<what>.+)",
        "{subject_s} birthday is {what}.",
    ),
    _rule(
        "born", "fact", 0.8,
        r"\bi was born (?P<what>(?:on|in|at) .+)",
        "{subject} was born {what}.",
    ),
    _rule(
        "lives", "fact", 0.7,
        rf"\b(?:i|{_I_AM}) (?:live|living|reside|based) (?P<prep>in|at|near|on|by) (?P<what>.+)",
        "{subject} lives {prep} {what}.",
    ),
    _rule(
        "from", "fact", 0.7,
        rf"\b(?:{_I_AM}|i come) (?:originally )?from (?P<what>.+)",
        "{subject} is from {what}.",
    ),
    _rule(
        "grew_up", "fact", 0.7,
        r"\bi (?:grew up|was raised) in (?P<what>.+)",
        "{subject} grew up in {what}.",
    ),
    _rule(
        "moved", "fact", 0.7,
        r"\bi (?:just |recently )?moved to (?P<what>.+)",
        "{subject} moved to {what}.",
    ),
    _rule(
        "works", "fact", 0.7,
        r"\bi (?:work|am working|'m working) (?P<prep>as|at|for|in) (?P<what>.+)",
        "{subject} works {prep} {what}.",
    ),
    _rule(
        "job", "fact", 0.7,
        r"\bmy (?:job|occupation|profession|work) is (?P<what>.+)",
        "{subject_s} job is {what}.",
    ),
    _rule(
        "studies", "fact", 0.6,
        rf"\b(?:i study|{_I_AM} studying|i major in) (?P<what>.+)",
        "{subject} studies {what}.",
    ),
    _rule(
        "fan", "preference", 0.5,
        rf"\b{_I_AM} (?:a |an )?(?:big |huge |massive )?fan of (?P<what>.+)",
        "{subject} is a fan of {what}.",
    ),
    _rule(
        "into", "preference", 0.5,
        rf"\b{_I_AM} (?:really )?into (?P<what>.+)",
        "{subject} is into {what}.",
    ),
    _rule(
        "loves", "preference", 0.6,
        r"\bi (?:really |absolutely |just )?(?P<verb>love|adore)\s+(?P<what>.+)",
        "{subject} {verb3} {what}.",
    ),
    _rule(
        "likes", "preference", 0.5,
        r"\bi (?:really |quite |also )?(?P<verb>like|enjoy|prefer)\s+(?P<what>.+)",
        "{subject} {verb3} {what}.",
    ),
    _rule(
        "hates", "preference", 0.6,
        r"\bi (?:really |absolutely )?(?P<verb>hate|detest|loathe|can't stand|cannot stand)"
        r"\s+(?P<what>.+)",
        "{subject} {verb3} {what}.",
    ),
    _rule(
        "dislikes", "preference", 0.5,
        r"\bi (?:really )?(?P<verb>dislike|don't like|do not like|don't enjoy)\s+(?P<what>.+)",
        "{subject} {verb3} {what}.",
    ),
    _rule(
        "is_a", "fact", 0.6,
        rf"\b{_I_AM} (?P<det>an?) (?!bit\b|little\b|lot\b|bit$)(?P<what>.+)",
        "{subject} is {det} {what}.",
    ),
    _rule(
        "my_x_is", "fact", 0.5,
        rf"\bmy {_THING} (?P<verb>is|are|was|were|has|have) (?P<what>.+)",
        "{subject_s} {thing} {verb} {what}.",
    ),
)

DATE_EXPRESSION = re.compile(
    r"\b(?:january|february|march|april|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
    r"|monday|tuesday|wednesday|thursday|friday|saturday|sunday"
    r"|tomorrow|tonight|weekend|christmas|easter"
    r"|next (?:week|month|year)|in \d+ (?:days?|weeks?|months?|years?)"
    r"|may \d{1,2}|\d{1,2}(?:st|nd|rd|th)(?: of)? may|in may"
    r"|\d{1,2}(?:st|nd|rd|th)|\d{1,4}[/.-]\d{1,2}(?:[/.-]\d{1,4})?|(?:19|20)\d{2})\b",
    re.IGNORECASE,
)
"""A date or time the user might want remembered ("my exam is on Friday")."""

DATED_STATEMENT_IMPORTANCE = 0.5

FIRST_PERSON = re.compile(r"\b(?:i|i'm|i've|i'll|i'd|my|we|we're|we'll|our)\b", re.IGNORECASE)

SMALL_TALK_NOUNS = frozenset(
    ["day", "week", "weekend", "morning", "evening", "night", "afternoon", "mood", "pleasure"]
)
"""``my X is …`` about these is small talk ("my day was fine"), not a fact."""

MIN_QUESTION_CONTENT_WORDS = 2
"""Questions with fewer content words ("how are you?", "what's up?") are small talk."""

QUESTION_IMPORTANCE = 0.3
QUESTION_ABOUT_USER_IMPORTANCE = 0.4
"""A question about the user's own life ("should I quit my job?") matters a bit more."""
