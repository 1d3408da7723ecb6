"""Memory formation: what one turn leaves behind worth remembering (pure, deterministic).

No model, no clock, no I/O: the same turn always forms the same memories, in the same
order: first the semantic memories the rules recognise (below), then the turn's episodes —
every sentence of the message and of the reply, word for word (``worker.memory.episodes``),
so nothing said is lost to search.

From the user's message, clause by clause (``formation_rules.CLAUSE_RULES``):

* facts they shared — their name, names of pets and people, where they live or come from,
  their work and studies, birthdays, "my X is Y", statements with a date ("my exam is on
  Friday"); kind ``fact``;
* likes and dislikes, favourites; kind ``preference``;
* promises, plans and reminders they asked for; kind ``promise`` (reminders are recognised
  inside questions too: "can you remind me to …?");
* questions with at least two content words; kind ``question``;

and from the turn as a whole:

* an emotionally strong moment (``|valence| >= 0.6`` or ``arousal >= 0.75``); kind
  ``emotion``, importance ``0.4 + 0.5 * max(|valence|, arousal)``, text naming the feeling
  and quoting the user;
* an explicit promise in the character's reply ("I promise …", "I'll remember …"); kind
  ``promise``, importance 0.6.

In an emotionally strong turn every other memory gets +0.1 importance (capped at 1). Each
memory carries the turn's valence, ``now`` and ``turn_id``. Texts are third person ("Sam's
dog is called Biscuit."); ``source`` keeps the user's own sentence. Small talk ("hi", "how
are you?", "I'm fine", "I like it") forms no semantic memory. At most
``MAX_MEMORIES_PER_TURN`` semantic memories are formed, from the first ``MAX_MESSAGE_CHARS``
of each message; the episodes cover all of it.
"""

from __future__ import annotations

import re

from worker.memory.episodes import form_episodes
from worker.memory.formation_rules import (
    CLAUSE_RULES,
    DATE_EXPRESSION,
    DATED_STATEMENT_IMPORTANCE,
    FIRST_PERSON,
    MIN_QUESTION_CONTENT_WORDS,
    QUESTION_ABOUT_USER_IMPORTANCE,
    QUESTION_IMPORTANCE,
    SMALL_TALK_NOUNS,
    ClauseRule,
)
from worker.memory.models import MemoryKind, NewMemory
from worker.memory.person import conjugate_third_person, possessive, swap_pronouns, third_person
from worker.memory.query import STOPWORDS, tokenize
from worker.memory.sentences import sentences

MAX_MEMORIES_PER_TURN = 8
MAX_MESSAGE_CHARS = 2000
MAX_OBJECT_WORDS = 12
"""Captured phrases are cut to this many words."""

EMOTIONAL_VALENCE = 0.6
EMOTIONAL_AROUSAL = 0.75
EMOTIONAL_BONUS = 0.1
REPLY_PROMISE_IMPORTANCE = 0.6
MAX_QUOTE_CHARS = 160

# Split a sentence into clauses at punctuation, "but"/"because"/"so", and "and" when a new
# first-person clause follows ("I live in Porto and I work as a nurse"). A comma splits only
# before a lower-case word, so "Lisbon, Portugal" and "May 5, 1990" stay whole.
_CLAUSE_BREAK = re.compile(
    r"\s*(?:,(?=\s*[a-z])|;|:|\s-\s|(?i:\bbut\b|\bbecause\b|\bso\b|\bthough\b)"
    r"|(?i:\band\b(?=\s+(?:i|i'm|i've|i'll|my)\b)))\s*"
)
_TRIM = " \t\"'`.,;:!?()[]{}"
_REPLY_PROMISE = re.compile(
    r"\bi (?:promise|swear)\b[^.!?\n]*|\bi(?:'ll| will) (?:remember|remind you|keep)\b[^.!?\n]*",
    re.IGNORECASE,
)


def form_memories(
    *,
    user_message: str,
    reply: str,
    valence: float,
    arousal: float,
    turn_id: int,
    now: float,
    user: str,
) -> list[NewMemory]:
    """The memories one turn forms: the semantic ones in message order (see the module
    docstring for rules), then its episodes.

    ``valence`` is clamped to -1..1 and ``arousal`` to 0..1; ``now`` (unix seconds) becomes
    every memory's ``created_at``; ``user`` names the subject of the memory texts (blank →
    "User").
    """
    subject = user.strip() or "User"
    valence = min(1.0, max(-1.0, valence))
    arousal = min(1.0, max(0.0, arousal))
    intensity = max(abs(valence), arousal)
    emotional = abs(valence) >= EMOTIONAL_VALENCE or arousal >= EMOTIONAL_AROUSAL
    bonus = EMOTIONAL_BONUS if emotional else 0.0

    formed: list[tuple[str, MemoryKind, float, str]] = []
    for sentence in sentences(user_message[:MAX_MESSAGE_CHARS]):
        formed.extend(_from_sentence(sentence, subject))
    if emotional and _has_content(user_message):
        formed.append(_emotional_moment(user_message, subject, valence, arousal, intensity))
    for promise in _REPLY_PROMISE.finditer(reply[:MAX_MESSAGE_CHARS]):
        quote = promise.group(0).strip(_TRIM)
        formed.append(
            (f'{subject} was promised: "{quote}".', "promise", REPLY_PROMISE_IMPORTANCE, quote)
        )

    memories: list[NewMemory] = []
    seen: set[str] = set()
    for text, kind, importance, source in formed:
        if text.lower() in seen:
            continue
        seen.add(text.lower())
        boosted = importance if kind == "emotion" else importance + bonus
        memories.append(
            NewMemory(
                text=text,
                kind=kind,
                importance=round(min(1.0, boosted), 4),
                valence=valence,
                created_at=now,
                turn_id=turn_id,
                user=user,
                source=source,
            )
        )
        if len(memories) == MAX_MEMORIES_PER_TURN:
            break
    quoted = {m.source for m in memories if m.kind == "question"}
    return memories + form_episodes(
        user_message=user_message, reply=reply, valence=valence, turn_id=turn_id, now=now,
        user=user, kept_whole=quoted,
    )


def _clauses(sentence: str) -> list[str]:
    return [c.strip() for c in _CLAUSE_BREAK.split(sentence) if c and c.strip(_TRIM)]


def _has_content(text: str) -> bool:
    return any(token not in STOPWORDS for token in tokenize(text))


def _content_words(text: str) -> list[str]:
    return [token for token in tokenize(text) if token not in STOPWORDS]


def _from_sentence(sentence: str, subject: str) -> list[tuple[str, MemoryKind, float, str]]:
    is_question = sentence.rstrip().endswith("?")
    formed: list[tuple[str, MemoryKind, float, str]] = []
    for clause in _clauses(sentence):
        memory = _from_clause(clause, subject, is_question=is_question)
        if memory is not None:
            formed.append((*memory, sentence))
    if is_question and not formed:
        question = _question(sentence, subject)
        if question is not None:
            formed.append((*question, sentence))
    return formed


def _from_clause(
    clause: str, subject: str, *, is_question: bool
) -> tuple[str, MemoryKind, float] | None:
    for rule in CLAUSE_RULES:
        if is_question and not rule.in_questions:
            continue
        match = rule.pattern.search(clause)
        if match is None:
            continue
        text = _fill(rule, match, subject)
        if text is not None:
            return text, rule.kind, rule.importance
    if not is_question and FIRST_PERSON.search(clause) and DATE_EXPRESSION.search(clause):
        text = _sentence_case(third_person(_trim_words(clause.strip(_TRIM)), subject))
        return text + ".", "fact", DATED_STATEMENT_IMPORTANCE
    return None


def _fill(rule: ClauseRule, match: re.Match[str], subject: str) -> str | None:
    """The rule's memory text, or ``None`` when what it captured is empty or trivial."""
    values: dict[str, str] = {}
    for group, raw in match.groupdict().items():
        value = (raw or "").strip(_TRIM)
        if group in ("what", "thing", "name"):
            value = _trim_words(value)
            if not _has_content(value):
                return None
        values[group] = swap_pronouns(value)
    if values.get("thing", "").lower() in SMALL_TALK_NOUNS:
        return None
    if "name" in values:
        values["name"] = values["name"][:1].upper() + values["name"][1:]
    if "verb" in values:
        head, _, rest = values["verb"].lower().partition(" ")
        values["verb3"] = " ".join(filter(None, (conjugate_third_person(head), rest)))
    text = rule.template.format(subject=subject, subject_s=possessive(subject), **values)
    return _sentence_case(" ".join(text.split()))


def _question(sentence: str, subject: str) -> tuple[str, MemoryKind, float] | None:
    if len(_content_words(sentence)) < MIN_QUESTION_CONTENT_WORDS:
        return None
    about_user = FIRST_PERSON.search(sentence) is not None
    importance = QUESTION_ABOUT_USER_IMPORTANCE if about_user else QUESTION_IMPORTANCE
    quote = _quote(sentence)
    return f'{subject} asked: "{quote}"', "question", importance


def _emotional_moment(
    message: str, subject: str, valence: float, arousal: float, intensity: float
) -> tuple[str, MemoryKind, float, str]:
    quote = _quote(message)
    text = f'{subject} felt {_feeling(valence, arousal)}: "{quote}"'
    return text, "emotion", round(0.4 + 0.5 * intensity, 4), message.strip()


def _feeling(valence: float, arousal: float) -> str:
    """A word for the turn's emotion, from the valence/arousal quadrant."""
    if valence >= EMOTIONAL_VALENCE:
        return "excited and happy" if arousal >= 0.6 else "happy"
    if valence <= -EMOTIONAL_VALENCE:
        return "upset and distressed" if arousal >= 0.6 else "sad"
    return "stirred up"


def _quote(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= MAX_QUOTE_CHARS else flat[: MAX_QUOTE_CHARS - 1] + "…"


def _trim_words(text: str) -> str:
    return " ".join(text.split()[:MAX_OBJECT_WORDS]).strip(_TRIM)


def _sentence_case(text: str) -> str:
    return text[:1].upper() + text[1:]
