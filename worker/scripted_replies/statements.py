"""What the user says about themselves: "I love jazz", "I work as a nurse", "I'm so tired"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from worker.scripted_replies.phrases import CLAUSE_END, flip


@dataclass(frozen=True, slots=True)
class Statement:
    """Something the user said about themselves: ``kind`` names the rule, ``what`` is the
    object in the character's point of view ("my band" → "your band"), ``verb`` the user's
    verb where the reply repeats it."""

    kind: str
    what: str
    verb: str = ""


# In priority order: the first rule that matches names the statement.
_STATEMENT_RULES: Final[tuple[tuple[str, re.Pattern[str]], ...]] = tuple(
    (kind, re.compile(f"(?:{pattern})" + r"\s+(?P<what>[^.,!?;:]+?)" + CLAUSE_END,
                      re.IGNORECASE))
    for kind, pattern in (
        ("feel", r"\bi(?:'m| am| feel)(?: so| really| a bit| kind of| pretty| very)?(?=\s+(?:"
                 r"tired|exhausted|sad|down|lonely|stressed|anxious|nervous|bored|sick|"
                 r"happy|excited|great|thrilled|proud|worried|scared|angry|upset)\b)"),
        ("hate", r"\bi (?:really |just |absolutely )?(?:hate|loathe|can't stand|cannot stand|"
                 r"dislike|don't like|do not like)"),
        ("love", r"\bi (?:really |just |absolutely |totally )?(?:love|adore|enjoy|like|"
                 r"am into|'m into)|\bi(?:'m| am) (?:a (?:big |huge )?fan of|into)"),
        ("work", r"\bi work (?:as|at|in|for|on)"),
        ("study", r"\bi(?:'m| am)? (?:study|studying|learning)"),
        ("place", r"\bi (?:live in|grew up in|moved to)|\bi(?:'m| am) from"),
        ("did", r"\bi (?:just |finally |recently )?(?P<verb>got|bought|made|finished|started|"
                r"watched|read|saw|visited|built|cooked|baked|wrote|played|lost|won|passed|"
                r"failed|adopted|met)"),
        ("want", r"\bi (?:really )?(?:want|need|wish|hope|plan)(?: to)?"),
        ("identity", r"\bi(?:'m| am) (?:an?)(?!\s+(?:bit|little|lot|big|huge|fan)\b)"),
    )
)
_OBJECT_PRONOUNS: Final = frozenset(("it", "that", "this", "them", "you", "me", "him", "her",
                                     "doing", "to", "being"))
_MAX_TOPIC_WORDS: Final = 6


def statement(message: str) -> Statement | None:
    """The first thing the user says about themselves, by the rule order above."""
    for kind, pattern in _STATEMENT_RULES:
        for match in pattern.finditer(message):
            words = match.group("what").split()[:_MAX_TOPIC_WORDS]
            if not words or (len(words) == 1 and words[0].lower() in _OBJECT_PRONOUNS):
                continue
            verb = match.groupdict().get("verb") or ""
            return Statement(kind, flip(" ".join(words)), verb.lower())
    return None
