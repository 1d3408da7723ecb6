"""Appraisal: one user message → a ``Stimulus`` and an ``intent``. Pure, deterministic.

The sentiment axis comes from VADER (``vaderSentiment``: a maintained, rule-based lexicon
that handles negation, intensifiers, capitals, punctuation and emoticons). The other axes
come from small domain word lists below, because VADER scores only polarity: "you idiot" and
"I'm so sad" are both negative, but one is a threat to the character and the other is not.

Every axis is a plain float: ``valence`` in −1…1, the others in 0…1. The same text always
gives the same stimulus (no randomness, no set iteration, no hashing). Beside the stimulus
the appraisal says what drove it: per axis the cues that moved it (``cues``: the words of
its list, VADER's scored words, exclamation marks, shouting, a question), at most
``MAX_CUES_PER_AXIS`` each, and which rule chose the intent (``intent_rule``) — values for a
turn's trace, computed on the way, never logged here.

A character's mood triggers (``mood_baseline.triggers``: a word or phrase and the mood it
names) are looked for in the whole message, as whole words, case ignored, a plural ``-s``
or ``-es`` included: each one found is a ``TriggerHit`` with the mood read as one of the
engine's labels (``schemas.moods.mood_label``; ``None`` when the file named no mood or one
greenroom does not know). The vitals model pulls the levels toward that mood
(``worker.engine.vitals``). The search is linear in the message's length per trigger.

A long message is appraised by its excerpt (``excerpt``): its first and last
``EXCERPT_EDGE_WORDS`` words, which is where a message's greeting, tone and question sit.
VADER's cost grows with the square of the words it reads (8,000 words took 6 s), so the
excerpt bounds an appraisal's cost whatever the message's length; the rest costs one linear
split.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from typing import Final, Literal

import msgspec
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from schemas.model import MoodTrigger
from schemas.moods import mood_label

Intent = Literal[
    "greeting", "farewell", "thanks", "apology", "hostile", "joke", "compliment", "question",
    "smalltalk",
]

_WORD_RE: Final = re.compile(r"[a-z']+")

EXCERPT_EDGE_WORDS: Final = 150
"""Words appraised from each end of a long message; shorter messages are read whole."""

MAX_CUES_PER_AXIS: Final = 6
"""The most cues ``Appraisal.cues`` names for one axis (the first found, strongest first for
VADER's words), so a trace stays small whatever the message."""

WARM_WORDS: Final = (
    "love", "like", "friend", "friends", "appreciate", "care", "hug", "hugs", "kind", "sweet",
    "wonderful", "lovely", "glad", "miss", "dear", "together", "trust", "support", "thank",
    "thanks", "grateful", "nice", "welcome", "amazing", "beautiful", "brilliant", "proud",
)
THREAT_WORDS: Final = (
    "hate", "stupid", "idiot", "idiots", "dumb", "useless", "shut", "kill", "hurt", "die",
    "pathetic", "worthless", "moron", "ugly", "annoying", "liar", "loser", "threat", "destroy",
    "attack", "disgusting", "garbage", "trash", "fool", "angry", "furious", "scam", "awful",
)
CURIOUS_WORDS: Final = (
    "why", "how", "what", "wonder", "curious", "explain", "tell", "learn", "idea", "ideas",
    "think", "imagine", "discover", "question", "know", "mystery", "interesting", "teach",
)
HUMOUR_WORDS: Final = (
    "haha", "hahaha", "lol", "lmao", "rofl", "joke", "jokes", "funny", "hilarious", "pun",
    "puns", "laugh", "laughing", "silly", "kidding", "hehe", "witty", "giggle",
)
HUMOUR_SYMBOLS: Final = ("😂", "🤣", "😆", "😄", ":d", "xd")
GREETING_WORDS: Final = ("hello", "hi", "hey", "greetings", "howdy", "hiya", "yo", "morning")
GREETING_PHRASES: Final = ("good morning", "good afternoon", "good evening")
FAREWELL_WORDS: Final = ("bye", "goodbye", "farewell", "cya", "later", "goodnight")
FAREWELL_PHRASES: Final = ("see you", "good night", "talk soon", "take care", "gotta go")
THANKS_WORDS: Final = ("thanks", "thank", "thx", "ty", "grateful", "appreciate")
APOLOGY_WORDS: Final = ("sorry", "apologise", "apologize", "apologies", "forgive")
QUESTION_OPENERS: Final = (
    "what", "why", "how", "who", "where", "when", "which", "do", "does", "did", "can",
    "could", "would", "will", "is", "are", "should", "have", "tell",
)


@dataclass(frozen=True, slots=True)
class Stimulus:
    """How a message lands on the character; ``valence`` −1…1, every other axis 0…1."""

    valence: float = 0.0
    arousal: float = 0.0
    warmth: float = 0.0
    threat: float = 0.0
    curiosity: float = 0.0
    humour: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


class TriggerHit(msgspec.Struct, frozen=True):
    """A mood trigger the message contains: the ``trigger`` as the file wrote it, the
    ``mood`` it names (the author's word), the engine's ``label`` for it (``None``: no mood,
    or one greenroom does not know, so it moves nothing) and its ``strength`` 0–1."""

    trigger: str
    mood: str | None
    label: str | None
    strength: float


@lru_cache(maxsize=1024)
def _trigger_pattern(trigger: str) -> re.Pattern[str]:
    words = r"\s+".join(re.escape(w) for w in trigger.lower().split())
    return re.compile(rf"(?<![\w']){words}(?:e?s)?(?![\w'])")


def find_triggers(message: str, triggers: Sequence[MoodTrigger]) -> tuple[TriggerHit, ...]:
    """The ``triggers`` found in ``message``, in the file's order, each once."""
    lowered = message.lower()
    return tuple(
        TriggerHit(trigger=t.trigger, mood=t.mood, strength=t.strength,
                   label=mood_label(t.mood) if t.mood else None)
        for t in triggers if t.trigger.strip() and _trigger_pattern(t.trigger).search(lowered)
    )


@dataclass(frozen=True, slots=True)
class Appraisal:
    """The stimulus, the intent, and VADER's raw compound score (for debugging).

    ``cues`` maps an axis to what moved it, in words (``'"idiot"'``, ``'2 × "!"'``,
    ``'sentiment -0.71'``); an axis at 0 has none. ``intent_rule`` is the rule of
    ``classify_intent`` that chose ``intent``."""

    stimulus: Stimulus
    intent: Intent
    sentiment: float
    cues: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    intent_rule: str = ""
    triggers: tuple[TriggerHit, ...] = ()

    def as_dict(self) -> dict[str, float | str]:
        return {**self.stimulus.as_dict(), "intent": self.intent, "sentiment": self.sentiment}


@lru_cache(maxsize=1)
def _analyzer() -> SentimentIntensityAnalyzer:
    # Reads VADER's lexicon file once per process; the analyzer holds no per-call state.
    return SentimentIntensityAnalyzer()


def _clamp(value: float, low: float = 0.0, high: float = 1.0) -> float:
    return max(low, min(high, value))


def _hits(words: list[str], vocabulary: tuple[str, ...]) -> int:
    return sum(1 for word in words if word in vocabulary)


def _found(words: list[str], vocabulary: tuple[str, ...]) -> list[str]:
    """The words of ``vocabulary`` in ``words``, quoted, first occurrence order, no repeats."""
    return [f'"{word}"' for word in dict.fromkeys(w for w in words if w in vocabulary)]


def _scored_words(words: list[str]) -> list[str]:
    """The words VADER's lexicon scores, strongest first (``'"love" +3.2'``)."""
    lexicon: Mapping[str, float] = _analyzer().lexicon
    scored = {word: lexicon[word] for word in words if word in lexicon}
    ranked = sorted(scored.items(), key=lambda item: -abs(item[1]))  # stable: ties in order
    return [f'"{word}" {value:+.1f}' for word, value in ranked]


def _saturating(count: int, per_hit: float) -> float:
    """0 for no hits, rising towards 1: 1 hit → per_hit, 2 → more, never above 1."""
    return _clamp(1.0 - (1.0 - per_hit) ** count)


def excerpt(text: str) -> str:
    """What ``appraise`` reads of ``text``: all of it up to ``2 * EXCERPT_EDGE_WORDS``
    whitespace-separated words, else the first and the last ``EXCERPT_EDGE_WORDS`` of them
    joined by a space (at most ``2 * EXCERPT_EDGE_WORDS`` words, however long ``text`` is)."""
    words = text.split()
    if len(words) <= 2 * EXCERPT_EDGE_WORDS:
        return text
    return " ".join(words[:EXCERPT_EDGE_WORDS] + words[-EXCERPT_EDGE_WORDS:])


def appraise(message: str, triggers: Sequence[MoodTrigger] = ()) -> Appraisal:
    """Appraise one user message (by its ``excerpt``; ``triggers`` in all of it). Empty or
    whitespace-only text is a neutral small-talk."""
    text = excerpt(message)
    lowered = text.lower()
    words = _WORD_RE.findall(lowered)
    sentiment = float(_analyzer().polarity_scores(text)["compound"])

    # Shouting is words in capitals; a capitalised first letter or "I" is not.
    raw_words = re.findall(r"[A-Za-z]{2,}", text)
    shouted = sum(1 for word in raw_words if word.isupper())
    caps_ratio = shouted / len(raw_words) if raw_words else 0.0
    exclamations = text.count("!")
    question = "?" in text or (bool(words) and words[0] in QUESTION_OPENERS and len(words) > 2)

    threat_hits = _hits(words, THREAT_WORDS) + lowered.count("shut up")
    negativity = _clamp(-sentiment)
    lexical_threat = _saturating(threat_hits, 0.45) * (0.6 + 0.4 * negativity)
    # Strong negativity without an insult ("worst day ever") is only mildly threatening.
    threat = _clamp(lexical_threat + 0.6 * _clamp(negativity - 0.5))
    warmth = _clamp(_saturating(_hits(words, WARM_WORDS), 0.35) * (1.0 - threat)
                    + 0.25 * _clamp(sentiment))
    curiosity = _clamp(_saturating(_hits(words, CURIOUS_WORDS), 0.3) + (0.35 if question else 0.0))
    humour_symbols = [s for s in HUMOUR_SYMBOLS if s in lowered]
    humour_hits = _hits(words, HUMOUR_WORDS) + sum(lowered.count(s) for s in humour_symbols)
    humour = _saturating(humour_hits, 0.5)
    arousal = _clamp(0.15 * exclamations + 0.8 * caps_ratio + 0.4 * abs(sentiment) + 0.3 * threat)

    stimulus = Stimulus(
        valence=round(sentiment, 4),
        arousal=round(arousal, 4),
        warmth=round(warmth, 4),
        threat=round(threat, 4),
        curiosity=round(curiosity, 4),
        humour=round(humour, 4),
    )
    cues = {
        "valence": _scored_words(words) if sentiment else [],
        "arousal": [
            *([f'{exclamations} × "!"'] if exclamations else []),
            *([f"shouting: {shouted} of {len(raw_words)} words in capitals"] if shouted else []),
            *([f"sentiment {sentiment:+.2f}"] if sentiment else []),
            *([f"threat {stimulus.threat:.2f}"] if stimulus.threat else []),
        ],
        "warmth": [*_found(words, WARM_WORDS),
                   *([f"sentiment {sentiment:+.2f}"] if sentiment > 0 else [])],
        "threat": [*_found(words, THREAT_WORDS),
                   *(['"shut up"'] if "shut up" in lowered else []),
                   *([f"sentiment {sentiment:+.2f}"] if negativity > 0.5 else [])],
        "curiosity": [*_found(words, CURIOUS_WORDS), *(["a question"] if question else [])],
        "humour": [*_found(words, HUMOUR_WORDS), *(f'"{s}"' for s in humour_symbols)],
    }
    intent, rule = classify_intent(lowered, words, stimulus, question)
    return Appraisal(
        stimulus=stimulus, intent=intent, sentiment=sentiment,
        cues={axis: tuple(found[:MAX_CUES_PER_AXIS]) for axis, found in cues.items()
              if found and getattr(stimulus, axis)},
        intent_rule=rule,
        triggers=find_triggers(message, triggers),
    )


def classify_intent(lowered: str, words: list[str], stimulus: Stimulus, question: bool
                    ) -> tuple[Intent, str]:
    """The intent and the rule that chose it, in words. First matching rule wins; the order
    is the priority (hostility outranks a greeting)."""
    if stimulus.threat >= 0.4:
        return "hostile", f"threat {stimulus.threat:.2f} >= 0.4"
    opening = words[:3]
    phrase = next((p for p in FAREWELL_PHRASES if p in lowered), None)
    word = next((w for w in words if w in FAREWELL_WORDS), None)
    if phrase is not None or word is not None:
        return "farewell", f'farewell "{phrase or word}"'
    word = next((w for w in words if w in THANKS_WORDS), None)
    if word is not None:
        return "thanks", f'thanks "{word}"'
    word = next((w for w in words if w in APOLOGY_WORDS), None)
    if word is not None:
        return "apology", f'apology "{word}"'
    phrase = next((p for p in GREETING_PHRASES if lowered.startswith(p)), None)
    word = next((w for w in opening if w in GREETING_WORDS), None)
    if phrase is not None or word is not None:
        return "greeting", f'greeting "{phrase or word}" at the start'
    if question:
        return "question", "a question (a ? or a question word first)"
    if stimulus.humour >= 0.5:
        return "joke", f"humour {stimulus.humour:.2f} >= 0.5"
    if stimulus.warmth >= 0.5 and stimulus.valence >= 0.5:
        return "compliment", (f"warmth {stimulus.warmth:.2f} and valence "
                              f"{stimulus.valence:.2f} >= 0.5")
    return "smalltalk", "no other rule matched"
