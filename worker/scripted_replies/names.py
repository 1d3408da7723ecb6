"""Who is who: the name the user is addressed by, and the names the character goes by."""

from __future__ import annotations

import re
from typing import Final

from schemas.cards import IMPORTED_ARCHETYPE
from schemas.model import Character
from worker.backends.base import ReplyContext
from worker.scripted_replies.phrases import STOPWORDS, WORD_RE, capitalised

# Placeholders a client sends when nobody gave a name: never used as a name.
_PLACEHOLDER_NAMES: Final = frozenset(("", "user", "guest", "anonymous", "anon", "you", "me"))
# Capitalised words that follow "I'm" without being a name.
_NOT_NAME_TEXT: Final = (
    "i not so just really very here back sorry fine good okay ok home done ready new "
    "english british american french german spanish italian portuguese irish scottish"
)
_NOT_NAMES: Final = frozenset(_NOT_NAME_TEXT.split())
_TITLES: Final = frozenset(("dr", "dr.", "mr", "mr.", "mrs", "mrs.", "ms", "ms.", "sir",
                            "lady", "lord", "prof", "prof.", "professor", "captain"))

_NAME_RE: Final = re.compile(
    r"\b(?:(?i:my name is|my name's|call me|i'm called|i am called)\s+(?P<any>[A-Za-z][\w'-]*)"
    r"|(?i:i'm|i am)\s+(?P<cap>[A-Z][a-z'-]+))"
)
MEMORY_NAME_RE: Final = re.compile(r"^\S+'s name is (?P<name>[A-Za-z][\w'-]*)", re.IGNORECASE)
"""A memory that gives the user's name ("User's name is Ada."): group ``name``."""


def short_name(character: Character) -> str:
    """What the character calls themselves: a quoted nickname, the card's nickname, or the
    first name that is not a title ("Dr. Nadia Rahimi" → "Nadia")."""
    quoted = re.search(r"[\"“](?P<nick>[^\"”]+)[\"”]", character.name)
    if quoted:
        return quoted.group("nick")
    if character.roleplay.nickname:
        return character.roleplay.nickname
    if character.archetype == IMPORTED_ARCHETYPE:
        return character.name.split(",")[0].strip() or character.name  # "Gloria, PA"
    words = [w for w in character.name.split() if w.lower() not in _TITLES]
    return words[0] if words else character.name


def name_words(character: Character) -> frozenset[str]:
    """The words of the character's name, lower-cased: never a topic of the conversation."""
    return frozenset(w.lower() for w in WORD_RE.findall(character.name))


def _name_given_in(message: str) -> str:
    """The name the user gives in ``message`` ("my name is sam", "I'm Sam"), or ""."""
    for match in _NAME_RE.finditer(message):
        name = match.group("any") or match.group("cap")
        if name and name.lower() not in _NOT_NAMES and name.lower() not in STOPWORDS:
            return capitalised(name)
    return ""


def user_name(context: ReplyContext) -> str:
    """The name to address the user by, or "" when none is known: the latest name the user
    gave (this message, then their earlier ones), the session's user name unless it is a
    placeholder such as "user", or a "…'s name is X." memory."""
    for message in (context.user_message, *reversed(context.earlier_user_messages)):
        given = _name_given_in(message)
        if given:
            return given
    if context.user_name.strip().lower() not in _PLACEHOLDER_NAMES:
        return context.user_name.strip()
    for snippet in context.memory_snippets:
        remembered = MEMORY_NAME_RE.match(snippet)
        if remembered:
            return capitalised(remembered.group("name"))
    return ""
