"""The moods greenroom models, and the words authors use for them.

The engine derives a mood from the six levels as the nearest of ``MOOD_LABELS``'
prototypes (``worker.engine.mood``). Character files name moods in their own words
(``frustrated``, ``wistful``, ``on edge``); ``mood_label`` reads such a word as one of the
labels, so a mood trigger written ``deadlines: frustrated`` pushes towards ``irritated``.
Pure and deterministic.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Final

MOOD_LABELS: Final = (
    "neutral", "happy", "excited", "content", "calm", "anxious", "stressed", "sad",
    "irritated", "tired",
)

#: Words read as each label (besides the label itself). Checked at import: no word twice.
MOOD_WORDS: Final[Mapping[str, tuple[str, ...]]] = {
    "neutral": ("indifferent", "detached", "reserved", "neutrality"),
    "happy": ("joyful", "cheerful", "glad", "delighted", "elated", "joy", "happiness",
              "positive", "pleased", "amused", "playful", "upbeat", "proud", "grateful",
              "giddy", "jolly", "merry", "good"),
    "excited": ("enthusiastic", "energized", "energised", "eager", "thrilled", "curious",
                "inspired", "passionate", "animated", "exhilarated", "hyped", "fascinated",
                "intrigued", "excitement", "energetic"),
    "content": ("satisfied", "fulfilled", "warm", "comfortable", "cozy", "cosy", "at ease",
                "contentment", "affectionate", "loving", "tender", "nostalgic"),
    "calm": ("relaxed", "serene", "peaceful", "tranquil", "focused", "composed", "centered",
             "centred", "steady", "zen", "concentrated", "patient", "calmness", "mellow"),
    "anxious": ("nervous", "worried", "afraid", "scared", "fearful", "uneasy", "tense",
                "insecure", "apprehensive", "panicked", "restless", "on edge", "fear",
                "anxiety", "alarmed", "jittery", "uncertain"),
    "stressed": ("overwhelmed", "pressured", "frazzled", "strained", "under pressure",
                 "stress", "harried", "overworked", "burned out", "burnt out"),
    "sad": ("unhappy", "melancholy", "melancholic", "down", "depressed", "gloomy", "lonely",
            "hurt", "grief", "grieving", "wistful", "disappointed", "sorrowful", "negative",
            "sadness", "heartbroken", "blue", "despondent", "homesick"),
    "irritated": ("angry", "annoyed", "frustrated", "irritable", "mad", "furious",
                  "defensive", "grumpy", "impatient", "resentful", "cross", "indignant",
                  "anger", "irritation", "frustration", "hostile", "offended", "exasperated"),
    "tired": ("exhausted", "weary", "sleepy", "drained", "bored", "fatigued", "lethargic",
              "fatigue", "listless", "worn out"),
}

_BY_WORD: Final[dict[str, str]] = {}
for _label in MOOD_LABELS:
    for _word in (_label, *MOOD_WORDS[_label]):
        if _word in _BY_WORD:
            raise AssertionError(f"mood word {_word!r} is listed for two labels")
        _BY_WORD[_word] = _label

_SPACES = re.compile(r"[\s_-]+")


def mood_label(name: str) -> str | None:
    """The label ``name`` means, or ``None`` when greenroom does not know the word.

    Case and ``_``/``-`` are ignored; a phrase is read by its whole text first, then by its
    words from the last (``quietly pleased`` → ``happy``, ``very anxious`` → ``anxious``).
    """
    text = _SPACES.sub(" ", name.strip().lower())
    if text in _BY_WORD:
        return _BY_WORD[text]
    for word in reversed(text.split(" ")):
        if word in _BY_WORD:
            return _BY_WORD[word]
    return None
