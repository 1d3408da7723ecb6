"""Episodic memories: every sentence of a turn, kept word for word (pure, deterministic).

Rules recognise some of what people say (``worker.memory.formation_rules``); the rest would
be lost to search. So each sentence of the user's message becomes a ``message`` memory
(``Sam said: "…"``) and each sentence of the character's reply a ``reply`` memory
(``Sam was told: "…"``), with the turn's user, id, time and valence; ``source`` holds the
sentence itself. They are less important than what the rules made of the same words
(``MESSAGE_IMPORTANCE``, ``REPLY_IMPORTANCE`` against 0.5–0.9), so a recognised fact ranks
first when both match.

Not kept: sentences without a content word ("Hi!", "Okay."), and user sentences already
kept whole by another memory of the turn (a ``question`` memory quotes its sentence). Long
sentences are cut and very long messages packed (``worker.memory.sentences``), so a turn
forms a bounded number of episodes and still loses no word.
"""

from __future__ import annotations

from collections.abc import Collection

from worker.memory.models import MemoryKind, NewMemory
from worker.memory.query import STOPWORDS, tokenize
from worker.memory.sentences import pieces, sentences

MESSAGE_IMPORTANCE = 0.3
REPLY_IMPORTANCE = 0.1


def form_episodes(
    *,
    user_message: str,
    reply: str,
    valence: float,
    turn_id: int,
    now: float,
    user: str,
    kept_whole: Collection[str] = (),
) -> list[NewMemory]:
    """The ``message`` episodes of ``user_message`` then the ``reply`` episodes of ``reply``,
    in the order said. ``kept_whole`` are user sentences another memory already quotes;
    ``valence`` is clamped to -1..1."""
    subject = user.strip() or "User"
    subject = subject[:1].upper() + subject[1:]
    valence = min(1.0, max(-1.0, valence))
    said = [s for s in sentences(user_message) if s not in kept_whole and _has_content(s)]
    told = [s for s in sentences(reply) if _has_content(s)]
    sides: tuple[tuple[MemoryKind, list[str], str, float], ...] = (
        ("message", said, '{subject} said: "{piece}"', MESSAGE_IMPORTANCE),
        ("reply", told, '{subject} was told: "{piece}"', REPLY_IMPORTANCE),
    )
    return [
        NewMemory(
            text=template.format(subject=subject, piece=piece), kind=kind,
            importance=importance, valence=valence, created_at=now, turn_id=turn_id,
            user=user, source=piece,
        )
        for kind, parts, template, importance in sides
        for piece in pieces(parts)
    ]


def _has_content(sentence: str) -> bool:
    return any(token not in STOPWORDS for token in tokenize(sentence))
