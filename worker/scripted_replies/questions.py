"""What the user asks: the last question of the message, classified by what it asks about."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from worker.scripted_replies.phrases import CLAUSE_END, SENTENCE_RE, flip, salient

# In priority order; anything else is a "general" question about its salient phrase.
_QUESTION_KINDS: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (kind, re.compile(pattern, re.IGNORECASE)) for kind, pattern in (
        ("how_are_you", r"\bhow(?: are|'re|'s) (?:you|it going|things|life)\b|\bhow do you feel"
                        r"\b(?! about)|\bwhat'?s up\b"),
        ("identity", r"\bwho are you\b|\bwhat'?s your name\b|\babout yourself\b"),
        ("job", r"\bwhat do you do\b|\byour (?:job|work)\b|\bfor a living\b"),
        ("origin", r"\bwhere (?:are you from|do you live|did you grow up)\b"),
        ("memory", r"\b(?:do|did) you remember\b|\bremember (?:me|my|when|what)\b"),
        ("favourite", r"\byour fav(?:ou)?rite (?P<what>[\w' -]+?)" + CLAUSE_END),
        ("opinion", r"\b(?:do you (?:like|love|enjoy)|what do you think (?:of|about)|how do you"
                    r" feel about|your (?:opinion|take) on)\s+(?P<what>[^.,!?;:]+?)"
                    + CLAUSE_END),
        ("advice", r"\b(?:tips?|tricks?|advice|suggestions?|recommend)\b|\bhow (?:do|can|should)"
                   r" i\b|\bwhat should i\b"),
    )
)


@dataclass(frozen=True, slots=True)
class Question:
    """A question's ``kind`` (a key of the rules above, or ``general``) and its ``topic`` in
    the character's point of view (``None`` when it has none)."""

    kind: str
    topic: str | None


def question(message: str, ignore: frozenset[str]) -> Question | None:
    """The last question in the message (the one the user is waiting on), classified;
    ``ignore`` holds words never taken for its topic (the names in the conversation)."""
    asked = [s.strip() for s in SENTENCE_RE.findall(message) if s.strip().endswith("?")]
    if not asked:
        return None
    sentence = asked[-1]
    for kind, pattern in _QUESTION_KINDS:
        match = pattern.search(sentence)
        if match:
            what = match.groupdict().get("what")
            return Question(kind, flip(what.strip()) if what else salient(sentence, ignore))
    return Question("general", salient(sentence, ignore))
