"""A matched memory retold to the user, in the second person."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Final

from worker.backends.base import ReplyContext
from worker.scripted_replies.choice import pick
from worker.scripted_replies.lines import MEMORY_LINES
from worker.scripted_replies.names import MEMORY_NAME_RE

_THIRD_TO_SECOND: Final = (
    (re.compile(r"^(?:is|was)\b"), lambda m: "are" if m.group(0) == "is" else "were"),
    (re.compile(r"^has\b"), lambda m: "have"),
    (re.compile(r"^does\b"), lambda m: "do"),
    (re.compile(r"^said they will\b"), lambda m: "said you'd"),
    (re.compile(r"^(\w+)ies\b"), lambda m: m.group(1) + "y"),
    (re.compile(r"^(\w+(?:sh|ch|x|z|ss|o))es\b"), lambda m: m.group(1)),
    (re.compile(r"^(\w+[^s'])s\b"), lambda m: m.group(1)),
)
_THEIR_RE: Final = re.compile(r"\b(?:their|they|them|themselves)\b")
_THEIR: Final = {"their": "your", "they": "you", "them": "you", "themselves": "yourself"}


def _as_told_to_user(snippet: str, subjects: Sequence[str]) -> str | None:
    """A memory about the user retold to them: "Sam's dog is called Biscuit." → "your dog is
    called Biscuit"; None when it is not about one of ``subjects``."""
    text = snippet.strip().rstrip(".")
    for subject in subjects:
        if not subject or not text.lower().startswith(subject.lower()):
            continue
        rest = text[len(subject):]
        if rest.startswith("'s "):
            told = "your " + rest[3:]
        elif rest.startswith(" "):
            predicate = rest[1:]
            for pattern, replace in _THIRD_TO_SECOND:
                if pattern.match(predicate):
                    predicate = pattern.sub(replace, predicate, count=1)
                    break
            told = "you " + predicate
        else:
            continue
        return _THEIR_RE.sub(lambda m: _THEIR[m.group(0)], told)
    return None


def memory_line(context: ReplyContext, name: str, seed: int) -> str:
    """The first matched memory that is not just the user's name, told naturally."""
    subjects = [s for s in (context.user_name.strip(), name, "User") if s]
    for snippet in context.memory_snippets:
        if MEMORY_NAME_RE.match(snippet) or '"' in snippet:
            # The name is used to address the user instead; quoting memories (a feeling with
            # the user's words, a promise) read as an echo rather than a recollection.
            continue
        told = _as_told_to_user(snippet, subjects)
        if told is None:
            return f"That reminds me — {snippet.strip().rstrip('.')}."
        return pick(MEMORY_LINES, seed, 9).format(memory=told)
    return ""

